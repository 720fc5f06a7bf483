"""The sharing tables: sharing groups with their explicit member agencies.

A sharing group (MISP's term) is a named list of agencies an owning agency releases to as one
audience: a regional task force, a fusion centre's partners. Membership is explicit, one row per
agency; the owner is always a member. A group is an *audience*, never a permission: each member
still needs a current sharing agreement with the releasing agency (28 CFR 23.20(f)(1)) and a
law-enforcement recipient, checked at every release (:mod:`openilp.services.intel.groups`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openilp.db.models import Base, utcnow
from openilp.db.types import UTCDateTime

__all__ = ["SharingGroup", "SharingGroupMember"]


class SharingGroup(Base):
    """A named audience of agencies, owned (and managed) by one agency."""

    __tablename__ = "sharing_groups"
    __table_args__ = (UniqueConstraint("owner_agency_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The agency whose administrators manage the group.
    owner_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SharingGroupMember(Base):
    """One member agency of a sharing group (explicit: no wildcard, no nesting)."""

    __tablename__ = "sharing_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
