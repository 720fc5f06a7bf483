"""Evaluating a problem's response: the power check before launch, the assessment after, its chart.

* **Power before launch** (:func:`~openilp.analysis.assessment.power.check_goal`): the minimum
  detectable WDD from the baseline counts of the four areas, with a warning when it is larger than
  the goal.
* **Assessment** (:func:`openilp.services.problems.assessment.assess_from_store`): WDD, WDQ/TNE,
  rate ratio, E-tests, dispersion, DiD, stored with the weekly chart (response period shaded,
  comparison areas in the panel beside it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import select

from openilp.analysis.assessment.charts import save_figure, weekly_series_chart
from openilp.analysis.assessment.comparison import points_in_areas
from openilp.analysis.assessment.power import check_goal
from openilp.analysis.assessment.series import AssessmentWindows
from openilp.core import OpenILP, Request, Result
from openilp.db.models import Problem, ProblemComparisonArea, ProblemEvaluation
from openilp.errors import InvalidRequest, NotFound
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import latest_incident_date
from openilp.services.problems.assessment import AssessmentRequest, assess_in_unit
from openilp.services.problems.common import (
    agency_of,
    area_geometry,
    load_problem,
    record_change,
    refusals,
    require_read,
    require_write,
)
from openilp.services.problems.response import COMPARISON_ROLES, ROLE_NAMES, problem_events, stored_areas

__all__ = [
    "AssessmentRun",
    "EvaluationChart",
    "PowerCheck",
    "PowerCheckRequest",
    "RunAssessmentRequest",
    "evaluation_chart",
    "power_check",
    "run_assessment",
]


def _windows(problem: Problem) -> AssessmentWindows:
    return AssessmentWindows(problem.baseline_start, problem.evaluation_start, problem.evaluation_end)


def _need_areas(areas: Mapping[str, Any]) -> None:
    missing = [ROLE_NAMES[r] for r in COMPARISON_ROLES if r not in areas]
    if missing:
        raise InvalidRequest(f"no {', '.join(missing)} yet: propose the comparison areas (or draw them) first")


@dataclass(frozen=True)
class PowerCheckRequest(Request):
    """Check problem ``problem_id``'s planned evaluation; ``dispersion`` is the overdispersion φ of
    the counts (1 = Poisson)."""

    problem_id: int
    dispersion: float = 1.0

    def validate(self) -> PowerCheckRequest:
        if not math.isfinite(self.dispersion) or not 1.0 <= self.dispersion <= 100.0:
            raise InvalidRequest(f"dispersion must be between 1 (Poisson) and 100, got {self.dispersion}")
        return self


@dataclass(frozen=True)
class PowerCheck(Result):
    """A stored power check: whether the goal is detectable, the warning when not, and the report
    (:meth:`openilp.analysis.assessment.power.GoalCheck.as_dict` with the baseline counts)."""

    id: int
    detectable: bool
    warning: str | None
    wdd_mde_fraction: float
    baseline_counts: Mapping[str, int]
    report: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**self.report, "id": self.id}


@refusals
def power_check(core: OpenILP, actor: UserInfo | None, request: PowerCheckRequest) -> PowerCheck:
    """Before launch: can the planned evaluation detect the goal? Stores and returns the check.

    Counts the baseline incidents of the four areas and compares the goal (the target reduction of
    the expected count) with the minimum detectable WDD at α = 0.05 and 80 % power. ``warning`` is
    set when the goal is smaller than that minimum.
    """
    actor = require_write(actor)
    request = request.validate()
    dispersion = request.dispersion
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        agency = agency_of(uow.session, problem)
        areas: dict[str, shapely.Geometry] = stored_areas(uow.session, problem, agency.crs)
        _need_areas(areas)
        areas = {"target": area_geometry(problem, agency.crs), **areas}
        events, _ = problem_events(core.engine, problem, agency, problem.baseline_start, problem.baseline_end)
        masks = points_in_areas(events["x_m"].to_numpy(), events["y_m"].to_numpy(), areas)
        counts = {name: int(mask.sum()) for name, mask in masks.items()}
        windows = _windows(problem)
        if counts["target"] == 0:
            raise InvalidRequest(
                f"no incidents in the problem's area between {problem.baseline_start} and {problem.baseline_end}: "
                "the baseline is empty, no effect could be measured"
            )
        check = check_goal(
            goal_reduction=problem.target_reduction_pct / 100,
            treated_pre=counts["target"],
            control_pre=counts["control"],
            displacement_pre=counts["buffer"],
            displacement_control_pre=counts["control_buffer"],
            pre_length=windows.pre_days,
            post_length=windows.post_days,
            dispersion=dispersion,
        )
        warning = (
            None
            if check.detectable
            else (
                f"the planned evaluation cannot detect the goal: the smallest detectable change is "
                f"{check.wdd_mde_crimes:.1f} incidents ({check.wdd_mde_fraction:.0%}), the goal is "
                f"{check.goal_crimes:.1f} ({problem.target_reduction_pct:g}%)"
            )
        )
        report = check.as_dict() | {
            "baseline_counts": counts,
            "windows": windows.as_dict(),
            "dispersion": dispersion,
            "warning": warning,
        }
        row = ProblemEvaluation(
            problem_id=problem.id, kind="power", report=json.dumps(report), created_by_id=actor.id, created_at=uow.now
        )
        uow.session.add(row)
        uow.session.flush()
        record_change(
            uow,
            problem,
            actor,
            "power",
            {"evaluation_id": row.id, "detectable": check.detectable, "mde_fraction": round(check.wdd_mde_fraction, 4)},
        )
        return PowerCheck(
            id=row.id,
            detectable=bool(check.detectable),
            warning=warning,
            wdd_mde_fraction=float(check.wdd_mde_fraction),
            baseline_counts=counts,
            report=report,
        )


@dataclass(frozen=True)
class RunAssessmentRequest(Request):
    """Assess problem ``problem_id`` over its windows and stored areas at two-sided level ``alpha``."""

    problem_id: int
    alpha: float = 0.05

    def validate(self) -> RunAssessmentRequest:
        if not 0 < self.alpha < 0.5:
            raise InvalidRequest(f"alpha must be between 0 and 0.5, got {self.alpha}")
        return self


@dataclass(frozen=True)
class AssessmentRun(Result):
    """A stored assessment: its evaluation id and the report of every method
    (:func:`openilp.analysis.assessment.report.assess_counts`, with notes on incomplete data)."""

    id: int
    report: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**self.report, "id": self.id}


@refusals
def run_assessment(core: OpenILP, actor: UserInfo | None, request: RunAssessmentRequest) -> AssessmentRun:
    """Run every assessment method over the problem's windows and stored areas; store the report and chart.

    Raises InvalidRequest when comparison areas are missing, overlap, or the baseline is empty.
    """
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        agency = agency_of(uow.session, problem)
        rows = {
            row.role: json.loads(row.geojson)
            for row in uow.session.scalars(
                select(ProblemComparisonArea).where(ProblemComparisonArea.problem_id == problem.id)
            ).all()
        }
        _need_areas(rows)
        assessment = AssessmentRequest(
            agency_code=agency.code,
            windows=_windows(problem),
            target=json.loads(problem.area_geojson),
            categories=tuple(json.loads(problem.categories)),
            buffer=rows["buffer"],
            control=rows["control"],
            control_buffer=rows["control_buffer"],
            goal_reduction=problem.target_reduction_pct / 100,
            alpha=request.alpha,
        ).validate()
        result = assess_in_unit(core, uow.session, assessment)
        report = result.report
        latest = latest_incident_date(core.engine, agency.code)
        if latest is not None and latest < assessment.windows.response_end:
            report["notes"].append(
                f"the data end on {latest}, before the evaluation period ends ({assessment.windows.response_end}): "
                "the response window is incomplete and its counts are too low"
            )
        figure = weekly_series_chart(
            result.weekly,
            assessment.windows.response_start,
            assessment.windows.response_end,
            labels={"target": f"Problem area: {problem.area_name or problem.title} (T)"[:80]},
            title="Incidents per week; the evaluation period is shaded",
        )
        chart = save_figure(figure, format="svg").decode("utf-8")
        row = ProblemEvaluation(
            problem_id=problem.id,
            kind="assessment",
            report=json.dumps(report, default=str),
            chart_svg=chart,
            created_by_id=actor.id,
            created_at=uow.now,
        )
        uow.session.add(row)
        uow.session.flush()
        wdd = report["wdd"]
        record_change(
            uow,
            problem,
            actor,
            "assessment",
            {"evaluation_id": row.id, "wdd": round(wdd["estimate"], 2), "p_value": round(wdd["p_value"], 5)},
        )
        return AssessmentRun(id=row.id, report=json.loads(row.report))


@dataclass(frozen=True)
class EvaluationChart(Result):
    """The weekly chart of a stored assessment (SVG text)."""

    svg: str


def evaluation_chart(core: OpenILP, actor: UserInfo | None, problem_id: int, evaluation_id: int) -> EvaluationChart:
    """The SVG chart of a stored assessment (NotFound when there is none)."""
    actor = require_read(actor)
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, problem_id)
        row = uow.session.get(ProblemEvaluation, evaluation_id)
        if row is None or row.problem_id != problem.id or row.chart_svg is None:
            raise NotFound(f"no chart for evaluation {evaluation_id} of problem {problem_id}")
        return EvaluationChart(svg=row.chart_svg)
