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
    points_in_areas,
    propose_comparison_areas,
    validate_areas,
)
from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, Problem, ProblemComparisonArea, ProblemIntervention
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import boundary_areas, local_times
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.problems.areas import geojson_area, geometry_from_geojson, normalise_area
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
    "InterventionRequest",
    "ProposeAreasRequest",
    "add_intervention",
    "problem_events",
    "propose_areas",
    "set_comparison_area",
    "stored_areas",
]

#: Roles of the comparison areas (the target is the problem's own area).
COMPARISON_ROLES = ("buffer", "control", "control_buffer")
ROLE_NAMES = {"buffer": "displacement buffer", "control": "control area", "control_buffer": "control buffer"}


@dataclass(frozen=True)
class InterventionRequest(Request):
    """A response to problem ``problem_id``: type, period (local days, inclusive, or ``YYYY-MM-DD``),
    optional area (GeoJSON in longitude/latitude, never a file name; None or blank = the problem's
    area) and dosage (a non-negative number with its unit)."""

    problem_id: int
    kind: str
    start: dt.date | str | None
    end: dt.date | str | None
    description: str = ""
    area: str | Mapping[str, Any] | None = None
    dosage_value: float | str | None = None
    dosage_unit: str = ""

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
        if area is not None and not (isinstance(area, str) and not area.strip()):
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
        area_text = None
        if request.area is not None:
            area_text, _ = normalise_area(request.area, agency_of(uow.session, problem).crs)
        intervention = ProblemIntervention(
            problem_id=problem.id,
            kind=request.kind,
            description=request.description,
            area_geojson=area_text,
            start_date=request.start,
            end_date=request.end,
            dosage_value=request.dosage_value,
            dosage_unit=request.dosage_unit,
            created_by_id=actor.id,
            created_at=uow.now,
        )
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


def _lonlat(geometry: shapely.Geometry, crs: str) -> str:
    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.to_geojson(shapely.set_precision(shapely.transform(geometry, project), 1e-7))


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
        names = [_unit_name(p) for p in candidates.properties]
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


def _unit_name(properties: Mapping[str, Any]) -> str:
    for key in ("NHD_NAME", "name", "NAME", "Name", "label"):
        if properties.get(key):
            return str(properties[key])
    return str(properties.get("_openilp_index", "?"))


@dataclass(frozen=True)
class ComparisonAreaRequest(Request):
    """Replace comparison area ``role`` (:data:`COMPARISON_ROLES`) of problem ``problem_id`` with an
    analyst's polygon: GeoJSON in longitude/latitude (a mapping or its text, never a file name)."""

    problem_id: int
    role: str
    area: str | Mapping[str, Any] | None

    def validate(self) -> ComparisonAreaRequest:
        if self.role not in COMPARISON_ROLES:
            raise InvalidRequest(f"unknown comparison area {self.role!r}; use {', '.join(COMPARISON_ROLES)}")
        return dataclasses.replace(self, area=geojson_area(self.area, f"the {ROLE_NAMES[self.role]}"))


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
        crs = agency_of(uow.session, problem).crs
        area_text, geometry = normalise_area(request.area, crs)
        areas = stored_areas(uow.session, problem, crs)
        areas[request.role] = geometry
        validate_areas(
            area_geometry(problem, crs), areas.get("buffer"), areas.get("control"), areas.get("control_buffer")
        )
        details = {"edited_by": actor.username}
        _save_area(uow.session, problem, request.role, area_text, "edited", details, actor, uow.now)
        record_change(uow, problem, actor, "areas", {"edited": request.role})
        return ComparisonAreaSet(id=problem.id, role=request.role)
