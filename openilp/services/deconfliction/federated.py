"""Deconfliction across federated instances: a planned event checked against partners' events.

When an event is submitted (:func:`~openilp.services.deconfliction.events.submit_event`), it is
also sent, signed, to every active partner instance in parallel
(:func:`~openilp.services.federation.client.fan_out`, at most ``federation_timeout_ms``): its type,
place (point or polygon, radius), window, target identifiers, the pointer to the event here (its
number, ``event_id``), and the submitting agency and point of contact; never the operation's name or
address. Each partner checks it against its own active events by its own rules
(:mod:`openilp.services.deconfliction.partner_answer`) and answers, for each conflict, only the
reasons, the pointer to its event (``event_id``) and its side's agency and point of contact.

Here each partner conflict is queued for the watch centre (direction ``outgoing``,
:mod:`~openilp.services.deconfliction.partner_queue`), notifies the submitter
(``deconfliction_conflict``) and every watch officer (``deconfliction_alarm``), and is audited
(``deconfliction_partner_conflict``); every call out is audited (``federation_call``). Partners that
did not answer are named in the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openilp.core.contract import Result
from openilp.services.deconfliction.common import agency_names, leave_notice
from openilp.services.deconfliction.partner_records import record_partner_conflict
from openilp.services.deconfliction.watch import alarm_watch_centre

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = [
    "CHECK_PATH",
    "REASON_TEXT",
    "PartnerConflict",
    "PartnerUnanswered",
    "PartnerCheck",
    "check_partners",
    "parse_conflict",
]

CHECK_PATH = "/federation/v1/deconfliction/check"
#: How each reason reads in a notice.
REASON_TEXT = {"place_time": "place and time", "target": "a shared target"}


@dataclass(frozen=True)
class PartnerConflict(Result):
    """A partner's event conflicts: why, and whom to call there (nothing of their operation)."""

    partner: str
    reasons: tuple[str, ...]
    agency_code: str
    agency_name: str
    contact_name: str
    contact_phone: str
    #: The partner's pointer to its event ("" when it released none).
    event_ref: str = ""
    #: The watch centre's queue entry here (:mod:`~openilp.services.deconfliction.partner_queue`).
    partner_conflict_id: int | None = None


@dataclass(frozen=True)
class PartnerUnanswered(Result):
    """A partner that did not answer the check, and why (down, too slow, refused)."""

    partner: str
    reason: str


@dataclass(frozen=True)
class PartnerCheck(Result):
    """What the partners answered about one planned event."""

    partners_asked: int = 0
    conflicts: tuple[PartnerConflict, ...] = field(default_factory=tuple)
    unanswered: tuple[PartnerUnanswered, ...] = field(default_factory=tuple)


def _text(value: Any, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def parse_conflict(partner: str, raw: Any) -> PartnerConflict | None:
    """One conflict of a partner's answer, or None when it is malformed."""
    if not isinstance(raw, Mapping):
        return None
    reasons = raw.get("reasons")
    if not isinstance(reasons, list):
        return None
    known = tuple(str(r) for r in reasons if str(r) in REASON_TEXT)
    if not known:
        return None
    return PartnerConflict(
        partner=partner,
        reasons=known,
        agency_code=_text(raw.get("agency_code"), 40),
        agency_name=_text(raw.get("agency_name"), 200),
        contact_name=_text(raw.get("contact_name"), 200),
        contact_phone=_text(raw.get("contact_phone"), 40),
        event_ref=_text(raw.get("event_id"), 40),
    )


def check_partners(
    core: OpenILP,
    actor: UserInfo,
    event_id: int,
    operation_name: str,
    payload: Mapping[str, Any],
) -> PartnerCheck:
    """Ask every active partner about the event just recorded (module notes); notify and audit here."""
    from openilp.services.federation.client import PartnerTarget, audit_outgoing, fan_out
    from openilp.services.federation.partners import active_partners

    with core.unit_of_work(actor) as uow:
        targets = [PartnerTarget(p.id, p.name, p.base_url) for p in active_partners(uow.session)]
        code, name = agency_names(uow.session, {actor.agency_id})[actor.agency_id]
    if not targets:
        return PartnerCheck()
    end_user = f"{actor.full_name or actor.username} ({actor.username}, {actor.agency_code})"
    body = {**payload, "event_id": event_id, "agency_code": code, "agency_name": name}
    timeout_s = max(core.settings.federation_timeout_ms, 1) / 1000.0
    outcomes = fan_out(core, targets, CHECK_PATH, body, end_user=end_user, timeout_s=timeout_s)
    found: list[tuple[int, PartnerConflict]] = []
    unanswered: list[PartnerUnanswered] = []
    for outcome in outcomes:
        if outcome.answer is None:
            unanswered.append(PartnerUnanswered(outcome.partner.name, outcome.error))
            continue
        raw = outcome.answer.get("conflicts", [])
        for item in raw if isinstance(raw, list) else []:
            conflict = parse_conflict(outcome.partner.name, item)
            if conflict is not None:
                found.append((outcome.partner.partner_id, conflict))
    conflicts: list[PartnerConflict] = []
    with core.unit_of_work(actor) as uow:
        audit_outgoing(uow, outcomes, path=CHECK_PATH, end_user=end_user)
        for partner_id, conflict in found:
            queued = record_partner_conflict(
                uow,
                event_id=event_id,
                partner_id=partner_id,
                direction="outgoing",
                remote_event_ref=conflict.event_ref,
                reasons=conflict.reasons,
                agency_code=conflict.agency_code,
                agency_name=conflict.agency_name,
                contact_name=conflict.contact_name,
                contact_phone=conflict.contact_phone,
            )
            conflict = dataclasses.replace(conflict, partner_conflict_id=queued)
            conflicts.append(conflict)
            why = " and ".join(REASON_TEXT[r] for r in conflict.reasons)
            other = f"{conflict.agency_name} ({conflict.agency_code}) at partner {conflict.partner}"
            leave_notice(
                uow,
                agency_id=actor.agency_id,
                user_id=actor.id,
                kind="deconfliction_conflict",
                message=(
                    f"Deconfliction: your event #{event_id} ({operation_name}) conflicts ({why}) with an event of "
                    f"{other}. Call {conflict.contact_name} on {conflict.contact_phone} before you proceed."
                ),
            )
            alarm_watch_centre(
                uow,
                queued,
                f"{name} ({code}) planned event #{event_id} ({payload.get('event_type')}) that conflicts ({why}) "
                f"with an event of {other}; their contact: {conflict.contact_name}, {conflict.contact_phone}.",
                partner=True,
            )
            uow.audit(
                action="deconfliction_partner_conflict",
                object_type="deconfliction_event",
                object_id=event_id,
                details={
                    "partner": conflict.partner,
                    "end_user": end_user,
                    "reasons": list(conflict.reasons),
                    "agency_code": conflict.agency_code,
                    "partner_event": conflict.event_ref,
                    "partner_conflict_id": queued,
                },
                agency_id=actor.agency_id,
            )
    return PartnerCheck(len(targets), tuple(conflicts), tuple(sorted(unanswered, key=lambda u: u.partner)))
