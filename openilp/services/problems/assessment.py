"""Assessing a response from the store: areas as GeoJSON, a baseline and a response period, categories.

The bridge between incidents in the store and :mod:`openilp.analysis.assessment`: it projects the
areas to the agency's CRS, proposes the comparison areas that were not given (a buffer ring around
the target; a control among candidate polygons such as neighbourhoods, similar in baseline crime
and not adjacent), counts the incidents in each area and window (local calendar), builds the weekly
series and runs every method. The command line calls :func:`assess_from_store`; a problem's
assessment (:mod:`openilp.services.problems.evaluation`) runs the same counting in its own unit of
work. Areas are GeoJSON mappings: the command line reads the files it is given, the service never
opens a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy.orm import Session

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.assessment.comparison import (
    DEFAULT_BUFFER_M,
    ComparisonAreas,
    baseline_trend,
    buffer_catchment,
    points_in_areas,
    propose_comparison_areas,
    validate_areas,
)
from openilp.analysis.assessment.report import assess_counts
from openilp.analysis.assessment.series import AssessmentWindows, weekly_counts, window_counts
from openilp.core import OpenILP, Request, Result
from openilp.core.dates import require_day
from openilp.errors import InvalidRequest, NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.analysis.events import EventQuery, expand_categories, load_events
from openilp.services.problems.areas import geojson_area, geometry_from_geojson
from openilp.services.problems.common import refusals

__all__ = [
    "AssessmentRequest",
    "StoreAssessment",
    "assess_from_store",
    "assess_in_unit",
    "geometry_from_geojson",
    "parse_date",
]


@dataclass(frozen=True)
class AssessmentRequest(Request):
    """What to assess. Areas are GeoJSON mappings or text (longitude/latitude; never file names:
    the command line reads its files); dates are local calendar days."""

    agency_code: str
    windows: AssessmentWindows
    target: Mapping[str, Any] | str
    categories: Sequence[str] = ()
    buffer: Mapping[str, Any] | str | None = None
    control: Mapping[str, Any] | str | None = None
    control_buffer: Mapping[str, Any] | str | None = None
    #: Width of the proposed buffer rings (metres).
    buffer_m: float = DEFAULT_BUFFER_M
    #: Candidate control polygons (a GeoJSON FeatureCollection) and their identifying property.
    candidates: Mapping[str, Any] | None = None
    candidate_id_property: str = "NHD_NUM"
    #: Goal of the problem as a fraction (0.2 = reduce by 20%).
    goal_reduction: float | None = None
    #: Harm weight per category code or crime group (e.g. Cambridge CHI days).
    harm_weights: Mapping[str, float] = field(default_factory=dict)
    alpha: float = 0.05

    def validate(self) -> AssessmentRequest:
        if not isinstance(self.windows, AssessmentWindows):
            raise InvalidRequest("windows must be AssessmentWindows(baseline start, response start, response end)")
        if not 0 < self.buffer_m <= 5000:
            raise InvalidRequest(f"buffer_m must be more than 0 and at most 5,000 metres, got {self.buffer_m}")
        if not 0 < self.alpha < 0.5:
            raise InvalidRequest(f"alpha must be between 0 and 0.5, got {self.alpha}")
        if self.goal_reduction is not None and not 0 < self.goal_reduction < 1:
            raise InvalidRequest(f"the goal must be a fraction between 0 and 1 (0.2 = 20%), got {self.goal_reduction}")
        if self.candidates is not None and not isinstance(self.candidates, Mapping):
            raise InvalidRequest("candidates must be a GeoJSON FeatureCollection (read the file on the command line)")

        def optional(value: Mapping[str, Any] | str | None, name: str) -> Mapping[str, Any] | None:
            return None if value is None else geojson_area(value, f"the {name} area")

        return dataclasses.replace(
            self,
            target=geojson_area(self.target, "the target area"),
            categories=tuple(self.categories),
            buffer=optional(self.buffer, "buffer"),
            control=optional(self.control, "control"),
            control_buffer=optional(self.control_buffer, "control buffer"),
        )


@dataclass(frozen=True)
class StoreAssessment(Result):
    """The report of every method, the areas used (metres) and the weekly series.

    ``as_dict()`` is the report (the shells print or send it); the areas and the weekly series
    are for charts and ``areas_geojson()``.
    """

    report: dict[str, Any]
    areas: ComparisonAreas
    weekly: pd.DataFrame
    crs: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.report)

    def areas_geojson(self) -> dict[str, Any]:
        """The four areas as a GeoJSON FeatureCollection in longitude/latitude."""
        transformer = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

        def project(coords: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        features = []
        for name, geometry in self.areas.geometries().items():
            lonlat = shapely.transform(geometry, project)
            features.append(
                {
                    "type": "Feature",
                    "properties": {"area": name, "area_km2": round(float(shapely.area(geometry)) / 1e6, 4)},
                    "geometry": json.loads(shapely.to_geojson(shapely.set_precision(lonlat, 1e-6))),
                }
            )
        return {"type": "FeatureCollection", "features": features}


def _local_times(frame: pd.DataFrame, timezone: str) -> pd.Series:
    stamps = pd.to_datetime(frame["occurred_from"])
    return stamps.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)


def _areas(request: AssessmentRequest, crs: str, events: pd.DataFrame, local: pd.Series) -> ComparisonAreas:
    assert isinstance(request.target, Mapping)  # validate() parsed it
    target = geometry_from_geojson(request.target, crs)
    buffer = geometry_from_geojson(request.buffer, crs) if isinstance(request.buffer, Mapping) else None
    if buffer is None:
        buffer = buffer_catchment(target, request.buffer_m)
    control = geometry_from_geojson(request.control, crs) if isinstance(request.control, Mapping) else None
    control_id = None
    candidates_table = None
    if control is None:
        if request.candidates is None:
            raise InvalidRequest("give a control area, or candidate polygons (e.g. neighbourhoods) to propose one from")
        candidates = PolygonAreas.from_geojson(
            request.candidates, id_property=request.candidate_id_property, target_crs=crs
        )
        windows = request.windows
        day = local.dt.date
        middle = windows.pre_start + dt.timedelta(days=windows.pre_days // 2)
        early = ((day >= windows.pre_start) & (day < middle)).to_numpy()
        late = ((day >= middle) & (day < windows.response_start)).to_numpy()
        x, y = events["x_m"].to_numpy(), events["y_m"].to_numpy()
        index = candidates.assign(x, y)
        located = index >= 0
        early_counts = np.bincount(index[early & located], minlength=candidates.n_units)
        late_counts = np.bincount(index[late & located], minlength=candidates.n_units)
        in_target = points_in_areas(x, y, {"t": target})["t"]
        target_early, target_late = int(np.sum(in_target & early)), int(np.sum(in_target & late))
        ids = [i.item() if hasattr(i, "item") else i for i in candidates.ids]
        trends = baseline_trend(early_counts, late_counts)
        proposal = propose_comparison_areas(
            target,
            dict(zip(ids, candidates.polygons(), strict=True)),
            dict(zip(ids, (early_counts + late_counts).astype(float), strict=True)),
            float(target_early + target_late),
            buffer_m=request.buffer_m,
            candidate_trends=dict(zip(ids, trends.tolist(), strict=True)),
            target_trend=float(baseline_trend([target_early], [target_late])[0]),
            study_area=candidates.union(),
        )
        buffer = proposal.buffer if request.buffer is None else buffer
        control, control_id, candidates_table = proposal.control, proposal.control_id, proposal.candidates
    if isinstance(request.control_buffer, Mapping):
        control_buffer = geometry_from_geojson(request.control_buffer, crs)
    elif control_id is not None:
        control_buffer = proposal.control_buffer
    else:
        control_buffer = buffer_catchment(control, request.buffer_m)
    validate_areas(target, buffer, control, control_buffer)
    return ComparisonAreas(target, buffer, control, control_buffer, control_id=control_id, candidates=candidates_table)


@refusals
def assess_from_store(
    core: OpenILP, actor: UserInfo | None, request: AssessmentRequest, *, panel: bool = True
) -> StoreAssessment:
    """Count the incidents of the request's categories in each area and window, and run every method.

    ``panel=False`` leaves out the methods on the weekly panel (the overdispersion check, the
    quasi-Poisson WDD and the difference in differences, the slow part on a year of a city's
    incidents): the count methods (WDD, WDQ, rate ratio, E-tests, power) are the same.

    ``actor`` None is the command-line operator; an account may assess its own agency only. The
    assessment is audited as a search of the agency's incidents.

    Raises
    ------
    InvalidRequest
        For an unknown agency or category, overlapping areas, an empty baseline in the target
        area, or windows without a response period.
    """
    request = request.validate()
    if actor is not None and actor.agency_code != request.agency_code:
        raise NotPermitted(f"you may assess incidents of your agency ({actor.agency_code}) only")
    with core.unit_of_work(actor) as uow:
        result = assess_in_unit(core, uow.session, request, panel=panel)
        uow.audit(
            action="search",
            object_type="assessment",
            details={
                "agency": request.agency_code,
                "categories": list(request.categories),
                "windows": request.windows.as_dict(),
                "control_proposed": result.report.get("control_id") is not None,
            },
        )
    return result


def assess_in_unit(
    core: OpenILP, session: Session, request: AssessmentRequest, *, panel: bool = True
) -> StoreAssessment:
    """:func:`assess_from_store` inside the caller's unit of work (``session``), not audited.

    ``request`` must be validated.
    """
    engine = core.engine
    windows = request.windows
    wanted = tuple(request.categories)
    everything = wanted + tuple(name for name in request.harm_weights if name not in wanted) if wanted else ()
    loaded, agency = load_events(
        engine,
        EventQuery(
            agency_code=request.agency_code,
            categories=everything,
            date_from=windows.pre_start,
            date_to=windows.response_end,
        ),
    )
    all_local = _local_times(loaded, agency.timezone)
    all_masks_needed = bool(request.harm_weights)
    if wanted and all_masks_needed:
        chosen = loaded["category"].isin(expand_categories(session, list(wanted))).to_numpy()
        events, local = loaded[chosen].reset_index(drop=True), all_local[chosen].reset_index(drop=True)
    else:
        events, local = loaded, all_local
    areas = _areas(request, agency.crs, events, local)
    masks = points_in_areas(events["x_m"].to_numpy(), events["y_m"].to_numpy(), areas.geometries())
    counts = window_counts(local, masks, windows)
    if counts["target"][0] == 0:
        raise InvalidRequest(
            f"no incidents of the chosen categories in the target area between {windows.pre_start} and "
            f"{windows.response_start}: the baseline is empty, nothing can be assessed"
        )
    weekly = weekly_counts(local, masks, windows)
    harm: dict[str, tuple[float, dict[str, tuple[int, int]]]] = {}
    if request.harm_weights:
        all_masks = points_in_areas(loaded["x_m"].to_numpy(), loaded["y_m"].to_numpy(), areas.geometries())
        for name, weight in request.harm_weights.items():
            codes = expand_categories(session, [name])
            of_type = loaded["category"].isin(codes).to_numpy()
            type_masks = {area: mask & of_type for area, mask in all_masks.items()}
            harm[name] = (float(weight), window_counts(all_local, type_masks, windows))
    report = assess_counts(
        counts,
        pre_length=windows.pre_days,
        post_length=windows.post_days,
        weekly=weekly if panel else None,
        goal_reduction=request.goal_reduction,
        harm=harm or None,
        alpha=request.alpha,
    )
    report["windows"] |= windows.as_dict()
    report["agency"] = agency.code
    report["categories"] = list(request.categories)
    report["areas"] = {
        name: {"area_km2": float(shapely.area(geometry)) / 1e6} for name, geometry in areas.geometries().items()
    }
    report["control_id"] = areas.control_id
    if areas.candidates is not None:
        report["control_candidates"] = areas.candidates.head(10).to_dict(orient="records")
    return StoreAssessment(report=report, areas=areas, weekly=weekly, crs=agency.crs)


def parse_date(value: str, name: str) -> dt.date:
    """A calendar date from ``YYYY-MM-DD`` with a message naming the option (:func:`openilp.core.dates.require_day`)."""
    return require_day(value, name)
