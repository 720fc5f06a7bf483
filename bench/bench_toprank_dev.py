"""Variants of ``toprank`` on development weeks only, and the rule that picks one to try on the
reported spans.

The development weeks are the 52 weeks of Chicago 2016 and of St. Louis 2017, all before every
reported span (Chicago's 12 weeks from 2017-01-01, St. Louis 2018–2019, Vancouver 2023–2025), laid
out as the reported runs are (``bench.bench_toprank.backtest_inputs``). Every variant and the
default are scored by the same rolling-origin backtest on the same weeks, grid and events; each
tunes its parameters at every forecast on the weeks before it only.

The rule, fixed before any variant was run: the variant with the largest mean relative gain in
mean weekly PAI over the default, over both cities at 1, 2 and 5 % (six gains), among the variants
none of whose six gains is negative; none if no variant qualifies. Only the chosen variant is then
run on the reported spans, once, beside the default (``bench.bench_toprank``).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from bench.bench_forecast import CITIES
from bench.bench_toprank import backtest_inputs
from bench.common import write_result
from openilp.analysis.backtest import rolling_origin_backtest
from openilp.analysis.forecast import Forecaster, make_forecaster

AT = (0.01, 0.02, 0.05)
#: The development spans: a year before every reported span.
SPANS = {
    "chicago": (dt.date(2016, 1, 1), dt.date(2016, 12, 31)),
    "stlouis": (dt.date(2017, 1, 1), dt.date(2017, 12, 31)),
}
#: The variants of this round (the default's parameters unless said).
VARIANTS: dict[str, dict[str, Any]] = {
    # The objective: 1, 2 and 5 % with 2 % weighed twice; 2 % alone; the worst coverage relative to the best candidate.
    "objective 1/2/5 % weighted 1:2:1": {"target_coverages": (0.01, 0.02, 0.05), "coverage_weights": (1.0, 2.0, 1.0)},
    "objective 2 % alone": {"target_coverages": (0.02,)},
    "objective max-min relative at 1/2/5 %": {"target_coverages": (0.01, 0.02, 0.05), "objective": "min_relative"},
    # The prospective (blend) surface offered as a boost beside the near-repeat ones, its weight tuned.
    "prospective boost (8 and 16 weeks, 3 cells)": {"prospective_weeks": (8, 16)},
    "prospective boost + objective 1:2:1": {
        "prospective_weeks": (8, 16),
        "target_coverages": (0.01, 0.02, 0.05),
        "coverage_weights": (1.0, 2.0, 1.0),
    },
    # A longer tuning window (Chicago's data start in 2014: 78 weeks is the most its 2016 folds allow).
    "tuned on the last 78 weeks": {"tuning_weeks": 78},
}


def forecasters() -> dict[str, Forecaster]:
    chosen: dict[str, Forecaster] = {"toprank": make_forecaster("toprank"), "blend": make_forecaster("blend")}
    for name, params in VARIANTS.items():
        chosen[name] = make_forecaster("toprank", **params)
    return chosen


def dev_city(city: str) -> dict[str, Any]:
    """Every variant, the default and the tuned blend on the city's development weeks."""
    date_from, date_to = SPANS[city]
    inputs = backtest_inputs(city, "burglary", date_from, date_to, study_area=CITIES[city]["study_area"])
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    start = time.perf_counter()
    result = rolling_origin_backtest(
        inputs["events"],
        inputs["grid"],
        forecasters(),
        inputs["origins"],
        coverages=AT,
        context_events=inputs["context"],
        timezone=inputs["timezone"],
    )
    summary = result.summary()
    means = {
        (row["method"], row["metric"]): round(float(row["mean"]), 4)
        for row in summary.to_dict(orient="records")
        if row["metric"].startswith("pai@")
    }
    methods = sorted({m for m, _ in means})
    out: dict[str, Any] = {
        "span": [str(date_from), str(date_to)],
        "periods": int(result.scores["origin"].nunique()),
        "cells": result.n_cells,
        "backtest_s": round(time.perf_counter() - start, 1),
        "load_average_at_start": load_at_start,
        "fit_s": {m: round(float(s), 2) for m, s in result.scores.groupby("method")["fit_s"].sum().items()},
        "pai": {m: [means[(m, f"pai@{c:g}")] for c in AT] for m in methods},
        "vs_default": {},
    }
    for method in methods:
        if method == "toprank":
            continue
        rows = []
        for c in AT:
            comparison = result.compare(method, "toprank", f"pai@{c:g}")
            rows.append({k: (round(v, 4) if isinstance(v, float) else v) for k, v in comparison.items()})
        out["vs_default"][method] = rows
    return out


def choose(cities: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The rule of the module docstring: relative gains of every variant, and the chosen one (or None)."""
    gains: dict[str, list[float]] = {}
    for name in VARIANTS:
        gains[name] = [
            round(run["pai"][name][j] / run["pai"]["toprank"][j] - 1.0, 5) for run in cities.values() for j in range(3)
        ]
    qualifying = {name: sum(g) / len(g) for name, g in gains.items() if min(g) >= 0}
    chosen = max(qualifying, key=lambda name: qualifying[name]) if qualifying else None
    return {"relative_gains": gains, "mean_gain_of_qualifying": qualifying, "chosen": chosen}


def run() -> dict[str, Any]:
    cities = {city: dev_city(city) for city in SPANS}
    payload = {"cities": cities, "variants": {k: repr(v) for k, v in VARIANTS.items()}, **choose(cities)}
    write_result("toprank_dev", payload)
    return payload
