"""Trend alerts from the store: counts per area × category × period against baselines, with drill-down.

:func:`run_trends` loads the agency's incidents (located or not: an area comes from the record's
neighbourhood, district or beat, not from coordinates) for the windows :func:`openilp.analysis.trends.trend_alerts`
needs up to ``as_of`` (a local day; default the local date of the latest located incident), groups
them by area level and category, and runs the CompStat table (Poisson z, E-test with BH; Wheeler
2016, Krishnamoorthy & Thomson 2004). Each row gets a ``key`` and the ids of the incidents in its
current period (``incident_ids``), so a page can drill down from an alert to the incidents behind it.

When categories are requested, each incident is counted under the requested name that includes it
(``burglary`` includes ``burglary_residential``); otherwise under its own category code.

:meth:`TrendResult.compstat` lays the same table out as a CompStat meeting reads it: one row per area
and category, with the week, the 28 days and the year to date each against the same period last
year (count, last year's count, % change, Poisson z, E-test q and the flag), the last 12 weeks'
counts for a sparkline, the neighbourhood's name from the agency's boundary layer and the
category's label.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openilp.analysis.trends import ALL_AREAS, BASELINES, PERIODS, trend_alerts
from openilp.constants import AREA_LEVELS
from openilp.core import OpenILP, Request, Result
from openilp.db.models import OffenceCategory
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import (
    LIMITS,
    AnalysisLimits,
    NoEventsError,
    ProgressCallback,
    boundary_names,
    cached,
    check_categories,
    check_day,
    frame_to_csv,
    guard_event_frame,
    latest_incident_date,
    local_times,
    plain_records,
    reader_agency,
)
from openilp.services.analysis.events import EventQuery, expand_categories, load_events

__all__ = ["AREA_LEVELS", "COMPSTAT_PERIODS", "TREND_COLUMNS", "TrendRequest", "TrendResult", "run_trends"]

#: Periods of the CompStat layout, left to right, and the weeks of its sparkline.
COMPSTAT_PERIODS = ("week", "28d", "ytd")
SPARK_WEEKS = 12
_RANK = {"alert": 0, "watch": 1}

UNKNOWN_AREA = "(unknown)"
#: Columns of the CSV and of each JSON row (JSON rows add ``incident_ids``).
TREND_COLUMNS = (
    "key",
    "area",
    "category",
    "period",
    "period_start",
    "period_end",
    "baseline",
    "current",
    "baseline_count",
    "expected",
    "change_pct",
    "z",
    "p_value",
    "q_value",
    "direction",
    "severity",
)
SEVERITIES = ("alert", "watch")


@dataclass(frozen=True)
class TrendRequest(Request):
    """Which CompStat table to build.

    ``categories`` are category codes or crime groups, as everywhere (each incident is counted
    under the requested name that includes it); empty = every category, each under its own code.
    """

    #: Agency code; empty = the signed-in user's agency (or the only agency in the store).
    agency_code: str = ""
    categories: tuple[str, ...] = ()
    #: Last day (local, inclusive) of the current periods; None = the latest incident's day.
    as_of: dt.date | None = None
    area_level: str = "neighbourhood"
    periods: tuple[str, ...] = ("week", "28d", "ytd")
    baselines: tuple[str, ...] = BASELINES
    rolling_periods: int = 8
    include_all_areas: bool = True
    z_alert: float = 3.0
    z_watch: float = 2.0
    fdr: float = 0.05
    min_count: int = 5

    def validate(self, limits: AnalysisLimits = LIMITS) -> TrendRequest:
        categories = check_categories(self.categories)
        check_day(self.as_of, "as_of")
        if self.area_level not in AREA_LEVELS:
            raise InvalidRequest(f"area level must be one of {', '.join(AREA_LEVELS)}, got {self.area_level!r}")
        if not self.periods:
            raise InvalidRequest(f"choose at least one period: {', '.join(PERIODS)}")
        if not self.baselines:
            raise InvalidRequest(f"choose at least one baseline: {', '.join(BASELINES)}")
        for name in self.periods:
            if name not in PERIODS:
                raise InvalidRequest(f"unknown period {name!r}; choose from {', '.join(PERIODS)}")
        for name in self.baselines:
            if name not in BASELINES:
                raise InvalidRequest(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
        if not 1 <= self.rolling_periods <= limits.max_rolling_periods:
            raise InvalidRequest(
                f"rolling periods must be between 1 and {limits.max_rolling_periods}, got {self.rolling_periods}"
            )
        if not (math.isfinite(self.z_watch) and math.isfinite(self.z_alert) and 0 < self.z_watch <= self.z_alert <= 50):
            raise InvalidRequest("thresholds need 0 < z_watch <= z_alert <= 50")
        if not 0 < self.fdr < 1:
            raise InvalidRequest(f"fdr must lie between 0 and 1, got {self.fdr:g}")
        if not 0 <= self.min_count <= 10_000:
            raise InvalidRequest(f"min_count must be between 0 and 10,000, got {self.min_count}")
        return dataclasses.replace(
            self,
            categories=categories,
            periods=tuple(dict.fromkeys(self.periods)),
            baselines=tuple(dict.fromkeys(self.baselines)),
        )


def _row_key(row: Any) -> str:
    return f"{row.area}|{row.category}|{row.period}|{row.baseline}"


@dataclass(frozen=True)
class TrendResult(Result):
    """The CompStat table (all rows, severity order) with the incidents behind each row.

    ``as_dict()`` is :meth:`to_json` (flagged rows only).
    """

    request: TrendRequest
    as_of: dt.date
    table: pd.DataFrame
    #: ``(area, category, period)`` → incident ids in the current period.
    incidents_by_cell: dict[tuple[str, str, str], list[int]]
    #: Every loaded incident: id, category (as grouped), area, local time, lon/lat.
    events: pd.DataFrame
    #: Area code → name (from the boundary layer; neighbourhoods only) and category code → label.
    area_names: dict[str, str] = dataclasses.field(default_factory=dict)
    category_labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def compstat(self) -> list[dict[str, Any]]:
        """The CompStat layout: one row per area × category (the city's totals first, then by flag and |z|).

        Each row: ``area``, ``area_name``, ``category``, ``category_label``, ``severity`` (the worst of
        its periods), ``weekly`` (counts of the last :data:`SPARK_WEEKS` weeks to ``as_of``, oldest first)
        and ``periods``: for each of :data:`COMPSTAT_PERIODS` in the request, ``current``, ``last_year``
        (the same period a year before; another baseline when ``last_year`` was not requested, named
        in ``baseline``), ``change_pct``, ``z``, ``q_value``, ``severity`` and the row ``key``.
        """
        periods = [p for p in COMPSTAT_PERIODS if p in self.request.periods]
        baseline = "last_year" if "last_year" in self.request.baselines else self.request.baselines[0]
        table = self.table[self.table["baseline"] == baseline]
        weekly = self._weekly_counts()
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for record in table.to_dict("records"):
            if record["period"] not in periods:
                continue
            area, category = str(record["area"]), str(record["category"])
            row = rows.setdefault(
                (area, category),
                {
                    "area": area,
                    "area_name": self.area_names.get(area, area),
                    "category": category,
                    "category_label": self.category_labels.get(category, category.replace("_", " ")),
                    "baseline": baseline,
                    "periods": {},
                    "weekly": weekly.get((area, category), [0] * SPARK_WEEKS),
                },
            )
            change = record["change_pct"]
            row["periods"][record["period"]] = {
                "current": int(record["current"]),
                "last_year": int(record["baseline_count"]),
                "change_pct": None if change is None or pd.isna(change) else round(float(change), 1),
                "z": round(float(record["z"]), 2),
                "q_value": None if pd.isna(record["q_value"]) else round(float(record["q_value"]), 4),
                "severity": record["severity"] or "",
                "key": record["key"],
            }
        out = list(rows.values())
        for row in out:
            flags = [cell["severity"] for cell in row["periods"].values()]
            row["severity"] = min(flags, key=lambda s: _RANK.get(s, 2)) if flags else ""
            row["max_abs_z"] = max((abs(cell["z"]) for cell in row["periods"].values()), default=0.0)
        out.sort(key=lambda r: (r["area"] != ALL_AREAS, _RANK.get(r["severity"], 2), -r["max_abs_z"], r["area_name"]))
        return out

    def _weekly_counts(self) -> dict[tuple[str, str], list[int]]:
        """Counts per (area, category), and per category over all areas, in each of the last weeks."""
        day = pd.to_datetime(self.events["occurred_local"]).dt.normalize()
        weeks_back = ((pd.Timestamp(self.as_of) - day).dt.days // 7).to_numpy()
        recent = self.events[(weeks_back >= 0) & (weeks_back < SPARK_WEEKS)].assign(
            week=SPARK_WEEKS - 1 - weeks_back[(weeks_back >= 0) & (weeks_back < SPARK_WEEKS)]
        )
        out: dict[tuple[str, str], list[int]] = {}
        for keys, group in (
            *recent.groupby(["area", "category"]),
            *(((ALL_AREAS, c), g) for c, g in recent.groupby("category")),
        ):
            counts = [0] * SPARK_WEEKS
            for week, n in group["week"].value_counts().items():
                counts[int(week)] = int(n)
            out[(str(keys[0]), str(keys[1]))] = counts
        return out

    def rows(self, *, flagged_only: bool = True) -> pd.DataFrame:
        """The table (only ``alert`` and ``watch`` rows unless ``flagged_only`` is False)."""
        if flagged_only:
            return self.table[self.table["severity"].isin(SEVERITIES)]
        return self.table

    def incident_ids(self, key: str) -> list[int]:
        """Ids of the incidents in the current period of the row ``key`` (KeyError if unknown)."""
        match = self.table[self.table["key"] == key]
        if match.empty:
            raise KeyError(key)
        row = match.iloc[0]
        return self.incidents_by_cell.get((row["area"], row["category"], row["period"]), [])

    def incidents(self, key: str) -> pd.DataFrame:
        """The incidents of row ``key``: ``incident_id, category, occurred_local, area, lon, lat``, newest first."""
        ids = set(self.incident_ids(key))
        frame = self.events[self.events["incident_id"].isin(ids)]
        return frame.sort_values(["occurred_local", "incident_id"], ascending=False).reset_index(drop=True)

    def incidents_geojson(self, key: str) -> dict[str, Any]:
        """The located incidents of row ``key`` as GeoJSON points (EPSG:4326)."""
        frame = self.incidents(key)
        features = []
        for record in frame.to_dict("records"):
            lon, lat = record["lon"], record["lat"]
            if pd.isna(lon) or pd.isna(lat):
                continue
            properties = {
                "id": int(record["incident_id"]),
                "category": str(record["category"]),
                "occurred_local": str(record["occurred_local"]),
                "area": str(record["area"]),
            }
            geometry = {"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]}
            features.append({"type": "Feature", "geometry": geometry, "properties": properties})
        return {"type": "FeatureCollection", "features": features}

    def summary(self) -> dict[str, Any]:
        request = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in asdict(self.request).items()}
        counts = self.table["severity"].value_counts()
        return {
            "request": {k: list(v) if isinstance(v, tuple) else v for k, v in request.items()},
            "as_of": str(self.as_of),
            "rows": len(self.table),
            "alerts": int(counts.get("alert", 0)),
            "watches": int(counts.get("watch", 0)),
            "incidents_loaded": len(self.events),
        }

    def as_dict(self) -> dict[str, Any]:
        return self.to_json()

    def to_json(self, *, flagged_only: bool = True) -> dict[str, Any]:
        """Summary and rows (:data:`TREND_COLUMNS` plus ``incident_ids``)."""
        rows = self.rows(flagged_only=flagged_only)
        records = plain_records(rows[list(TREND_COLUMNS)])
        for record in records:
            record["incident_ids"] = self.incidents_by_cell.get(
                (record["area"], record["category"], record["period"]), []
            )
        return {"analysis": self.summary(), "flagged_only": flagged_only, "rows": records}

    def to_csv(self, *, flagged_only: bool = True) -> str:
        """The rows as CSV (:data:`TREND_COLUMNS`; ``incident_count`` instead of the id list)."""
        rows = self.rows(flagged_only=flagged_only)[list(TREND_COLUMNS)].copy()
        rows["incident_count"] = [
            len(self.incidents_by_cell.get((a, c, p), []))
            for a, c, p in zip(rows["area"], rows["category"], rows["period"], strict=True)
        ]
        return frame_to_csv(rows)


def _group_categories(engine: Engine, requested: Sequence[str], codes: pd.Series) -> pd.Series:
    if not requested:
        return codes.astype(str)
    with Session(engine) as session:
        mapping: dict[str, str] = {}
        for name in requested:
            for code in expand_categories(session, [name]):
                mapping.setdefault(code, name)
    return codes.map(mapping).fillna(codes).astype(str)


def _load_window(as_of: dt.date, request: TrendRequest) -> dt.date:
    starts = [dt.date(as_of.year - 1, 1, 1)]
    for name in request.periods:
        length = PERIODS[name]
        if length is not None:
            starts.append(as_of - dt.timedelta(days=length - 1 + 364 + request.rolling_periods * length))
    return min(starts)


def run_trends(
    core: OpenILP,
    actor: UserInfo | None,
    request: TrendRequest,
    *,
    limits: AnalysisLimits = LIMITS,
    progress: ProgressCallback | None = None,
) -> TrendResult:
    """The CompStat trend table of ``request`` with drill-down ids (see the module docstring).

    The table's size is bounded by areas × categories × periods × baselines, each bounded in the
    request; the load window by the periods and ``rolling_periods``.
    """
    request = request.validate(limits)
    engine = core.engine
    code = reader_agency(core, actor, request.agency_code)
    as_of = request.as_of or latest_incident_date(engine, code)
    if as_of is None:
        raise NoEventsError(f"agency {code} has no located incident")
    resolved = dataclasses.replace(request, agency_code=code, as_of=as_of)
    request = resolved

    def compute() -> TrendResult:
        if progress:
            progress("loading incidents", 0, 3)
        query = EventQuery(request.agency_code, request.categories, _load_window(as_of, request), as_of, False)
        events, agency = load_events(engine, query)
        events = guard_event_frame(events)
        if len(events) == 0:
            raise NoEventsError(
                f"no {', '.join(request.categories) or 'incidents'} of agency {request.agency_code} in the year "
                f"before {as_of}"
            )
        frame = pd.DataFrame(
            {
                "incident_id": events["incident_id"].to_numpy(),
                "category": _group_categories(engine, request.categories, events["category"]).to_numpy(),
                "area": events[request.area_level].fillna(UNKNOWN_AREA).astype(str).to_numpy(),
                "occurred_local": local_times(events, agency.timezone).to_numpy(),
                "lon": events["lon"].to_numpy(),
                "lat": events["lat"].to_numpy(),
            }
        )
        if progress:
            progress("trend table (E-tests)", 1, 3)
        table = trend_alerts(
            frame,
            pd.Timestamp(as_of),
            time="occurred_local",
            periods=request.periods,
            baselines=request.baselines,
            rolling_periods=request.rolling_periods,
            include_all_areas=request.include_all_areas,
            z_alert=request.z_alert,
            z_watch=request.z_watch,
            fdr=request.fdr,
            min_count=request.min_count,
        )
        table.insert(0, "key", [_row_key(r) for r in table.itertuples()])
        for column in ("period_start", "period_end"):
            table[column] = pd.to_datetime(table[column]).dt.date
        for column in ("expected", "change_pct", "z"):
            table[column] = table[column].astype(float).round(3)
        if progress:
            progress("drill-down", 2, 3)
        cells: dict[tuple[str, str, str], list[int]] = {}
        day = pd.to_datetime(frame["occurred_local"]).dt.normalize()
        for period, group in table.groupby("period"):
            first, last = pd.Timestamp(group["period_start"].iloc[0]), pd.Timestamp(group["period_end"].iloc[0])
            inside = frame[((day >= first) & (day <= last)).to_numpy()]
            for (area, category), ids in inside.groupby(["area", "category"])["incident_id"]:
                cells[(str(area), str(category), str(period))] = sorted(int(i) for i in ids)
            for category, ids in inside.groupby("category")["incident_id"]:
                cells[(ALL_AREAS, str(category), str(period))] = sorted(int(i) for i in ids)
        if progress:
            progress("done", 3, 3)
        names = boundary_names(core, request.agency_code) if request.area_level == "neighbourhood" else {}
        with Session(engine) as session:
            labels = {c.code: c.label for c in session.scalars(select(OffenceCategory))}
        return TrendResult(resolved, as_of, table.reset_index(drop=True), cells, frame, names, labels)

    return cached(core, "trends", request.agency_code, resolved, compute)
