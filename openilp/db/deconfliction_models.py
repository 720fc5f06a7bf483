"""The deconfliction tables: planned operations (officer-safety events) and the conflicts found.

An event is a circle (WGS84 centre, radius in metres) and a UTC window, the agency and person who
planned it, the operation's name, its point of contact and its normalised target identifiers
(:mod:`openilp.tasking.deconfliction`). A conflict row records a pair found when an event was
submitted, with the reasons (``place_time``, ``target``); neither side is shown the other's
operation, only its agency and point of contact.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openilp.db.models import Base, utcnow
from openilp.db.types import UTCDateTime

__all__ = ["DeconflictionConflict", "DeconflictionEvent"]


class DeconflictionEvent(Base):
    """A planned operation (raid, search warrant, surveillance, undercover buy, arrest attempt, ...)."""

    __tablename__ = "deconfliction_events"
    __table_args__ = (Index("ix_deconfliction_events_status_ends_at", "status", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: One of :data:`openilp.tasking.deconfliction.EVENT_TYPES`.
    event_type: Mapped[str] = mapped_column(String(40))
    #: The case or operation name: shown to the owning agency only.
    operation_name: Mapped[str] = mapped_column(String(200))
    #: The address as geocoded (free text, may be empty when a point was given).
    address: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str] = mapped_column(String(40))
    #: JSON list of normalised ``kind:value`` target identifiers (owning agency only).
    targets: Mapped[str] = mapped_column(Text, default="[]")
    #: "active", "cancelled" or "ended".
    status: Mapped[str] = mapped_column(String(12), default="active")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class DeconflictionConflict(Base):
    """A conflict found between a submitted event and an active one, with its reasons."""

    __tablename__ = "deconfliction_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The event whose submission found the conflict.
    event_id: Mapped[int] = mapped_column(ForeignKey("deconfliction_events.id"), index=True)
    #: The active event it conflicts with.
    other_event_id: Mapped[int] = mapped_column(ForeignKey("deconfliction_events.id"), index=True)
    #: Comma-separated: "place_time", "target".
    reasons: Mapped[str] = mapped_column(String(40))
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
