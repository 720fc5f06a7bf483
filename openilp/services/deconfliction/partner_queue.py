"""The watch centre's actions on conflicts with partner instances' events, as on local ones.

Either side's check may find a conflict between an event here and an event at a partner instance:
this store's check at the partner (:func:`~openilp.services.deconfliction.federated.check_partners`,
direction ``outgoing``) or the partner's check here
(:func:`~openilp.services.deconfliction.partner_answer.answer_partner_check`, ``incoming``). Both
instances then hold a queue entry (:class:`~openilp.db.deconfliction_models.DeconflictionPartnerConflict`)
with the partner, the pointer to the partner's event, the two points of contact and the reasons;
nothing the partner did not release (its operation's name, place, window or targets).

A watch officer (``deconfliction:watch``) acknowledges it and records its resolution; a supervisor
of the agency whose event it is (``deconfliction:waive``) may waive it under exigency with a reason.
The planner of the event here is told each step, and a waiver alarms every watch officer; every
step is audited (``partner_conflict_acknowledged``, ``partner_conflict_resolved``,
``partner_conflict_exigency_waiver``). The partner's watch centre works its own entry: the two
centres agree by phone, from the contacts each holds. When either event is cancelled or ended the
entry becomes ``cancelled`` (:mod:`~openilp.services.deconfliction.partner_notices`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openilp.core.contract import require
from openilp.errors import NotFound
from openilp.services.deconfliction.common import agency_names, leave_notice, permitted
from openilp.services.deconfliction.partner_records import partner_names
from openilp.services.deconfliction.watch import (
    WAIVE,
    WATCH,
    AcknowledgeRequest,
    ConflictHandled,
    ResolveRequest,
    WaiveRequest,
    alarm_watch_centre,
    record_resolution,
)

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.core.unit_of_work import UnitOfWork
    from openilp.db.deconfliction_models import DeconflictionEvent, DeconflictionPartnerConflict
    from openilp.security.actors import UserInfo

__all__ = ["acknowledge_partner_conflict", "resolve_partner_conflict", "waive_partner_conflict"]


def _load(uow: UnitOfWork, conflict_id: int) -> tuple[DeconflictionPartnerConflict, DeconflictionEvent]:
    from openilp.db.deconfliction_models import DeconflictionEvent, DeconflictionPartnerConflict

    conflict = uow.session.get(DeconflictionPartnerConflict, conflict_id)
    if conflict is None:
        raise NotFound(f"no partner conflict {conflict_id}")
    event = uow.session.get(DeconflictionEvent, conflict.event_id)
    assert event is not None
    return conflict, event


def _still_open(conflict: DeconflictionPartnerConflict) -> None:
    if conflict.status == "cancelled":
        side = "the partner's" if conflict.event_closed_side == "partner" else "this store's"
        require(False, f"partner conflict {conflict.id} is cancelled: {side} event was {conflict.event_closed}")
    require(
        conflict.status != "resolved", f"partner conflict {conflict.id} is already resolved ({conflict.resolution})"
    )


def _tell_planner(
    uow: UnitOfWork, conflict: DeconflictionPartnerConflict, event: DeconflictionEvent, text: str
) -> None:
    partner = partner_names(uow.session, {conflict.partner_id}).get(conflict.partner_id, "")
    leave_notice(
        uow,
        agency_id=event.agency_id,
        user_id=event.created_by_id,
        kind="deconfliction_watch",
        message=(
            f"Deconfliction partner conflict #{conflict.id} (your event #{event.id}, {event.operation_name}; "
            f"{conflict.agency_name} ({conflict.agency_code}) at partner {partner}, contact "
            f"{conflict.contact_name} on {conflict.contact_phone}): {text}"
        ),
    )


def acknowledge_partner_conflict(core: OpenILP, actor: UserInfo | None, request: AcknowledgeRequest) -> ConflictHandled:
    """A watch officer takes an open partner conflict; the planner here is told (audited)."""
    what = "acknowledge deconfliction conflicts"
    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, WATCH, what, "deconfliction_partner_conflict")
    with core.unit_of_work(actor) as uow:
        conflict, event = _load(uow, request.conflict_id)
        _still_open(conflict)
        require(conflict.status == "open", f"partner conflict {conflict.id} is already {conflict.status}")
        conflict.status = "acknowledged"
        conflict.acknowledged_at = uow.now
        conflict.acknowledged_by_id = actor.id
        _tell_planner(
            uow,
            conflict,
            event,
            f"the watch centre ({actor.full_name or actor.username}) has acknowledged it; call the other team.",
        )
        uow.audit(
            action="partner_conflict_acknowledged",
            object_type="deconfliction_partner_conflict",
            object_id=conflict.id,
            details={"event": event.id, "partner_event": conflict.remote_event_ref},
            agency_id=actor.agency_id,
        )
    return ConflictHandled(request.conflict_id, "acknowledged", None, False)


def resolve_partner_conflict(core: OpenILP, actor: UserInfo | None, request: ResolveRequest) -> ConflictHandled:
    """A watch officer records how a partner conflict was resolved; the planner here is told (audited)."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, WATCH, "resolve deconfliction conflicts", "deconfliction_partner_conflict")
    with core.unit_of_work(actor) as uow:
        conflict, event = _load(uow, request.conflict_id)
        _still_open(conflict)
        record_resolution(uow, actor, conflict, request.resolution, request.note, waiver=False)
        note = f" Note: {request.note.strip()}" if request.note.strip() else ""
        _tell_planner(uow, conflict, event, f"resolved by the watch centre: {request.resolution}.{note}")
        uow.audit(
            action="partner_conflict_resolved",
            object_type="deconfliction_partner_conflict",
            object_id=conflict.id,
            details={"resolution": request.resolution, "note": request.note.strip(), "event": event.id},
            agency_id=actor.agency_id,
        )
    return ConflictHandled(request.conflict_id, "resolved", request.resolution, False)


def waive_partner_conflict(core: OpenILP, actor: UserInfo | None, request: WaiveRequest) -> ConflictHandled:
    """A supervisor of the agency whose event it is lets their team proceed under exigency (audited;
    the planner and every watch officer here are told)."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, WAIVE, "waive a deconfliction conflict", "deconfliction_partner_conflict")
    with core.unit_of_work(actor) as uow:
        conflict, event = _load(uow, request.conflict_id)
        if actor.agency_id != event.agency_id:
            raise NotFound(f"no partner conflict {request.conflict_id} of your agency")
        _still_open(conflict)
        record_resolution(uow, actor, conflict, "proceed", request.reason, waiver=True)
        code, name = agency_names(uow.session, {actor.agency_id})[actor.agency_id]
        text = (
            f"exigency waiver by {actor.full_name or actor.username}, supervisor at {name} ({code}): "
            f"their team proceeds now. Reason: {request.reason.strip()}"
        )
        _tell_planner(uow, conflict, event, text)
        alarm_watch_centre(uow, conflict.id, text, partner=True)
        uow.audit(
            action="partner_conflict_exigency_waiver",
            object_type="deconfliction_partner_conflict",
            object_id=conflict.id,
            details={"reason": request.reason.strip(), "event": event.id},
            agency_id=actor.agency_id,
        )
    return ConflictHandled(request.conflict_id, "resolved", "proceed", True)
