"""Tasking service: a shift's deployment list from a forecast and the near-repeat alerts, with its disparity check.

:func:`deployment` runs in a fixed order, so that demographic data can only audit a finished plan:

1. **forecast** the shift's day with :func:`openilp.services.analysis.forecasting.run_forecast` (events known
   at local midnight starting ``as_of`` only);
2. **near-repeat alerts** in force on ``as_of`` (optional): the Knox test is fitted on the year before
   the recent window and the rings come from the incidents known at that same midnight
   (:func:`openilp.services.analysis.nearrepeat.run_near_repeat_alerts` as of the day before, rings
   re-evaluated for the shift's day); each alert zone marks the grid cells whose centre lies in it;
3. **plan** the shift (:func:`openilp.tasking.plan_deployment`): Koper-curve visits, alert cells
   moved ahead up to ``max_alert_share`` of the places;
4. **label** the places (neighbourhood name, cell centre in longitude/latitude) and, only now, read
   the neighbourhood polygons and the demographic CSV to run the **disparity check**
   (:func:`openilp.tasking.disparity_check`).

The web app finds an agency's demographic data with :func:`disparity_source_for`: a TOML file
``<data_dir>/disparity/<AGENCY CODE>.toml`` (:class:`DisparitySource`), read in place.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree
from sqlalchemy import Engine

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.forecast import known_mask
from openilp.analysis.grids import SquareGrid
from openilp.analysis.nearrepeat import event_days
from openilp.analysis.nearrepeat_alerts import alert_zones, alerts_geojson
from openilp.core import OpenILP
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.analysis.forecasting import forecast_geojson, run_forecast
from openilp.services.analysis.nearrepeat import KnoxRequest, NearRepeatAlertRequest, run_near_repeat_alerts
from openilp.tasking import DeploymentPlan, DisparityReport, disparity_check, plan_deployment, read_demographics

__all__ = ["Deployment", "DisparitySource", "deployment", "disparity_source_for"]

_ORIGIN = "1970-01-01"
#: Feature properties tried, in order, for a place's neighbourhood name.
NAME_PROPERTIES = ("NHD_NAME", "name", "NAME")


@dataclass(frozen=True)
class DisparitySource:
    """Where an agency's residents by group and neighbourhood are, for the disparity check.

    Read from a TOML file (relative paths are taken from the file's folder)::

        demographics = "stl_race_by_neighborhood_1940_2017.csv"
        id_column = "NHD_NUM"
        groups = ["white17", "black17"]
        population = "stl_population_by_neighborhood_1940_2017.csv"   # optional: adds "other"
        population_column = "pop17"
        neighbourhoods = ""          # optional: default the agency's boundary layer
        label = "2017 ACS estimates by neighbourhood"
    """

    demographics_path: Path
    group_columns: tuple[str, ...]
    id_column: str = "NHD_NUM"
    population_path: Path | None = None
    population_column: str | None = None
    neighbourhoods_path: Path | None = None
    label: str = ""

    @classmethod
    def from_toml(cls, path: str | Path) -> DisparitySource:
        """Parse and check a disparity TOML file (ValueError naming the problem)."""
        source = Path(path)
        try:
            values = tomllib.loads(source.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{source.name}: not valid TOML ({exc})") from exc
        known = {"demographics", "id_column", "groups", "population", "population_column", "neighbourhoods", "label"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source.name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        groups = values.get("groups")
        if not values.get("demographics") or not isinstance(groups, list) or not groups:
            raise ValueError(f"{source.name}: give demographics (a CSV) and groups (its columns, a list)")

        def resolve(key: str) -> Path | None:
            text = str(values.get(key) or "").strip()
            if not text:
                return None
            found = Path(text) if Path(text).is_absolute() else source.parent / text
            if not found.is_file():
                raise ValueError(f"{source.name}: {key} file {text} does not exist")
            return found

        demographics = resolve("demographics")
        assert demographics is not None
        population = resolve("population")
        if population is not None and not values.get("population_column"):
            raise ValueError(f"{source.name}: population needs population_column")
        return cls(
            demographics_path=demographics,
            group_columns=tuple(str(g) for g in groups),
            id_column=str(values.get("id_column", "NHD_NUM")),
            population_path=population,
            population_column=values.get("population_column") or None,
            neighbourhoods_path=resolve("neighbourhoods"),
            label=str(values.get("label", "")),
        )


def disparity_source_for(data_dir: str | Path, agency_code: str) -> tuple[DisparitySource | None, str]:
    """The agency's :class:`DisparitySource` from ``<data_dir>/disparity/<CODE>.toml``, or None and why."""
    path = Path(data_dir) / "disparity" / f"{agency_code}.toml"
    if not path.is_file():
        return None, (
            f"no demographic data are configured for {agency_code}: the disparity check needs a file "
            f"disparity/{agency_code}.toml in the data folder (see the tasking guide)"
        )
    try:
        return DisparitySource.from_toml(path), ""
    except ValueError as exc:
        return None, f"the disparity configuration is unusable: {exc}"


@dataclass
class Deployment:
    """A shift's plan with everything shown beside it: labelled places, alert zones, the disparity check."""

    plan: DeploymentPlan
    #: One row per place in priority order (``number`` 1 = first): cell, rank, score, visits, minutes,
    #: reason, ``alert`` and its incidents/expiry, ``neighbourhood``, ``lon``/``lat`` of the cell centre.
    places: list[dict[str, Any]]
    #: Planned cells as GeoJSON (EPSG:4326) with the place's row as properties; forecast facts in ``forecast``.
    cells: dict[str, Any]
    #: Alert zones in force on ``as_of`` (circles, EPSG:4326); None when near repeats were not asked for.
    alerts: dict[str, Any] | None
    disparity: DisparityReport | None
    as_of: dt.date
    revisit_every_minutes: int
    #: Grid cells under an alert in force on ``as_of`` (in the plan or not).
    alert_cells: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Why the disparity check could not run on the data given ('' when it ran or was not asked for).
    disparity_error: str = ""

    def schedule_rows(self, shift_start: dt.time | None = None) -> list[dict[str, Any]]:
        """The visits in order: round, position, place number and the round's window (minutes from the
        shift start, and clock times when ``shift_start`` is given)."""
        number = {p["cell_id"]: p["number"] for p in self.places}
        rows = []
        for round_, order, cell_id, start in self.plan.schedule:
            end = min(start + self.revisit_every_minutes, int(round(self.plan.shift_hours * 60)))
            row: dict[str, Any] = {
                "round": round_,
                "order": order,
                "place": number[cell_id],
                "cell_id": cell_id,
                "window_start_minute": start,
                "window_end_minute": end,
            }
            if shift_start is not None:
                base = dt.datetime.combine(self.as_of, shift_start)
                row["window"] = (
                    f"{(base + dt.timedelta(minutes=start)):%H:%M}–{(base + dt.timedelta(minutes=end)):%H:%M}"
                )
            rows.append(row)
        return rows

    @property
    def alert_zone_count(self) -> int:
        return 0 if self.alerts is None else len(self.alerts["features"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": str(self.as_of),
            "forecast": self.cells.get("forecast", {}),
            "plan": self.plan.to_dict(),
            "places": self.places,
            "near_repeat_alert_zones": None if self.alerts is None else self.alert_zone_count,
            "alert_cells": self.alert_cells,
            "disparity": self.disparity.to_dict() if self.disparity else None,
            "notes": self.notes,
        }


def _day_number(day: dt.date) -> float:
    return float(event_days([str(day)], origin=_ORIGIN)[0])


def _day_text(day: float) -> str:
    return str((pd.Timestamp(_ORIGIN) + pd.Timedelta(days=float(day))).date())


def _alerts(
    core: OpenILP,
    *,
    agency_code: str,
    categories: tuple[str, ...],
    as_of: dt.date,
    known_at: pd.Timestamp,
    grid: SquareGrid,
    history_days: int,
    permutations: int,
) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """Alert cells (cell id → incidents, multiplier, expiry) and zones in force on ``as_of`` from the
    incidents known at ``known_at`` (local midnight starting ``as_of``)."""
    request = NearRepeatAlertRequest(
        agency_code,
        categories,
        as_of - dt.timedelta(days=1),  # incidents up to the day before the shift only
        history_days,
        KnoxRequest(agency_code, categories, permutations=permutations),
    )
    result = run_near_repeat_alerts(core, None, request)
    engine = core.engine
    day = _day_number(as_of)
    rings = result.rings
    if len(rings):
        recent, _ = load_events(engine, EventQuery(agency_code, categories, result.recent_from, as_of))
        known = set(recent.loc[known_mask(recent, known_at), "incident_id"].tolist())
        in_force = (rings["risk_from_day"] <= day) & (rings["expires_day"] > day) & rings["incident_id"].isin(known)
        rings = rings[in_force].assign(active=True)
    zones = alert_zones(rings) if len(rings) else pd.DataFrame()
    cells: dict[int, dict[str, Any]] = {}
    if len(zones):
        cx, cy = grid.centres_m()
        tree = cKDTree(np.column_stack([cx, cy]))
        half_diagonal = grid.cell_size_m * math.sqrt(2) / 2
        for zone in zones.to_dict("records"):
            radius = max(float(zone["radius_m"]), half_diagonal)
            for cell in tree.query_ball_point([zone["x_m"], zone["y_m"]], r=radius):
                info = cells.setdefault(int(cell), {"incidents": [], "max_multiplier": 0.0, "expires_day": 0.0})
                info["incidents"].append(int(zone["incident_id"]))
                info["max_multiplier"] = max(info["max_multiplier"], float(zone["max_multiplier"]))
                info["expires_day"] = max(info["expires_day"], float(zone["expires_day"]))
        zones = zones.assign(
            incident_date=[_day_text(d) for d in zones["incident_day"]],
            expires_date=[_day_text(d) for d in zones["expires_day"]],
            max_multiplier=zones["max_multiplier"].round(3),
        )
    transformer = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    collection = alerts_geojson(zones, transformer=transformer) if len(zones) else _empty()
    for feature in collection["features"]:
        props = feature["properties"]
        feature["properties"] = {
            k: props[k] for k in ("incident_id", "incident_date", "radius_m", "max_multiplier", "expires_date")
        }
    collection["analysis"] = {**result.summary(), "in_force_on": str(as_of), "zones": len(zones)}
    return cells, collection


def _empty() -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": []}


def _place_names(path: str | Path, grid: SquareGrid, cells: list[int]) -> dict[int, str]:
    """The name of the polygon holding each cell's centre ('' outside every polygon)."""
    import json

    collection = json.loads(Path(path).read_text())
    for i, feature in enumerate(collection.get("features", [])):
        feature.setdefault("properties", {})["_openilp_index"] = i
    areas = PolygonAreas.from_geojson(collection, id_property="_openilp_index", target_crs=grid.crs)
    cx, cy = grid.centres_m()
    index = areas.assign(cx[cells], cy[cells])
    names = {}
    for cell, i in zip(cells, index, strict=True):
        props = areas.properties[int(i)] if i >= 0 else {}
        names[cell] = next((str(props[k]) for k in NAME_PROPERTIES if props.get(k)), "")
    return names


def deployment(
    core: OpenILP,
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
    revisit_every_minutes: int = 120,
    near_repeat: bool = True,
    max_alert_share: float = 0.25,
    near_repeat_history_days: int = 365,
    knox_permutations: int = 999,
    study_area_path: str | Path | None = None,
    place_names_path: str | Path | None = None,
    neighbourhoods_path: str | Path | None = None,
    neighbourhood_id: str = "NHD_NUM",
    demographics_path: str | Path | None = None,
    group_columns: tuple[str, ...] = (),
    population_path: str | Path | None = None,
    population_column: str | None = None,
    seed: int | None = None,
    keep_list_without_disparity: bool = False,
) -> Deployment:
    """Forecast, find the alert cells, plan the shift, label it and audit it (module docstring).

    ``officer_minutes`` is the patrol time of the shift summed over officers; ``as_of`` the shift's
    date (nothing known from that local midnight on is used). Without ``near_repeat`` no alert is
    computed; when the Knox test cannot run (too few incidents) the plan is made from the forecast
    alone and a note says why. ``place_names_path`` (default: ``neighbourhoods_path``, then
    ``study_area_path``) names each place's neighbourhood. The disparity check runs when both
    ``neighbourhoods_path`` and ``demographics_path`` are given; unusable demographic data (a missing
    column, an id that matches no polygon property) raise ValueError, or with
    ``keep_list_without_disparity`` leave the list without its check and say why in
    ``disparity_error``. The visiting order is drawn with
    ``seed``, by default the shift's date (a new order every day, the same list when it is remade).
    """
    engine = core.engine
    forecaster, scores = run_forecast(
        engine,
        agency_code=agency_code,
        categories=categories,
        as_of=as_of,
        method=method,
        cell_size_m=cell_size_m,
        study_area_path=study_area_path,
    )
    grid: SquareGrid = forecaster.grid_
    notes: list[str] = []
    alert_cells: dict[int, dict[str, Any]] = {}
    alerts: dict[str, Any] | None = None
    if near_repeat:
        try:
            alert_cells, alerts = _alerts(
                core,
                agency_code=agency_code,
                categories=categories,
                as_of=as_of,
                known_at=pd.Timestamp(forecaster.as_of_),
                grid=grid,
                history_days=near_repeat_history_days,
                permutations=knox_permutations,
            )
        except ValueError as exc:  # too few incidents for a Knox test, or too many: plan from the forecast
            notes.append(f"no near-repeat alerts: {exc}")
            alerts = _empty()
    plan = plan_deployment(
        scores,
        officer_minutes=officer_minutes,
        shift_hours=shift_hours,
        visit_minutes=visit_minutes,
        travel_minutes=travel_minutes,
        revisit_every_minutes=revisit_every_minutes,
        alert_cells=np.asarray(sorted(alert_cells), dtype=np.int64),
        max_alert_share=max_alert_share,
        seed=as_of.toordinal() if seed is None else seed,
    )
    notes.extend(plan.notes)
    # The plan is final: from here on nothing may change it.
    chosen = [p.cell_id for p in plan.places]
    names_path = place_names_path or neighbourhoods_path or study_area_path
    names = _place_names(names_path, grid, chosen) if names_path else {}
    cx, cy = grid.centres_m()
    lon, lat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(cx[chosen], cy[chosen])
    places = []
    for number, (place, x, y) in enumerate(zip(plan.places, lon, lat, strict=True), start=1):
        info = alert_cells.get(place.cell_id) if place.alert else None
        places.append(
            {
                "number": number,
                "cell_id": place.cell_id,
                "rank": place.rank,
                "score": round(place.score, 6),
                "visits": place.visits,
                "minutes_on_scene": place.minutes_on_scene,
                "reason": place.reason,
                "alert": place.alert,
                "alert_incidents": sorted(info["incidents"]) if info else [],
                "alert_expires": _day_text(info["expires_day"]) if info else None,
                "neighbourhood": names.get(place.cell_id, ""),
                "lon": round(float(x), 6),
                "lat": round(float(y), 6),
            }
        )
    collection = forecast_geojson(forecaster, scores, categories=list(categories), horizon_days=7.0)
    row_of = {p["cell_id"]: p for p in places}
    collection["features"] = sorted(
        (
            {**f, "properties": {**f["properties"], **row_of[f["properties"]["cell_id"]]}}
            for f in collection["features"]
            if f["properties"]["cell_id"] in row_of
        ),
        key=lambda f: f["properties"]["number"],
    )
    report = None
    disparity_error = ""
    if neighbourhoods_path is not None and demographics_path is not None:
        try:
            report = _disparity(
                engine,
                plan,
                grid,
                agency_code=agency_code,
                categories=categories,
                as_of=as_of,
                neighbourhoods_path=neighbourhoods_path,
                neighbourhood_id=neighbourhood_id,
                demographics_path=demographics_path,
                group_columns=group_columns,
                population_path=population_path,
                population_column=population_column,
            )
        except (ValueError, KeyError) as exc:  # unusable demographic data: the list stands, the audit cannot run
            if not keep_list_without_disparity:
                raise ValueError(f"disparity check: {exc}") from exc
            disparity_error = f"the demographic data are unusable ({exc})"
    return Deployment(
        plan=plan,
        places=places,
        cells=collection,
        alerts=alerts,
        disparity=report,
        as_of=as_of,
        revisit_every_minutes=revisit_every_minutes,
        alert_cells=sorted(alert_cells),
        notes=notes,
        disparity_error=disparity_error,
    )


def _disparity(
    engine: Engine,
    plan: DeploymentPlan,
    grid: SquareGrid,
    *,
    agency_code: str,
    categories: tuple[str, ...],
    as_of: dt.date,
    neighbourhoods_path: str | Path,
    neighbourhood_id: str,
    demographics_path: str | Path,
    group_columns: tuple[str, ...],
    population_path: str | Path | None,
    population_column: str | None,
) -> DisparityReport:
    """The audit of a finished plan: patrol minutes and the year's reported crime by neighbourhood."""
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
    return disparity_check(minutes, crimes, residents)
