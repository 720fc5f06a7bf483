"""Analysis products attached to a problem (the A of SARA), generated from the analysis core.

Each product is computed for the problem's categories over its **baseline period** and stored
inline with the parameters it was made with, so the worksheet keeps the evidence it was built on
even after the data change:

``knox_table``
    near-repeat Knox table (Knox 1964; Ratcliffe's Near Repeat Calculator conventions) of the
    incidents in the problem's area, :class:`openilp.analysis.nearrepeat.KnoxTest`;
``trend_chart``
    weekly counts in the area from the baseline start to the last day with data (SVG), drawn with
    :func:`openilp.analysis.assessment.charts.weekly_series_chart`;
``hotspot_map``
    Gi* hot and cold cells (:func:`openilp.services.analysis.hotspots.run_hotspots`, exact p-values
    unless ``permutations`` are given) within 1 km of the area, as GeoJSON (longitude/latitude);
``incident_list``
    the incidents in the area (id, category, local time, neighbourhood, beat), at most
    :data:`MAX_INCIDENTS`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Engine

from openilp.analysis.assessment.charts import save_figure, weekly_series_chart
from openilp.analysis.assessment.comparison import points_in_areas
from openilp.analysis.assessment.series import AssessmentWindows, weekly_counts
from openilp.analysis.nearrepeat import KnoxTest, event_days
from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, Problem, ProblemAttachment
from openilp.errors import InvalidRequest, NotFound
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import latest_incident_date, local_times
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.analysis.hotspots import HotspotRequest, run_hotspots
from openilp.services.problems.common import (
    agency_of,
    area_geometry,
    load_problem,
    record_change,
    refusals,
    require_read,
    require_write,
)

__all__ = [
    "MAX_INCIDENTS",
    "PRODUCT_KINDS",
    "AttachmentContent",
    "ProductAttached",
    "ProductRequest",
    "attach_product",
    "attachment_content",
]

#: Product kind -> what it is.
PRODUCT_KINDS = {
    "knox_table": "Near-repeat Knox table",
    "trend_chart": "Weekly trend chart",
    "hotspot_map": "Gi* hot-spot map",
    "incident_list": "Incident list",
}
MAX_INCIDENTS = 2000
#: Distance around the area within which hot-spot cells are kept (metres).
MAP_MARGIN_M = 1000.0


@dataclass(frozen=True)
class ProductRequest(Request):
    """Generate a product of ``kind`` (:data:`PRODUCT_KINDS`) for problem ``problem_id``.

    ``options``: ``space_bands_m``, ``time_bands_days`` and ``permutations`` (19 to 9,999) for the
    Knox table; ``cell_size_m`` and ``permutations`` for the hot-spot map.
    """

    problem_id: int
    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def validate(self) -> ProductRequest:
        if self.kind not in PRODUCT_KINDS:
            raise InvalidRequest(f"unknown product {self.kind!r}; products: {', '.join(PRODUCT_KINDS)}")
        if not isinstance(self.options, Mapping):
            raise InvalidRequest("options must be an object of option name -> value")
        return dataclasses.replace(self, options=dict(self.options))


@dataclass(frozen=True)
class ProductAttached(Result):
    """The id of the new attachment, its problem and kind."""

    id: int
    problem_id: int
    kind: str


@dataclass(frozen=True)
class AttachmentContent(Result):
    """An attached product itself: JSON, GeoJSON or SVG text and its media type."""

    content_type: str
    content: str


def _area_events(
    engine: Engine, problem: Problem, agency: Agency, date_from: dt.date, date_to: dt.date
) -> tuple[pd.DataFrame, pd.Series]:
    events, _ = load_events(engine, EventQuery(agency.code, tuple(json.loads(problem.categories)), date_from, date_to))
    target = area_geometry(problem, agency.crs)
    inside = points_in_areas(events["x_m"].to_numpy(), events["y_m"].to_numpy(), {"t": target})["t"]
    events = events[inside].reset_index(drop=True)
    return events, local_times(events, agency.timezone)


def _knox(engine: Engine, problem: Problem, agency: Agency, options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    events, local = _area_events(engine, problem, agency, problem.baseline_start, problem.baseline_end)
    if len(events) < 10:
        raise InvalidRequest(f"only {len(events)} incidents in the area in the baseline: too few for a Knox table")
    space = tuple(float(v) for v in options.get("space_bands_m", (100, 200, 300, 400, 500)))
    time = tuple(float(v) for v in options.get("time_bands_days", (7, 14, 21, 28)))
    permutations = int(options.get("permutations", 199))
    if not 19 <= permutations <= 9999:
        raise InvalidRequest(f"permutations must be between 19 and 9,999, got {permutations}")
    knox = KnoxTest(space_bands_m=space, time_bands_days=time, permutations=permutations, seed=0, n_jobs=-1)
    knox.fit(events["x_m"].to_numpy(), events["y_m"].to_numpy(), event_days(local))
    table = json.loads(knox.table().to_json(orient="records"))
    content = {
        "events": int(knox.n_events_),
        "pairs": int(knox.n_pairs_),
        "summary": knox.summary(event_name="incidents"),
        "table": table,
    }
    parameters = {"space_bands_m": space, "time_bands_days": time, "permutations": permutations}
    return content, json.dumps(parameters)


def _trend(engine: Engine, problem: Problem, agency: Agency) -> tuple[str, dict[str, Any]]:
    latest = latest_incident_date(engine, agency.code) or problem.evaluation_end
    end = max(min(latest, problem.evaluation_end), problem.evaluation_start)
    events, local = _area_events(engine, problem, agency, problem.baseline_start, end)
    windows = AssessmentWindows(problem.baseline_start, problem.evaluation_start, end)
    weekly = weekly_counts(local, {"target": np.ones(len(events), dtype=bool)}, windows)
    figure = weekly_series_chart(
        weekly,
        problem.evaluation_start,
        end,
        panels=(("target",),),
        labels={"target": (problem.area_name or problem.title)[:60]},
        title=f"{', '.join(json.loads(problem.categories))} per week; evaluation period shaded",
    )
    return save_figure(figure, format="svg").decode("utf-8"), {"through": str(end), "weeks": len(weekly)}


def _hotspots(
    core: OpenILP, problem: Problem, agency: Agency, options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    cell = float(options.get("cell_size_m", 150.0))
    permutations = options.get("permutations")
    request = HotspotRequest(
        agency_code=agency.code,
        categories=tuple(json.loads(problem.categories)),
        date_from=problem.baseline_start,
        date_to=problem.baseline_end,
        cell_size_m=cell,
        permutations=None if permutations is None else int(permutations),
    )
    # The caller has checked the actor's access to the problem (and so to its agency).
    result = run_hotspots(core, None, request)
    collection = result.to_geojson()
    near = shapely.buffer(area_geometry(problem, agency.crs), MAP_MARGIN_M)
    to_lonlat = pyproj.Transformer.from_crs(agency.crs, "EPSG:4326", always_xy=True)
    min_x, min_y, max_x, max_y = shapely.bounds(near)
    lon0, lat0 = to_lonlat.transform(min_x, min_y)
    lon1, lat1 = to_lonlat.transform(max_x, max_y)
    box = shapely.box(lon0, lat0, lon1, lat1)
    kept = [
        f for f in collection["features"] if shapely.intersects(shapely.from_geojson(json.dumps(f["geometry"])), box)
    ]
    collection["features"] = kept
    hot = sum(1 for f in kept if f["properties"].get("gi_class") == "hot")
    facts = {"inference": result.request.inference, "permutations": result.permutations}
    return collection, {"cell_size_m": cell, **facts, "cells": len(kept), "hot": hot}


def _incidents(engine: Engine, problem: Problem, agency: Agency) -> tuple[dict[str, Any], dict[str, Any]]:
    events, local = _area_events(engine, problem, agency, problem.baseline_start, problem.baseline_end)
    head = events.head(MAX_INCIDENTS)
    rows = [
        {
            "incident_id": int(incident_id),
            "category": category,
            "occurred_local": str(when),
            "neighbourhood": neighbourhood,
            "beat": beat,
        }
        for incident_id, category, when, neighbourhood, beat in zip(
            head["incident_id"].tolist(),
            head["category"].tolist(),
            local.head(MAX_INCIDENTS).tolist(),
            head["neighbourhood"].tolist(),
            head["beat"].tolist(),
            strict=True,
        )
    ]
    return {"total": len(events), "shown": len(rows), "incidents": rows}, {"total": len(events)}


@refusals
def attach_product(core: OpenILP, actor: UserInfo | None, request: ProductRequest) -> ProductAttached:
    """Generate a product and attach it to the problem, with the parameters it was made with.

    The hot-spot map is clipped to the agency's boundary layer from the core's registry.
    Raises InvalidRequest for an unknown kind, bad options or too little data.
    """
    actor = require_write(actor)
    request = request.validate()
    kind, options, engine = request.kind, request.options, core.engine
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        agency = agency_of(uow.session, problem)
        base = {"categories": json.loads(problem.categories), "from": str(problem.baseline_start)}
        if kind == "knox_table":
            content, parameters = _knox(engine, problem, agency, options)
            text, content_type, params = json.dumps(content), "application/json", json.loads(parameters)
        elif kind == "trend_chart":
            text, params = _trend(engine, problem, agency)
            content_type = "image/svg+xml"
        elif kind == "hotspot_map":
            collection, params = _hotspots(core, problem, agency, options)
            text, content_type = json.dumps(collection), "application/geo+json"
        else:
            listing, params = _incidents(engine, problem, agency)
            text, content_type = json.dumps(listing), "application/json"
        attachment = ProblemAttachment(
            problem_id=problem.id,
            kind=kind,
            title=f"{PRODUCT_KINDS[kind]} ({', '.join(base['categories'])}, baseline from {base['from']})",
            parameters=json.dumps(base | params, default=str),
            content_type=content_type,
            content=text,
            created_by_id=actor.id,
            created_at=uow.now,
        )
        uow.session.add(attachment)
        uow.session.flush()
        record_change(uow, problem, actor, "attachment", {"attachment_id": attachment.id, "kind": kind})
        return ProductAttached(id=attachment.id, problem_id=problem.id, kind=kind)


def attachment_content(core: OpenILP, actor: UserInfo | None, problem_id: int, attachment_id: int) -> AttachmentContent:
    """An attachment's content; NotFound when it is not the problem's."""
    actor = require_read(actor)
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, problem_id)
        attachment = uow.session.get(ProblemAttachment, attachment_id)
        if attachment is None or attachment.problem_id != problem.id or attachment.content is None:
            raise NotFound(f"no attachment {attachment_id} on problem {problem_id}")
        return AttachmentContent(content_type=attachment.content_type, content=attachment.content)
