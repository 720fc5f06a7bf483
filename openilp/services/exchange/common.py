"""What every export shares: the agency it is about, who may export, and the date window.

An export is about one agency. A signed-in actor needs ``exchange:export`` and exports their own
agency only; the command line without ``--user`` acts as the deployment's operator (``actor=None``),
like the other analysis commands, and is audited as such.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core.unit_of_work import UnitOfWork
from openilp.db.models import Agency
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo

__all__ = ["EXPORT_PERMISSION", "export_agency", "check_window", "local_midnight_utc"]

#: The permission an account needs to export its agency's data.
EXPORT_PERMISSION = "exchange:export"


def check_window(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """Both days given and in order, else InvalidRequest naming the fix."""
    if date_from is None or date_to is None:
        raise InvalidRequest("date_from and date_to are required (--from and --to, YYYY-MM-DD)")
    if date_from > date_to:
        raise InvalidRequest(f"date_from {date_from} is after date_to {date_to}")
    return date_from, date_to


def local_midnight_utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The start of ``day`` in ``zone``, as aware UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def export_agency(uow: UnitOfWork, actor: UserInfo | None, code: str, *, action: str) -> Agency:
    """The agency ``code`` names, after checking that ``actor`` may export it (refusals audited)."""
    session: Session = uow.session
    agency = session.scalar(select(Agency).where(Agency.code == code.strip()))
    if agency is None:
        known = ", ".join(session.scalars(select(Agency.code).order_by(Agency.code))) or "none yet"
        raise NotFound(f"unknown agency {code!r}; agencies in the store: {known}")
    if actor is not None:
        if not actor.can(EXPORT_PERMISSION):
            raise uow.refuse(
                NotPermitted(f"{actor.username} ({actor.role}) may not export: needs {EXPORT_PERMISSION}"),
                action=f"{action}_refused",
                object_type="agency",
                object_id=agency.code,
            )
        if actor.agency_id != agency.id:
            raise uow.refuse(
                NotPermitted(f"{actor.username} belongs to {actor.agency_code} and may export only its data"),
                action=f"{action}_refused",
                object_type="agency",
                object_id=agency.code,
            )
    return agency
