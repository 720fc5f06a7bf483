"""Every product kind, registered: what the command line and the web app use to build one again.

Each kind's module registers how to rebuild it from stored parameters when imported; this module
imports them all, so :func:`rerender_product` can rebuild any stored version in a fresh process.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from openilp.core import OpenILP, Result
from openilp.db.models import User
from openilp.db.product_models import Product
from openilp.errors import NotPermitted
from openilp.intel.markings import TLP_ONWARD
from openilp.security.actors import UserInfo
from openilp.security.roles import has_permission
from openilp.services.products import bulletin, compstat, problem_profile, safety_alert, strategic
from openilp.services.products.common import PRODUCT_KINDS, Rerendered, rerender

__all__ = ["KIND_MODULES", "ProductList", "StoredProduct", "list_products", "rerender_product"]

#: Kind → the module that builds it.
KIND_MODULES = {
    "compstat": compstat,
    "bulletin": bulletin,
    "safety_alert": safety_alert,
    "problem_profile": problem_profile,
    "strategic": strategic,
}
assert set(KIND_MODULES) <= set(PRODUCT_KINDS)


def rerender_product(core: OpenILP, actor: UserInfo | None, product_id: int) -> Rerendered:
    """Build stored product ``product_id`` again from its parameters (any kind) and compare its numbers."""
    return rerender(core, actor, product_id)


@dataclass(frozen=True)
class StoredProduct:
    """One stored product version as a list shows it (no document)."""

    product_id: int
    kind: str
    kind_label: str
    title: str
    version: int
    tlp: str
    marking: str
    #: The handling code of its most restrictive item (``P``, ``C`` or "" when it holds no record).
    handling_code: str
    #: Who may see it onward, by its TLP level (:data:`openilp.intel.markings.TLP_ONWARD`).
    onward: str
    data_cutoff: dt.datetime | None
    produced_at: dt.datetime
    produced_by: str
    pdf_pages: int
    parameters: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "title": self.title,
            "version": self.version,
            "tlp": self.tlp,
            "marking": self.marking,
            "handling_code": self.handling_code,
            "onward": self.onward,
            "data_cutoff": None if self.data_cutoff is None else self.data_cutoff.isoformat(),
            "produced_at": self.produced_at.isoformat(),
            "produced_by": self.produced_by,
            "pdf_pages": self.pdf_pages,
            "parameters": self.parameters,
        }


@dataclass(frozen=True)
class ProductList(Result):
    """The stored product versions of the actor's agency, newest first."""

    products: tuple[StoredProduct, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"products": [p.as_dict() for p in self.products]}


def list_products(core: OpenILP, actor: UserInfo, *, limit: int = 500) -> ProductList:
    """The stored products of the actor's agency (``products:read``), newest first, at most ``limit``."""
    if not has_permission(actor.role, "products:read"):
        raise NotPermitted(f"your role ({actor.role}) may not read products (products:read)")
    with core.unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(Product, User.username)
            .outerjoin(User, User.id == Product.produced_by_id)
            .where(Product.agency_id == actor.agency_id)
            .order_by(Product.produced_at.desc(), Product.id.desc())
            .limit(limit)
        ).all()
        products = tuple(
            StoredProduct(
                product_id=row.id,
                kind=row.kind,
                kind_label=PRODUCT_KINDS.get(row.kind, row.kind),
                title=row.title,
                version=row.version,
                tlp=row.tlp,
                marking=str(json.loads(row.marking).get("header", row.tlp)),
                handling_code=str(json.loads(row.marking).get("handling_code", "")),
                onward=TLP_ONWARD.get(row.tlp, ""),
                data_cutoff=row.data_cutoff,
                produced_at=row.produced_at,
                produced_by=username or "OpenILP (command line or schedule)",
                pdf_pages=row.pdf_pages,
                parameters=json.loads(row.parameters),
            )
            for row, username in rows
        )
    return ProductList(products)
