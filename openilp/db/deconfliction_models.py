"""The deconfliction tables: planned operations (officer-safety events) and the conflicts found.

An event is a circle (WGS84 centre, radius in metres) and a UTC window, the agency and person who
planned it, the operation's name, its point of contact and its normalised target identifiers
(:mod:`openilp.tasking.deconfliction`). A conflict row records a pair found when an event was
submitted, with the reasons (``place_time``, ``target``); neither side is shown the other's
operation, only its agency and point of contact. A partner conflict row records a conflict between
an event here and an event at a partner instance (found by either side's check), holding only what
the partner released: its event's pointer, its agency and its point of contact.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openilp.db.models import Base, utcnow
from openilp.db.types import UTCDateTime

__all__ = [
    "DeconflictionCell",
    "DeconflictionConflict",
    "DeconflictionEvent",
    "DeconflictionPartnerConflict",
    "DeconflictionTarget",
]


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
    #: The centre (WGS84); None once the location is purged after the event.
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    radius_m: Mapped[float] = mapped_column(Float)
    #: A polygon's vertices as a JSON list of [lon, lat] (None for a point), purged with the centre.
    polygon: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The place's bounding box widened by its radius and its rule's distance (WGS84 degrees), and the
    #: window widened by its rule's time: the indexed first filter (two events can only conflict when
    #: both boxes and both widened windows meet).
    min_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The event type's rule when the event was planned (metres, seconds).
    buffer_m: Mapped[float] = mapped_column(Float, default=304.8)
    time_buffer_s: Mapped[float] = mapped_column(Float, default=7200.0)
    window_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    window_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: When the location (centre, polygon, box, address) was purged after the event.
    location_purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
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
    #: "open" (alarm raised), "acknowledged" (a watch officer has it), "resolved".
    status: Mapped[str] = mapped_column(String(12), default="open")
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: "proceed", "joint", "delay" or "cancel".
    resolution: Mapped[str | None] = mapped_column(String(12), nullable=True)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: True when a supervisor let a team proceed under exigency before the watch centre resolved it.
    exigency_waiver: Mapped[bool] = mapped_column(Boolean, default=False)


class DeconflictionTarget(Base):
    """One matching key of an event: a normalised target (``vehicle:ABC123``) or the resolved
    entity it names (``entity:42``); looked up by equality through its index."""

    __tablename__ = "deconfliction_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("deconfliction_events.id"), index=True)
    key: Mapped[str] = mapped_column(String(220), index=True)


class DeconflictionCell(Base):
    """One grid cell (0.02 degrees square, about 2 km) an event's widened box touches: the spatial
    index, looked up by equality (:func:`openilp.services.deconfliction.places.cells_of`)."""

    __tablename__ = "deconfliction_cells"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("deconfliction_events.id"), index=True)
    cell: Mapped[int] = mapped_column(Integer, index=True)


class DeconflictionPartnerConflict(Base):
    """A conflict between an event of this store and an event at a partner instance.

    ``direction`` says whose check found it: ``outgoing`` (this store's event was checked at the
    partner) or ``incoming`` (the partner's event was checked here). The partner's side is only what
    it released: the pointer to its event (its event number there, as text), its agency and its point
    of contact; never its operation's name, place, window or targets. The watch centre works it as a
    local conflict (``open`` → ``acknowledged`` → ``resolved``); it is ``cancelled`` when either event
    is cancelled or ended first. When this store's event closes, the partner is sent a signed notice
    (``notice_status`` ``pending`` until the partner acknowledges it, then ``sent``).
    """

    __tablename__ = "deconfliction_partner_conflicts"
    __table_args__ = (Index("ix_deconfliction_partner_conflicts_partner_ref", "partner_id", "remote_event_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The event of this store.
    event_id: Mapped[int] = mapped_column(ForeignKey("deconfliction_events.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("federation_partners.id"))
    #: "outgoing" (found by this store's check at the partner) or "incoming" (by the partner's check here).
    direction: Mapped[str] = mapped_column(String(8))
    #: The partner's pointer to its event ("" when the partner released none).
    remote_event_ref: Mapped[str] = mapped_column(String(40), default="")
    #: Comma-separated: "place_time", "target".
    reasons: Mapped[str] = mapped_column(String(40))
    #: The partner side's agency and point of contact, as the partner gave them.
    agency_code: Mapped[str] = mapped_column(String(40), default="")
    agency_name: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: "open", "acknowledged", "resolved" or "cancelled" (an event was cancelled or ended first).
    status: Mapped[str] = mapped_column(String(12), default="open")
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: "proceed", "joint", "delay" or "cancel".
    resolution: Mapped[str | None] = mapped_column(String(12), nullable=True)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    exigency_waiver: Mapped[bool] = mapped_column(Boolean, default=False)
    #: "", "cancelled" or "ended": how one of the two events closed, and on which side ("here", "partner").
    event_closed: Mapped[str] = mapped_column(String(12), default="")
    event_closed_side: Mapped[str] = mapped_column(String(8), default="")
    event_closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The closure notice to the partner: "" (none due), "pending" (not yet acknowledged) or "sent".
    notice_status: Mapped[str] = mapped_column(String(8), default="")
    notice_attempts: Mapped[int] = mapped_column(Integer, default=0)
    notice_error: Mapped[str] = mapped_column(String(500), default="")
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
