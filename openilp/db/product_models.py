"""The products tables: every produced version of a product, and its dissemination log.

A product row is one version of one product (a district's CompStat pack for one week, a bulletin,
...): its kind, the parameters it was built from (JSON, enough to build it again), the data cut-off
(the newest import of the agency's data when it was built), the marking of its most restrictive
item, the items it holds and those withheld, the rendered HTML and the SHA-256 of its content (the
numbers it shows) and of its PDF. Building the same product again makes a new version; the content
hash says whether the numbers changed.

A product dissemination row records one sending: who, to whom (a person, a folder or an e-mail
address), why, by which channel, which items, and whether it was delivered or failed (and why).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openilp.db.models import Base, utcnow
from openilp.db.types import UTCDateTime

__all__ = ["Product", "ProductDissemination"]


class Product(Base):
    """One version of a produced product."""

    __tablename__ = "products"
    __table_args__ = (Index("ix_products_agency_kind_key", "agency_id", "kind", "parameters_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    #: "compstat", "bulletin", ...
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(300))
    #: JSON of the request the product was built from (dates as ISO text).
    parameters: Mapped[str] = mapped_column(Text)
    #: SHA-256 of ``parameters``: versions of one product share it.
    parameters_key: Mapped[str] = mapped_column(String(64))
    #: 1 for the first build of these parameters, then 2, 3, ...
    version: Mapped[int] = mapped_column(Integer)
    #: The newest import of the agency's data when the product was built (None: no import yet).
    data_cutoff: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tlp: Mapped[str] = mapped_column(String(20))
    handling_code: Mapped[str] = mapped_column(String(2), default="")
    #: JSON of the whole marking (conditions, caveat, header and footer lines).
    marking: Mapped[str] = mapped_column(Text)
    #: JSON list of the items the product holds (labels and their TLP).
    items: Mapped[str] = mapped_column(Text, default="[]")
    #: JSON list of the labels of restricted items withheld from it.
    withheld: Mapped[str] = mapped_column(Text, default="[]")
    #: JSON of the numbers the product shows (its tables), and their SHA-256.
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    html: Mapped[str] = mapped_column(Text)
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf_pages: Mapped[int] = mapped_column(Integer, default=0)
    produced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    produced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductDissemination(Base):
    """One sending of a product version: who sent it to whom, why, how, and whether it arrived."""

    __tablename__ = "product_disseminations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    #: None when a schedule (the system) sent it.
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: "file" (written where the producer asked), "folder" or "email".
    channel: Mapped[str] = mapped_column(String(12))
    #: The recipient as named: a path, a folder or e-mail addresses.
    recipient: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(500))
    #: JSON list of the items sent (the product's items).
    items: Mapped[str] = mapped_column(Text)
    tlp: Mapped[str] = mapped_column(String(20))
    #: "delivered" or "failed".
    status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
