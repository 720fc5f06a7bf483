"""What the deconfliction workflows share: the permission check, agency names and in-app notices.

A refused actor is an audited refusal (``deconfliction_refused``): the unit of work rolls the
action back and keeps the refusal. Notices are in-app notifications (kind ``deconfliction_*``),
at most 1,000 characters, stamped with the unit of work's clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from openilp.errors import NotPermitted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.core.unit_of_work import UnitOfWork
    from openilp.db.deconfliction_models import DeconflictionEvent
    from openilp.security.actors import UserInfo

__all__ = ["EventSide", "agency_names", "event_side", "leave_notice", "permitted"]


class EventSide(TypedDict):
    """One event as the watch centre sees it."""

    event_id: int
    agency_code: str
    agency_name: str
    event_type: str
    starts_at: str
    ends_at: str
    status: str
    contact_name: str
    contact_phone: str


def permitted(uow: UnitOfWork, actor: UserInfo | None, permission: str, what: str, object_type: str) -> UserInfo:
    """``actor`` when their role holds ``permission``; otherwise an audited :class:`NotPermitted`."""
    if actor is None or not actor.can(permission):
        role = actor.role if actor is not None else "anonymous"
        raise uow.refuse(
            NotPermitted(f"your role ({role}) may not {what}"),
            action="deconfliction_refused",
            object_type=object_type,
            details={"what": what},
            agency_id=actor.agency_id if actor is not None else None,
        )
    return actor


def agency_names(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """``{agency id: (code, name)}`` of the agencies in ``ids``."""
    from sqlalchemy import select

    from openilp.db.models import Agency

    rows = session.execute(select(Agency.id, Agency.code, Agency.name).where(Agency.id.in_(ids))).all() if ids else []
    return {int(i): (str(code), str(name)) for i, code, name in rows}


def leave_notice(uow: UnitOfWork, *, agency_id: int, user_id: int | None, kind: str, message: str) -> None:
    """An in-app notice for one user (or their whole agency when ``user_id`` is None)."""
    from openilp.db.models import Notification

    uow.session.add(
        Notification(agency_id=agency_id, user_id=user_id, kind=kind, message=message[:1000], created_at=uow.now)
    )


def event_side(event: DeconflictionEvent, agencies: dict[int, tuple[str, str]]) -> EventSide:
    """What the watch centre sees of one event: agency, type, window, status and contact (no name, place
    or targets)."""
    code, name = agencies[event.agency_id]
    return {
        "event_id": event.id,
        "agency_code": code,
        "agency_name": name,
        "event_type": event.event_type,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "status": event.status,
        "contact_name": event.contact_name,
        "contact_phone": event.contact_phone,
    }
