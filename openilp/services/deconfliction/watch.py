"""The watch centre: every conflict raises an alarm, a watch officer acknowledges it, both parties are
told, and the resolution is recorded; a supervisor may waive a conflict under exigency.

A conflict moves ``open`` (alarm raised: every watch officer of the store gets a notice) →
``acknowledged`` (a watch officer has it; both parties are told who) → ``resolved`` with one of
:data:`RESOLUTIONS`:

* ``proceed``: both operations go ahead as planned, each team knowing of the other;
* ``joint``: the teams run the operation together;
* ``delay``: one operation moves (the note says which and to when);
* ``cancel``: one operation is called off (the note says which; its owner cancels it).

Both parties are notified of the acknowledgement and of the resolution. A supervisor of either
party may resolve an open or acknowledged conflict as ``proceed`` under an **exigency waiver**
(life at risk, evidence about to be lost) with a written reason; the other party and every
watch officer are notified. Every step is audited.

Watch officers (``deconfliction:watch``) see, for each conflict, both sides' agency, point of
contact, event type and window, the reasons and the state; never an operation's name, place or
targets. They serve every agency in the store. Conflicts with partner instances' events are in
the same queue and worked the same way (:mod:`~openilp.services.deconfliction.partner_queue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openilp.core.contract import Request, Result, require
from openilp.errors import NotFound
from openilp.services.deconfliction.common import agency_names, event_side, leave_notice, permitted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.core import OpenILP
    from openilp.core.unit_of_work import UnitOfWork
    from openilp.db.deconfliction_models import DeconflictionConflict, DeconflictionEvent, DeconflictionPartnerConflict
    from openilp.security.actors import UserInfo

__all__ = [
    "RESOLUTIONS",
    "AcknowledgeRequest",
    "ConflictHandled",
    "ResolveRequest",
    "WaiveRequest",
    "WatchQueue",
    "WatchQueueRequest",
    "acknowledge_conflict",
    "alarm_watch_centre",
    "record_resolution",
    "tell_watch_centre",
    "resolve_conflict",
    "waive_conflict",
    "watch_queue",
]

RESOLUTIONS = ("proceed", "joint", "delay", "cancel")
WATCH = "deconfliction:watch"
WAIVE = "deconfliction:waive"


def _watch_officers(session: Session) -> list[tuple[int, int]]:
    from sqlalchemy import select

    from openilp.db.models import User

    rows = session.execute(
        select(User.id, User.agency_id).where(User.role == "watch_officer", User.is_active.is_(True))
    ).all()
    return [(int(user_id), int(agency_id)) for user_id, agency_id in rows]


def alarm_watch_centre(uow: UnitOfWork, conflict_id: int | None, text: str, *, partner: bool = False) -> None:
    """Notify every active watch officer of the store (kind ``deconfliction_alarm``); ``partner``: the
    conflict is one with a partner instance's event (``conflict_id`` numbers its partner conflict)."""
    if partner:
        what = "conflict with a partner instance's event" + (
            f" (partner conflict #{conflict_id})" if conflict_id is not None else ""
        )
    else:
        what = f"conflict #{conflict_id}"
    tell_watch_centre(uow, f"Deconfliction alarm: {what}. {text}", kind="deconfliction_alarm")


def tell_watch_centre(uow: UnitOfWork, message: str, *, kind: str = "deconfliction_watch") -> None:
    """The same notice to every active watch officer of the store."""
    for user_id, agency_id in _watch_officers(uow.session):
        leave_notice(uow, agency_id=agency_id, user_id=user_id, kind=kind, message=message)


def _view(session: Session, conflict: DeconflictionConflict) -> dict[str, Any]:
    from openilp.db.deconfliction_models import DeconflictionEvent

    first = session.get(DeconflictionEvent, conflict.event_id)
    second = session.get(DeconflictionEvent, conflict.other_event_id)
    assert first is not None and second is not None
    agencies = agency_names(session, {first.agency_id, second.agency_id})
    return {
        "conflict_id": conflict.id,
        "found_at": conflict.found_at.isoformat(),
        "reasons": conflict.reasons.split(","),
        "status": conflict.status,
        "resolution": conflict.resolution,
        "resolution_note": conflict.resolution_note,
        "exigency_waiver": conflict.exigency_waiver,
        "acknowledged_at": conflict.acknowledged_at.isoformat() if conflict.acknowledged_at else None,
        "resolved_at": conflict.resolved_at.isoformat() if conflict.resolved_at else None,
        "submitted": event_side(first, agencies),
        "existing": event_side(second, agencies),
    }


@dataclass(frozen=True)
class WatchQueueRequest(Request):
    """Open and acknowledged conflicts (and, when asked, the resolved ones too)."""

    include_resolved: bool = False


@dataclass(frozen=True)
class WatchQueue(Result):
    """This store's conflicts, and its conflicts with partner instances' events
    (:mod:`~openilp.services.deconfliction.partner_queue`)."""

    conflicts: tuple[dict[str, Any], ...]
    partner_conflicts: tuple[dict[str, Any], ...] = ()


def watch_queue(core: OpenILP, actor: UserInfo | None, request: WatchQueueRequest) -> WatchQueue:
    """The watch centre's queue, oldest alarm first (an audited read)."""
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionConflict as C
    from openilp.services.deconfliction.partner_records import partner_conflict_views

    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, WATCH, "read the watch-centre queue", "deconfliction_conflict")
    with core.unit_of_work(actor) as uow:
        query = select(C).order_by(C.found_at, C.id)
        if not request.include_resolved:
            query = query.where(C.status != "resolved")
        rows = [_view(uow.session, c) for c in uow.session.scalars(query).all()]
        partner_rows = partner_conflict_views(uow.session, include_resolved=request.include_resolved)
        uow.audit(
            action="deconfliction_queue_read",
            object_type="deconfliction_conflict",
            details={
                "count": len(rows),
                "partner_count": len(partner_rows),
                "include_resolved": request.include_resolved,
            },
            agency_id=actor.agency_id,
        )
    return WatchQueue(conflicts=tuple(rows), partner_conflicts=tuple(partner_rows))


@dataclass(frozen=True)
class AcknowledgeRequest(Request):
    conflict_id: int


@dataclass(frozen=True)
class ResolveRequest(Request):
    """How a conflict was resolved (one of :data:`RESOLUTIONS`) and a note (who moves, to when)."""

    conflict_id: int
    resolution: str
    note: str = ""

    def validate(self) -> ResolveRequest:
        require(self.resolution in RESOLUTIONS, f"resolution: choose {', '.join(RESOLUTIONS)}")
        require(len(self.note) <= 1000, "note: at most 1,000 characters")
        return self


@dataclass(frozen=True)
class WaiveRequest(Request):
    """A supervisor's exigency waiver: the reason is required."""

    conflict_id: int
    reason: str

    def validate(self) -> WaiveRequest:
        require(
            10 <= len(self.reason.strip()) <= 1000, "reason: say why the team must proceed now (10 to 1,000 characters)"
        )
        return self


@dataclass(frozen=True)
class ConflictHandled(Result):
    conflict_id: int
    status: str
    resolution: str | None
    exigency_waiver: bool


def _load(uow: UnitOfWork, conflict_id: int) -> tuple[DeconflictionConflict, DeconflictionEvent, DeconflictionEvent]:
    from openilp.db.deconfliction_models import DeconflictionConflict, DeconflictionEvent

    conflict = uow.session.get(DeconflictionConflict, conflict_id)
    if conflict is None:
        raise NotFound(f"no deconfliction conflict {conflict_id}")
    first = uow.session.get(DeconflictionEvent, conflict.event_id)
    second = uow.session.get(DeconflictionEvent, conflict.other_event_id)
    assert first is not None and second is not None
    return conflict, first, second


def _tell_parties(uow: UnitOfWork, conflict: DeconflictionConflict, events: tuple[Any, ...], text: str) -> None:
    """A notice to the planner of each event (their own operation named, the other side's contact)."""
    agencies = agency_names(uow.session, {e.agency_id for e in events})
    for mine, other in (events, events[::-1]):
        code, name = agencies[other.agency_id]
        leave_notice(
            uow,
            agency_id=mine.agency_id,
            user_id=mine.created_by_id,
            kind="deconfliction_watch",
            message=(
                f"Deconfliction conflict #{conflict.id} (your event #{mine.id}, {mine.operation_name}; "
                f"{name} ({code}), contact {other.contact_name} on {other.contact_phone}): {text}"
            ),
        )


def acknowledge_conflict(core: OpenILP, actor: UserInfo | None, request: AcknowledgeRequest) -> ConflictHandled:
    """A watch officer takes an open conflict; both parties are told (audited)."""
    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, WATCH, "acknowledge deconfliction conflicts", "deconfliction_conflict")
    with core.unit_of_work(actor) as uow:
        conflict, first, second = _load(uow, request.conflict_id)
        require(conflict.status == "open", f"conflict {conflict.id} is already {conflict.status}")
        conflict.status = "acknowledged"
        conflict.acknowledged_at = uow.now
        conflict.acknowledged_by_id = actor.id
        _tell_parties(
            uow,
            conflict,
            (first, second),
            f"the watch centre ({actor.full_name or actor.username}) has acknowledged it; call the other team.",
        )
        uow.audit(
            action="deconfliction_acknowledged",
            object_type="deconfliction_conflict",
            object_id=conflict.id,
            details={"events": [first.id, second.id]},
            agency_id=actor.agency_id,
        )
    return ConflictHandled(conflict.id, "acknowledged", None, False)


def record_resolution(
    uow: UnitOfWork,
    actor: UserInfo,
    conflict: DeconflictionConflict | DeconflictionPartnerConflict,
    resolution: str,
    note: str,
    waiver: bool,
) -> None:
    """Mark a conflict (of this store, or with a partner's event) resolved by ``actor``."""
    conflict.status = "resolved"
    conflict.resolution = resolution
    conflict.resolution_note = note.strip()
    conflict.resolved_at = uow.now
    conflict.resolved_by_id = actor.id
    conflict.exigency_waiver = waiver
    if conflict.acknowledged_at is None:
        conflict.acknowledged_at = uow.now
        conflict.acknowledged_by_id = actor.id


def resolve_conflict(core: OpenILP, actor: UserInfo | None, request: ResolveRequest) -> ConflictHandled:
    """A watch officer records how a conflict was resolved; both parties are told (audited)."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, WATCH, "resolve deconfliction conflicts", "deconfliction_conflict")
    with core.unit_of_work(actor) as uow:
        conflict, first, second = _load(uow, request.conflict_id)
        require(conflict.status != "resolved", f"conflict {conflict.id} is already resolved ({conflict.resolution})")
        record_resolution(uow, actor, conflict, request.resolution, request.note, waiver=False)
        note = f" Note: {request.note.strip()}" if request.note.strip() else ""
        _tell_parties(uow, conflict, (first, second), f"resolved by the watch centre: {request.resolution}.{note}")
        uow.audit(
            action="deconfliction_resolved",
            object_type="deconfliction_conflict",
            object_id=conflict.id,
            details={"resolution": request.resolution, "note": request.note.strip(), "events": [first.id, second.id]},
            agency_id=actor.agency_id,
        )
    return ConflictHandled(request.conflict_id, "resolved", request.resolution, False)


def waive_conflict(core: OpenILP, actor: UserInfo | None, request: WaiveRequest) -> ConflictHandled:
    """A supervisor of either party lets their team proceed under exigency (audited; the other party
    and the watch centre are told)."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, WAIVE, "waive a deconfliction conflict", "deconfliction_conflict")
    with core.unit_of_work(actor) as uow:
        conflict, first, second = _load(uow, request.conflict_id)
        if actor.agency_id not in (first.agency_id, second.agency_id):
            raise NotFound(f"no deconfliction conflict {request.conflict_id} of your agency")
        require(conflict.status != "resolved", f"conflict {conflict.id} is already resolved ({conflict.resolution})")
        record_resolution(uow, actor, conflict, "proceed", request.reason, waiver=True)
        agencies = agency_names(uow.session, {actor.agency_id})
        code, name = agencies[actor.agency_id]
        text = (
            f"exigency waiver by {actor.full_name or actor.username}, supervisor at {name} ({code}): "
            f"their team proceeds now. Reason: {request.reason.strip()}"
        )
        _tell_parties(uow, conflict, (first, second), text)
        alarm_watch_centre(uow, conflict.id, text)
        uow.audit(
            action="deconfliction_exigency_waiver",
            object_type="deconfliction_conflict",
            object_id=conflict.id,
            details={"reason": request.reason.strip(), "events": [first.id, second.id]},
            agency_id=actor.agency_id,
        )
    return ConflictHandled(request.conflict_id, "resolved", "proceed", True)
