"""Progress toward a problem's goal, and the commanders' dashboard of open problems.

The change in the problem's area so far against its baseline rate, next to the goal: a raw
change for a quick look, not an effect estimate (the assessment in
:mod:`openilp.services.problems.evaluation` is that).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from openilp.analysis.assessment.comparison import points_in_areas
from openilp.core import OpenILP, Request, Result, plain
from openilp.db.models import Problem
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import latest_incident_date
from openilp.services.problems.common import agency_of, area_geometry, load_problem, refusals, require_read
from openilp.services.problems.response import problem_events
from openilp.services.problems.views import list_problems

__all__ = [
    "agency_open_problems",
    "Dashboard",
    "DashboardRequest",
    "GoalProgress",
    "ProgressRequest",
    "dashboard",
    "goal_progress",
]


@dataclass(frozen=True)
class GoalProgress(Result):
    """How a problem's area is doing against its goal up to ``as_of`` (an ISO day).

    ``status`` is ``not started`` (before the evaluation period), ``no baseline``, ``goal met``,
    ``improving``, ``not improving`` or ``unavailable`` (then ``error`` says why). ``progress`` is
    the reduction achieved as a share of the goal (1 = goal met).
    """

    status: str
    as_of: str | None = None
    baseline_count: int | None = None
    #: Baseline incidents per week.
    baseline_per_week: float | None = None
    target_change_pct: float | None = None
    current_count: int | None = None
    expected_count: float | None = None
    change_pct: float | None = None
    progress: float | None = None
    elapsed_days: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.status == "unavailable":
            return {"status": self.status, "error": self.error}
        data = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data.pop("error")
        if self.elapsed_days is None:
            data.pop("elapsed_days")
        return data


@dataclass(frozen=True)
class ProgressRequest(Request):
    """Progress of problem ``problem_id`` up to ``today`` (default: today in the agency's time zone)."""

    problem_id: int
    today: dt.date | None = None


def _progress(
    core: OpenILP, session: Session, problem: Problem, today: dt.date | None, now: dt.datetime
) -> GoalProgress:
    agency = agency_of(session, problem)
    latest = latest_incident_date(core.engine, agency.code)
    today = today or now.astimezone(ZoneInfo(agency.timezone)).date()
    as_of = min(d for d in (problem.evaluation_end, latest, today) if d is not None)
    events, local = problem_events(
        core.engine, problem, agency, problem.baseline_start, max(as_of, problem.baseline_end)
    )
    target = area_geometry(problem, agency.crs)
    inside = points_in_areas(events["x_m"].to_numpy(), events["y_m"].to_numpy(), {"t": target})["t"]
    day = local.dt.date.to_numpy()
    baseline_days = (problem.baseline_end - problem.baseline_start).days + 1
    baseline = int(np.sum(inside & (day >= problem.baseline_start) & (day <= problem.baseline_end)))
    goal = problem.target_reduction_pct
    start: dict[str, Any] = {
        "as_of": str(as_of),
        "baseline_count": baseline,
        "baseline_per_week": round(baseline / baseline_days * 7, 2),
        "target_change_pct": -goal,
    }
    if as_of < problem.evaluation_start:
        return GoalProgress(status="not started", **start)
    elapsed = (as_of - problem.evaluation_start).days + 1
    current = int(np.sum(inside & (day >= problem.evaluation_start) & (day <= as_of)))
    expected = baseline / baseline_days * elapsed
    counted: dict[str, Any] = {
        **start,
        "current_count": current,
        "expected_count": round(expected, 1),
        "elapsed_days": elapsed,
    }
    if expected <= 0:
        return GoalProgress(status="no baseline", **counted)
    change = (current - expected) / expected * 100
    progress = -change / goal
    status = "goal met" if progress >= 1 else ("improving" if progress > 0 else "not improving")
    return GoalProgress(status=status, change_pct=round(change, 1), progress=round(progress, 3), **counted)


@refusals
def goal_progress(core: OpenILP, actor: UserInfo | None, request: ProgressRequest) -> GoalProgress:
    """How the problem's area is doing against its goal so far (raw change, not an effect estimate).

    The expected count is the baseline rate (incidents per day) times the days of the evaluation
    period elapsed up to ``as_of`` — the earliest of the evaluation end, the last day with data and
    ``today``.
    """
    actor = require_read(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        return _progress(core, uow.session, problem, request.today, uow.now)


@dataclass(frozen=True)
class DashboardRequest(Request):
    """The dashboard as of ``today`` (default: today in each problem's agency time zone)."""

    today: dt.date | None = None


@dataclass(frozen=True)
class DashboardRow(Result):
    """One open problem and its progress toward the goal."""

    id: int
    title: str
    goal: str
    owner: str
    stage: str
    target_reduction_pct: float
    evaluation: Mapping[str, str]
    progress: GoalProgress


@dataclass(frozen=True)
class Dashboard(Result):
    """Every open problem of the agency with its goal progress, newest change first."""

    rows: tuple[DashboardRow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"dashboard": [row.as_dict() for row in self.rows]}


def dashboard(core: OpenILP, actor: UserInfo | None, request: DashboardRequest | None = None) -> Dashboard:
    """Every open problem of the actor's agency with its goal progress, for commanders."""
    actor = require_read(actor)
    request = (request or DashboardRequest()).validate()
    rows = []
    with core.unit_of_work(actor) as uow:
        for view in list_problems(core, actor, include_closed=False).problems:
            problem = load_problem(uow.session, actor, view.id)
            try:
                progress = _progress(core, uow.session, problem, request.today, uow.now)
            except ValueError as exc:
                progress = GoalProgress(status="unavailable", error=str(exc))
            rows.append(
                DashboardRow(
                    id=view.id,
                    title=view.title,
                    goal=view.goal,
                    owner=view.owner,
                    stage=view.stage,
                    target_reduction_pct=view.target_reduction_pct,
                    evaluation=view.evaluation,
                    progress=progress,
                )
            )
    return Dashboard(tuple(rows))


def agency_open_problems(core: OpenILP, agency_code: str, today: dt.date | None) -> list[dict[str, Any]]:
    """Every open problem of ``agency_code`` with its area (GeoJSON) and goal progress to ``today``.

    For products built for the agency (the CompStat pack's open-problems section), which check the
    producer's permission themselves; not audited here. Oldest problem first.
    """
    import json

    from sqlalchemy import select

    from openilp.db.models import Agency

    rows: list[dict[str, Any]] = []
    with core.unit_of_work(None) as uow:
        agency_id = uow.session.scalar(select(Agency.id).where(Agency.code == agency_code))
        problems = uow.session.scalars(
            select(Problem).where(Problem.agency_id == agency_id, Problem.stage != "closed").order_by(Problem.id)
        ).all()
        for problem in problems:
            try:
                progress = _progress(core, uow.session, problem, today, uow.now)
            except ValueError as exc:
                progress = GoalProgress(status="unavailable", error=str(exc))
            rows.append(
                {
                    "id": problem.id,
                    "title": problem.title,
                    "goal": problem.goal,
                    "stage": problem.stage,
                    "area_name": problem.area_name,
                    "area": json.loads(problem.area_geojson),
                    "progress": progress.as_dict(),
                }
            )
    return rows
