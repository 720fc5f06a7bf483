"""Telling partners that an event they were told conflicts with theirs was cancelled or ended.

When an event of this store is cancelled or ended (:func:`~openilp.services.deconfliction.closing.close_event`),
every partner conflict of that event (either direction: the partner learnt of the event from a
check, ours or theirs) is marked ``cancelled`` here and its closure notice ``pending``
(:func:`mark_event_closed`, in the closing transaction). :func:`notify_partners` then sends each
partner with pending notices one signed ``POST /federation/v1/deconfliction/closed`` holding only
the pointers to its events here and how each closed (``{"events": [{"event_id": "12", "outcome":
"cancelled"}]}``): all partners in parallel, each waited for at most ``federation_timeout_ms``. A
partner that answers is marked told (``sent``); one that is down, slow or refuses stays
``pending`` with the reason, shown in the watch centre's queue, and is sent again at the next
notice, by the web app's delivery schedule (``federation_delivery_interval_s``) or by ``openilp
deconflict notify-partners``. Every call out is audited (``federation_call``), and each partner's
outcome (``deconfliction_partner_notice``).

On receipt (:func:`answer_partner_closure`), the partner conflicts of the calling partner with
those pointers are marked cancelled (an already resolved one keeps its resolution and records that
the partner's event closed); the planner of the event here and every watch officer are told and it
is audited (``partner_conflict_event_closed``, with the calling instance and its end user). A
notice received twice changes nothing the second time, nor one about a conflict whose event here
closed first (that closure was sent the other way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openilp.core.contract import Result
from openilp.errors import InvalidRequest
from openilp.services.deconfliction.common import agency_names, leave_notice
from openilp.services.deconfliction.partner_records import partner_names
from openilp.services.deconfliction.watch import tell_watch_centre

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.core.unit_of_work import UnitOfWork
    from openilp.security.actors import UserInfo
    from openilp.services.federation.inbound import IncomingCall

__all__ = [
    "CLOSED_PATH",
    "MAX_EVENTS_PER_NOTICE",
    "PartnerNotice",
    "PartnersNotified",
    "answer_partner_closure",
    "mark_event_closed",
    "notify_partners",
]

CLOSED_PATH = "/federation/v1/deconfliction/closed"
#: Most event pointers in one notice (more wait for the next one).
MAX_EVENTS_PER_NOTICE = 500
_OUTCOMES = ("cancelled", "ended")


@dataclass(frozen=True)
class PartnerNotice(Result):
    """One partner's closure notice: the events it names, whether the partner has it, and why not."""

    partner: str
    events: int
    told: bool
    error: str = ""


@dataclass(frozen=True)
class PartnersNotified(Result):
    """What the closure notices did: the partners told, and those still to be told (retried later)."""

    notices: tuple[PartnerNotice, ...] = field(default_factory=tuple)

    @property
    def pending(self) -> tuple[PartnerNotice, ...]:
        return tuple(n for n in self.notices if not n.told)


def mark_event_closed(uow: UnitOfWork, event_id: int, outcome: str) -> int:
    """Inside the closing transaction: the partner conflicts of ``event_id`` closed here, their
    notices pending; the number of partners to tell."""
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionPartnerConflict as P

    rows = list(uow.session.scalars(select(P).where(P.event_id == event_id)))
    told = []
    for row in rows:
        if row.event_closed:
            continue  # the partner's event closed first: the partner has nothing to learn
        row.event_closed, row.event_closed_side, row.event_closed_at = outcome, "here", uow.now
        if row.status in ("open", "acknowledged"):
            row.status = "cancelled"
        row.notice_status = "pending"
        told.append(row.partner_id)
    return len(set(told))


def notify_partners(core: OpenILP, actor: UserInfo | None = None) -> PartnersNotified:
    """Send every pending closure notice, one signed call per partner in parallel (module notes)."""
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionEvent as E
    from openilp.db.deconfliction_models import DeconflictionPartnerConflict as P
    from openilp.db.federation_models import FederationPartner
    from openilp.services.federation.client import PartnerTarget, audit_outgoing, fan_out_each
    from openilp.services.federation.partners import instance_name

    with core.unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(P.partner_id, P.event_id, E.status, FederationPartner)
            .join(E, E.id == P.event_id)
            .join(FederationPartner, FederationPartner.id == P.partner_id)
            .where(P.notice_status == "pending")
            .order_by(P.partner_id, P.event_id)
        ).all()
        events: dict[int, dict[int, str]] = {}
        targets: dict[int, PartnerTarget] = {}
        removed: set[int] = set()
        for partner_id, event_id, status, partner in rows:
            if not partner.active:
                removed.add(int(partner_id))
                continue
            targets[int(partner_id)] = PartnerTarget(partner.id, partner.name, partner.base_url)
            chosen = events.setdefault(int(partner_id), {})
            if len(chosen) < MAX_EVENTS_PER_NOTICE:
                chosen[int(event_id)] = str(status)
        names = partner_names(uow.session, removed)
    if not events and not removed:
        return PartnersNotified()
    if actor is not None:
        end_user = f"{actor.full_name or actor.username} ({actor.username}, {actor.agency_code})"
    else:
        end_user = f"{instance_name(core)} (deconfliction)"
    calls = [
        (
            targets[partner_id],
            {"events": [{"event_id": str(e), "outcome": outcome} for e, outcome in sorted(chosen.items())]},
        )
        for partner_id, chosen in sorted(events.items())
    ]
    timeout_s = max(core.settings.federation_timeout_ms, 1) / 1000.0
    outcomes = fan_out_each(core, calls, CLOSED_PATH, end_user=end_user, timeout_s=timeout_s)
    notices: list[PartnerNotice] = []
    with core.unit_of_work(actor) as uow:
        audit_outgoing(uow, outcomes, path=CLOSED_PATH, end_user=end_user)
        for outcome in outcomes:
            partner_id = outcome.partner.partner_id
            sent = sorted(events[partner_id])
            error = "" if outcome.ok else outcome.error[:500]
            notices.append(_record(uow, partner_id, outcome.partner.name, sent, error, end_user))
        for partner_id in sorted(removed):
            error = "the partner is removed: register it again to send"
            notices.append(_record(uow, partner_id, names.get(partner_id, ""), None, error, end_user))
    return PartnersNotified(tuple(sorted(notices, key=lambda n: n.partner)))


def _record(
    uow: UnitOfWork, partner_id: int, partner: str, event_ids: list[int] | None, error: str, end_user: str
) -> PartnerNotice:
    """One partner's outcome on its pending rows (only the events sent, or all when ``event_ids`` is None)."""
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionPartnerConflict as P

    query = select(P).where(P.partner_id == partner_id, P.notice_status == "pending")
    if event_ids is not None:
        query = query.where(P.event_id.in_(event_ids))
    rows = list(uow.session.scalars(query))
    for row in rows:
        row.notice_attempts += 1
        row.notice_error = error
        if not error:
            row.notice_status, row.notified_at = "sent", uow.now
    events = sorted({row.event_id for row in rows})
    uow.audit(
        action="deconfliction_partner_notice",
        object_type="federation_partner",
        object_id=partner_id,
        details={"partner": partner, "events": events, "told": not error, "error": error, "end_user": end_user},
    )
    return PartnerNotice(partner, len(events), not error, error)


def _pointers(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    raw = body.get("events")
    if not isinstance(raw, list) or len(raw) > MAX_EVENTS_PER_NOTICE:
        raise InvalidRequest(f"events: give a list of at most {MAX_EVENTS_PER_NOTICE} closed events")
    out = []
    for item in raw:
        if not isinstance(item, Mapping) or str(item.get("outcome", "")) not in _OUTCOMES:
            raise InvalidRequest("events: each is {event_id, outcome: cancelled or ended}")
        ref = " ".join(str(item.get("event_id", "")).split())[:40]
        if not ref:
            raise InvalidRequest("events: each names the event_id it was told")
        out.append((ref, str(item["outcome"])))
    return out


def answer_partner_closure(core: OpenILP, call: IncomingCall) -> dict[str, Any]:
    """A partner's notice that events it told this store of were cancelled or ended (module notes)."""
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionEvent
    from openilp.db.deconfliction_models import DeconflictionPartnerConflict as P
    from openilp.services.federation.inbound import authenticate
    from openilp.services.federation.partners import instance_name

    with core.unit_of_work(None) as uow:
        caller = authenticate(uow, call, core.settings.federation_clock_skew_s)
        pointers = _pointers(call.payload())
        changed = 0
        for ref, outcome in pointers:
            rows = uow.session.scalars(
                select(P).where(P.partner_id == caller.partner_id, P.remote_event_ref == ref).order_by(P.id)
            ).all()
            for row in rows:
                if row.event_closed:
                    continue  # told before, or the event here closed first
                row.event_closed, row.event_closed_side, row.event_closed_at = outcome, "partner", uow.now
                if row.status in ("open", "acknowledged"):
                    row.status = "cancelled"
                changed += 1
                event = uow.session.get(DeconflictionEvent, row.event_id)
                assert event is not None
                code, name = agency_names(uow.session, {event.agency_id})[event.agency_id]
                theirs = f"{row.agency_name} ({row.agency_code}) at partner {caller.partner_name}"
                leave_notice(
                    uow,
                    agency_id=event.agency_id,
                    user_id=event.created_by_id,
                    kind="deconfliction_watch",
                    message=(
                        f"Deconfliction partner conflict #{row.id} (your event #{event.id}, {event.operation_name}): "
                        f"the event of {theirs} that conflicted with it was {outcome}. The conflict is closed."
                    ),
                )
                tell_watch_centre(
                    uow,
                    f"Deconfliction: partner conflict #{row.id} is closed: the event of {theirs} that conflicted "
                    f"with event #{event.id} of {name} ({code}) was {outcome}.",
                )
                uow.audit(
                    action="partner_conflict_event_closed",
                    object_type="deconfliction_partner_conflict",
                    object_id=row.id,
                    details={**caller.audit_details(), "partner_event": ref, "outcome": outcome, "event": event.id},
                    agency_id=event.agency_id,
                )
        uow.audit(
            action="deconfliction_partner_closure",
            object_type="federation_call",
            details={**caller.audit_details(), "events": len(pointers), "conflicts_closed": changed},
        )
        return {"instance": instance_name(core), "conflicts_closed": changed}
