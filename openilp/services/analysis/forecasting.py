"""Forecasting services: this week's risk surface, rolling backtests and the page's forecast with its accuracy.

Every public function takes the core, the actor and one request (:class:`ForecastRequest`,
:class:`BacktestRequest`, :class:`WeeklyForecastRequest`); the command line (``openilp forecast``,
``openilp backtest``), the JSON API (``/api/v1/forecast/weekly.geojson``) and the page
(``/forecast``) build the same requests, so the same question gets the same grid and the same scores.

* **Category** means what it means in every analysis: category codes or crime groups
  (``burglary`` includes ``burglary_residential``; ``violent`` is a group), several allowed. The
  names of :data:`openilp.constants.CATEGORY_SETS` are just the usual choices.
* **Study area** (``study_area``): ``"auto"`` (the default on every shell) is the agency's
  boundary layer when the core has one, else the cells within 300 m of an event known at the
  first forecast moment (the proxy of the analytics reference §8, from past events only);
  ``"boundary"``, ``"near_events"``, or GeoJSON polygons (text, never a file name).
* **As of**: the forecast is issued at local midnight starting ``as_of`` (default: the day after
  the latest located incident); periods are local calendar days.
* **Method** is validated once, in the request (:data:`openilp.analysis.forecast.FORECASTERS`).
* **One store read.** Events are loaded once per call for the whole window the call needs (and,
  for methods that read context, once for every category, the chosen ones picked in memory): this
  week's forecast with twelve weeks of measured accuracy reads the store once.

Events come from :func:`openilp.services.analysis.events.load_events`, so only where and when
incidents occurred reach a forecaster (no protected attribute is even loaded).

* **Reported crime only** (``training``). Forecasts, backtests and the patrol plans built on them
  learn from incidents reported by the public, the context of the learned model included. Incidents
  discovered by police (stops, searches, warrants) measure where police were and would feed patrol
  back to the same places (Ensign et al. 2018); they enter only with ``training="weighted"``, kept
  in inverse proportion to their logged patrol propensities, and any other training set is refused
  (:func:`check_training`). See ``docs/civil-rights.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

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
from openilp.constants import CATEGORY_SETS, DEFAULT_FORECAST_METHOD
from openilp.core import OpenILP, Request, Result, plain
from openilp.db.models import Agency
from openilp.errors import InvalidRequest
from openilp.fairness import inverse_propensity_sample
from openilp.security.actors import UserInfo
from openilp.services.analysis.accuracy import record_backtest
from openilp.services.analysis.common import (
    LIMITS,
    cached,
    check_categories,
    check_day,
    check_forecast_methods,
    check_study_area,
    latest_incident_date,
    reader_agency,
    study_polygons,
)
from openilp.services.analysis.events import (
    EventQuery,
    expand_categories,
    load_events,
    local_day_bounds,
    patrol_propensities,
)
from openilp.services.engine import backtest

__all__ = [
    "CATEGORY_SETS",
    "DEFAULT_BACKTEST_PARAMS",
    "FORECAST_STUDY_AREAS",
    "SCORING_RULE",
    "BacktestReport",
    "BacktestRequest",
    "ForecastRequest",
    "ForecastResult",
    "WeeklyForecastRequest",
    "WeeklyForecastResult",
    "backtest_forecasters",
    "forecast_facts",
    "forecast_geojson",
    "split_categories",
    "run_backtest",
    "run_forecast",
    "study_area_grid",
    "weekly_forecast",
]

#: Words a forecast request may give as its study area (anything else must be GeoJSON text).
FORECAST_STUDY_AREAS = ("auto", "boundary", "near_events")
#: Largest number of weekly forecasts one backtest may score (three years).
MAX_BACKTEST_PERIODS = 160


#: Parameters used in rolling backtests (warm starts reuse earlier work, never later data).
DEFAULT_BACKTEST_PARAMS: dict[str, dict[str, Any]] = {
    "sepp": {"warm_start": True},
    "learned": {"warm_start": True, "retrain_every_days": 28.0},
}


def _check_forecast_fields(
    categories: tuple[str, ...], cell_size_m: float, history_days: int, study_area: str
) -> tuple[str, ...]:
    """Checks shared by every forecasting request; the categories cleaned."""
    cleaned = check_categories(categories)
    if not cleaned:
        raise InvalidRequest("give a category code or crime group to forecast, e.g. burglary")
    if not (isinstance(cell_size_m, int | float) and 25 <= cell_size_m <= 5_000):
        raise InvalidRequest(f"cell size must be between 25 and 5,000 metres, got {cell_size_m!r}")
    if not 28 <= history_days <= LIMITS.max_history_days:
        raise InvalidRequest(f"history must be between 28 and {LIMITS.max_history_days:,} days, got {history_days}")
    check_study_area(study_area, FORECAST_STUDY_AREAS)
    return cleaned


#: What forecasts may train on: reported crime only (the default), or reported crime with the
#: discovered incidents weighted by their logged patrol propensities (Ensign et al. 2018).
TRAINING_CHOICES = ("reported", "weighted")


def check_training(training: str) -> None:
    """Refuse any training set other than reported crime or propensity-weighted discovered incidents.

    >>> check_training("all")
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: a model trained on unweighted discovered incidents ...
    """
    if training in TRAINING_CHOICES:
        return
    raise InvalidRequest(
        "a model trained on unweighted discovered incidents (officer-initiated: stops, searches, warrants) "
        "learns where police patrolled, not where crime happens, and sends patrol back there (Ensign et al. 2018; "
        f"Lum & Isaac 2016), so training={training!r} is refused. Train on crime reported by the public "
        "(training=reported, the default), or on discovered incidents weighted by the logged probability that "
        "patrol was there (training=weighted)"
    )


def split_categories(text: str) -> tuple[str, ...]:
    """Category words from ``"burglary"`` or ``"burglary,robbery"`` (as the command line and the API take them).

    >>> split_categories("burglary, robbery")
    ('burglary', 'robbery')
    """
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class ForecastRequest(Request):
    """One forecast: ``method`` fitted on the events known at local midnight starting ``as_of``,
    scoring every study-area cell for the next ``horizon_days`` local calendar days."""

    #: Agency code; empty = the signed-in user's agency (or the only agency in the store).
    agency_code: str = ""
    #: Category codes or crime groups (refinements included).
    categories: tuple[str, ...] = ("burglary",)
    #: Day the forecast is issued (local midnight); None = the day after the latest located incident.
    as_of: dt.date | None = None
    method: str = DEFAULT_FORECAST_METHOD
    cell_size_m: float = 150.0
    horizon_days: float = 7.0
    #: Days of events before ``as_of`` the method learns from.
    history_days: int = 730
    #: ``"auto"``, ``"boundary"``, ``"near_events"`` or GeoJSON text (see the module docstring).
    study_area: str = "auto"
    #: The method's parameters as ``(name, value)`` pairs (a mapping is accepted and sorted).
    params: tuple[tuple[str, Any], ...] = ()
    #: What the method trains on: ``"reported"`` crime (default) or ``"weighted"`` (reported crime
    #: and discovered incidents kept in inverse proportion to their logged patrol propensities).
    training: str = "reported"

    def validate(self) -> ForecastRequest:
        categories = _check_forecast_fields(self.categories, self.cell_size_m, self.history_days, self.study_area)
        check_forecast_methods([self.method])
        check_training(self.training)
        check_day(self.as_of, "as_of")
        if not (isinstance(self.horizon_days, int | float) and 1 <= self.horizon_days <= 28):
            raise InvalidRequest(f"the horizon must be between 1 and 28 days, got {self.horizon_days!r}")
        params = self.params.items() if isinstance(self.params, Mapping) else self.params
        return dataclasses.replace(self, categories=categories, params=tuple(sorted(params)))

    @property
    def label(self) -> str:
        """The categories as one label (``burglary`` or ``burglary,robbery``)."""
        return ",".join(self.categories)


@dataclass(frozen=True)
class ForecastResult(Result):
    """A fitted forecaster (its ``grid_`` holds the cells) and the scores of its cells.

    ``as_dict()`` is the forecast's facts (:func:`forecast_facts`) with the ten highest-ranked cells:
    what ``openilp forecast --json`` prints and the ``forecast`` member of the API's GeoJSON.
    """

    request: ForecastRequest
    forecaster: Forecaster
    scores: np.ndarray[Any, Any]
    period_end: pd.Timestamp
    timezone: str

    def top_cells(self, n: int = 10) -> list[int]:
        """The ``n`` highest-scoring cells (ties by cell id, as the rank of :func:`forecast_geojson`)."""
        values = np.asarray(self.scores, dtype=np.float64)
        return [int(i) for i in np.lexsort((np.arange(len(values)), -values))[:n]]

    def as_dict(self) -> dict[str, Any]:
        facts = forecast_facts(
            self.forecaster,
            period_end=self.period_end,
            timezone=self.timezone,
            category=self.request.label,
            horizon_days=float(self.request.horizon_days),
            study_area=_study_label(self.request.study_area),
        )
        data = plain({**facts, "top_cells": self.top_cells()})
        assert isinstance(data, dict)
        return data

    def to_geojson(self) -> dict[str, Any]:
        """The cells as GeoJSON (:func:`forecast_geojson`) with :meth:`as_dict` as the ``forecast`` member."""
        collection = forecast_geojson(self.forecaster, self.scores)
        collection["forecast"] = {**self.as_dict(), "scoring": SCORING_RULE}
        return collection


def _study_label(study_area: str) -> str:
    return "given area" if study_area.lstrip().startswith("{") else study_area


@dataclass(frozen=True)
class BacktestRequest(Request):
    """A rolling-origin backtest: weekly (``horizon_days``) forecasts from ``date_from`` to ``date_to``."""

    agency_code: str = ""
    categories: tuple[str, ...] = ("burglary",)
    #: First forecast date (local midnight) and last day of the evaluation span; both required.
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    methods: tuple[str, ...] = tuple(FORECASTERS)
    cell_size_m: float = 150.0
    horizon_days: int = 7
    history_days: int = 730
    coverages: tuple[float, ...] = DEFAULT_COVERAGES
    study_area: str = "auto"
    #: Also report the in-sample ceiling of :func:`~openilp.analysis.backtest.stable_risk_oracle`.
    oracle: bool = False

    def validate(self) -> BacktestRequest:
        categories = _check_forecast_fields(self.categories, self.cell_size_m, self.history_days, self.study_area)
        if self.date_from is None or self.date_to is None:
            raise InvalidRequest("give the first forecast date (date_from) and the last day (date_to)")
        check_day(self.date_from, "date_from")
        check_day(self.date_to, "date_to")
        if self.date_from > self.date_to:
            raise InvalidRequest(f"date_from {self.date_from} is after date_to {self.date_to}")
        if not 1 <= self.horizon_days <= 28:
            raise InvalidRequest(f"the horizon must be between 1 and 28 days, got {self.horizon_days}")
        periods = ((self.date_to - self.date_from).days + 1) / self.horizon_days
        if periods > MAX_BACKTEST_PERIODS:
            raise InvalidRequest(
                f"{periods:.0f} forecast periods exceed the {MAX_BACKTEST_PERIODS} one backtest may score: "
                "shorten the span or lengthen the horizon"
            )
        methods = check_forecast_methods(self.methods)
        if not self.coverages or not all(0 < c < 1 for c in self.coverages):
            raise InvalidRequest("coverages must be fractions of the area between 0 and 1, e.g. 0.05")
        return dataclasses.replace(self, categories=categories, methods=methods, coverages=tuple(self.coverages))


@dataclass(frozen=True)
class BacktestReport(Result):
    """A scored backtest (:class:`~openilp.analysis.backtest.BacktestResult` in ``backtest``).

    ``as_dict()`` is what ``openilp backtest --json`` prints: horizon, coverages, cells, periods,
    facts and the summary (mean and 95 % CI per method and metric).
    """

    request: BacktestRequest
    backtest: BacktestResult

    def as_dict(self) -> dict[str, Any]:
        payload = self.backtest.to_dict()
        return {k: payload[k] for k in ("horizon_days", "coverages", "n_cells", "periods", "meta", "summary")}


@dataclass(frozen=True)
class WeeklyForecastRequest(Request):
    """This week's forecast (``forecast``) and the accuracy of the same method and of the naive
    baseline over the ``evaluation_weeks`` weekly forecasts before it (what the page shows)."""

    forecast: ForecastRequest = field(default_factory=ForecastRequest)
    evaluation_weeks: int = 12

    def validate(self) -> WeeklyForecastRequest:
        if not 1 <= self.evaluation_weeks <= 104:
            raise InvalidRequest("evaluation_weeks must be between 1 and 104")
        return dataclasses.replace(self, forecast=self.forecast.validate())


@dataclass(frozen=True)
class WeeklyForecastResult(Result):
    """The forecast and its measured accuracy; ``as_dict()`` is the API's GeoJSON."""

    forecast: ForecastResult
    accuracy: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        collection = self.forecast.to_geojson()
        collection["accuracy"] = self.accuracy
        return collection


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


def forecast_facts(
    forecaster: Forecaster,
    *,
    period_end: pd.Timestamp | None = None,
    timezone: str | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    """What a fitted forecast is: method, parameters, as-of moment, cells, events used, the period
    (when ``period_end`` is given), the time zone, and ``metadata``."""
    grid = forecaster.grid_
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
    return {**facts, **metadata}


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
    :mod:`openilp.analysis.evaluation`). Forecast facts (:func:`forecast_facts`) and the scoring
    rule (:data:`SCORING_RULE`) go in a ``forecast`` member. An outside scorer needs nothing else
    to reproduce hit rate, PAI and PEI.
    """
    grid = forecaster.grid_
    values = np.asarray(scores, dtype=np.float64)
    order = np.lexsort((np.arange(len(values)), -values))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(1, len(values) + 1)
    collection = grid.to_geojson({"score": values, "area_m2": grid.areas_m2, "rank": rank}, id_property="cell_id")
    facts = forecast_facts(forecaster, period_end=period_end, timezone=timezone, **metadata)
    collection["forecast"] = {**facts, "scoring": SCORING_RULE}
    return collection


def backtest_forecasters(methods: Sequence[str]) -> dict[str, Forecaster]:
    """Fresh forecasters for a backtest, by name (with :data:`DEFAULT_BACKTEST_PARAMS`)."""
    return {m: make_forecaster(m, **DEFAULT_BACKTEST_PARAMS.get(m, {})) for m in check_forecast_methods(methods)}


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


@dataclass(frozen=True)
class _Loaded:
    """The events of one store read: the chosen categories, and every category as context."""

    events: pd.DataFrame
    context: pd.DataFrame | None
    agency: Agency


def _uses_context(methods: Sequence[str]) -> bool:
    return any(FORECASTERS[m].uses_context for m in methods if m in FORECASTERS)


def _training_events(core: OpenILP, query: EventQuery, training: str) -> tuple[pd.DataFrame, Agency]:
    """The incidents a forecast may learn from: reported crime, and with ``training="weighted"`` the
    discovered incidents kept with probability ``min(P) / P`` (inverse-propensity sampling, seeded);
    a discovered incident without a logged propensity refuses the whole request."""
    check_training(training)
    reported, agency = load_events(core.engine, dataclasses.replace(query, attention=("reported",)))
    if training == "reported":
        return reported, agency
    discovered, _ = load_events(core.engine, dataclasses.replace(query, attention=("discovered",)))
    propensity = patrol_propensities(core.engine, discovered["incident_id"].tolist())
    missing = int(np.isnan(propensity).sum())
    if missing:
        raise InvalidRequest(
            f"{missing:,} of the {len(discovered):,} discovered incidents have no logged patrol propensity, "
            "so they cannot be weighted (Ensign et al. 2018): train on reported crime (training=reported), "
            "or import the propensities ([attention] propensity in the source description)"
        )
    keep = inverse_propensity_sample(propensity, np.random.default_rng(0))
    both = pd.concat([reported, discovered[keep]], ignore_index=True)
    both = both.sort_values(["occurred_from", "incident_id"], kind="stable").reset_index(drop=True)
    return both, agency


def _read(
    core: OpenILP,
    agency_code: str,
    categories: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    context: bool,
    training: str = "reported",
) -> _Loaded:
    """One read of the store over ``date_from … date_to``: with ``context``, every category (the
    chosen ones picked in memory), else the chosen categories only. Only what ``training`` allows
    enters (reported crime by default), the context included."""
    if not context:
        query = EventQuery(agency_code, tuple(categories), date_from, date_to)
        events, agency = _training_events(core, query, training)
        _require_events(core, agency_code, categories, events, date_from, date_to)
        return _Loaded(events, None, agency)
    everything, agency = _training_events(core, EventQuery(agency_code, (), date_from, date_to), training)
    with Session(core.engine) as session:
        codes = set(expand_categories(session, list(categories)))
    events = everything[everything["category"].isin(codes).to_numpy()].reset_index(drop=True)
    _require_events(core, agency_code, categories, events, date_from, date_to)
    return _Loaded(events, everything.loc[:, ["x_m", "y_m", "occurred_from", "occurred_to"]], agency)


def _require_events(
    core: OpenILP,
    agency_code: str,
    categories: Sequence[str],
    events: pd.DataFrame,
    date_from: dt.date,
    date_to: dt.date,
) -> None:
    """InvalidRequest saying where the data are when nothing was loaded."""
    if len(events):
        return
    label = ", ".join(categories) or "incidents"
    everything, _ = load_events(core.engine, EventQuery(agency_code, tuple(categories)))
    if len(everything) == 0:
        raise InvalidRequest(f"no located {label} of agency {agency_code} in the store (empty category)")
    reported, _ = load_events(core.engine, EventQuery(agency_code, tuple(categories), attention=("reported",)))
    if len(reported) == 0:
        raise InvalidRequest(
            f"the {len(everything):,} located {label} of agency {agency_code} were all discovered by police or "
            "came to attention in an unknown way, none reported by the public: a forecast trained on them "
            "would learn where police patrolled, not where crime happens (Ensign et al. 2018), so it is refused. "
            "Forecast a reported category, or weight discovered incidents by their logged patrol propensities "
            "(training=weighted)"
        )
    first, last = everything["occurred_from"].min().date(), everything["occurred_from"].max().date()
    raise InvalidRequest(
        f"no located {label} of agency {agency_code} between {date_from} and {date_to}: "
        f"the dates are outside the data, which run from {first} to {last} (UTC)"
    )


def _window(loaded: _Loaded, date_from: dt.date, date_to: dt.date) -> _Loaded:
    """The part of ``loaded`` a separate read of ``date_from … date_to`` would have returned."""
    start, end = local_day_bounds(loaded.agency.timezone, date_from, date_to)

    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        when = frame["occurred_from"]
        return frame[((when >= start) & (when < end)).to_numpy()].reset_index(drop=True)

    context = cut(loaded.context) if loaded.context is not None else None
    return _Loaded(cut(loaded.events), context if context is None or len(context) else None, loaded.agency)


def _polygons(core: OpenILP, agency: Agency, study_area: str) -> PolygonAreas | None:
    polygons, _ = study_polygons(core, agency.code, agency.crs, "auto" if study_area == "auto" else study_area)
    return polygons


def _as_of(core: OpenILP, agency_code: str, as_of: dt.date | None) -> dt.date:
    if as_of is not None:
        return as_of
    latest = latest_incident_date(core.engine, agency_code)
    if latest is None:
        raise InvalidRequest(f"the store holds no located incident of agency {agency_code} yet")
    return latest + dt.timedelta(days=1)


def _forecast(core: OpenILP, request: ForecastRequest, loaded: _Loaded) -> ForecastResult:
    """Fit and predict ``request`` (resolved: agency and as-of set) on events already loaded."""
    assert request.as_of is not None
    agency = loaded.agency
    events = _window(loaded, request.as_of - dt.timedelta(days=request.history_days), request.as_of)
    if len(events.events) == 0:
        _require_events(core, agency.code, request.categories, events.events, request.as_of, request.as_of)
    forecaster = make_forecaster(request.method, **dict(request.params))
    moment = weekly_origins(request.as_of, request.as_of, timezone=agency.timezone, horizon_days=1)[0]
    grid = study_area_grid(
        events.events,
        cell_size_m=request.cell_size_m,
        crs=agency.crs,
        as_of=moment,
        study_area=_polygons(core, agency, request.study_area),
    )
    # The forecast covers local calendar days: 167 hours for a week across the spring change.
    end = period_end(moment, request.horizon_days, agency.timezone)
    length_days = (end - moment) / pd.Timedelta(days=1)
    scores = forecaster.fit(events.events, grid=grid, as_of=moment, context_events=events.context).predict(length_days)
    return ForecastResult(request, forecaster, scores, end, agency.timezone)


def _resolve(core: OpenILP, actor: UserInfo | None, request: ForecastRequest) -> ForecastRequest:
    code = reader_agency(core, actor, request.agency_code)
    return dataclasses.replace(request, agency_code=code, as_of=_as_of(core, code, request.as_of))


def run_forecast(core: OpenILP, actor: UserInfo | None, request: ForecastRequest) -> ForecastResult:
    """Fit ``request.method`` on the events known at local midnight starting ``as_of`` and score
    every study-area cell for the next ``horizon_days`` local calendar days (one store read)."""
    request = _resolve(core, actor, request.validate())

    def compute() -> ForecastResult:
        assert request.as_of is not None
        start = request.as_of - dt.timedelta(days=request.history_days)
        loaded = _read(
            core,
            request.agency_code,
            request.categories,
            start,
            request.as_of,
            _uses_context([request.method]),
            request.training,
        )
        return _forecast(core, request, loaded)

    return cached(core, "forecast", request.agency_code, request, compute)


def _backtest(
    core: OpenILP, request: BacktestRequest, loaded: _Loaded, forecast_dir: str | Path | None = None
) -> BacktestResult:
    """The backtest of ``request`` (resolved) on events already loaded."""
    assert request.date_from is not None and request.date_to is not None
    agency = loaded.agency
    data = _window(loaded, request.date_from - dt.timedelta(days=request.history_days), request.date_to)
    _require_events(core, agency.code, request.categories, data.events, request.date_from, request.date_to)
    origins = weekly_origins(
        request.date_from, request.date_to, timezone=agency.timezone, horizon_days=request.horizon_days
    )
    grid = study_area_grid(
        data.events,
        cell_size_m=request.cell_size_m,
        crs=agency.crs,
        as_of=origins[0],
        study_area=_polygons(core, agency, request.study_area),
    )
    writer = None
    if forecast_dir is not None:
        writer = _ForecastWriter(
            forecast_dir, request.coverages, {"agency": agency.code, "categories": list(request.categories)}
        )
    if writer is None:  # on the settings' engine (Spark fans the origins out)
        result = backtest(
            core,
            data.events,
            grid,
            backtest_forecasters(request.methods),
            origins,
            horizon_days=request.horizon_days,
            coverages=request.coverages,
            context_events=data.context if _uses_context(request.methods) else None,
            timezone=agency.timezone,
        )
    else:  # every scored forecast is written out here, in this process
        result = rolling_origin_backtest(
            data.events,
            grid,
            backtest_forecasters(request.methods),
            origins,
            horizon_days=request.horizon_days,
            coverages=request.coverages,
            context_events=data.context if _uses_context(request.methods) else None,
            timezone=agency.timezone,
            on_forecast=writer,
        )
    if writer is not None:
        result.meta["forecast_manifest"] = str(writer.write_manifest())
    result.meta.update(
        {
            "agency": agency.code,
            "categories": list(request.categories),
            "date_from": str(request.date_from),
            "date_to": str(request.date_to),
            "study_area": _study_label(request.study_area),
            "baselines": [m for m in BASELINES if m in request.methods],
        }
    )
    if request.oracle:
        table = stable_risk_oracle(
            data.events,
            grid,
            origins,
            horizon_days=request.horizon_days,
            coverages=request.coverages,
            timezone=agency.timezone,
        )
        summary = {}
        for column in table.columns[2:]:
            mean, low, high = block_bootstrap_ci(table[column].to_numpy(dtype=float))
            summary[column] = {"mean": mean, "ci_low": low, "ci_high": high}
        result.meta["stable_risk_oracle"] = summary
    return result


def run_backtest(
    core: OpenILP, actor: UserInfo | None, request: BacktestRequest, *, forecast_dir: str | Path | None = None
) -> BacktestReport:
    """Weekly rolling-origin backtest of ``request.methods`` (one store read).

    With ``request.oracle``, ``meta["stable_risk_oracle"]`` also holds the mean PAI (with its 95 %
    CI) of the two in-sample oracles of :func:`~openilp.analysis.backtest.stable_risk_oracle`: a
    ceiling for context, not a forecast.

    ``forecast_dir`` (the command line's ``--out-dir``; never a request field, so no web request
    can name a folder) receives every scored forecast as GeoJSON (the contract of
    :func:`forecast_geojson`, with its period), one file per period and method, and a
    ``manifest.json`` listing period, method, cut-off per coverage, file and the backtest's scores,
    so that anyone can re-score them.

    Every run is recorded in the audit log with its mean PAI and PEI at 1, 2 and 5 % per method
    (:func:`openilp.services.analysis.accuracy.record_backtest`): the measured out-of-sample accuracy
    the public transparency report publishes for the models in use.
    """
    request = request.validate()
    request = dataclasses.replace(request, agency_code=reader_agency(core, actor, request.agency_code))
    assert request.date_from is not None and request.date_to is not None
    start = request.date_from - dt.timedelta(days=request.history_days)
    loaded = _read(
        core, request.agency_code, request.categories, start, request.date_to, _uses_context(request.methods)
    )
    result = _backtest(core, request, loaded, forecast_dir)
    protocol = {
        "categories": request.categories,
        "date_from": str(request.date_from),
        "date_to": str(request.date_to),
        "horizon_days": request.horizon_days,
        "cell_size_m": request.cell_size_m,
        "history_days": request.history_days,
    }
    record_backtest(core, actor, request.agency_code, protocol, result)
    return BacktestReport(request, result)


def weekly_forecast(core: OpenILP, actor: UserInfo | None, request: WeeklyForecastRequest) -> WeeklyForecastResult:
    """This week's forecast with its measured accuracy beside it (what the web page shows).

    The accuracy is the mean hit rate, PAI and PEI (with 95 % CIs) of the same method and of the
    naive baseline over the ``evaluation_weeks`` weekly forecasts before ``as_of``, scored exactly
    as ``openilp backtest``. The forecast itself is the one :func:`run_forecast` gives for the same
    :class:`ForecastRequest`. Everything comes from one read of the store.
    """
    request = request.validate()
    forecast = _resolve(core, actor, request.forecast)
    request = dataclasses.replace(request, forecast=forecast)
    assert forecast.as_of is not None
    as_of, weeks = forecast.as_of, request.evaluation_weeks
    methods = tuple(dict.fromkeys([forecast.method, "naive"]))
    backtest = BacktestRequest(
        forecast.agency_code,
        forecast.categories,
        as_of - dt.timedelta(days=7 * weeks),
        as_of - dt.timedelta(days=1),
        methods,
        forecast.cell_size_m,
        history_days=forecast.history_days,
        study_area=forecast.study_area,
    ).validate()

    def compute() -> WeeklyForecastResult:
        assert backtest.date_from is not None
        start = backtest.date_from - dt.timedelta(days=forecast.history_days)
        loaded = _read(core, forecast.agency_code, forecast.categories, start, as_of, _uses_context(methods))
        this_week = cached(core, "forecast", forecast.agency_code, forecast, lambda: _forecast(core, forecast, loaded))
        result = _backtest(core, backtest, loaded)
        wanted = {f"{m}@{c:g}" for m in ("hit_rate", "pai", "pei") for c in DEFAULT_COVERAGES}
        accuracy = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in result.summary().to_dict(orient="records")
            if row["metric"] in wanted
        ]
        by_week = []
        for (origin, method), group in result.scores.groupby(["origin", "method"], sort=True):
            row = group.iloc[0]
            by_week.append(
                {
                    "week_from": str(pd.Timestamp(str(origin)).date()),
                    "method": str(method),
                    **{
                        f"pai@{c:g}": (
                            None if not np.isfinite(row[f"pai@{c:g}"]) else round(float(row[f"pai@{c:g}"]), 3)
                        )
                        for c in DEFAULT_COVERAGES
                        if f"pai@{c:g}" in row
                    },
                }
            )
        return WeeklyForecastResult(
            this_week,
            {
                "weeks": int(result.scores["origin"].nunique()),
                "from": str(backtest.date_from),
                "to": str(backtest.date_to),
                "methods": list(methods),
                "metrics": accuracy,
                "by_week": by_week,
            },
        )

    return cached(core, "weekly-forecast", forecast.agency_code, request, compute)
