"""The home dashboard: one read of what an analyst, supervisor or officer acts on first.

Holdings show the span the data cover: an export by report date carries placeholder dates
(an unknown occurrence date written as 1900-01-01) and a thin tail of old
incidents reported late, so "covered from" is the first year holding at least 10 % of the
busiest year's incidents; older records are counted, not shown as the start of the data.
Every part appears only for users whose role may see it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import extract, func, or_, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Result
from openilp.db.models import Agency, Incident, IntelRecord, Notification, Problem, Tip
from openilp.errors import NotPermitted
from openilp.security.actors import UserInfo

__all__ = ["COVERAGE_SHARE", "HomeDashboard", "Holdings", "home_dashboard"]

#: A year counts as covered when it holds at least this share of the busiest year's incidents.
COVERAGE_SHARE = 0.1


@dataclass(frozen=True)
class Holdings(Result):
    """The agency's incidents: counts, the covered span (local days) and records dated before it."""

    total: int
    located: int
    covered_from: str | None
    latest: str | None
    #: Incidents dated before ``covered_from`` (placeholder dates, very late reports).
    older: int
    #: Incidents per year of occurrence, oldest first.
    per_year: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class HomeDashboard(Result):
    """What the home page shows; parts the user's role may not see are None."""

    holdings: Holdings | None
    open_problems: tuple[Mapping[str, Any], ...] | None
    open_problem_count: int | None
    tips_waiting: int | None
    reviews_waiting: int | None
    notices: tuple[Mapping[str, Any], ...]
    unread_notices: int
    #: The local day the next forecast is for (the day after the latest incident) and its week's end.
    forecast_week: Mapping[str, str] | None


def _holdings(session: Session, agency: Agency) -> Holdings:
    counted = (Incident.agency_id == agency.id, Incident.net_count > 0, Incident.flag_unfounded.is_(False))
    total = int(session.scalar(select(func.count()).where(*counted)) or 0)
    located = int(session.scalar(select(func.count()).where(*counted, Incident.location_status == "located")) or 0)
    live = (*counted, Incident.occurred_from.is_not(None))
    year = extract("year", Incident.occurred_from)
    rows = session.execute(select(year, func.count()).where(*live).group_by(year).order_by(year)).all()
    per_year = {int(y): int(n) for y, n in rows if y is not None}
    zone = ZoneInfo(agency.timezone)
    latest = session.scalar(select(func.max(Incident.occurred_from)).where(*live))
    if not per_year:
        return Holdings(total, located, None, None, 0, {})
    busiest = max(per_year.values())
    first_year = min(y for y, n in per_year.items() if n >= COVERAGE_SHARE * busiest)
    start = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    first = session.scalar(select(func.min(Incident.occurred_from)).where(*live, Incident.occurred_from >= start))
    older = sum(n for y, n in per_year.items() if y < first_year)

    def day(moment: dt.datetime | None) -> str | None:
        if moment is None:
            return None
        aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone).date().isoformat()

    return Holdings(total, located, day(first), day(latest), older, per_year)


def home_dashboard(core: OpenILP, actor: UserInfo | None) -> HomeDashboard:
    """The home page's parts for ``actor`` (a signed-in user); each part is read under its permission."""
    if actor is None:
        raise NotPermitted("sign in to see your home page")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = session.get(Agency, actor.agency_id)
        holdings = _holdings(session, agency) if agency is not None and actor.can("incidents:read") else None
        problems = count = None
        if actor.can("problems:read"):
            query = select(Problem).where(Problem.agency_id == actor.agency_id, Problem.stage != "closed")
            rows = session.scalars(query.order_by(Problem.updated_at.desc(), Problem.id.desc()).limit(5)).all()
            problems = tuple(
                {"id": p.id, "title": p.title, "stage": p.stage, "evaluation_end": str(p.evaluation_end)} for p in rows
            )
            count = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        tips = None
        if actor.can("tips:triage"):
            tips = int(
                session.scalar(select(func.count()).where(Tip.agency_id == actor.agency_id, Tip.status == "new")) or 0
            )
        reviews = None
        if actor.can("intel:review"):
            reviews = int(
                session.scalar(
                    select(func.count()).where(
                        IntelRecord.agency_id == actor.agency_id, IntelRecord.status == "pending"
                    )
                )
                or 0
            )
        mine = (Notification.agency_id == actor.agency_id) & or_(
            Notification.user_id.is_(None), Notification.user_id == actor.id
        )
        notices = session.scalars(select(Notification).where(mine).order_by(Notification.id.desc()).limit(5)).all()
        unread = int(session.scalar(select(func.count()).where(mine, Notification.read_at.is_(None))) or 0)
        forecast = None
        if holdings is not None and holdings.latest and actor.can("analysis:read"):
            first_day = dt.date.fromisoformat(holdings.latest) + dt.timedelta(days=1)
            forecast = {"start": first_day.isoformat(), "end": (first_day + dt.timedelta(days=6)).isoformat()}
        return HomeDashboard(
            holdings=holdings,
            open_problems=problems,
            open_problem_count=count,
            tips_waiting=tips,
            reviews_waiting=reviews,
            notices=tuple(
                {"kind": n.kind, "message": n.message, "at": n.created_at.isoformat(), "read": n.read_at is not None}
                for n in notices
            ),
            unread_notices=unread,
            forecast_week=forecast,
        )
