"""Tasking service: a shift's deployment list from a forecast and the near-repeat alerts, with its disparity check.

:func:`make_deployment` (``openilp deploy``, the page ``/deploy`` and ``/api/v1/deploy.json``) takes
the core, the actor and a :class:`DeployRequest` holding every default and bound (budget, shift
length, visit and travel minutes, method, study area); it plans the shift and writes the plan to the
audit log, whichever shell asked. :func:`read_deployment` re-makes an issued plan for its printable
list (and audits the read). The plan itself runs in a fixed order, so that demographic data can
only audit a finished plan:

1. **forecast** the shift's day with :func:`openilp.services.analysis.forecasting.run_forecast`
   (events known at local midnight starting ``as_of`` only);
2. **near-repeat alerts** in force on ``as_of`` (optional): the Knox test is fitted on the year before
   the recent window and the rings come from the incidents known at that same midnight
   (:func:`openilp.services.analysis.nearrepeat.run_near_repeat_alerts` as of the day before, rings
   re-evaluated for the shift's day); each alert zone marks the grid cells whose centre lies in it;
3. **plan** the shift (:func:`openilp.tasking.plan_deployment`): Koper-curve visits, alert cells
   moved ahead up to ``max_alert_share`` of the places;
4. **label** the places (neighbourhood name, cell centre in longitude/latitude) and, only now, read
   the neighbourhood polygons and the demographic CSV to run the **disparity check**
   (:func:`openilp.tasking.disparity_check`).

Every shell finds an agency's demographic data with :func:`disparity_source_for`: a TOML file
``<data_dir>/disparity/<AGENCY CODE>.toml`` (:class:`DisparitySource`), read in place; the command
line may pass its own files instead (``--demographics``, ``--neighbourhoods``). Places are named after
the neighbourhood polygons of the disparity data, else the agency's boundary layer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.forecast import known_mask
from openilp.analysis.grids import SquareGrid
from openilp.analysis.nearrepeat import event_days
from openilp.analysis.nearrepeat_alerts import alert_zones, alerts_geojson
from openilp.constants import DEFAULT_FORECAST_METHOD
from openilp.core import OpenILP, Request, Result, plain
from openilp.core.dates import require_day
from openilp.db.models import Agency
from openilp.errors import InvalidRequest
from openilp.fairness import (
    ProxyAudit,
    PublishedHarmWeights,
    harm_of,
    harm_weights_from_toml,
    majority_areas,
    proxy_auc,
    published_harm_weights,
)
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import cached, check_day, latest_incident_date, reader_agency
from openilp.services.analysis.events import EventQuery, block_addresses_in_squares, incident_labels, load_events
from openilp.services.analysis.forecasting import ForecastRequest, forecast_geojson, run_forecast
from openilp.services.analysis.gates import check_written_reason, held_because, latest_justification, model_key
from openilp.services.analysis.nearrepeat import KnoxRequest, NearRepeatAlertRequest, run_near_repeat_alerts
from openilp.services.analysis.patrol_log import log_issued_plan
from openilp.tasking import DeploymentPlan, DisparityReport, disparity_check, plan_deployment, read_demographics

__all__ = [
    "DeployRequest",
    "Deployment",
    "DeploymentReadRequest",
    "DeploymentResult",
    "DisparitySource",
    "OverrideRequest",
    "disparity_source_for",
    "make_deployment",
    "override_deployment",
    "read_deployment",
]

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
        income = "households_by_income.csv"           # optional: for the concentration audit
        income_groups = ["under_25k", "25k_to_200k", "over_200k"]   # households per band, same id column

    Income (households by income band per neighbourhood, keyed by the same ``id_column``) is read
    only by the concentration audit (:mod:`openilp.services.analysis.concentration`), never by a
    plan.
    """

    demographics_path: Path
    group_columns: tuple[str, ...]
    id_column: str = "NHD_NUM"
    population_path: Path | None = None
    population_column: str | None = None
    neighbourhoods_path: Path | None = None
    label: str = ""
    income_path: Path | None = None
    income_columns: tuple[str, ...] = ()

    @classmethod
    def from_toml(cls, path: str | Path) -> DisparitySource:
        """Parse and check a disparity TOML file (ValueError naming the problem)."""
        source = Path(path)
        try:
            values = tomllib.loads(source.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{source.name}: not valid TOML ({exc})") from exc
        known = {
            "demographics",
            "id_column",
            "groups",
            "population",
            "population_column",
            "neighbourhoods",
            "label",
            "income",
            "income_groups",
        }
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
        income = resolve("income")
        income_groups = values.get("income_groups") or []
        if (income is None) != (not income_groups) or not isinstance(income_groups, list):
            raise ValueError(f"{source.name}: give income (a CSV) and income_groups (its columns, a list) together")
        return cls(
            demographics_path=demographics,
            group_columns=tuple(str(g) for g in groups),
            id_column=str(values.get("id_column", "NHD_NUM")),
            population_path=population,
            population_column=values.get("population_column") or None,
            neighbourhoods_path=resolve("neighbourhoods"),
            label=str(values.get("label", "")),
            income_path=income,
            income_columns=tuple(str(g) for g in income_groups),
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


def agency_harm_weights(data_dir: str | Path, agency_code: str) -> PublishedHarmWeights:
    """The harm weights in force for an agency: ``<data_dir>/harm/<CODE>.toml`` when its governance
    body set its own (:func:`openilp.fairness.harm_weights_from_toml`), else the published defaults.

    An unusable file is an error (InvalidRequest naming the file and the key), never a silent fall back
    to the defaults: need-adjusted parity is published, so it must be computed with the weights the
    agency believes are in force.
    """
    path = Path(data_dir) / "harm" / f"{agency_code}.toml"
    if not path.is_file():
        return published_harm_weights()
    try:
        return harm_weights_from_toml(path.read_text(encoding="utf-8"), name=f"harm/{agency_code}.toml")
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc


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
    #: Proxy leakage of the forecast's neighbourhood scores (None without demographic data).
    proxy: ProxyAudit | None = None
    #: The harm weights the need-adjusted parity used (the agency's, or the published defaults).
    harm_weights: PublishedHarmWeights = field(default_factory=published_harm_weights)

    @property
    def harm_weights_version(self) -> str:
        return self.harm_weights.version

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
            "harm_weights": self.harm_weights_version if self.disparity else None,
            "proxy": self.proxy.as_dict() if self.proxy else None,
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


def _plan_shift(
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
    study_area: str = "auto",
    place_names_path: str | Path | None = None,
    neighbourhoods_path: str | Path | None = None,
    neighbourhood_id: str = "NHD_NUM",
    demographics_path: str | Path | None = None,
    group_columns: tuple[str, ...] = (),
    population_path: str | Path | None = None,
    population_column: str | None = None,
    seed: int | None = None,
    keep_list_without_disparity: bool = False,
    harm_weights: PublishedHarmWeights | None = None,
) -> Deployment:
    """Forecast, find the alert cells, plan the shift, label it and audit it (module docstring).

    ``officer_minutes`` is the patrol time of the shift summed over officers; ``as_of`` the shift's
    date (nothing known from that local midnight on is used). Without ``near_repeat`` no alert is
    computed; when the Knox test cannot run (too few incidents) the plan is made from the forecast
    alone and a note says why. ``place_names_path`` (default: ``neighbourhoods_path``, then the
    agency's boundary layer) names each place's neighbourhood. The disparity check runs when both
    ``neighbourhoods_path`` and ``demographics_path`` are given; unusable demographic data (a missing
    column, an id that matches no polygon property) raise ValueError, or with
    ``keep_list_without_disparity`` leave the list without its check and say why in
    ``disparity_error``. The visiting order is drawn with
    ``seed``, by default the shift's date (a new order every day, the same list when it is remade).
    ``harm_weights`` weigh the need of need-adjusted parity (default: the published defaults).
    """
    engine = core.engine
    weights = harm_weights or published_harm_weights()
    forecast = run_forecast(
        core,
        None,
        ForecastRequest(agency_code, categories, as_of, method, cell_size_m, 7.0, study_area=study_area),
    )
    forecaster, scores = forecast.forecaster, forecast.scores
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
    layer = core.boundaries.layer_for(agency_code)
    names_path = place_names_path or neighbourhoods_path or (layer.path if layer else None)
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
    _reason_codes(engine, places, grid, agency_code=agency_code, categories=categories, as_of=as_of, alerts=alerts)
    _what_the_agency_calls_them(engine, places, grid, agency_code)
    collection = forecast_geojson(forecaster, scores, category=",".join(categories), horizon_days=7.0)
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
    proxy = None
    disparity_error = ""
    if neighbourhoods_path is not None and demographics_path is not None:
        try:
            proxy = _proxy(
                grid,
                scores,
                neighbourhoods_path=neighbourhoods_path,
                neighbourhood_id=neighbourhood_id,
                demographics_path=demographics_path,
                group_columns=group_columns,
                population_path=population_path,
                population_column=population_column,
            )
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
                harm_weights=weights,
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
        proxy=proxy,
        as_of=as_of,
        revisit_every_minutes=revisit_every_minutes,
        alert_cells=sorted(alert_cells),
        notes=notes,
        harm_weights=weights,
        disparity_error=disparity_error,
    )


#: Reason codes count the reported incidents within this distance of a place's cell centre (metres)
#: over these look-back windows (days).
REASON_RADIUS_M = 200.0
REASON_WINDOWS_DAYS = (56, 365)


def _what_the_agency_calls_them(engine: Engine, places: list[dict[str, Any]], grid: Any, agency_code: str) -> None:
    """Give each place the block address an officer can find (the one most incidents in its cell were
    recorded at) and the complaint numbers of its alert incidents: lists people act on show what the
    agency uses, ids stay in URLs and exports."""
    half = grid.cell_size_m / 2.0
    cx, cy = grid.centres_m()
    centres = [(float(cx[p["cell_id"]]), float(cy[p["cell_id"]])) for p in places]
    addresses = block_addresses_in_squares(engine, agency_code, centres, half)
    labels = incident_labels(engine, [i for p in places for i in p["alert_incidents"]])
    for place, address in zip(places, addresses, strict=True):
        place["block_address"] = address
        place["alert_complaints"] = [
            labels.get(int(i), {}).get("complaint_number") or f"incident {i}" for i in place["alert_incidents"]
        ]


def _reason_codes(
    engine: Engine,
    places: list[dict[str, Any]],
    grid: SquareGrid,
    *,
    agency_code: str,
    categories: tuple[str, ...],
    as_of: dt.date,
    alerts: dict[str, Any] | None,
) -> None:
    """Say why each place is on the list, in the place's ``reason`` (Rudin 2019: reason codes for every
    recommendation; civil-rights reference §3.10, check 16): the plan's reason (forecast rank, alert),
    the reported incidents
    of the plan's categories within 200 m of it in the 8 and 52 weeks before the shift, and the
    incidents (with their dates) behind a near-repeat alert. Only reported incidents are counted, as
    only they train the forecast."""
    if not places:
        return
    longest = max(REASON_WINDOWS_DAYS)
    events, _ = load_events(
        engine,
        EventQuery(
            agency_code,
            categories,
            as_of - dt.timedelta(days=longest),
            as_of - dt.timedelta(days=1),
            attention=("reported",),
        ),
    )
    cx, cy = grid.centres_m()
    cells = [int(p["cell_id"]) for p in places]
    centres = np.column_stack([cx[cells], cy[cells]])
    label = ", ".join(categories)
    counts: dict[int, list[int]] = {days: [0] * len(cells) for days in REASON_WINDOWS_DAYS}
    if len(events):
        age = ((pd.Timestamp(as_of) - events["occurred_from"]).dt.total_seconds() / 86_400.0).to_numpy()
        tree = cKDTree(np.column_stack([events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float)]))
        for i, near in enumerate(tree.query_ball_point(centres, r=REASON_RADIUS_M)):
            ages = age[near]
            for days in REASON_WINDOWS_DAYS:
                counts[days][i] = int(np.sum(ages <= days))
    dates = {}
    for feature in (alerts or {}).get("features", []):
        props = feature.get("properties", {})
        dates[int(props.get("incident_id", -1))] = str(props.get("incident_date", ""))
    short, long_ = REASON_WINDOWS_DAYS
    for i, place in enumerate(places):
        text = (
            f"{place['reason']}: {counts[short][i]} reported {label} incident"
            f"{'' if counts[short][i] == 1 else 's'} within {REASON_RADIUS_M:.0f} m in the {short // 7} weeks "
            f"before the shift, {counts[long_][i]} in {long_ // 7} weeks"
        )
        if place["alert"] and place["alert_incidents"]:
            when = sorted({dates.get(int(n), "") for n in place["alert_incidents"]} - {""})
            n = len(place["alert_incidents"])
            text += f"; the alert follows {n} incident{'' if n == 1 else 's'}"
            if when:
                text += f" on {' and '.join(when) if len(when) <= 2 else ', '.join(when)}"
        place["reason"] = text


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
    harm_weights: PublishedHarmWeights,
) -> DisparityReport:
    """The audit of a finished plan: patrol minutes and the year's reported harm by neighbourhood."""
    areas = PolygonAreas.from_geojson(Path(neighbourhoods_path), id_property=neighbourhood_id, target_crs=grid.crs)
    cx, cy = grid.centres_m()
    area_of_cell = areas.assign(cx, cy)
    minutes: dict[Any, float] = {}
    for place in plan.places:
        area = int(area_of_cell[place.cell_id])
        key = areas.ids[area].item() if area >= 0 else "outside"
        minutes[key] = minutes.get(key, 0.0) + place.minutes_on_scene
    events, _ = load_events(
        engine,
        EventQuery(
            agency_code,
            categories,
            as_of - dt.timedelta(days=365),
            as_of - dt.timedelta(days=1),
            attention=("reported",),
        ),
    )
    event_area = areas.assign(events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float))
    # Need is reported harm: each reported incident weighted by its category's harm (days: the agency's
    # weights in force, or the published defaults modelled on the Cambridge Crime Harm Index); when no
    # category of the plan has a harm weight, each incident counts one.
    harm = harm_of(events["category"].tolist(), harm_weights.table)
    if not harm.any():
        harm = np.ones(len(events))
    inside = event_area >= 0
    counts = np.bincount(event_area[inside], weights=harm[inside], minlength=areas.n_units)
    crimes = {areas.ids[i].item(): float(n) for i, n in enumerate(counts)}
    residents = read_demographics(
        demographics_path,
        id_column=neighbourhood_id,
        group_columns=group_columns,
        population_path=population_path,
        population_column=population_column,
    )
    return disparity_check(minutes, crimes, residents)


def _proxy(
    grid: SquareGrid,
    scores: np.ndarray[Any, Any],
    *,
    neighbourhoods_path: str | Path,
    neighbourhood_id: str,
    demographics_path: str | Path,
    group_columns: tuple[str, ...],
    population_path: str | Path | None,
    population_column: str | None,
) -> ProxyAudit | None:
    """Proxy leakage of the forecast (:mod:`openilp.fairness.proxy`): its cell scores averaged by
    neighbourhood against each group's majority; the group whose majority the scores tell best.
    Read only after the plan is final, like the disparity check."""
    areas = PolygonAreas.from_geojson(Path(neighbourhoods_path), id_property=neighbourhood_id, target_crs=grid.crs)
    cx, cy = grid.centres_m()
    area_of_cell = areas.assign(cx, cy)
    inside = area_of_cell >= 0
    frame = pd.DataFrame({"area": area_of_cell[inside], "score": np.asarray(scores, dtype=float)[inside]})
    means = frame.groupby("area")["score"].mean()
    area_scores = {
        areas.ids[i].item(): float(v)
        for i, v in zip(means.index.to_numpy(dtype=np.int64), means.to_numpy(dtype=float), strict=True)
    }
    residents = read_demographics(
        demographics_path,
        id_column=neighbourhood_id,
        group_columns=group_columns,
        population_path=population_path,
        population_column=population_column,
    )
    audits = [proxy_auc(area_scores, majority_areas(residents, str(g)), group=str(g)) for g in residents.columns]
    defined = [a for a in audits if np.isfinite(a.leakage)]
    return max(defined, key=lambda a: a.leakage) if defined else None


# ------------------------------------------------------------------------------- the contract


@dataclass(frozen=True)
class DeployRequest(Request):
    """A shift to plan. Every default and bound lives here, so ``openilp deploy``, ``/deploy`` and
    ``/api/v1/deploy.json`` plan the same shift from the same values."""

    #: Agency code; empty = the signed-in user's agency (or the only agency in the store).
    agency_code: str = ""
    #: Category codes or crime groups to forecast.
    categories: tuple[str, ...] = ("burglary",)
    #: Date of the shift (nothing known from its local midnight on is used); None = the day after
    #: the latest located incident.
    as_of: dt.date | None = None
    #: Patrol minutes of the shift summed over officers (more than 0, at most 100,000).
    officer_minutes: float = 960.0
    method: str = DEFAULT_FORECAST_METHOD
    cell_size_m: float = 150.0
    #: Shift length, hours (1 to 24), and the clock time it starts (``HH:MM``, '' = unknown).
    shift_hours: float = 8.0
    shift_start: str = ""
    #: Minutes per visit (1 to 60; Koper: 10-15) and travel per visit (0 to 120).
    visit_minutes: int = 15
    travel_minutes: int = 10
    revisit_every_minutes: int = 120
    near_repeat: bool = True
    max_alert_share: float = 0.25
    knox_permutations: int = 999
    study_area: str = "auto"

    def validate(self) -> DeployRequest:
        forecast = ForecastRequest(
            self.agency_code, self.categories, self.as_of, self.method, self.cell_size_m, study_area=self.study_area
        ).validate()
        check_day(self.as_of, "as_of")
        if not (math.isfinite(self.officer_minutes) and 0 < self.officer_minutes <= 100_000):
            raise InvalidRequest(
                f"the budget must be more than 0 and at most 100,000 officer-minutes, got {self.officer_minutes:g}"
            )
        if not (math.isfinite(self.shift_hours) and 1 <= self.shift_hours <= 24):
            raise InvalidRequest(f"the shift must last between 1 and 24 hours, got {self.shift_hours:g}")
        if not 1 <= self.visit_minutes <= 60 or not 0 <= self.travel_minutes <= 120:
            raise InvalidRequest("visits last 1-60 minutes (Koper: 10-15) and travel 0-120 minutes")
        if not 10 <= self.revisit_every_minutes <= 24 * 60:
            raise InvalidRequest("visits to a place must be between 10 minutes and 24 hours apart")
        if not 0 <= self.max_alert_share <= 1:
            raise InvalidRequest(f"max_alert_share must lie between 0 and 1, got {self.max_alert_share:g}")
        if not 19 <= self.knox_permutations <= 9_999:
            raise InvalidRequest(f"knox_permutations must be between 19 and 9,999, got {self.knox_permutations}")
        start = self.shift_start.strip()
        if start:
            try:
                start = dt.time.fromisoformat(start).strftime("%H:%M")
            except ValueError:
                raise InvalidRequest(
                    f"the shift start must be a time such as 07:00, got {self.shift_start!r}"
                ) from None
        return dataclasses.replace(self, categories=forecast.categories, shift_start=start)

    @property
    def start_time(self) -> dt.time | None:
        return dt.time.fromisoformat(self.shift_start) if self.shift_start else None

    def as_dict(self) -> dict[str, Any]:
        """The request as JSON-ready values (what a printable list's link carries)."""
        return {
            f.name: (str(v) if isinstance(v, dt.date) else list(v) if isinstance(v, tuple) else v)
            for f in dataclasses.fields(self)
            for v in [getattr(self, f.name)]
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DeployRequest:
        """The request of :meth:`as_dict`'s values (InvalidRequest for anything else)."""
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(values, dict) or set(values) - known:
            raise InvalidRequest("not the parameters of a deployment list")
        data = dict(values)
        if data.get("as_of"):
            data["as_of"] = require_day(str(data["as_of"]), "as_of")
        if "categories" in data:
            data["categories"] = tuple(data["categories"])
        return cls(**data)


@dataclass(frozen=True)
class DeploymentResult(Result):
    """A planned shift as issued: the plan, who issued it and when, and its reference in the audit log.

    ``as_dict()`` is what ``openilp deploy --json`` prints and ``/api/v1/deploy.json`` answers:
    the plan (:meth:`Deployment.to_dict`), the schedule of rounds, why the disparity check is
    absent ('' when present), and ``issue`` (reference, issued by, issued at).
    """

    request: DeployRequest
    deployment: Deployment
    reference: str
    issued_by: str
    issued_at: str
    why_no_disparity: str = ""
    #: For a re-made plan (:func:`read_deployment`): whether its places differ from those issued.
    changed_since_issue: bool = False
    #: ``"issued"`` (the printable list may go out) or ``"held"`` by a civil-rights gate
    #: (:mod:`openilp.services.analysis.gates`).
    status: str = "issued"
    #: The gates the plan fails, each ``{"gate", "why"}`` (empty when issued).
    held_because: tuple[dict[str, str], ...] = ()
    #: The supervisor's recorded reason when an override issued a plan held for parity.
    override: str = ""

    @property
    def issued(self) -> bool:
        return self.status == "issued"

    def as_dict(self) -> dict[str, Any]:
        return plain(
            {
                "request": self.request.as_dict(),
                **self.deployment.to_dict(),
                "schedule": self.deployment.schedule_rows(self.request.start_time),
                "why_no_disparity": self.why_no_disparity,
                "status": self.status,
                "held_because": list(self.held_because),
                "override": self.override,
                "issue": {"reference": self.reference, "issued_by": self.issued_by, "issued_at": self.issued_at},
            }
        )


@dataclass(frozen=True)
class DeploymentReadRequest(Request):
    """An issued plan to re-make for its printable list: its request, reference and places as issued."""

    deploy: DeployRequest
    reference: str
    cells: tuple[int, ...]
    issued_by: str = ""
    issued_at: str = ""


def _why_no_disparity(core: OpenILP, agency_code: str) -> tuple[DisparitySource | None, Path | None, str]:
    """The configured disparity data, the neighbourhood polygons they use, and why absent ('' when present)."""
    source, why_not = disparity_source_for(core.settings.data_dir, agency_code)
    if source is None:
        return None, None, why_not
    layer = core.boundaries.layer_for(agency_code)
    neighbourhoods = source.neighbourhoods_path or (layer.path if layer else None)
    if neighbourhoods is None:
        return None, None, f"no neighbourhood polygons for {agency_code}: add a boundary layer"
    return source, neighbourhoods, ""


def _shift(core: OpenILP, request: DeployRequest, disparity: DisparitySource | None) -> tuple[Deployment, str]:
    """The plan of ``request`` (resolved) through the result cache, and why there is no disparity check."""
    strict = disparity is not None
    if disparity is None:
        disparity, neighbourhoods, why_not = _why_no_disparity(core, request.agency_code)
    else:
        layer = core.boundaries.layer_for(request.agency_code)
        neighbourhoods, why_not = disparity.neighbourhoods_path or (layer.path if layer else None), ""
        if neighbourhoods is None:
            raise InvalidRequest("the disparity check needs neighbourhood polygons: give them with the demographics")
    assert request.as_of is not None

    def compute() -> Deployment:
        return _plan_shift(
            core,
            agency_code=request.agency_code,
            categories=request.categories,
            as_of=request.as_of,  # type: ignore[arg-type]
            officer_minutes=request.officer_minutes,
            method=request.method,
            cell_size_m=request.cell_size_m,
            shift_hours=request.shift_hours,
            visit_minutes=request.visit_minutes,
            travel_minutes=request.travel_minutes,
            revisit_every_minutes=request.revisit_every_minutes,
            near_repeat=request.near_repeat,
            max_alert_share=request.max_alert_share,
            knox_permutations=request.knox_permutations,
            study_area=request.study_area,
            neighbourhoods_path=neighbourhoods if disparity else None,
            neighbourhood_id=disparity.id_column if disparity else "NHD_NUM",
            demographics_path=disparity.demographics_path if disparity else None,
            group_columns=disparity.group_columns if disparity else (),
            population_path=disparity.population_path if disparity else None,
            population_column=disparity.population_column if disparity else None,
            keep_list_without_disparity=not strict,
            harm_weights=weights,
        )

    weights = agency_harm_weights(core.settings.data_dir, request.agency_code)
    key = (request, disparity, str(neighbourhoods), weights)
    return cached(core, "deployment", request.agency_code, key, compute), why_not


def _resolve(core: OpenILP, actor: UserInfo | None, request: DeployRequest, permission: str) -> DeployRequest:
    request = request.validate()
    code = reader_agency(core, actor, request.agency_code, permission)
    as_of = request.as_of
    if as_of is None:
        latest = latest_incident_date(core.engine, code)
        if latest is None:
            raise InvalidRequest(f"the store holds no located incident of agency {code} yet")
        as_of = latest + dt.timedelta(days=1)
    return dataclasses.replace(request, agency_code=code, as_of=as_of)


def _reference(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _audit_parameters(request: DeployRequest) -> dict[str, object]:
    """The request as audited: a study area given as GeoJSON (88 neighbourhoods are ~1 MB) is recorded by
    its SHA-256 and size, so the entry stays within the audit log's limit and still identifies the area."""
    parameters = dict(request.as_dict())
    area = parameters.get("study_area")
    if isinstance(area, str) and area.lstrip().startswith("{"):
        digest = hashlib.sha256(area.encode("utf-8")).hexdigest()
        parameters["study_area"] = f"GeoJSON sha256:{digest} ({len(area.encode('utf-8')):,} bytes)"
    return parameters


def _audit_details(request: DeployRequest, result: Deployment) -> dict[str, object]:
    report = result.disparity
    return {
        "parameters": _audit_parameters(request),
        "places": [p["cell_id"] for p in result.places],
        "alert_places": [p["cell_id"] for p in result.places if p["alert"]],
        "minutes_used": result.plan.minutes_used,
        "disparity_flagged": None if report is None else report.flagged,
        "flagged_groups": []
        if report is None
        else [g.group for g in report.groups if g.population_ratio_flag or g.crime_ratio_flag],
        "harm_weights": None if report is None else result.harm_weights_version,
    }


def make_deployment(
    core: OpenILP, actor: UserInfo | None, request: DeployRequest, *, disparity: DisparitySource | None = None
) -> DeploymentResult:
    """Plan the shift of ``request`` and write it to the audit log (``create deployment_plan``).

    Needs ``tasking:plan`` (analysts and supervisors) from a signed-in actor; the command line acts as
    the system. ``disparity`` (the command line's own files) replaces the agency's configured
    demographic data; unusable data then fail, while configured data that cannot be used leave the
    list standing and say why in ``why_no_disparity``.
    """
    request = _resolve(core, actor, request, "tasking:plan")
    plan, why_not = _shift(core, request, disparity)
    with core.unit_of_work(actor) as uow:
        held = _gates(uow.session, request, plan, uow.now)
        issued_by = actor.username if actor is not None else "command line"
        issued_at = f"{uow.now:%Y-%m-%d %H:%M} UTC"
        reference = _reference(
            {
                "agency": request.agency_code,
                "parameters": request.as_dict(),
                "cells": [p["cell_id"] for p in plan.places],
                "issued_by": issued_by,
                "issued_at": issued_at,
            }
        )
        agency_id = _agency_id(uow.session, request.agency_code)
        uow.audit(
            action="hold" if held else "create",
            object_type="deployment_plan",
            object_id=reference,
            details={**_audit_details(request, plan), "held_because": held},
            agency_id=agency_id,
        )
        if not held:
            _log_patrol(uow.session, agency_id, reference, request, plan, uow.now)
    return DeploymentResult(
        request,
        plan,
        reference,
        issued_by,
        issued_at,
        why_not or plan.disparity_error,
        status="held" if held else "issued",
        held_because=tuple(held),
    )


def _agency_id(session: Session, agency_code: str) -> int:
    return int(session.scalars(select(Agency.id).where(Agency.code == agency_code)).one())


def _log_patrol(
    session: Session, agency_id: int, reference: str, request: DeployRequest, plan: Deployment, now: dt.datetime
) -> None:
    """Log the places of an issued list with their patrol propensity (:mod:`.patrol_log`)."""
    log_issued_plan(
        session,
        agency_id=agency_id,
        reference=reference,
        issued_at=now,
        shift_day=plan.as_of,
        shift_hours=plan.plan.shift_hours,
        method=request.method,
        cell_size_m=request.cell_size_m,
        places=plan.places,
    )


def _gates(session: Session, request: DeployRequest, plan: Deployment, now: dt.datetime) -> list[dict[str, str]]:
    """The civil-rights gates the plan fails (:func:`openilp.services.analysis.gates.held_because`)."""
    justified = False
    if plan.proxy is not None and plan.proxy.flagged:
        key = model_key(request.agency_code, request.method)
        justified = latest_justification(session, _agency_id(session, request.agency_code), key, now) is not None
    return held_because(plan.disparity, plan.proxy, justified=justified)


@dataclass(frozen=True)
class OverrideRequest(Request):
    """A supervisor's override of a plan held for parity: the plan as held (request, reference, places)
    and the written reason."""

    deploy: DeployRequest
    reference: str
    cells: tuple[int, ...]
    reason: str = ""

    def validate(self) -> OverrideRequest:
        return dataclasses.replace(self, reason=check_written_reason(self.reason, "reason for the override"))


def override_deployment(core: OpenILP, actor: UserInfo | None, request: OverrideRequest) -> DeploymentResult:
    """Issue a plan held by the parity gate on a supervisor's written reason (``tasking:override``),
    recorded in the audit log as ``override deployment_plan <reference>`` with the reason and the
    gates it overrides. A plan held for proxy leakage needs the model's justification first
    (:func:`openilp.services.analysis.gates.justify_model`); a plan that changed since it was held
    must be planned again."""
    request = request.validate()
    deploy = _resolve(core, actor, request.deploy, "tasking:override")
    plan, why_not = _shift(core, deploy, None)
    with core.unit_of_work(actor) as uow:
        if [p["cell_id"] for p in plan.places] != list(request.cells):
            raise InvalidRequest("the plan has changed since it was held (new data?): plan the shift again")
        held = _gates(uow.session, deploy, plan, uow.now)
        if not held:
            raise InvalidRequest("this plan passes every gate: it needs no override")
        if any(h["gate"] != "parity" for h in held):
            raise InvalidRequest(
                "an override releases the parity gate only: "
                + "; ".join(h["why"] for h in held if h["gate"] != "parity")
            )
        agency_id = _agency_id(uow.session, deploy.agency_code)
        uow.audit(
            action="override",
            object_type="deployment_plan",
            object_id=request.reference,
            details={**_audit_details(deploy, plan), "reason": request.reason, "overrides": held},
            agency_id=agency_id,
        )
        _log_patrol(uow.session, agency_id, request.reference, deploy, plan, uow.now)
        issued_by = actor.username if actor is not None else "command line"
        issued_at = f"{uow.now:%Y-%m-%d %H:%M} UTC"
    return DeploymentResult(
        deploy,
        plan,
        request.reference,
        issued_by,
        issued_at,
        why_not or plan.disparity_error,
        status="issued",
        held_because=tuple(held),
        override=request.reason,
    )


def read_deployment(core: OpenILP, actor: UserInfo | None, request: DeploymentReadRequest) -> DeploymentResult:
    """Re-make an issued plan for its printable list (``tasking:read``: also patrol officers) and audit the read.

    The same data and seed give the same list; ``changed_since_issue`` says when the store has
    changed its places since it was issued.
    """
    deploy = _resolve(core, actor, request.deploy, "tasking:read")
    plan, why_not = _shift(core, deploy, None)
    changed = [p["cell_id"] for p in plan.places] != list(request.cells)
    with core.unit_of_work(actor) as uow:
        uow.audit(
            action="read",
            object_type="deployment_plan",
            object_id=request.reference,
            details={"printable": True, "changed_since_issue": changed},
        )
    return DeploymentResult(
        deploy,
        plan,
        request.reference,
        request.issued_by,
        request.issued_at,
        why_not or plan.disparity_error,
        changed,
    )
