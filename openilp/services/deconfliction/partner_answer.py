"""Answering a partner's deconfliction check (``POST /federation/v1/deconfliction/check``).

The signed call carries a partner's planned event: type, point (``lon``, ``lat``) or ``polygon``,
``radius_m``, window, target identifiers, the pointer to it at the partner (``event_id``), and the
partner's agency and point of contact. It is validated as a local submission is, and checked
against this store's active events by this store's rules (the same candidate search and
:func:`~openilp.tasking.deconfliction.check_event`); the partner's event is not stored. Each conflict
is queued for the watch centre here (direction ``incoming``,
:mod:`~openilp.services.deconfliction.partner_queue`) with only what the partner released to keep:
the pointer, its agency and its point of contact. For each conflict the owner of the event here is notified
(``deconfliction_conflict``, naming their own operation and the partner's contact), every watch
officer is alarmed (``deconfliction_alarm``), and it is audited (``deconfliction_partner_conflict``,
with the calling instance and its end user); every answered check is audited
(``deconfliction_partner_check``). The answer holds, per conflict, only the reasons, the pointer to the event here
(``event_id``) and the agency and point of contact here: never an operation's name, place, time or
targets.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from openilp.errors import InvalidRequest
from openilp.services.deconfliction.common import agency_names, leave_notice
from openilp.services.deconfliction.events import SubmitEventRequest
from openilp.services.deconfliction.federated import REASON_TEXT
from openilp.services.deconfliction.partner_records import record_partner_conflict
from openilp.services.deconfliction.places import (
    Place,
    candidate_rows,
    event_rules,
    local_polygon,
    matching_keys,
    table_around,
)
from openilp.services.deconfliction.watch import alarm_watch_centre
from openilp.tasking.deconfliction import PlannedEvent, check_event

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.services.federation.inbound import IncomingCall

__all__ = ["answer_partner_check"]


def _moment(value: object, name: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidRequest(f"{name}: give an ISO 8601 time with its UTC offset") from exc


def _number(value: object, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value))
    except ValueError as exc:
        raise InvalidRequest(f"{name}: give a number") from exc


def _request(body: dict[str, Any]) -> SubmitEventRequest:
    polygon = body.get("polygon")
    if polygon is not None and not (
        isinstance(polygon, list) and all(isinstance(v, list) and len(v) == 2 for v in polygon)
    ):
        raise InvalidRequest("polygon: give [lon, lat] pairs")
    targets = body.get("targets", [])
    if not isinstance(targets, list):
        raise InvalidRequest("targets: give a list of kind:value identifiers")
    return SubmitEventRequest(
        event_type=str(body.get("event_type", "")),
        operation_name="partner event",
        starts_at=_moment(body.get("starts_at"), "starts_at"),
        ends_at=_moment(body.get("ends_at"), "ends_at"),
        contact_name=str(body.get("contact_name", "")),
        contact_phone=str(body.get("contact_phone", "")),
        radius_m=_number(body.get("radius_m", 0.0), "radius_m") or 0.0,
        lon=_number(body.get("lon"), "lon") if polygon is None else None,
        lat=_number(body.get("lat"), "lat") if polygon is None else None,
        targets=tuple(str(t) for t in targets),
        polygon=_vertices(polygon),
    ).validate()


def _vertices(polygon: list[Any] | None) -> tuple[tuple[float, float], ...] | None:
    if polygon is None:
        return None
    try:
        return tuple((float(v[0]), float(v[1])) for v in polygon)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest("polygon: each vertex is [lon, lat] in numbers") from exc


def answer_partner_check(core: OpenILP, call: IncomingCall) -> dict[str, Any]:
    """A partner's planned event checked against this store's active events (module notes)."""
    from shapely import Polygon

    from openilp.db.deconfliction_models import DeconflictionEvent
    from openilp.services.federation.inbound import authenticate
    from openilp.services.federation.partners import instance_name

    with core.unit_of_work(None) as uow:
        caller = authenticate(uow, call, core.settings.federation_clock_skew_s)
        body = call.payload()
        request = _request(body)
        their_code = " ".join(str(body.get("agency_code", "")).split())[:40]
        their_name = " ".join(str(body.get("agency_name", "")).split())[:200]
        their_event = " ".join(str(body.get("event_id", "")).split())[:40]
        rule = event_rules(core)[request.event_type]
        if request.polygon is not None:
            centre = Polygon(request.polygon).centroid
            place = Place(float(centre.x), float(centre.y), float(request.radius_m), request.polygon)
        else:
            place = Place(float(request.lon or 0.0), float(request.lat or 0.0), float(request.radius_m))
        keys = matching_keys(uow.session, request.targets)
        rows = candidate_rows(uow.session, place, request.starts_at, request.ends_at, rule, keys, uow.now)
        planned = PlannedEvent(
            0.0,
            0.0,
            float(request.radius_m),
            request.starts_at,
            request.ends_at,
            tuple(keys),
            polygon=local_polygon(place),
            rule=rule,
        )
        hits = check_event(planned, table_around(place, rows)) if rows else []
        others = [uow.session.get(DeconflictionEvent, int(rows[hit.second][0])) for hit in hits]
        agencies = agency_names(uow.session, {e.agency_id for e in others if e is not None})
        partner = f"{their_name} ({their_code}) at partner {caller.partner_name}"
        answer = []
        for hit, other in zip(hits, others, strict=True):
            assert other is not None
            why = " and ".join(REASON_TEXT[r] for r in hit.reasons)
            code, name = agencies[other.agency_id]
            queued = record_partner_conflict(
                uow,
                event_id=other.id,
                partner_id=caller.partner_id,
                direction="incoming",
                remote_event_ref=their_event,
                reasons=hit.reasons,
                agency_code=their_code,
                agency_name=their_name,
                contact_name=request.contact_name,
                contact_phone=request.contact_phone,
            )
            leave_notice(
                uow,
                agency_id=other.agency_id,
                user_id=other.created_by_id,
                kind="deconfliction_conflict",
                message=(
                    f"Deconfliction: your event #{other.id} ({other.operation_name}) conflicts ({why}) with an "
                    f"event of {partner}. Call {request.contact_name} on {request.contact_phone} before you proceed."
                ),
            )
            alarm_watch_centre(
                uow,
                queued,
                f"{partner} plans an event ({request.event_type}) that conflicts ({why}) with event #{other.id} "
                f"of {name} ({code}); their contact: {request.contact_name}, {request.contact_phone}.",
                partner=True,
            )
            uow.audit(
                action="deconfliction_partner_conflict",
                object_type="deconfliction_event",
                object_id=other.id,
                details={
                    **caller.audit_details(),
                    "reasons": list(hit.reasons),
                    "agency_code": their_code,
                    "partner_event": their_event,
                    "partner_conflict_id": queued,
                },
                agency_id=other.agency_id,
            )
            answer.append(
                {
                    "reasons": list(hit.reasons),
                    "event_id": other.id,
                    "agency_code": code,
                    "agency_name": name,
                    "contact_name": other.contact_name,
                    "contact_phone": other.contact_phone,
                }
            )
        uow.audit(
            action="deconfliction_partner_check",
            object_type="federation_call",
            details={**caller.audit_details(), "event_type": request.event_type, "conflicts": len(answer)},
        )
        return {"instance": instance_name(core), "conflicts": answer}
