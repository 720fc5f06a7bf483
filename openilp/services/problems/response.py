"""Responses to a problem: interventions and the comparison areas an assessment needs.

* **Interventions** are recorded with a type, a period (required; the end on or after the start),
  an area (GeoJSON; the problem's area when none is given) and a dosage (e.g. 45 "patrol minutes
  per day").
* **Comparison areas** (Bowers & Johnson 2003; Guerette 2009): a displacement catchment (a ring
  around the area), a control of similar baseline level and trend that is not adjacent, and the
  control's own ring, proposed by
  :func:`openilp.analysis.assessment.comparison.propose_comparison_areas` from the agency's boundary
  polygons (the core's registry) and stored as ``proposed``; an analyst may replace any of them
  (``edited``), and areas that overlap the target or its ring are refused
  (:func:`~openilp.analysis.assessment.comparison.validate_areas`).

The power check, the assessment and goal progress are in :mod:`openilp.services.problems.evaluation`
and :mod:`openilp.services.problems.progress`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openilp.analysis.assessment.comparison import (
    DEFAULT_BUFFER_M,
    baseline_trend,
    buffer_catchment,
    points_in_areas,
    polygonal,
    propose_comparison_areas,
    validate_areas,
)
from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, Problem, ProblemComparisonArea, ProblemIntervention
from openilp.errors import InvalidRequest, NotFound
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import boundary_areas, local_times
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.problems.areas import (
    area_from_units,
    geojson_area,
    geometry_from_geojson,
    normalise_area,
    unit_choice,
    unit_name,
)
from openilp.services.problems.common import (
    agency_of,
    area_geometry,
    load_problem,
    parse_day,
    record_change,
    refusals,
    require_write,
)

__all__ = [
    "COMPARISON_ROLES",
    "AreaProposal",
    "ComparisonAreaRequest",
    "ComparisonAreaSet",
    "InterventionAdded",
    "InterventionChange",
    "InterventionRequest",
    "ProposeAreasRequest",
    "RemoveInterventionRequest",
    "add_intervention",
    "change_intervention",
    "problem_events",
    "propose_areas",
    "remove_intervention",
    "set_comparison_area",
    "stored_areas",
]

#: Roles of the comparison areas (the target is the problem's own area).
COMPARISON_ROLES = ("buffer", "control", "control_buffer")
ROLE_NAMES = {"buffer": "displacement buffer", "control": "control area", "control_buffer": "control buffer"}


@dataclass(frozen=True)
class InterventionRequest(Request):
    """A response to problem ``problem_id``: type, period (local days, inclusive, or ``YYYY-MM-DD``),
    optional area (GeoJSON in longitude/latitude, never a file name, or ``area_units``: polygons of
    the boundary layer by name; neither = the problem's area) and dosage (a non-negative number with
    its unit). With ``intervention_id`` it replaces that intervention (:func:`change_intervention`)."""

    problem_id: int
    kind: str
    start: dt.date | str | None
    end: dt.date | str | None
    description: str = ""
    area: str | Mapping[str, Any] | None = None
    dosage_value: float | str | None = None
    dosage_unit: str = ""
    area_units: tuple[str, ...] | str = ()
    intervention_id: int | None = None

    def validate(self) -> InterventionRequest:
        kind = (self.kind or "").strip()
        if not kind:
            raise InvalidRequest("give the type of the intervention (e.g. directed patrol, target hardening)")
        if len(kind) > 60:
            raise InvalidRequest("the intervention type is longer than 60 characters")
        start, end = parse_day(self.start, "the start"), parse_day(self.end, "the end")
        if start is None or end is None:
            raise InvalidRequest("a response needs a period: give its start and end dates")
        if end < start:
            raise InvalidRequest(f"the intervention ends ({end}) before it starts ({start})")
        dosage = self.dosage_value
        if isinstance(dosage, str):
            try:
                dosage = float(dosage) if dosage.strip() else None
            except ValueError as exc:
                raise InvalidRequest(f"the dosage must be a number, got {self.dosage_value!r}") from exc
        unit = (self.dosage_unit or "").strip()
        if dosage is not None:
            if not math.isfinite(dosage) or dosage < 0:
                raise InvalidRequest(f"the dosage must be a non-negative number, got {dosage}")
            if not unit:
                raise InvalidRequest("give the unit of the dosage, e.g. 'patrol minutes per day'")
        area = self.area
        units = unit_choice(self.area_units)
        if area is not None and not (isinstance(area, str) and not area.strip()):
            if units:
                raise InvalidRequest("give the intervention area either as polygons of the boundary layer or drawn")
            area = geojson_area(area, "the intervention area")
        else:
            area = None
        return dataclasses.replace(
            self,
            kind=kind,
            start=start,
            end=end,
            description=(self.description or "").strip()[:5000],
            area=area,
            dosage_value=dosage,
            dosage_unit=unit[:60],
            area_units=units,
        )


@dataclass(frozen=True)
class InterventionAdded(Result):
    """The id of the new intervention and its problem."""

    id: int
    problem_id: int


@refusals
def add_intervention(core: OpenILP, actor: UserInfo | None, request: InterventionRequest) -> InterventionAdded:
    """Record an intervention.

    Raises InvalidRequest for a missing type or period, an end before the start, a negative
    dosage, a dosage without a unit or a bad area.
    """
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        intervention = ProblemIntervention(problem_id=problem.id, created_by_id=actor.id, created_at=uow.now)
        _fill_intervention(core, uow.session, problem, intervention, request)
        uow.session.add(intervention)
        uow.session.flush()
        dosage = request.dosage_value
        record_change(
            uow,
            problem,
            actor,
            "intervention",
            {
                "intervention_id": intervention.id,
                "kind": request.kind,
                "start": request.start,
                "end": request.end,
                "dosage": f"{dosage:g} {request.dosage_unit}".strip() if isinstance(dosage, float | int) else "",
            },
        )
        return InterventionAdded(id=intervention.id, problem_id=problem.id)


def _fill_intervention(
    core: OpenILP, session: Session, problem: Problem, intervention: ProblemIntervention, request: InterventionRequest
) -> None:
    agency = agency_of(session, problem)
    area = request.area
    if request.area_units:
        area = area_from_units(core, agency.code, list(request.area_units), "the intervention area")
    intervention.area_geojson = normalise_area(area, agency.crs)[0] if area is not None else None
    intervention.kind = request.kind
    intervention.description = request.description
    intervention.start_date = request.start  # type: ignore[assignment]
    intervention.end_date = request.end  # type: ignore[assignment]
    intervention.dosage_value = request.dosage_value  # type: ignore[assignment]
    intervention.dosage_unit = request.dosage_unit


def _load_intervention(session: Session, problem: Problem, intervention_id: int | None) -> ProblemIntervention:
    row = session.get(ProblemIntervention, intervention_id) if intervention_id is not None else None
    if row is None or row.problem_id != problem.id:
        raise NotFound(f"no intervention {intervention_id} on problem {problem.id}")
    return row


def _intervention_fields(row: ProblemIntervention) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "description": row.description,
        "start": str(row.start_date),
        "end": str(row.end_date),
        "dosage": f"{row.dosage_value:g} {row.dosage_unit}".strip() if row.dosage_value is not None else "",
        "area": "own polygon" if row.area_geojson else "problem area",
    }


@dataclass(frozen=True)
class InterventionChange(Result):
    """What happened to intervention ``id`` of problem ``problem_id`` (``changed`` or ``removed``)."""

    id: int
    problem_id: int
    action: str
    fields: tuple[str, ...] = ()


@refusals
def change_intervention(core: OpenILP, actor: UserInfo | None, request: InterventionRequest) -> InterventionChange:
    """Replace intervention ``request.intervention_id`` with the request's values (all fields, as on
    the form); the problem's history keeps the old and new values of what changed."""
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        row = _load_intervention(uow.session, problem, request.intervention_id)
        before = _intervention_fields(row)
        _fill_intervention(core, uow.session, problem, row, request)
        after = _intervention_fields(row)
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        if changed:
            details = {"intervention_id": row.id, "fields": changed}
            record_change(uow, problem, actor, "intervention changed", details)
        return InterventionChange(id=row.id, problem_id=problem.id, action="changed", fields=tuple(changed))


@dataclass(frozen=True)
class RemoveInterventionRequest(Request):
    """Remove intervention ``intervention_id`` of problem ``problem_id`` (recorded in error, or never
    carried out); ``reason`` is kept in the problem's history."""

    problem_id: int
    intervention_id: int
    reason: str = ""

    def validate(self) -> RemoveInterventionRequest:
        reason = (self.reason or "").strip()
        if len(reason) > 2000:
            raise InvalidRequest("the reason is longer than 2,000 characters")
        return dataclasses.replace(self, reason=reason)


@refusals
def remove_intervention(
    core: OpenILP, actor: UserInfo | None, request: RemoveInterventionRequest
) -> InterventionChange:
    """Delete an intervention; its values stay in the problem's history and the audit log."""
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        row = _load_intervention(uow.session, problem, request.intervention_id)
        details = {"intervention_id": row.id, "removed": _intervention_fields(row), "reason": request.reason}
        uow.session.delete(row)
        record_change(uow, problem, actor, "intervention removed", details)
        return InterventionChange(id=request.intervention_id, problem_id=problem.id, action="removed")


def _lonlat(geometry: shapely.Geometry, crs: str) -> str:
    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.to_geojson(polygonal(shapely.set_precision(shapely.transform(geometry, project), 1e-7)))


def stored_areas(session: Session, problem: Problem, crs: str) -> dict[str, shapely.Geometry]:
    """The problem's comparison areas by role, projected to ``crs`` (metres)."""
    rows = session.scalars(select(ProblemComparisonArea).where(ProblemComparisonArea.problem_id == problem.id)).all()
    return {row.role: geometry_from_geojson(json.loads(row.geojson), crs) for row in rows}


def _save_area(
    session: Session,
    problem: Problem,
    role: str,
    geojson: str,
    origin: str,
    details: dict[str, Any],
    actor: UserInfo,
    now: dt.datetime,
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
    row.updated_at = now
    row.updated_by_id = actor.id


def problem_events(
    engine: Engine, problem: Problem, agency: Agency, date_from: dt.date, date_to: dt.date
) -> tuple[pd.DataFrame, pd.Series]:
    """The located incidents of the problem's categories between two local days, and their local times."""
    events, _ = load_events(
        engine,
        EventQuery(
            agency_code=agency.code,
            categories=tuple(json.loads(problem.categories)),
            date_from=date_from,
            date_to=date_to,
        ),
    )
    return events, local_times(events, agency.timezone)


@dataclass(frozen=True)
class ProposeAreasRequest(Request):
    """Propose the comparison areas of problem ``problem_id``; rings ``buffer_m`` wide (metres)."""

    problem_id: int
    buffer_m: float = DEFAULT_BUFFER_M

    def validate(self) -> ProposeAreasRequest:
        if not math.isfinite(self.buffer_m) or not 0 < self.buffer_m <= 5000:
            raise InvalidRequest(f"buffer_m must be more than 0 and at most 5,000 metres, got {self.buffer_m}")
        return self


@dataclass(frozen=True)
class AreaProposal(Result):
    """How the control was chosen: its unit, the baseline counts, the ring width and the top five."""

    control_unit: str
    target_baseline: int
    control_baseline: int
    buffer_m: float
    ranking: tuple[Mapping[str, Any], ...]


@refusals
def propose_areas(core: OpenILP, actor: UserInfo | None, request: ProposeAreasRequest) -> AreaProposal:
    """Propose and store the buffer, the control and the control's buffer.

    Candidates for the control are the polygons of the agency's boundary layer (e.g.
    neighbourhoods), ranked by the closeness of their baseline level and trend to the target's
    (:func:`~openilp.analysis.assessment.comparison.rank_control_candidates`). Replaces earlier
    proposals and edits.
    """
    actor = require_write(actor)
    request = request.validate()
    buffer_m = request.buffer_m
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        agency = agency_of(uow.session, problem)
        layer = core.boundaries.layer_for(agency.code)
        if layer is None:
            raise InvalidRequest(f"agency {agency.code} has no boundary layer to work with")
        crs = agency.crs
        target = area_geometry(problem, crs)
        events, local = problem_events(core.engine, problem, agency, problem.baseline_start, problem.baseline_end)
        candidates = boundary_areas(layer.path, crs)
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
            raise InvalidRequest(
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
        names = [unit_name(p, i) for i, p in enumerate(candidates.properties)]
        ranking = proposal.candidates.head(5) if proposal.candidates is not None else pd.DataFrame()
        chosen = AreaProposal(
            control_unit=names[int(proposal.control_id)],
            target_baseline=target_early + target_late,
            control_baseline=int(early_counts[proposal.control_id] + late_counts[proposal.control_id]),
            buffer_m=buffer_m,
            ranking=tuple(
                {"unit": names[int(r["id"])], "baseline": r["baseline"], "score": r["score"], "eligible": r["eligible"]}
                for r in json.loads(ranking.to_json(orient="records"))
            ),
        )
        for role, geometry in (
            ("buffer", proposal.buffer),
            ("control", proposal.control),
            ("control_buffer", proposal.control_buffer),
        ):
            details = chosen.as_dict() if role == "control" else {"buffer_m": buffer_m}
            _save_area(uow.session, problem, role, _lonlat(geometry, crs), "proposed", details, actor, uow.now)
        record_change(
            uow,
            problem,
            actor,
            "areas",
            {"proposed": list(COMPARISON_ROLES), "control_unit": chosen.control_unit, "buffer_m": buffer_m},
        )
    return chosen


@dataclass(frozen=True)
class ComparisonAreaRequest(Request):
    """Replace comparison area ``role`` (:data:`COMPARISON_ROLES`) of problem ``problem_id`` with an
    analyst's polygon: GeoJSON in longitude/latitude (a mapping or its text, never a file name), or
    ``units``, polygons of the agency's boundary layer by name (e.g. a neighbourhood as the control).

    With ``redraw_control_buffer`` (a new control only) the control's buffer becomes the ring of
    ``buffer_m`` metres around the new control, clipped to the boundary layer.
    """

    problem_id: int
    role: str
    area: str | Mapping[str, Any] | None = None
    units: tuple[str, ...] | str = ()
    redraw_control_buffer: bool = False
    buffer_m: float = DEFAULT_BUFFER_M

    def validate(self) -> ComparisonAreaRequest:
        if self.role not in COMPARISON_ROLES:
            raise InvalidRequest(f"unknown comparison area {self.role!r}; use {', '.join(COMPARISON_ROLES)}")
        if not math.isfinite(self.buffer_m) or not 0 < self.buffer_m <= 5000:
            raise InvalidRequest(f"buffer_m must be more than 0 and at most 5,000 metres, got {self.buffer_m}")
        what = f"the {ROLE_NAMES[self.role]}"
        units = unit_choice(self.units)
        blank = self.area is None or (isinstance(self.area, str) and not self.area.strip())
        if units and not blank:
            raise InvalidRequest(f"give {what} either as polygons of the boundary layer or drawn, not both")
        area = None if units else geojson_area(self.area, what)
        return dataclasses.replace(self, area=area, units=units)


@dataclass(frozen=True)
class ComparisonAreaSet(Result):
    """Which comparison area of which problem was replaced."""

    id: int
    role: str


@refusals
def set_comparison_area(core: OpenILP, actor: UserInfo | None, request: ComparisonAreaRequest) -> ComparisonAreaSet:
    """Replace one comparison area with an analyst's polygon (origin ``edited``).

    Raises InvalidRequest for an unknown role, a bad polygon, or one that overlaps the target or
    its buffer (for the control and its buffer).
    """
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        agency = agency_of(uow.session, problem)
        crs = agency.crs
        what = f"the {ROLE_NAMES[request.role]}"
        area = request.area
        if request.units:
            area = area_from_units(core, agency.code, list(request.units), what)
        area_text, geometry = normalise_area(area, crs)
        areas = stored_areas(uow.session, problem, crs)
        areas[request.role] = geometry
        redraw = request.redraw_control_buffer and request.role == "control"
        if redraw:
            layer = core.boundaries.layer_for(agency.code)
            ring = buffer_catchment(geometry, request.buffer_m)
            if layer is not None:
                ring = polygonal(shapely.intersection(ring, boundary_areas(layer.path, crs).union()))
            areas["control_buffer"] = ring
        validate_areas(
            area_geometry(problem, crs), areas.get("buffer"), areas.get("control"), areas.get("control_buffer")
        )
        details: dict[str, Any] = {"edited_by": actor.username}
        if request.units:
            details["units"] = list(request.units)
            if request.role == "control":
                details["control_unit"] = "; ".join(request.units)
        _save_area(uow.session, problem, request.role, area_text, "edited", details, actor, uow.now)
        change: dict[str, Any] = {"edited": request.role}
        if request.units:
            change["units"] = list(request.units)
        if redraw:
            ring_details = {"buffer_m": request.buffer_m, "around": "the edited control"}
            ring_text = _lonlat(areas["control_buffer"], crs)
            _save_area(uow.session, problem, "control_buffer", ring_text, "proposed", ring_details, actor, uow.now)
            change["redrawn"] = "control_buffer"
        record_change(uow, problem, actor, "areas", change)
        return ComparisonAreaSet(id=problem.id, role=request.role)
