"""Forecasting: speed of a grid forecast and of the point-process fit, and the rolling backtests.

Targets (issue 4, on this 2-core machine):
* a grid forecast (naive, KDE, prospective) over 50,000 cells in under 1 s;
* the self-exciting point-process fit on a city-year of burglaries in under 10 s;
* the whole two-year weekly St. Louis backtest of every method and category in under 5 minutes.

The backtests also produce the accuracy figures of ``docs/forecasting.md``: per city, a JSON
summary in ``bench/results/`` and the coverage-curve plot in ``docs/images/``. Data are imported
once into a SQLite store in the temporary folder and read back with the same service code as
``openilp backtest``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from bench.common import REPO_ROOT, SHARED_DATA, import_files, timed, write_result
from openilp.analysis.backtest import BacktestResult, plot_coverage_curves
from openilp.analysis.forecast import BASELINES, FORECASTERS, make_forecaster
from openilp.analysis.grids import SquareGrid
from openilp.config import Settings
from openilp.core import OpenILP
from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.analysis.forecasting import CATEGORY_SETS, BacktestRequest, run_backtest

IMAGES = REPO_ROOT / "docs" / "images"
STORE_DIR = Path(tempfile.gettempdir()) / "openilp-bench"

CITIES: dict[str, dict[str, Any]] = {
    "stlouis": {
        "source": "stlouis",
        "agency": "SLMPD",
        "paths": [SHARED_DATA / "stlouis" / "monthly"],
        "study_area": SHARED_DATA / "stlouis" / "stl_neighborhoods_wgs84.geojson",
        "span": (dt.date(2018, 1, 1), dt.date(2019, 12, 31)),
        "categories": ["burglary", "robbery", "motor_vehicle_theft", "violent", "property"],
    },
    "vancouver": {
        "source": "vancouver",
        "agency": "VPD",
        "paths": [SHARED_DATA / "vancouver" / "yearly"],
        "study_area": SHARED_DATA / "vancouver" / "vancouver_local_areas_22.geojson",
        "span": (dt.date(2023, 1, 1), dt.date(2025, 12, 31)),
        # VPD withholds the location of offences against the person: no located violent crime.
        "categories": ["burglary", "motor_vehicle_theft", "property"],
    },
    "chicago": {
        "source": "chicago_burglary",
        "agency": "CPD",
        "paths": [SHARED_DATA / "chicago_burglary"],
        "study_area": None,  # no boundary file: cells within 300 m of a past burglary
        "span": (dt.date(2016, 1, 1), dt.date(2017, 12, 31)),
        "categories": ["burglary"],
    },
}


def _core(engine: Engine) -> OpenILP:
    """A core over ``engine`` with a data folder of its own (no boundary layer: the request names the area)."""
    folder = tempfile.mkdtemp(prefix="openilp-bench-")
    return OpenILP(Settings(data_dir=folder, secret_key="b" * 40, audit_key="a" * 40), engine)


def store(city: str) -> Engine:
    """A SQLite store holding the city's data (imported once; re-imports skip known files)."""
    config = CITIES[city]
    STORE_DIR.mkdir(parents=True, exist_ok=True)
    path = STORE_DIR / (city + ".sqlite3")
    for attempt in (1, 2):
        engine = make_engine(f"sqlite:///{path}")
        try:
            migrate(engine)
            import_files(engine, load_source_spec(config["source"]), list(config["paths"]))
            return engine
        except Exception:
            # A store left by an older schema: start again from the files.
            engine.dispose()
            if attempt == 2:
                raise
            for stale in STORE_DIR.glob(city + ".sqlite3*"):
                stale.unlink()
    raise AssertionError("unreachable")


def grid_speed() -> dict[str, Any]:
    """Fit + predict of the grid methods on a 51,000-cell grid of Chicago (150 m bounding box)."""
    engine = store("chicago")
    events, _ = load_events(engine, EventQuery("CPD", ("burglary",)))
    grid = SquareGrid.from_points(events["x_m"], events["y_m"], 150.0)
    as_of = pd.Timestamp("2017-06-01 05:00")
    out: dict[str, Any] = {"cells": grid.n_units, "events": len(events), "target_s": 1.0}
    for name in BASELINES:
        forecaster = make_forecaster(name)
        seconds, _ = timed(lambda f=forecaster: f.fit(events, grid=grid, as_of=as_of).predict(7), repeat=3)  # type: ignore[misc]
        out[name] = round(seconds, 4)
    return out


def sepp_speed() -> dict[str, Any]:
    """The point-process EM on a city-year of burglaries (Chicago 2016, the largest year we have)."""
    engine = store("chicago")
    events, _ = load_events(engine, EventQuery("CPD", ("burglary",), dt.date(2016, 1, 1), dt.date(2016, 12, 31)))
    grid = SquareGrid.from_points(events["x_m"], events["y_m"], 150.0)
    model = make_forecaster("sepp")
    seconds, _ = timed(lambda: model.fit(events, grid=grid, as_of=pd.Timestamp("2017-01-01 06:00")))
    return {
        "events": model.n_events_,
        "fit_s": round(seconds, 3),
        "target_s": 10.0,
        "iterations": model.n_iter_,  # type: ignore[attr-defined]
        "pairs": model.n_pairs_,  # type: ignore[attr-defined]
        "theta": round(model.theta_, 4),  # type: ignore[attr-defined]
        "trigger_mean_days": round(model.trigger_mean_days_, 2),  # type: ignore[attr-defined]
        "sigma_m": round(model.sigma_m_, 1),  # type: ignore[attr-defined]
    }


def _verdict(result: BacktestResult) -> dict[str, Any]:
    best_baseline = result.best("pai@0.05", among=BASELINES)
    best = result.best("pai@0.05")
    challenger = best if best not in BASELINES else result.best("pai@0.05", among=["sepp", "learned"])
    return {
        "best_method": best,
        "best_baseline": best_baseline,
        "comparison": result.compare(challenger, best_baseline, "pai@0.05"),
    }


def backtest_city(city: str) -> dict[str, Any]:
    config = CITIES[city]
    engine = store(city)
    date_from, date_to = config["span"]
    results: dict[str, BacktestResult] = {}
    summary: dict[str, Any] = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    for category in config["categories"]:
        area = config["study_area"]
        request = BacktestRequest(
            config["agency"],
            CATEGORY_SETS[category],
            date_from,
            date_to,
            tuple(FORECASTERS),
            study_area="near_events" if area is None else Path(area).read_text(encoding="utf-8"),
            oracle=True,
        )
        result = run_backtest(_core(engine), None, request).backtest
        results[category] = result
        table = result.summary()
        keep = table["metric"].isin([f"{m}@{c:g}" for m in ("hit_rate", "pai", "pei", "rri") for c in result.coverages])
        summary[category] = {
            "periods": int(result.scores["origin"].nunique()),
            "cells": result.n_cells,
            "events_per_period": round(float(result.scores.groupby("origin")["events"].first().mean()), 1),
            "fit_s": {m: round(float(s), 2) for m, s in result.scores.groupby("method")["fit_s"].sum().items()},
            "metrics": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                for row in table[keep].to_dict(orient="records")
            ],
            "table": result.table(["pai@0.01", "pai@0.05", "pai@0.1", "pai@0.2", "pei@0.05", "rri@0.05"]),
            **_verdict(result),
        }
        # In-sample oracles of stable risk (hindsight of the whole span): a ceiling, not a method.
        oracle = result.meta["stable_risk_oracle"]
        baseline_mean = summary[category]["comparison"]["baseline_mean"]
        summary[category]["stable_risk_oracle"] = {
            kind: {
                "pai@0.05": round(oracle[f"{kind}_pai@0.05"]["mean"], 3),
                "ratio_to_best_baseline": round(oracle[f"{kind}_pai@0.05"]["mean"] / baseline_mean, 3),
            }
            for kind in ("in_sample", "leave_out")
        }
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    IMAGES.mkdir(parents=True, exist_ok=True)
    plot_coverage_curves(
        results, IMAGES / f"forecast_coverage_{city}.png", title=f"{city}: weekly forecasts {date_from} … {date_to}"
    )
    payload = {
        "city": city,
        "span": [str(date_from), str(date_to)],
        "backtest_s": round(seconds, 1),
        # CPU time of this process: the wall time on an otherwise idle machine (the work is single-threaded).
        "cpu_s": round(cpu_seconds, 1),
        "categories": summary,
    }
    if city == "stlouis":
        payload["target_s"] = 300.0
    write_result(f"backtest_{city}", payload)
    return {
        "backtest_s": round(seconds, 1),
        "cpu_s": round(cpu_seconds, 1),
        **{c: s["comparison"] for c, s in summary.items()},
    }


def run() -> dict[str, Any]:
    result = {"grid_forecast": grid_speed(), "sepp_fit": sepp_speed()}
    write_result("forecast_speed", result)
    return result


def run_stlouis() -> dict[str, Any]:
    return backtest_city("stlouis")


def run_vancouver() -> dict[str, Any]:
    return backtest_city("vancouver")


def run_chicago() -> dict[str, Any]:
    return backtest_city("chicago")


if __name__ == "__main__":
    import json
    import sys

    for name in sys.argv[1:] or ["speed"]:
        fn = {"speed": run, "stlouis": run_stlouis, "vancouver": run_vancouver, "chicago": run_chicago}[name]
        print(json.dumps(fn(), indent=1, default=str), flush=True)
    _ = np
