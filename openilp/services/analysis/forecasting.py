"""Forecasting services: load an agency's events, build the study-area grid, forecast, backtest.

The CLI (``openilp forecast``, ``openilp backtest``) and the web page are thin shells over these
functions. Events come from :func:`openilp.services.analysis.events.load_events`, so only where and when
incidents occurred reach a forecaster (no protected attribute is even loaded). Methods that read
context (the learned model) also get the agency's located incidents of every category over the same
dates, under the same cut-off.

The **study area** is either given (GeoJSON polygons, e.g. the city's neighbourhoods) or, by
default, the cells within ``near_events_m`` metres of an event known at the first forecast moment
(the proxy of the analytics reference §8; computed from past events only, so the test period never
shapes the grid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.backtest import (
    BacktestResult,
    ScoredForecast,
    block_bootstrap_ci,
    period_end,
    rolling_origin_backtest,
    stable_risk_oracle,
    weekly_origins,
)
from openilp.analysis.evaluation import DEFAULT_COVERAGES
from openilp.analysis.forecast import BASELINES, FORECASTERS, Forecaster, known_mask, make_forecaster, to_utc_naive
from openilp.analysis.grids import SquareGrid
from openilp.constants import CATEGORY_SETS
from openilp.services.analysis.events import EventQuery, load_events

__all__ = [
    "CATEGORY_SETS",
    "DEFAULT_BACKTEST_PARAMS",
    "SCORING_RULE",
    "backtest_forecasters",
    "forecast_geojson",
    "load_study_area",
    "run_backtest",
    "run_forecast",
    "study_area_grid",
    "weekly_forecast",
]


#: Parameters used in rolling backtests (warm starts reuse earlier work, never later data).
DEFAULT_BACKTEST_PARAMS: dict[str, dict[str, Any]] = {
    "sepp": {"warm_start": True},
    "learned": {"warm_start": True, "retrain_every_days": 28.0},
}


def load_study_area(path: str | Path, crs: str) -> PolygonAreas:
    """Study-area polygons from a GeoJSON file (EPSG:4326), projected to ``crs``."""
    data = Path(path)
    if not data.exists():
        raise ValueError(f"study area file {data} does not exist")
    import json

    collection = json.loads(data.read_text())
    for i, feature in enumerate(collection.get("features", [])):
        feature.setdefault("properties", {})["_openilp_index"] = i
    return PolygonAreas.from_geojson(collection, id_property="_openilp_index", target_crs=crs)


def study_area_grid(
    events: pd.DataFrame,
    *,
    cell_size_m: float,
    crs: str | None,
    as_of: dt.datetime | pd.Timestamp,
    study_area: PolygonAreas | None = None,
    near_events_m: float = 300.0,
) -> SquareGrid:
    """The grid of the forecasts: ``cell_size_m`` squares over the study area.

    Without ``study_area``, the cells within ``near_events_m`` metres of an event known at
    ``as_of`` (never a later one). Raises ValueError for a cell size that is not positive or when
    no cell remains.
    """
    if not (isinstance(cell_size_m, int | float) and cell_size_m > 0):
        raise ValueError(f"cell size must be a positive number of metres, got {cell_size_m!r}")
    known = events[known_mask(events, as_of)] if len(events) else events
    if len(known) == 0:
        raise ValueError(f"no event known before {to_utc_naive(as_of)}: cannot lay out the study area")
    x, y = known["x_m"].to_numpy(dtype=float), known["y_m"].to_numpy(dtype=float)
    if study_area is not None:
        x0, y0, x1, y1 = study_area.union().bounds
        grid = SquareGrid.from_bounds((x0, y0, x1, y1), cell_size_m, crs=crs).with_study_area(study_area)
    else:
        grid = SquareGrid.from_points(x, y, cell_size_m, margin_m=near_events_m, crs=crs)
        cx, cy = grid.centres_m()
        from scipy.spatial import cKDTree

        distance, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([cx, cy]), k=1)
        mask = grid.to_raster(distance <= near_events_m + grid.cell_size_m / np.sqrt(2), fill=0.0) > 0
        grid = SquareGrid(cell_size_m=cell_size_m, origin=grid.origin, shape=grid.shape, mask=mask, crs=crs)
    if grid.n_units == 0:
        raise ValueError("the study area contains no grid cell")
    if grid.n_units > 2_000_000:
        raise ValueError(f"{grid.n_units:,} cells: choose a larger cell size")
    return grid  # type: ignore[return-value]


def _load(
    engine: Engine, agency_code: str, categories: Sequence[str], date_from: dt.date, date_to: dt.date
) -> tuple[pd.DataFrame, Any]:
    events, agency = load_events(engine, EventQuery(agency_code, tuple(categories), date_from, date_to))
    if len(events) == 0:
        label = ", ".join(categories) or "incidents"
        everything, _ = load_events(engine, EventQuery(agency_code, tuple(categories)))
        if len(everything) == 0:
            raise ValueError(f"no located {label} of agency {agency_code} in the store (empty category)")
        first, last = everything["occurred_from"].min().date(), everything["occurred_from"].max().date()
        raise ValueError(
            f"no located {label} of agency {agency_code} between {date_from} and {date_to}: "
            f"the dates are outside the data, which run from {first} to {last} (UTC)"
        )
    return events, agency


def _context(
    engine: Engine, agency_code: str, methods: Sequence[str], date_from: dt.date, date_to: dt.date
) -> pd.DataFrame | None:
    """Incidents of every category over the dates, when one of ``methods`` reads context events."""
    if not any(FORECASTERS[m].uses_context for m in methods if m in FORECASTERS):
        return None
    context, _ = load_events(engine, EventQuery(agency_code, (), date_from, date_to))
    return context.loc[:, ["x_m", "y_m", "occurred_from", "occurred_to"]] if len(context) else None


def run_forecast(
    engine: Engine,
    *,
    agency_code: str,
    categories: Sequence[str],
    as_of: dt.date,
    method: str = "naive",
    cell_size_m: float = 150.0,
    horizon_days: float = 7.0,
    history_days: int = 730,
    study_area_path: str | Path | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[Forecaster, np.ndarray[Any, Any]]:
    """Fit ``method`` on the events known at local midnight starting ``as_of`` and predict the next
    ``horizon_days`` local calendar days (:func:`~openilp.analysis.backtest.period_end`); returns the
    fitted forecaster (its ``grid_`` holds the cells) and the scores."""
    forecaster = make_forecaster(method, **(params or {}))
    date_from = as_of - dt.timedelta(days=history_days)
    events, agency = _load(engine, agency_code, categories, date_from, as_of)
    context = _context(engine, agency_code, [method], date_from, as_of)
    moment = weekly_origins(as_of, as_of, timezone=agency.timezone, horizon_days=1)[0]
    study = load_study_area(study_area_path, agency.crs) if study_area_path else None
    grid = study_area_grid(events, cell_size_m=cell_size_m, crs=agency.crs, as_of=moment, study_area=study)
    # The forecast covers local calendar days: 167 hours for a week across the spring change.
    length_days = (period_end(moment, horizon_days, agency.timezone) - moment) / pd.Timedelta(days=1)
    scores = forecaster.fit(events, grid=grid, as_of=moment, context_events=context).predict(length_days)
    return forecaster, scores


#: How an exported forecast is scored (``forecast.scoring`` of :func:`forecast_geojson`).
SCORING_RULE = {
    "rank_by": "score, highest first",
    "flagged_cells": "k = max(1, round(coverage x cells))",
    "ties": (
        "fractional credit (NIJ 2017): when the cut-off falls inside a group of g cells with equal "
        "scores of which j are still to be flagged, each cell of the group counts for j/g of its "
        "area and of its events"
    ),
    "pai": "(n / N) / (k / cells), n the events credited to the flagged cells, N all test events",
    "pei": "n / n*, n* the events in the k cells with the most events",
}


def forecast_geojson(
    forecaster: Forecaster,
    scores: np.ndarray[Any, Any],
    *,
    period_end: pd.Timestamp | None = None,
    timezone: str | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    """The forecast as GeoJSON: EPSG:4326 cell polygons, one feature per study-area cell.

    Properties: ``cell_id`` (the grid's unit index), ``score`` (higher = more risk; exact, so
    ties in the file are exactly the ties the scorer saw), ``area_m2`` and ``rank`` (1 = highest;
    ties by cell id, for display only: scoring gives tied cells fractional credit, see
    :mod:`openilp.analysis.evaluation`). Forecast facts (method, parameters, as-of moment, and
    the period when ``period_end`` is given) and the scoring rule (:data:`SCORING_RULE`) go in a
    ``forecast`` member. An outside scorer needs nothing else to reproduce hit rate, PAI and PEI.
    """
    grid = forecaster.grid_
    values = np.asarray(scores, dtype=np.float64)
    order = np.lexsort((np.arange(len(values)), -values))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(1, len(values) + 1)
    collection = grid.to_geojson({"score": values, "area_m2": grid.areas_m2, "rank": rank}, id_property="cell_id")
    facts: dict[str, Any] = {
        "method": forecaster.name,
        "parameters": {k: v for k, v in forecaster.get_params().items()},
        "as_of_utc": str(forecaster.as_of_),
        "cell_size_m": grid.cell_size_m,
        "cells": grid.n_units,
        "crs_of_analysis": grid.crs,
        "events_used": forecaster.n_events_,
    }
    if period_end is not None:
        facts["period_start_utc"] = str(forecaster.as_of_)
        facts["period_end_utc"] = str(period_end)
        facts["period_hours"] = (period_end - forecaster.as_of_) / pd.Timedelta(hours=1)
    if timezone is not None:
        facts["timezone"] = timezone
    collection["forecast"] = {**facts, **metadata, "scoring": SCORING_RULE}
    return collection


def backtest_forecasters(methods: Sequence[str]) -> dict[str, Forecaster]:
    """Fresh forecasters for a backtest, by name (with :data:`DEFAULT_BACKTEST_PARAMS`)."""
    unknown = [m for m in methods if m not in FORECASTERS]
    if unknown:
        raise ValueError(f"unknown forecasting method(s) {', '.join(unknown)}; choose from {', '.join(FORECASTERS)}")
    return {m: make_forecaster(m, **DEFAULT_BACKTEST_PARAMS.get(m, {})) for m in methods}


class _ForecastWriter:
    """Writes each scored forecast of a backtest as GeoJSON (the ``openilp forecast`` contract) and
    keeps a manifest row for it: period, method, cut-off per coverage, file and the backtest's scores."""

    def __init__(self, folder: str | Path, coverages: Sequence[float], metadata: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.coverages = tuple(coverages)
        self.metadata = metadata
        self.rows: list[dict[str, Any]] = []

    def __call__(self, forecast: ScoredForecast) -> None:
        import json

        from openilp.analysis.evaluation import flagged_cells, score_forecast

        local_day = forecast.origin.tz_localize("UTC").tz_convert(forecast.timezone).date()
        name = f"{local_day.isoformat()}_{forecast.method}.geojson"
        horizon = (forecast.period_end - forecast.origin) / pd.Timedelta(days=1)
        collection = forecast_geojson(
            forecast.forecaster,
            forecast.scores,
            period_end=forecast.period_end,
            timezone=forecast.timezone,
            horizon_days=horizon,
            **self.metadata,
        )
        (self.folder / name).write_text(json.dumps(collection))
        ranked = np.sort(forecast.scores)[::-1]
        cut_offs = []
        for coverage in self.coverages:
            k = flagged_cells(len(ranked), coverage)
            cut_offs.append({"coverage": coverage, "flagged_cells": k, "cut_off_score": float(ranked[k - 1])})
        metrics = score_forecast(forecast.scores, forecast.test_counts, coverages=self.coverages)
        self.rows.append(
            {
                "method": forecast.method,
                "period_start_utc": str(forecast.origin),
                "period_end_utc": str(forecast.period_end),
                "period_start_local": str(local_day),
                "timezone": forecast.timezone,
                "file": name,
                "cut_offs": cut_offs,
                "scores": {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()},
            }
        )

    def write_manifest(self) -> Path:
        import json

        path = self.folder / "manifest.json"
        manifest = {"scoring": SCORING_RULE, **self.metadata, "forecasts": self.rows}
        path.write_text(json.dumps(manifest, indent=1) + "\n")
        return path


def run_backtest(
    engine: Engine,
    *,
    agency_code: str,
    categories: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    methods: Sequence[str] = tuple(FORECASTERS),
    cell_size_m: float = 150.0,
    horizon_days: int = 7,
    history_days: int = 730,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    study_area_path: str | Path | None = None,
    oracle: bool = False,
    forecast_dir: str | Path | None = None,
) -> BacktestResult:
    """Weekly rolling-origin backtest of ``methods`` for one category set over ``date_from … date_to``.

    With ``oracle``, ``result.meta["stable_risk_oracle"]`` also holds the mean PAI (with its 95 % CI)
    of the two in-sample oracles of :func:`~openilp.analysis.backtest.stable_risk_oracle`: a ceiling
    for context, not a forecast.

    With ``forecast_dir``, every scored forecast is written there as GeoJSON (the contract of
    :func:`forecast_geojson`, with its period), one file per period and method, with a
    ``manifest.json`` listing period, method, cut-off per coverage, file and the backtest's scores,
    so that anyone can re-score them."""
    events, agency = _load(engine, agency_code, categories, date_from - dt.timedelta(days=history_days), date_to)
    context = _context(engine, agency_code, methods, date_from - dt.timedelta(days=history_days), date_to)
    origins = weekly_origins(date_from, date_to, timezone=agency.timezone, horizon_days=horizon_days)
    study = load_study_area(study_area_path, agency.crs) if study_area_path else None
    grid = study_area_grid(events, cell_size_m=cell_size_m, crs=agency.crs, as_of=origins[0], study_area=study)
    writer = None
    if forecast_dir is not None:
        writer = _ForecastWriter(forecast_dir, coverages, {"agency": agency_code, "categories": list(categories)})
    result = rolling_origin_backtest(
        events,
        grid,
        backtest_forecasters(methods),
        origins,
        horizon_days=horizon_days,
        coverages=coverages,
        context_events=context,
        timezone=agency.timezone,
        on_forecast=writer,
    )
    if writer is not None:
        result.meta["forecast_manifest"] = str(writer.write_manifest())
    result.meta.update(
        {
            "agency": agency_code,
            "categories": list(categories),
            "date_from": str(date_from),
            "date_to": str(date_to),
            "baselines": [m for m in BASELINES if m in methods],
        }
    )
    if oracle:
        table = stable_risk_oracle(
            events, grid, origins, horizon_days=horizon_days, coverages=coverages, timezone=agency.timezone
        )
        summary = {}
        for column in table.columns[2:]:
            mean, low, high = block_bootstrap_ci(table[column].to_numpy(dtype=float))
            summary[column] = {"mean": mean, "ci_low": low, "ci_high": high}
        result.meta["stable_risk_oracle"] = summary
    return result


def weekly_forecast(
    engine: Engine,
    *,
    agency_code: str,
    category: str,
    as_of: dt.date,
    method: str = "learned",
    cell_size_m: float = 150.0,
    study_area_path: str | Path | None = None,
    evaluation_weeks: int = 12,
) -> dict[str, Any]:
    """This week's forecast with its measured accuracy beside it (what the web page shows).

    Returns the forecast GeoJSON (:func:`forecast_geojson`) with an ``accuracy`` member: the mean
    hit rate, PAI and PEI (with 95 % CIs) of the same method and of the naive baseline over the
    ``evaluation_weeks`` weekly forecasts before ``as_of``, scored exactly as ``openilp backtest``.
    """
    if category not in CATEGORY_SETS:
        raise ValueError(f"unknown category {category!r}; choose from {', '.join(CATEGORY_SETS)}")
    if not 1 <= evaluation_weeks <= 104:
        raise ValueError("evaluation_weeks must be between 1 and 104")
    categories = CATEGORY_SETS[category]
    forecaster, scores = run_forecast(
        engine,
        agency_code=agency_code,
        categories=categories,
        as_of=as_of,
        method=method,
        cell_size_m=cell_size_m,
        study_area_path=study_area_path,
    )
    methods = list(dict.fromkeys([method, "naive"]))
    result = run_backtest(
        engine,
        agency_code=agency_code,
        categories=categories,
        date_from=as_of - dt.timedelta(days=7 * evaluation_weeks),
        date_to=as_of - dt.timedelta(days=1),
        methods=methods,
        cell_size_m=cell_size_m,
        study_area_path=study_area_path,
    )
    wanted = {f"{m}@{c:g}" for m in ("hit_rate", "pai", "pei") for c in DEFAULT_COVERAGES}
    accuracy = [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        for row in result.summary().to_dict(orient="records")
        if row["metric"] in wanted
    ]
    collection = forecast_geojson(forecaster, scores, category=category, horizon_days=7.0)
    collection["accuracy"] = {
        "weeks": int(result.scores["origin"].nunique()),
        "from": str(as_of - dt.timedelta(days=7 * evaluation_weeks)),
        "to": str(as_of - dt.timedelta(days=1)),
        "methods": methods,
        "metrics": accuracy,
    }
    return collection
