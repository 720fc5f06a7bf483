"""Trend alerts over the whole of St. Louis, from a cold start: time and peak memory.

One CompStat table (every category, every neighbourhood, the week, 28 days and the year to date
against the four baselines) built by :func:`openilp.services.analysis.trends.run_trends` from the
SQLite store of the 60 monthly files, with no result cache. Target (issue: slow paths): under 5 s
and under 500 MB peak resident memory for the whole process.

Baseline (same run, same store, same code path): the E-test computed by statsmodels'
``test_poisson_2indep(method="etest")``, whose square grid of terms grows with the counts (the
citywide all-category rows compare about ten thousand crimes with ten thousand). Each run happens
in a fresh subprocess so that its peak resident memory (``ru_maxrss``) is its own, and the two
tables' p-values are compared row by row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO_ROOT, write_result

TARGET_S = 5.0
TARGET_MB = 500.0


def _statsmodels_etest(count1: int, count2: int, exposure1: float = 1.0, exposure2: float = 1.0, **_: Any) -> Any:
    """The baseline E-test: statsmodels, with the same result shape as ``etest_exact``."""
    from statsmodels.stats.rates import test_poisson_2indep

    from openilp.analysis.assessment.rates import ETestResult

    with np.errstate(divide="ignore", invalid="ignore"):
        result = test_poisson_2indep(count1, exposure1, count2, exposure2, method="etest")
    return ETestResult(float("nan"), float(min(max(result.pvalue, 0.0), 1.0)), float("nan"))


def _child(engine_path: str, method: str, p_values_path: str) -> dict[str, Any]:
    """Runs in a subprocess: build the table from a cold start, report time and peak memory."""
    import resource
    import time

    from openilp.db import make_engine
    from openilp.services.analysis.trends import TrendRequest, run_trends

    if method == "statsmodels":
        import openilp.analysis.trends as trends

        trends.etest_exact = _statsmodels_etest  # type: ignore[assignment]
        trends._etest.cache_clear()
    engine = make_engine(f"sqlite:///{engine_path}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = run_trends(engine, TrendRequest("SLMPD"))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = result.table.sort_values("key")
    np.save(p_values_path, table["p_value"].to_numpy(dtype=float))
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak, 1),
        "rss_after_imports_mb": round(before, 1),
        "rows": len(table),
        "alerts": int((table["severity"] == "alert").sum()),
        "incidents": len(result.events),
        "as_of": str(result.as_of),
        "largest_counts": [int(table["current"].max()), int(table["baseline_count"].max())],
    }


def _in_subprocess(engine_path: Path, method: str, p_values_path: Path) -> dict[str, Any]:
    code = (
        "import json; from bench.trends_stlouis import _child; "
        f"print(json.dumps(_child({str(engine_path)!r}, {method!r}, {str(p_values_path)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run() -> dict[str, Any]:
    from bench.bench_forecast import STORE_DIR, store  # not in the children: they import only what they time

    store("stlouis").dispose()  # imported once into the benchmark store, then reused
    engine_path = STORE_DIR / "stlouis.sqlite3"
    result: dict[str, Any] = {
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "data": "St. Louis, every category and neighbourhood, week / 28 days / year to date x 4 baselines",
        "targets": {"seconds_max": TARGET_S, "peak_rss_mb_max": TARGET_MB},
        "baseline": "the same table with statsmodels' E-test (test_poisson_2indep, method='etest')",
    }
    with tempfile.TemporaryDirectory() as folder:
        ours = _in_subprocess(engine_path, "openilp", Path(folder) / "openilp.npy")
        theirs = _in_subprocess(engine_path, "statsmodels", Path(folder) / "statsmodels.npy")
        difference = np.abs(np.load(Path(folder) / "openilp.npy") - np.load(Path(folder) / "statsmodels.npy"))
    result["openilp"] = ours
    result["statsmodels"] = theirs
    result["max_p_value_difference"] = float(difference.max())
    result["speedup"] = round(theirs["seconds"] / ours["seconds"], 1)
    result["memory_ratio"] = round(theirs["peak_rss_mb"] / ours["peak_rss_mb"], 1)
    result["meets_targets"] = ours["seconds"] < TARGET_S and ours["peak_rss_mb"] < TARGET_MB
    write_result("trends_stlouis", result)
    return result
