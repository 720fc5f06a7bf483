"""Tasking service: a shift's deployment list from a forecast, with its disparity check.

The plan is computed from the forecast (and near-repeat alert cells, if given) first; only then are
the neighbourhood polygons and the caller's demographic CSV read, to audit the finished plan.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from openilp.analysis.areas import PolygonAreas
from openilp.services.events import EventQuery, load_events
from openilp.services.forecasting import forecast_geojson, run_forecast
from openilp.tasking import DeploymentPlan, DisparityReport, disparity_check, plan_deployment, read_demographics

__all__ = ["deployment"]


def deployment(
    engine: Engine,
    *,
    agency_code: str,
    categories: tuple[str, ...],
    as_of: dt.date,
    officer_minutes: float,
    method: str = "naive",
    cell_size_m: float = 150.0,
    shift_hours: float = 8.0,
    visit_minutes: int = 15,
    travel_minutes: int = 10,
    study_area_path: str | Path | None = None,
    neighbourhoods_path: str | Path | None = None,
    neighbourhood_id: str = "NHD_NUM",
    demographics_path: str | Path | None = None,
    group_columns: tuple[str, ...] = (),
    population_path: str | Path | None = None,
    population_column: str | None = None,
    seed: int = 0,
) -> tuple[DeploymentPlan, DisparityReport | None, dict[str, Any]]:
    """Forecast, plan the shift, audit the plan. Returns the plan, the disparity report (None without
    neighbourhoods and demographics) and a GeoJSON of the planned cells (EPSG:4326)."""
    forecaster, scores = run_forecast(
        engine,
        agency_code=agency_code,
        categories=categories,
        as_of=as_of,
        method=method,
        cell_size_m=cell_size_m,
        study_area_path=study_area_path,
    )
    grid = forecaster.grid_
    plan = plan_deployment(
        scores,
        officer_minutes=officer_minutes,
        shift_hours=shift_hours,
        visit_minutes=visit_minutes,
        travel_minutes=travel_minutes,
        seed=seed,
    )
    collection = forecast_geojson(forecaster, scores)
    planned = {p.cell_id: p for p in plan.places}
    collection["features"] = [
        {**f, "properties": {**f["properties"], "visits": planned[f["properties"]["cell_id"]].visits}}
        for f in collection["features"]
        if f["properties"]["cell_id"] in planned
    ]
    report = None
    if neighbourhoods_path is not None and demographics_path is not None:
        areas = PolygonAreas.from_geojson(Path(neighbourhoods_path), id_property=neighbourhood_id, target_crs=grid.crs)
        cx, cy = grid.centres_m()
        area_of_cell = areas.assign(cx, cy)
        minutes: dict[Any, float] = {}
        for place in plan.places:
            area = int(area_of_cell[place.cell_id])
            key = areas.ids[area].item() if area >= 0 else "outside"
            minutes[key] = minutes.get(key, 0.0) + place.minutes_on_scene
        events, _ = load_events(
            engine, EventQuery(agency_code, categories, as_of - dt.timedelta(days=365), as_of - dt.timedelta(days=1))
        )
        event_area = areas.assign(events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float))
        counts = np.bincount(event_area[event_area >= 0], minlength=areas.n_units)
        crimes = {areas.ids[i].item(): float(n) for i, n in enumerate(counts)}
        residents = read_demographics(
            demographics_path,
            id_column=neighbourhood_id,
            group_columns=group_columns,
            population_path=population_path,
            population_column=population_column,
        )
        report = disparity_check(minutes, crimes, residents)
    return plan, report, collection
