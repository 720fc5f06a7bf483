"""Knox near-repeat test: 10 × 10 bands (to 1 km and 70 days), 999 permutations.

Data: all St. Louis burglaries of the 60 monthly files (located, net of reversals; times = the
local calendar day of the occurrence window's midpoint) and the 45,319 Chicago burglaries of
2014–2017 (date only). Each run happens in a fresh subprocess so that its peak resident memory
(``ru_maxrss``) is its own.

Baseline: the straightforward all-pairs approach (:func:`knox_counts_bruteforce`, one pass over
all ``n(n−1)/2`` pairs per count, as ``open_cp``/NRC-style tools do), timed on a 2,000-event
subsample for the observed table plus 99 permutations, then scaled to the full size and 999
permutations as ``time × (n / 2000)² × (1000 / 100)``: its work is O(n² × (permutations + 1)).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from bench.common import REPO_ROOT, SHARED_DATA, write_result

SPACE = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
TIME = [7, 14, 21, 28, 35, 42, 49, 56, 63, 70]
PERMUTATIONS = 999
BASELINE_N = 2000
BASELINE_PERMUTATIONS = 99


def load_stlouis() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from openilp.analysis.nearrepeat import event_days
    from openilp.ingest.normalize import normalize
    from openilp.ingest.reading import read_source_file
    from openilp.ingest.spec import load_source_spec

    spec = load_source_spec("stlouis")
    frames = []
    for path in sorted((SHARED_DATA / "stlouis" / "monthly").glob("*/*.csv*")):
        batch = normalize(read_source_file(path, spec), spec)
        frame = batch.frame.assign(delta=batch.count_delta)
        frames.append(frame[frame["category_code"] == "burglary"])
    frame = pd.concat(frames, ignore_index=True)
    net = frame.groupby("source_key")["delta"].sum()
    frame = frame[frame["source_key"].isin(net[net > 0].index) & (frame["delta"] > 0)]
    frame = frame[frame["location_status"] == "located"].drop_duplicates("source_key")
    local = [
        frame[c].dt.tz_localize("UTC").dt.tz_convert("America/Chicago").dt.tz_localize(None)
        for c in ("occurred_from", "occurred_to")
    ]
    return frame["x_m"].to_numpy(), frame["y_m"].to_numpy(), event_days(local[0], local[1])


def load_chicago() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = pd.read_csv(SHARED_DATA / "chicago_burglary" / "chicago_burglary_2014_2017.csv")
    day = pd.to_datetime(frame["date_single"], format="%d/%m/%Y")
    days = ((day - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy()
    return frame["x"].to_numpy(float), frame["y"].to_numpy(float), days


def _child(dataset: str, n_jobs: int) -> dict[str, Any]:
    """Runs in a subprocess: load, fit, report time and peak memory."""
    import resource
    import tracemalloc

    from openilp.analysis.nearrepeat import KnoxTest

    x, y, t = load_stlouis() if dataset == "stlouis" else load_chicago()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    knox = KnoxTest(space_bands_m=SPACE, time_bands_days=TIME, permutations=PERMUTATIONS, seed=1, n_jobs=n_jobs)
    knox.fit(x, y, t)
    seconds = time.perf_counter() - start
    fit_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = knox.table()
    first_week = table[table["time_index"] == 0].set_index("space_band")["knox_ratio"].round(2)
    return {
        "events": knox.n_events_,
        "pairs_within_1km": knox.n_pairs_,
        "n_jobs": n_jobs,
        "fit_s": round(seconds, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "rss_before_fit_mb": round(before / 1024, 1),
        "fit_peak_allocated_mb": round(fit_peak / 2**20, 1),
        "knox_ratio_first_week": first_week.to_dict(),
        "summary": knox.summary(event_name="burglaries")[:3],
    }


def _in_subprocess(dataset: str, n_jobs: int) -> dict[str, Any]:
    code = f"import json; from bench.bench_knox import _child; print(json.dumps(_child({dataset!r}, {n_jobs})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _baseline(x: np.ndarray, y: np.ndarray, t: np.ndarray, n_full: int) -> dict[str, Any]:
    from openilp.analysis.nearrepeat import knox_counts_bruteforce

    rng = np.random.default_rng(0)
    pick = rng.choice(x.size, BASELINE_N, replace=False)
    xs, ys, ts = x[pick], y[pick], t[pick]
    start = time.perf_counter()
    knox_counts_bruteforce(xs, ys, ts, SPACE, TIME)
    for _ in range(BASELINE_PERMUTATIONS):
        knox_counts_bruteforce(xs, ys, rng.permutation(ts), SPACE, TIME)
    seconds = time.perf_counter() - start
    scaled = seconds * (n_full / BASELINE_N) ** 2 * (PERMUTATIONS + 1) / (BASELINE_PERMUTATIONS + 1)
    return {
        "subsample": BASELINE_N,
        "permutations": BASELINE_PERMUTATIONS,
        "measured_s": round(seconds, 2),
        "scaled_to_full_s": round(scaled, 1),
    }


def run() -> dict[str, Any]:
    result: dict[str, Any] = {
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "bands": "10 space (100 m to 1 km, plus same location) × 10 time (7 to 70 days)",
        "permutations": PERMUTATIONS,
        "targets": "St. Louis < 10 s; Chicago < 60 s and < 2 GB; ≥ 100× the all-pairs approach",
    }
    for dataset in ("stlouis", "chicago"):
        runs = {f"n_jobs_{jobs}": _in_subprocess(dataset, jobs) for jobs in (1, 2)}
        x, y, t = load_stlouis() if dataset == "stlouis" else load_chicago()
        baseline = _baseline(x, y, t, x.size)
        best = min(r["fit_s"] for r in runs.values())
        result[dataset] = {
            **runs,
            "all_pairs_baseline": baseline,
            "speedup_vs_all_pairs": round(baseline["scaled_to_full_s"] / best, 1),
        }
    result["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    write_result("knox", result)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
