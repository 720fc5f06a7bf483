"""Scaling: Knox, Gi* aggregation and a backtest on 1M-10M synthetic incidents, local numpy vs Spark local[2].

Data: the synthetic multi-agency histories of ``openilp synth incidents`` (40 agencies, 2015-2024,
EPSG:5070 metres; ``docs/scale.md``), read from ``$OPENILP_SYNTH_DATA`` (default ``../synth`` beside
the checkout): ``incidents-1m/`` for 1M rows, and the first 2M, 5M and 10M rows of
``incidents-10m/`` (its part files in order). Each size is first written once as one Parquet file of
the six columns the analyses read, so both engines read the same rows from the same file.

Analyses (each in a fresh process; its peak memory is the sum of the resident memory of the process
and its children, the Spark JVM and Python workers included, sampled every 0.2 s; a run is stopped
when that sum passes the memory limit, ``$OPENILP_BENCH_MEMORY_GB``, default 6 GB, and reported as
out of memory):

* **gistar**: every incident counted on a state-wide grid of 500 m cells (the input of Gi*);
  local ``SquareGrid.count`` against ``openilp.spark.units.spark_unit_counts``;
* **knox**: the Knox test of all burglaries 2015-2024 with bands of 100 and 200 m and 7 and 14 days
  and 19 permutations; local ``KnoxTest.fit`` (numba, 2 threads) against
  ``openilp.spark.knox.spark_knox_fit``;
* **backtest**: weekly burglary forecasts (naive and KDE) for the four weeks from 2024-12-01 in
  every agency with at least 100 burglaries in 2024 and one in the 30 days before each origin, on
  150 m cells, with 2024 as history; local ``rolling_origin_backtest`` per agency
  against ``openilp.spark.backtest.spark_backtests`` (one task per agency × origin);
* **knox_wide**, at the largest size only: the same Knox test with bands of 200 to 1,000 m, the
  usual near-repeat table, whose pairs outgrow one process first; Spark counts them in 64
  partitions so that each task holds a small share.

Spark times include neither the session start (reported apart) nor anything before the analysis
reads its Parquet; local times include reading the Parquet the same way. Both engines' results are
compared (counts exactly, statistics within 1e-9).

Run ``nice -n 10 python -m bench spark_scale``; ``BENCH_SPARK_SIZES=1m,2m`` limits the sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO_ROOT, write_result

SYNTH_DATA = Path(os.environ.get("OPENILP_SYNTH_DATA", REPO_ROOT.parent / "synth"))
WORK = REPO_ROOT / "var" / "bench-spark"
SIZES = {"1m": 1_000_000, "2m": 2_000_000, "5m": 5_000_000, "10m": 10_000_000}
COLUMNS = ["agency", "category_code", "occurred_from", "occurred_to", "x_m", "y_m"]
ANALYSES = ("gistar", "knox", "backtest")
#: Run only at the largest size asked for (``BENCH_SPARK_WIDE=0`` leaves it out): the Knox table to 1 km.
WIDE_ANALYSES = ("knox_wide",)
MEMORY_LIMIT_GB = float(os.environ.get("OPENILP_BENCH_MEMORY_GB", "6"))
TIMEOUT_S = float(os.environ.get("OPENILP_BENCH_TIMEOUT_S", "1800"))
KNOX: dict[str, Any] = {"space_bands_m": (100.0, 200.0), "time_bands_days": (7.0, 14.0), "permutations": 19, "seed": 0}
#: The Knox table to 1 km (the usual near-repeat question), where the pairs outgrow one process first.
KNOX_WIDE: dict[str, Any] = KNOX | {"space_bands_m": (200.0, 400.0, 600.0, 800.0, 1000.0)}
ORIGINS = ("2024-12-01", "2024-12-08", "2024-12-15", "2024-12-22")


def prepared(size: str) -> Path:
    """One Parquet file with the first ``SIZES[size]`` rows (the analyses' columns only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = WORK / f"incidents-{size}.parquet"
    if target.exists():
        return target
    WORK.mkdir(parents=True, exist_ok=True)
    source = SYNTH_DATA / ("incidents-1m" if size == "1m" else "incidents-10m")
    wanted, tables = SIZES[size], []
    for part in sorted(source.glob("part-*.parquet")):
        table = pq.read_table(part, columns=COLUMNS)
        tables.append(table.slice(0, wanted))
        wanted -= min(wanted, table.num_rows)
        if wanted == 0:
            break
    if wanted:
        raise FileNotFoundError(f"{source} holds fewer than {SIZES[size]:,} rows")
    pq.write_table(pa.concat_tables(tables), target, row_group_size=250_000)
    return target


# ---------------------------------------------------------------------------------------- one run
def _session() -> Any:
    from openilp.spark.session import spark_session

    return spark_session("local[2]", driver_memory="3g", shuffle_partitions=8)


def _read(path: Path, columns: list[str], burglary: bool = False) -> Any:
    import pyarrow.parquet as pq

    filters = [("category_code", "=", "burglary")] if burglary else None
    return pq.read_table(path, columns=columns, filters=filters).to_pandas()


def gistar_local(path: Path) -> dict[str, Any]:
    from openilp.analysis.grids import SquareGrid

    frame = _read(path, ["x_m", "y_m"])
    x, y = frame["x_m"].to_numpy(), frame["y_m"].to_numpy()
    grid = SquareGrid.from_points(x, y, 500.0)
    return _digest_counts(grid.count(x, y), grid)


def gistar_spark(path: Path, session: Any) -> dict[str, Any]:
    import pyspark.sql.functions as F

    from openilp.analysis.grids import SquareGrid
    from openilp.spark.units import spark_unit_counts

    events = session.read.parquet(str(path)).select("x_m", "y_m")
    row = events.agg(F.min("x_m"), F.min("y_m"), F.max("x_m"), F.max("y_m")).first()
    grid = SquareGrid.from_points([row[0], row[2]], [row[1], row[3]], 500.0)
    return _digest_counts(spark_unit_counts(session, events, grid), grid)


def _digest_counts(counts: np.ndarray, grid: Any) -> dict[str, Any]:
    return {
        "cells": int(grid.n_units),
        "events": int(counts.sum()),
        "non_empty": int((counts > 0).sum()),
        "checksum": int((counts * (np.arange(len(counts)) % 9973 + 1)).sum()),
    }


def knox_local(path: Path) -> dict[str, Any]:
    from openilp.analysis.nearrepeat import KnoxTest

    frame = _read(path, ["occurred_from", "x_m", "y_m"], burglary=True)
    days = np.floor(frame["occurred_from"].to_numpy(dtype="datetime64[s]").astype(np.int64) / 86400.0)
    knox = KnoxTest(**KNOX, n_jobs=2).fit(frame["x_m"].to_numpy(), frame["y_m"].to_numpy(), days)
    return _digest_knox(knox)


def knox_spark(path: Path, session: Any) -> dict[str, Any]:
    import pyspark.sql.functions as F

    from openilp.analysis.nearrepeat import KnoxTest
    from openilp.spark.knox import spark_knox_fit

    events = (
        session.read.parquet(str(path))
        .where(F.col("category_code") == "burglary")
        .select(
            "x_m", "y_m", F.floor(F.unix_seconds(F.col("occurred_from").cast("timestamp")) / 86400.0).alias("t_days")
        )
    )
    return _digest_knox(spark_knox_fit(session, KnoxTest(**KNOX), events))


def knox_wide_local(path: Path) -> dict[str, Any]:
    from openilp.analysis.nearrepeat import KnoxTest

    frame = _read(path, ["occurred_from", "x_m", "y_m"], burglary=True)
    days = np.floor(frame["occurred_from"].to_numpy(dtype="datetime64[s]").astype(np.int64) / 86400.0)
    knox = KnoxTest(**KNOX_WIDE, n_jobs=2).fit(frame["x_m"].to_numpy(), frame["y_m"].to_numpy(), days)
    return _digest_knox(knox)


def knox_wide_spark(path: Path, session: Any) -> dict[str, Any]:
    import pyspark.sql.functions as F

    from openilp.analysis.nearrepeat import KnoxTest
    from openilp.spark.knox import spark_knox_fit

    events = (
        session.read.parquet(str(path))
        .where(F.col("category_code") == "burglary")
        .select(
            "x_m", "y_m", F.floor(F.unix_seconds(F.col("occurred_from").cast("timestamp")) / 86400.0).alias("t_days")
        )
    )
    # Many small partitions of pairs: each task holds only its share of the pairs.
    return _digest_knox(spark_knox_fit(session, KnoxTest(**KNOX_WIDE), events, partitions=64))


def _digest_knox(knox: Any) -> dict[str, Any]:
    return {
        "events": int(knox.n_events_),
        "pairs": int(knox.n_pairs_),
        "observed": knox.observed_.tolist(),
        "knox_ratio": np.round(knox.knox_ratio_, 12).tolist(),
        "p_value": knox.p_value_.tolist(),
    }


def _backtest_jobs(frame: Any) -> dict[str, Any]:
    import pandas as pd

    from openilp.analysis.forecast import make_forecaster
    from openilp.analysis.grids import SquareGrid
    from openilp.spark.backtest import BacktestJob

    jobs = {}
    origins = [pd.Timestamp(day) for day in ORIGINS]
    for agency, events in frame.groupby("agency", sort=True):
        events = events.reset_index(drop=True)
        starts = events["occurred_from"]
        # Agencies whose burglaries cover every origin (an event in the 30 days before each), 100 at least.
        if len(events) < 100 or not all(((starts < t) & (starts >= t - pd.Timedelta(days=30))).any() for t in origins):
            continue
        x, y = events["x_m"].to_numpy(), events["y_m"].to_numpy()
        jobs[str(agency)] = BacktestJob(
            events=events,
            grid=SquareGrid.from_points(x, y, 150.0),
            forecasters={"naive": make_forecaster("naive"), "kde": make_forecaster("kde")},
            origins=origins,
            reference_days=300.0,
        )
    return jobs


def _backtest_frame(frame: Any) -> Any:
    import pandas as pd

    keep = (frame["occurred_from"] >= pd.Timestamp("2024-01-01")) & (
        frame["occurred_from"] < pd.Timestamp("2024-12-29")
    )
    return frame[keep]


def backtest_local(path: Path) -> dict[str, Any]:
    frame = _backtest_frame(_read(path, ["agency", "occurred_from", "occurred_to", "x_m", "y_m"], burglary=True))
    results = {key: job.run(list(job.origins)) for key, job in _backtest_jobs(frame).items()}
    return _digest_backtest(results, len(frame))


def backtest_spark(path: Path, session: Any) -> dict[str, Any]:
    import pyspark.sql.functions as F

    from openilp.spark.backtest import spark_backtests

    frame = (
        session.read.parquet(str(path))
        .where(
            (F.col("category_code") == "burglary")
            & (F.col("occurred_from") >= F.lit("2024-01-01").cast("timestamp_ntz"))
            & (F.col("occurred_from") < F.lit("2024-12-29").cast("timestamp_ntz"))
        )
        .select("agency", "occurred_from", "occurred_to", "x_m", "y_m")
        .toPandas()
    )
    return _digest_backtest(spark_backtests(session, _backtest_jobs(frame)), len(frame))


def _digest_backtest(results: dict[Any, Any], events: int) -> dict[str, Any]:
    scores = {
        key: result.scores.drop(columns="fit_s").select_dtypes("number").to_numpy().round(9).tolist()
        for key, result in sorted(results.items())
    }
    return {"events": events, "backtests": len(results), "rows": sum(len(s) for s in scores.values()), "scores": scores}


def child(analysis: str, engine: str, path: Path) -> dict[str, Any]:
    """One analysis on one engine (in this process): seconds, session start and a result digest."""
    session, session_s = None, 0.0
    if engine == "spark":
        start = time.perf_counter()
        session = _session()
        session_s = time.perf_counter() - start
    start = time.perf_counter()
    if engine == "local":
        digest = globals()[f"{analysis}_local"](path)
    else:
        digest = globals()[f"{analysis}_spark"](path, session)
    seconds = time.perf_counter() - start
    if session is not None:
        session.stop()
    return {"seconds": round(seconds, 2), "session_start_s": round(session_s, 2), "digest": digest}


# ----------------------------------------------------------------------------------------- driver
def _tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry), int(fields[1])
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields[21]) * page
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(analysis: str, engine: str, path: Path) -> dict[str, Any]:
    """Run one analysis in a fresh process, sampling its memory; stop it at the limit."""
    output = WORK / f"{analysis}-{engine}-{path.stem}.json"
    output.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.bench_spark_scale", analysis, engine, str(path), str(output)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, start_new_session=True)
    peak, status, start = 0, "ok", time.monotonic()
    limit = MEMORY_LIMIT_GB * 1e9
    while process.poll() is None:
        peak = max(peak, _tree_rss_bytes(process.pid))
        if peak > limit or time.monotonic() - start > TIMEOUT_S:
            status = "out of memory" if peak > limit else "timeout"
            os.killpg(process.pid, 9)
            process.wait()
            break
        time.sleep(0.2)
    wall = time.monotonic() - start
    if status == "ok" and process.returncode != 0:
        status = f"failed ({process.returncode})"
    result: dict[str, Any] = {"status": status, "peak_gb": round(peak / 1e9, 2), "wall_s": round(wall, 1)}
    if status == "ok":
        result.update(json.loads(output.read_text()))
    return result


def run() -> dict[str, Any]:
    sizes = [s for s in os.environ.get("BENCH_SPARK_SIZES", ",".join(SIZES)).split(",") if s]
    rows: list[dict[str, Any]] = []
    payload: dict[str, Any] = {}
    for size in sizes:
        path = prepared(size)
        wide = WIDE_ANALYSES if size == sizes[-1] and os.environ.get("BENCH_SPARK_WIDE", "1") != "0" else ()
        for analysis in ANALYSES + wide:
            row: dict[str, Any] = {"size": size, "rows": SIZES[size], "analysis": analysis}
            for engine in ("local", "spark"):
                row[engine] = measure(analysis, engine, path)
                print(json.dumps({k: row[k] for k in ("size", "analysis")} | {engine: _short(row[engine])}), flush=True)
            local, spark = row["local"], row["spark"]
            if local["status"] == spark["status"] == "ok":
                row["same_result"] = _same(local["digest"], spark["digest"])
            rows.append(row)
            payload = {
                "data": "synthetic incidents (openilp synth incidents, 40 agencies, seed 1)",
                "memory_limit_gb": MEMORY_LIMIT_GB,
                "spark": "local[2], driver memory 3g, 8 shuffle partitions",
                "knox": {k: list(v) if isinstance(v, tuple) else v for k, v in KNOX.items()},
                "rows": [{k: (_short(v) if k in ("local", "spark") else v) for k, v in r.items()} for r in rows],
                "table_rows": [_table_row(r) for r in rows],
            }
            write_result("spark_scale", payload)  # after every row: a long run keeps what it measured
    return payload


def _cell(result: dict[str, Any]) -> str:
    if result["status"] != "ok":
        return f"{result['status']} at {result['peak_gb']} GB after {result['wall_s']} s"
    return f"{result['seconds']} s, {result['peak_gb']} GB"


def _table_row(row: dict[str, Any]) -> str:
    """A line of the benchmarks table: Spark local[2] against the local engine on the same rows."""
    local, spark = row["local"], row["spark"]
    ratio = (
        f"{spark['seconds'] / local['seconds']:.1f}× the local time"
        if local["status"] == spark["status"] == "ok"
        else "–"
    )
    same = {True: ", same result", False: ", RESULTS DIFFER"}.get(row.get("same_result"), "")
    return (
        f"| scaling: {row['analysis']} on {row['rows']:,} synthetic incidents, Spark local[2] "
        f"| {_cell(spark)}{same} | local engine {_cell(local)} | {ratio} |"
    )


def _short(result: dict[str, Any]) -> dict[str, Any]:
    """The result without its bulky digest (kept: the sizes that say what was computed)."""
    digest = result.get("digest", {})
    small = {k: v for k, v in digest.items() if k in ("events", "pairs", "cells", "non_empty", "backtests", "rows")}
    return {k: v for k, v in result.items() if k != "digest"} | ({"result": small} if small else {})


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) or isinstance(right, float):
        return bool(np.isclose(left, right, rtol=0, atol=1e-9, equal_nan=True))
    return bool(left == right)


if __name__ == "__main__":
    analysis, engine, parquet, out = sys.argv[1:5]
    Path(out).write_text(json.dumps(child(analysis, engine, Path(parquet))))
