"""Response and assessment of a problem: interventions, comparison areas, power before launch,
the assessment with every method, and progress toward the goal for the dashboard.

* **Interventions** are recorded with a type, a period (required; the end on or after the start),
  an area (GeoJSON; the problem's area when none is given) and a dosage (e.g. 45 "patrol minutes
  per day").
* **Comparison areas** (Bowers & Johnson 2003; Guerette 2009): a displacement catchment (a ring
  around the area), a control of similar baseline level and trend that is not adjacent, and the
  control's own ring, proposed by
  :func:`openilp.analysis.assessment.comparison.propose_comparison_areas` from the agency's boundary
  polygons and stored as ``proposed``; an analyst may replace any of them (``edited``), and areas
  that overlap the target or its ring are refused (:func:`~openilp.analysis.assessment.comparison.validate_areas`).
* **Power before launch** (:func:`~openilp.analysis.assessment.power.check_goal`): the minimum
  detectable WDD from the baseline counts of the four areas, with a warning when it is larger than
  the goal.
* **Assessment** (:func:`openilp.services.assessment.assess_from_store`): WDD, WDQ/TNE, rate ratio,
  E-tests, dispersion, DiD, stored with the weekly chart (response period shaded, comparison areas
  in the panel beside it).
* **Goal progress**: the change in the area so far against the baseline rate, next to the goal.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openilp.analysis.assessment.charts import save_figure, weekly_series_chart
from openilp.analysis.assessment.comparison import (
    DEFAULT_BUFFER_M,
    baseline_trend,
    points_in_areas,
    propose_comparison_areas,
    validate_areas,
)
from openilp.analysis.assessment.power import check_goal
from openilp.analysis.assessment.series import AssessmentWindows
from openilp.db import session_scope
from openilp.db.models import (
    Agency,
    Problem,
    ProblemComparisonArea,
    ProblemEvaluation,
    ProblemIntervention,
    utcnow,
)
from openilp.security.actors import UserInfo
from openilp.services.analysis_common import boundary_areas, latest_incident_date, local_times
from openilp.services.assessment import AssessmentRequest, assess_from_store, geometry_from_geojson
from openilp.services.events import EventQuery, load_events
from openilp.services.problems import (
    area_geometry,
    load_problem,
    normalise_area,
    record_change,
    require_write,
)

__all__ = [
    "COMPARISON_ROLES",
    "InterventionInput",
    "add_intervention",
    "dashboard",
    "evaluation_chart",
    "goal_progress",
    "power_check",
    "propose_areas",
    "run_assessment",
    "set_comparison_area",
]

#: Roles of the comparison areas (the target is the problem's own area).
COMPARISON_ROLES = ("buffer", "control", "control_buffer")
_ROLE_NAMES = {"buffer": "displacement buffer", "control": "control area", "control_buffer": "control buffer"}


@dataclass(frozen=True)
class InterventionInput:
    """A response: type, period (local days, inclusive), optional area and dosage."""

    kind: str
    start: dt.date | None
    end: dt.date | None
    description: str = ""
    #: GeoJSON (longitude/latitude); None = the problem's area.
    area: str | Path | Mapping[str, Any] | None = None
    dosage_value: float | None = None
    dosage_unit: str = ""


def _agency(session: Session, problem: Problem) -> Agency:
    agency = session.get(Agency, problem.agency_id)
    assert agency is not None
    return agency


def _windows(problem: Problem) -> AssessmentWindows:
    return AssessmentWindows(problem.baseline_start, problem.evaluation_start, problem.evaluation_end)


def add_intervention(engine: Engine, actor: UserInfo, problem_id: int, data: InterventionInput) -> int:
    """Record an intervention; returns its id.

    Raises ValueError for a missing type or period, an end before the start, a negative dosage, a
    dosage without a unit or a bad area.
    """
    require_write(actor)
    kind = (data.kind or "").strip()
    if not kind:
        raise ValueError("give the type of the intervention (e.g. directed patrol, target hardening)")
    if len(kind) > 60:
        raise ValueError("the intervention type is longer than 60 characters")
    if data.start is None or data.end is None:
        raise ValueError("a response needs a period: give its start and end dates")
    if data.end < data.start:
        raise ValueError(f"the intervention ends ({data.end}) before it starts ({data.start})")
    if data.dosage_value is not None:
        if not np.isfinite(data.dosage_value) or data.dosage_value < 0:
            raise ValueError(f"the dosage must be a non-negative number, got {data.dosage_value}")
        if not data.dosage_unit.strip():
            raise ValueError("give the unit of the dosage, e.g. 'patrol minutes per day'")
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        area_text = None
        if data.area is not None and not (isinstance(data.area, str) and not data.area.strip()):
            area_text, _ = normalise_area(data.area, _agency(session, problem).crs)
        intervention = ProblemIntervention(
            problem_id=problem.id,
            kind=kind,
            description=(data.description or "").strip()[:5000],
            area_geojson=area_text,
            start_date=data.start,
            end_date=data.end,
            dosage_value=data.dosage_value,
            dosage_unit=data.dosage_unit.strip()[:60],
            created_by_id=actor.id,
            created_at=utcnow(),
        )
        session.add(intervention)
        session.flush()
        record_change(
            session,
            problem,
            actor,
            "intervention",
            {
                "intervention_id": intervention.id,
                "kind": kind,
                "start": data.start,
                "end": data.end,
                "dosage": f"{data.dosage_value:g} {data.dosage_unit}".strip() if data.dosage_value is not None else "",
            },
        )
        return intervention.id


def _lonlat(geometry: shapely.Geometry, crs: str) -> str:
    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.to_geojson(shapely.set_precision(shapely.transform(geometry, project), 1e-7))


def _stored_areas(session: Session, problem: Problem, crs: str) -> dict[str, shapely.Geometry]:
    rows = session.scalars(select(ProblemComparisonArea).where(ProblemComparisonArea.problem_id == problem.id)).all()
    return {row.role: geometry_from_geojson(json.loads(row.geojson), crs) for row in rows}


def _save_area(
    session: Session, problem: Problem, role: str, geojson: str, origin: str, details: dict[str, Any], actor: UserInfo
) -> None:
    row = session.scalars(
        select(ProblemComparisonArea).where(
            ProblemComparisonArea.problem_id == problem.id, ProblemComparisonArea.role == role
        )
    ).one_or_none()
    if row is None:
        row = ProblemComparisonArea(problem_id=problem.id, role=role)
        session.add(row)
    row.geojson = geojson
    row.origin = origin
    row.details = json.dumps(details, default=str)
    row.updated_at = utcnow()
    row.updated_by_id = actor.id


def _events(
    engine: Engine, problem: Problem, date_from: dt.date, date_to: dt.date
) -> tuple[pd.DataFrame, pd.Series, Agency]:
    events, agency = load_events(
        engine,
        EventQuery(
            agency_code=_agency_code(engine, problem),
            categories=tuple(json.loads(problem.categories)),
            date_from=date_from,
            date_to=date_to,
        ),
    )
    return events, local_times(events, agency.timezone), agency


def _agency_code(engine: Engine, problem: Problem) -> str:
    with session_scope(engine) as session:
        return _agency(session, problem).code


def propose_areas(
    engine: Engine,
    actor: UserInfo,
    problem_id: int,
    *,
    boundary_path: str | Path,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[str, Any]:
    """Propose and store the buffer, the control and the control's buffer; returns how the control was chosen.

    Candidates for the control are the polygons of ``boundary_path`` (the agency's boundary layer,
    e.g. neighbourhoods), ranked by the closeness of their baseline level and trend to the target's
    (:func:`~openilp.analysis.assessment.comparison.rank_control_candidates`). Replaces earlier
    proposals and edits.
    """
    require_write(actor)
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        crs = _agency(session, problem).crs
        target = area_geometry(problem, crs)
    events, local, agency = _events(engine, problem, problem.baseline_start, problem.baseline_end)
    candidates = boundary_areas(boundary_path, crs)
    day = local.dt.date
    middle = problem.baseline_start + (problem.baseline_end - problem.baseline_start) / 2
    early = (day <= middle).to_numpy()
    x, y = events["x_m"].to_numpy(), events["y_m"].to_numpy()
    unit = candidates.assign(x, y)
    located = unit >= 0
    early_counts = np.bincount(unit[early & located], minlength=candidates.n_units)
    late_counts = np.bincount(unit[~early & located], minlength=candidates.n_units)
    in_target = points_in_areas(x, y, {"t": target})["t"]
    target_early, target_late = int(np.sum(in_target & early)), int(np.sum(in_target & ~early))
    if target_early + target_late == 0:
        raise ValueError(
            f"no incidents of {', '.join(json.loads(problem.categories))} in the problem's area between "
            f"{problem.baseline_start} and {problem.baseline_end}: the baseline is empty, no control can be matched"
        )
    ids = [int(i) for i in candidates.ids]
    trends = baseline_trend(early_counts, late_counts)
    proposal = propose_comparison_areas(
        target,
        dict(zip(ids, candidates.polygons(), strict=True)),
        dict(zip(ids, (early_counts + late_counts).astype(float), strict=True)),
        float(target_early + target_late),
        buffer_m=buffer_m,
        candidate_trends=dict(zip(ids, trends.tolist(), strict=True)),
        target_trend=float(baseline_trend([target_early], [target_late])[0]),
        study_area=candidates.union(),
    )
    names = [_unit_name(p) for p in candidates.properties]
    ranking = proposal.candidates.head(5) if proposal.candidates is not None else pd.DataFrame()
    chosen = {
        "control_unit": names[int(proposal.control_id)],
        "target_baseline": target_early + target_late,
        "control_baseline": int(early_counts[proposal.control_id] + late_counts[proposal.control_id]),
        "buffer_m": buffer_m,
        "ranking": [
            {"unit": names[int(r["id"])], "baseline": r["baseline"], "score": r["score"], "eligible": r["eligible"]}
            for r in json.loads(ranking.to_json(orient="records"))
        ],
    }
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        for role, geometry in (
            ("buffer", proposal.buffer),
            ("control", proposal.control),
            ("control_buffer", proposal.control_buffer),
        ):
            details = chosen if role == "control" else {"buffer_m": buffer_m}
            _save_area(session, problem, role, _lonlat(geometry, agency.crs), "proposed", details, actor)
        record_change(
            session,
            problem,
            actor,
            "areas",
            {"proposed": list(COMPARISON_ROLES), "control_unit": chosen["control_unit"], "buffer_m": buffer_m},
        )
    return chosen


def _unit_name(properties: Mapping[str, Any]) -> str:
    for key in ("NHD_NAME", "name", "NAME", "Name", "label"):
        if properties.get(key):
            return str(properties[key])
    return str(properties.get("_openilp_index", "?"))


def set_comparison_area(
    engine: Engine, actor: UserInfo, problem_id: int, role: str, area: str | Path | Mapping[str, Any] | None
) -> None:
    """Replace one comparison area with an analyst's polygon (origin ``edited``).

    Raises ValueError for an unknown role, a bad polygon, or one that overlaps the target or its
    buffer (for the control and its buffer).
    """
    require_write(actor)
    if role not in COMPARISON_ROLES:
        raise ValueError(f"unknown comparison area {role!r}; use {', '.join(COMPARISON_ROLES)}")
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        crs = _agency(session, problem).crs
        text, geometry = normalise_area(area, crs)
        areas = _stored_areas(session, problem, crs)
        areas[role] = geometry
        validate_areas(
            area_geometry(problem, crs), areas.get("buffer"), areas.get("control"), areas.get("control_buffer")
        )
        _save_area(session, problem, role, text, "edited", {"edited_by": actor.username}, actor)
        record_change(session, problem, actor, "areas", {"edited": role})


def _need_areas(areas: Mapping[str, shapely.Geometry]) -> None:
    missing = [_ROLE_NAMES[r] for r in COMPARISON_ROLES if r not in areas]
    if missing:
        raise ValueError(f"no {', '.join(missing)} yet: propose the comparison areas (or draw them) first")


def power_check(engine: Engine, actor: UserInfo, problem_id: int, *, dispersion: float = 1.0) -> dict[str, Any]:
    """Before launch: can the planned evaluation detect the goal? Stores and returns the check.

    Counts the baseline incidents of the four areas and compares the goal (the target reduction of
    the expected count) with the minimum detectable WDD at α = 0.05 and 80 % power. ``warning`` is
    set when the goal is smaller than that minimum.
    """
    require_write(actor)
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        crs = _agency(session, problem).crs
        areas = _stored_areas(session, problem, crs)
        _need_areas(areas)
        areas = {"target": area_geometry(problem, crs), **areas}
    events, local, _ = _events(engine, problem, problem.baseline_start, problem.baseline_end)
    masks = points_in_areas(events["x_m"].to_numpy(), events["y_m"].to_numpy(), areas)
    counts = {name: int(mask.sum()) for name, mask in masks.items()}
    windows = _windows(problem)
    if counts["target"] == 0:
        raise ValueError(
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
    report = check.as_dict() | {
        "baseline_counts": counts,
        "windows": windows.as_dict(),
        "dispersion": dispersion,
        "warning": None
        if check.detectable
        else (
            f"the planned evaluation cannot detect the goal: the smallest detectable change is "
            f"{check.wdd_mde_crimes:.1f} incidents ({check.wdd_mde_fraction:.0%}), the goal is "
            f"{check.goal_crimes:.1f} ({problem.target_reduction_pct:g}%)"
        ),
    }
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        row = ProblemEvaluation(
            problem_id=problem.id, kind="power", report=json.dumps(report), created_by_id=actor.id, created_at=utcnow()
        )
        session.add(row)
        session.flush()
        report["id"] = row.id
        record_change(
            session,
            problem,
            actor,
            "power",
            {"evaluation_id": row.id, "detectable": check.detectable, "mde_fraction": round(check.wdd_mde_fraction, 4)},
        )
    return report


def run_assessment(engine: Engine, actor: UserInfo, problem_id: int, *, alpha: float = 0.05) -> dict[str, Any]:
    """Run every assessment method over the problem's windows and stored areas; store the report and chart.

    Raises ValueError when comparison areas are missing, overlap, or the baseline is empty.
    """
    require_write(actor)
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        agency = _agency(session, problem)
        rows = {
            row.role: json.loads(row.geojson)
            for row in session.scalars(
                select(ProblemComparisonArea).where(ProblemComparisonArea.problem_id == problem.id)
            ).all()
        }
        _need_areas(rows)
        request = AssessmentRequest(
            agency_code=agency.code,
            windows=_windows(problem),
            target=json.loads(problem.area_geojson),
            categories=tuple(json.loads(problem.categories)),
            buffer=rows["buffer"],
            control=rows["control"],
            control_buffer=rows["control_buffer"],
            goal_reduction=problem.target_reduction_pct / 100,
            alpha=alpha,
        )
        title, area_name = problem.title, problem.area_name
    result = assess_from_store(engine, request)
    report = result.report
    latest = latest_incident_date(engine, request.agency_code)
    if latest is not None and latest < request.windows.response_end:
        report["notes"].append(
            f"the data end on {latest}, before the evaluation period ends ({request.windows.response_end}): "
            "the response window is incomplete and its counts are too low"
        )
    figure = weekly_series_chart(
        result.weekly,
        request.windows.response_start,
        request.windows.response_end,
        labels={"target": f"Problem area: {area_name or title} (T)"[:80]},
        title="Incidents per week; the evaluation period is shaded",
    )
    chart = save_figure(figure, format="svg").decode("utf-8")
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        row = ProblemEvaluation(
            problem_id=problem.id,
            kind="assessment",
            report=json.dumps(report, default=str),
            chart_svg=chart,
            created_by_id=actor.id,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        wdd = report["wdd"]
        record_change(
            session,
            problem,
            actor,
            "assessment",
            {"evaluation_id": row.id, "wdd": round(wdd["estimate"], 2), "p_value": round(wdd["p_value"], 5)},
        )
        report = json.loads(row.report) | {"id": row.id}
    return report


def evaluation_chart(engine: Engine, actor: UserInfo, problem_id: int, evaluation_id: int) -> str:
    """The SVG chart of a stored assessment (LookupError when there is none)."""
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        row = session.get(ProblemEvaluation, evaluation_id)
        if row is None or row.problem_id != problem.id or row.chart_svg is None:
            raise LookupError(f"no chart for evaluation {evaluation_id} of problem {problem_id}")
        return row.chart_svg


def goal_progress(engine: Engine, problem: Problem, *, today: dt.date | None = None) -> dict[str, Any]:
    """How the problem's area is doing against its goal so far (raw change, not an effect estimate).

    The expected count is the baseline rate (incidents per day) times the days of the evaluation
    period elapsed up to ``as_of`` — the earliest of the evaluation end, the last day with data and
    ``today``. ``progress`` is the reduction achieved as a share of the goal (1 = goal met).
    """
    code = _agency_code(engine, problem)
    latest = latest_incident_date(engine, code)
    as_of = min(d for d in (problem.evaluation_end, latest, today or dt.date.today()) if d is not None)
    events, local, agency = _events(engine, problem, problem.baseline_start, max(as_of, problem.baseline_end))
    target = area_geometry(problem, agency.crs)
    inside = points_in_areas(events["x_m"].to_numpy(), events["y_m"].to_numpy(), {"t": target})["t"]
    day = local.dt.date.to_numpy()
    baseline_days = (problem.baseline_end - problem.baseline_start).days + 1
    baseline = int(np.sum(inside & (day >= problem.baseline_start) & (day <= problem.baseline_end)))
    goal = problem.target_reduction_pct
    result: dict[str, Any] = {
        "as_of": str(as_of),
        "baseline_count": baseline,
        "baseline_per_week": round(baseline / baseline_days * 7, 2),
        "target_change_pct": -goal,
        "status": "not started",
        "current_count": None,
        "expected_count": None,
        "change_pct": None,
        "progress": None,
    }
    if as_of < problem.evaluation_start:
        return result
    elapsed = (as_of - problem.evaluation_start).days + 1
    current = int(np.sum(inside & (day >= problem.evaluation_start) & (day <= as_of)))
    expected = baseline / baseline_days * elapsed
    result.update(current_count=current, expected_count=round(expected, 1), elapsed_days=elapsed)
    if expected <= 0:
        result["status"] = "no baseline"
        return result
    change = (current - expected) / expected * 100
    progress = -change / goal
    result.update(
        change_pct=round(change, 1),
        progress=round(progress, 3),
        status="goal met" if progress >= 1 else ("improving" if progress > 0 else "not improving"),
    )
    return result


def dashboard(engine: Engine, actor: UserInfo, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Every open problem of the actor's agency with its goal progress (:func:`goal_progress`), for commanders."""
    from openilp.services.problems import list_problems

    rows = []
    for view in list_problems(engine, actor, include_closed=False):
        with session_scope(engine) as session:
            problem = load_problem(session, actor, view["id"])
            session.expunge(problem)
        try:
            progress = goal_progress(engine, problem, today=today)
        except ValueError as exc:
            progress = {"status": "unavailable", "error": str(exc)}
        rows.append(
            {k: view[k] for k in ("id", "title", "goal", "owner", "stage", "target_reduction_pct")}
            | {
                "evaluation": view["evaluation"],
                "progress": progress,
            }
        )
    return rows
