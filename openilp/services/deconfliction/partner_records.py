"""The partner conflicts as stored and shown: one queue entry per conflict between an event of this
store and an event at a partner instance (:class:`~openilp.db.deconfliction_models.DeconflictionPartnerConflict`).

:func:`record_partner_conflict` queues one (called by either side's check); the views give the
watch centre's queue (:func:`partner_conflict_views`) and the planner's list of events
(:func:`partner_conflicts_of_events`) what the partner released, never more. The watch centre's
actions on them are :mod:`~openilp.services.deconfliction.partner_queue`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from openilp.services.deconfliction.common import agency_names, event_side

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.core.unit_of_work import UnitOfWork
    from openilp.db.deconfliction_models import DeconflictionPartnerConflict

__all__ = [
    "CLOSED_STATES",
    "DIRECTIONS",
    "partner_conflict_views",
    "partner_conflicts_of_events",
    "partner_names",
    "record_partner_conflict",
]

#: Whose check found the conflict: this store's at the partner, or the partner's here.
DIRECTIONS = ("outgoing", "incoming")
#: States that are no longer in the queue.
CLOSED_STATES = ("resolved", "cancelled")


def record_partner_conflict(
    uow: UnitOfWork,
    *,
    event_id: int,
    partner_id: int,
    direction: str,
    remote_event_ref: str,
    reasons: Iterable[str],
    agency_code: str,
    agency_name: str,
    contact_name: str,
    contact_phone: str,
) -> int:
    """Queue one conflict between event ``event_id`` here and a partner's event; its id."""
    from openilp.db.deconfliction_models import DeconflictionPartnerConflict

    assert direction in DIRECTIONS
    row = DeconflictionPartnerConflict(
        event_id=event_id,
        partner_id=partner_id,
        direction=direction,
        remote_event_ref=remote_event_ref[:40],
        reasons=",".join(reasons),
        agency_code=agency_code[:40],
        agency_name=agency_name[:200],
        contact_name=contact_name[:200],
        contact_phone=contact_phone[:40],
        found_at=uow.now,
        status="open",
        resolution_note="",
        exigency_waiver=False,
        event_closed="",
        event_closed_side="",
        notice_status="",
        notice_attempts=0,
        notice_error="",
    )
    uow.session.add(row)
    uow.session.flush()
    return int(row.id)


def partner_names(session: Session, ids: set[int]) -> dict[int, str]:
    """``{partner id: its name}`` of the partners in ``ids``."""
    from sqlalchemy import select

    from openilp.db.federation_models import FederationPartner

    rows = session.execute(select(FederationPartner.id, FederationPartner.name).where(FederationPartner.id.in_(ids)))
    return {int(i): str(name) for i, name in rows} if ids else {}


def _views(session: Session, rows: list[DeconflictionPartnerConflict]) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionEvent

    if not rows:
        return []
    ids = {r.event_id for r in rows}
    events = {e.id: e for e in session.scalars(select(DeconflictionEvent).where(DeconflictionEvent.id.in_(ids)))}
    agencies = agency_names(session, {e.agency_id for e in events.values()})
    partners = partner_names(session, {r.partner_id for r in rows})
    out = []
    for row in rows:
        out.append(
            {
                "partner_conflict_id": row.id,
                "partner": partners.get(row.partner_id, ""),
                "direction": row.direction,
                "found_at": row.found_at.isoformat(),
                "reasons": row.reasons.split(","),
                "status": row.status,
                "resolution": row.resolution,
                "resolution_note": row.resolution_note,
                "exigency_waiver": row.exigency_waiver,
                "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
                "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
                "event_closed": row.event_closed,
                "event_closed_side": row.event_closed_side,
                "event_closed_at": row.event_closed_at.isoformat() if row.event_closed_at else None,
                "notice_status": row.notice_status,
                "notice_error": row.notice_error,
                "here": event_side(events[row.event_id], agencies),
                "partner_side": {
                    "partner": partners.get(row.partner_id, ""),
                    "event_ref": row.remote_event_ref,
                    "agency_code": row.agency_code,
                    "agency_name": row.agency_name,
                    "contact_name": row.contact_name,
                    "contact_phone": row.contact_phone,
                },
            }
        )
    return out


def partner_conflict_views(session: Session, *, include_resolved: bool) -> list[dict[str, Any]]:
    """The watch centre's view of the partner conflicts, oldest first (open and acknowledged only
    unless ``include_resolved``: then the resolved and cancelled ones too)."""
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionPartnerConflict as P

    query = select(P).order_by(P.found_at, P.id)
    if not include_resolved:
        query = query.where(P.status.not_in(CLOSED_STATES))
    return _views(session, list(session.scalars(query)))


def partner_conflicts_of_events(session: Session, event_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """``{event id: its partner conflicts}`` for the planner's list of events."""
    from sqlalchemy import select

    from openilp.db.deconfliction_models import DeconflictionPartnerConflict as P

    if not event_ids:
        return {}
    rows = list(session.scalars(select(P).where(P.event_id.in_(event_ids)).order_by(P.id)))
    out: dict[int, list[dict[str, Any]]] = {}
    for view, row in zip(_views(session, rows), rows, strict=True):
        view.pop("here")
        out.setdefault(row.event_id, []).append(view)
    return out
