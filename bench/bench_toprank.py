"""Forecasts for the top 1–2 % of a city: ``toprank`` against the naive counts, the tuned blend
baseline and the learned model, on the same weeks, grid and events (one run).

* ``toprank_chicago``: the protocol of the issue on Chicago residential burglary (weekly forecasts
  for the 12 weeks from 2017-01-01, 150 m cells, study area = the cells within 300 m of a burglary
  known at the first forecast among the two years before it, exactly as ``openilp backtest
  --agency CPD --category burglary --from 2017-01-01 --to 2017-03-25 --cell-size 150`` lays it
  out), then the 104 weeks of 2016–2017 on the same layout rule;
* ``toprank_stlouis``: St. Louis burglary 2018–2019 (the 88 neighbourhoods as study area);
* ``toprank_vancouver``: Vancouver burglary (break and enter) 2023–2025 (the 22 local areas).

Every method gets the same events (all the reported crime the store holds before each forecast, the
learned model's context of every category included, under the strict cut-off of
``openilp.analysis.forecast``) and is scored by the same rolling-origin backtest. The tuned methods
(``blend``, ``toprank``) choose their parameters at every forecast on the 52 weeks before it only.
``blend_reference`` is the blend of the analytics reference with its published parameters
(prospective hot-spotting over 3 cells and 16 weeks + 0.5 × one-year counts, tuned there on
October–December 2016, before the Chicago weeks). ``toprank_2y`` is ``toprank`` fed only the two
years of history a single forecast loads by default (``history_days``), on Chicago only: fed a new
frame every week it keeps no work between fits and takes ten times as long. ``toprank_ensemble`` is
``toprank`` averaging its ten best candidates scored at 1, 2 and 5 % (chosen on Chicago 2016 and
St. Louis 2017), measured beside the default on the same weeks (``toprank_ensemble_vs``), as is
``toprank_prospective`` (prospective hot-spotting offered as a boost, the objective at 1, 2 and 5 %
with 2 % weighed twice; chosen on the same weeks by the rule of ``bench.bench_toprank_dev``). Paired
differences are per week with 95 % moving-block bootstrap intervals (``BacktestResult.compare``).
Every run records the machine's load average at its start and end: figures measured under load
are slower, never different.

``OPENILP_BENCH_TOPRANK_LEARNED=0`` leaves the learned model and the reference blend out of the
St. Louis and Vancouver runs, ``OPENILP_BENCH_TOPRANK_CHICAGO_FULL=0`` leaves out Chicago's 104
weeks, learned model and two-year ``toprank`` (for a busy machine); such shortened runs are
recorded as ``toprank_<city>_short``, beside the full runs.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.bench_forecast import CITIES, store
from bench.common import write_result
from openilp.analysis.backtest import BacktestResult, rolling_origin_backtest, weekly_origins
from openilp.analysis.forecast import Forecaster, make_forecaster
from openilp.constants import CATEGORY_SETS
from openilp.services.analysis.common import boundary_areas
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.analysis.forecasting import study_area_grid

COVERAGES = (0.01, 0.02, 0.05, 0.10)
#: Coverages of the verdict, and the methods ``toprank`` is compared with.
AT = (0.01, 0.02, 0.05)
AGAINST = ("naive", "blend", "blend_reference", "learned")
#: Whether the St. Louis and Vancouver runs include ``learned`` and ``blend_reference`` (the learned
#: model is most of their time; its figures on the same weeks and grid are in ``backtest_*``).
WITH_LEARNED_ELSEWHERE = os.environ.get("OPENILP_BENCH_TOPRANK_LEARNED", "1") != "0"
#: Whether the Chicago run adds, after the protocol's 12 weeks, the 104 weeks of 2016–2017 and the
#: learned model and two-year ``toprank`` (most of its time; ``0`` on a busy machine: the protocol's
#: 12 weeks with naive, kde, prospective and both blends).
CHICAGO_FULL = os.environ.get("OPENILP_BENCH_TOPRANK_CHICAGO_FULL", "1") != "0"


def _name(city: str, full: bool) -> str:
    """The result's name: a shortened run is kept beside the full one (``toprank_<city>_short``)."""
    return f"toprank_{city}" if full else f"toprank_{city}_short"


#: Days of history the backtest command loads by default (the study area is laid out from them).
PROTOCOL_HISTORY_DAYS = 730


class _RecentOnly(Forecaster):
    """A forecaster fed only the events of the last ``days`` before each forecast."""

    def __init__(self, *, inner: Forecaster, days: float) -> None:
        self.inner = inner
        self.days = days

    def fit(self, events: pd.DataFrame, **kwargs: Any) -> _RecentOnly:
        as_of = pd.Timestamp(kwargs["as_of"])
        self.inner.fit(events[events["occurred_from"] >= as_of - pd.Timedelta(days=self.days)], **kwargs)
        self.as_of_ = as_of
        self.grid_ = self.inner.grid_
        return self

    def predict(self, horizon_days: float = 7.0) -> Any:
        return self.inner.predict(horizon_days)

    def _fit(self, history: Any) -> None:  # pragma: no cover - fit is delegated
        raise NotImplementedError

    def _predict(self, horizon_days: float) -> Any:  # pragma: no cover
        raise NotImplementedError


#: Variants tried and not made the default, measured beside it on the same weeks (parameters of ``toprank``).
VARIANTS: dict[str, dict[str, Any]] = {
    # The ten best candidates averaged, scored at 1, 2 and 5 %.
    "toprank_ensemble": {"ensemble": 10, "target_coverages": (0.01, 0.02, 0.05)},
    # Prospective hot-spotting offered as a boost, the objective at 1, 2 and 5 % with 2 % weighed twice
    # (chosen on Chicago 2016 and St. Louis 2017 by the rule of ``bench.bench_toprank_dev``).
    "toprank_prospective": {
        "prospective_weeks": (8, 16),
        "target_coverages": (0.01, 0.02, 0.05),
        "coverage_weights": (1.0, 2.0, 1.0),
    },
}


def _forecasters(*, with_two_years: bool, with_learned: bool) -> dict[str, Forecaster]:
    chosen: dict[str, Forecaster] = {
        "naive": make_forecaster("naive"),
        "kde": make_forecaster("kde"),
        "prospective": make_forecaster("prospective"),
        "learned": make_forecaster("learned", warm_start=True, retrain_every_days=28.0),
        "blend": make_forecaster("blend"),
        "blend_reference": make_forecaster("blend", bandwidths_cells=(3,), windows_weeks=(16,), weights=(0.5,)),
        "toprank": make_forecaster("toprank"),
        **{name: make_forecaster("toprank", **params) for name, params in VARIANTS.items()},
    }
    if not with_learned:
        del chosen["learned"], chosen["blend_reference"]
    if with_two_years:
        chosen["toprank_2y"] = _RecentOnly(inner=make_forecaster("toprank"), days=PROTOCOL_HISTORY_DAYS)
    return chosen


def _paired(result: BacktestResult, method: str, baseline: str, coverage: float) -> dict[str, Any]:
    comparison = result.compare(method, baseline, f"pai@{coverage:g}")
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in comparison.items()}


def _summary(result: BacktestResult) -> dict[str, Any]:
    table = result.summary()
    means = {
        (row["method"], row["metric"]): [round(row["mean"], 3), round(row["ci_low"], 3), round(row["ci_high"], 3)]
        for row in table.to_dict(orient="records")
        if row["metric"].startswith(("pai@", "pei@"))
    }
    methods: dict[str, dict[str, Any]] = {}
    for (method, metric), value in means.items():
        methods.setdefault(method, {})[metric] = value

    def versus(method: str) -> list[dict[str, Any]]:
        comparisons = []
        for baseline in (b for b in AGAINST if b in methods):
            for c in AT:
                comparison = result.compare(method, baseline, f"pai@{c:g}")
                comparisons.append({k: (round(v, 4) if isinstance(v, float) else v) for k, v in comparison.items()})
        return comparisons

    return {
        "periods": int(result.scores["origin"].nunique()),
        "cells": result.n_cells,
        "events_per_period": round(float(result.scores.groupby("origin")["events"].first().mean()), 1),
        "fit_s": {m: round(float(s), 2) for m, s in result.scores.groupby("method")["fit_s"].sum().items()},
        "methods": methods,
        "toprank_vs": versus("toprank"),
        # The default method as a single forecast runs it (two years of history), where measured.
        "toprank_2y_vs": versus("toprank_2y") if "toprank_2y" in methods else [],
        **{
            f"{name}_vs": versus(name) + [_paired(result, name, "toprank", c) for c in AT]
            for name in VARIANTS
            if name in methods
        },
        "table": result.table([f"pai@{c:g}" for c in COVERAGES] + ["pei@0.01", "pei@0.02"]),
    }


def backtest_inputs(
    city: str, category: str, date_from: dt.date, date_to: dt.date, *, study_area: Path | None
) -> dict[str, Any]:
    """The events, context, grid and weekly origins of a run, laid out as ``openilp backtest`` does."""
    config = CITIES[city]
    engine = store(city)
    # Reported crime only, as every forecast and backtest of the services trains (docs/forecasting.md).
    reported = ("reported",)
    events, agency = load_events(
        engine, EventQuery(config["agency"], tuple(CATEGORY_SETS[category]), None, date_to, attention=reported)
    )
    context, _ = load_events(engine, EventQuery(config["agency"], (), None, date_to, attention=reported))
    context = context.loc[:, ["x_m", "y_m", "occurred_from", "occurred_to"]]
    origins = weekly_origins(date_from, date_to, timezone=agency.timezone)
    # The study area exactly as the backtest command lays it out (from its default two years of history).
    protocol = events[events["occurred_from"] >= pd.Timestamp(date_from - dt.timedelta(days=PROTOCOL_HISTORY_DAYS))]
    polygons = boundary_areas(study_area, agency.crs) if study_area else None
    grid = study_area_grid(protocol, cell_size_m=150.0, crs=agency.crs, as_of=origins[0], study_area=polygons)
    return {"events": events, "context": context, "grid": grid, "origins": origins, "timezone": agency.timezone}


def backtest(
    city: str,
    category: str,
    date_from: dt.date,
    date_to: dt.date,
    *,
    study_area: Path | None,
    with_two_years: bool = False,
    with_learned: bool = True,
) -> dict[str, Any]:
    inputs = backtest_inputs(city, category, date_from, date_to, study_area=study_area)
    events, grid, origins = inputs["events"], inputs["grid"], inputs["origins"]
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    start, cpu = time.perf_counter(), time.process_time()
    result = rolling_origin_backtest(
        events,
        grid,
        _forecasters(with_two_years=with_two_years, with_learned=with_learned),
        origins,
        coverages=COVERAGES,
        context_events=inputs["context"],
        timezone=inputs["timezone"],
    )
    return {
        "category": category,
        "span": [str(date_from), str(date_to)],
        "history_from": str(events["occurred_from"].min().date()),
        "backtest_s": round(time.perf_counter() - start, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        # Other work on the 2-core machine while it ran (1, 5 and 15-minute load averages).
        "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        **_summary(result),
    }


def run_chicago() -> dict[str, Any]:
    spans = ((dt.date(2017, 1, 1), dt.date(2017, 3, 25)), (dt.date(2016, 1, 1), dt.date(2017, 12, 31)))
    runs = [
        backtest(
            "chicago", "burglary", start, end, study_area=None, with_two_years=CHICAGO_FULL, with_learned=CHICAGO_FULL
        )
        for start, end in spans[: 2 if CHICAGO_FULL else 1]
    ]
    payload = {"city": "chicago", "runs": runs}
    write_result(_name("chicago", CHICAGO_FULL), payload)
    return payload


def run_stlouis() -> dict[str, Any]:
    config = CITIES["stlouis"]
    run = backtest(
        "stlouis",
        "burglary",
        dt.date(2018, 1, 1),
        dt.date(2019, 12, 31),
        study_area=config["study_area"],
        with_learned=WITH_LEARNED_ELSEWHERE,
    )
    payload = {"city": "stlouis", "runs": [run]}
    write_result(_name("stlouis", WITH_LEARNED_ELSEWHERE), payload)
    return payload


def run_vancouver() -> dict[str, Any]:
    config = CITIES["vancouver"]
    run = backtest(
        "vancouver",
        "burglary",
        dt.date(2023, 1, 1),
        dt.date(2025, 12, 31),
        study_area=config["study_area"],
        with_learned=WITH_LEARNED_ELSEWHERE,
    )
    payload = {"city": "vancouver", "runs": [run]}
    write_result(_name("vancouver", WITH_LEARNED_ELSEWHERE), payload)
    return payload
