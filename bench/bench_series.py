"""Crime-series linkage: pair features per minute on a city's burglaries, and accuracy on ``crimelinkage``.

Speed. The 45,319 Chicago residential burglaries of 2014–2017 (metres, dates): candidate pairs
within 1 km and 365 days are found with a KD-tree (``scipy.spatial.cKDTree``) and their evidence
variables computed with :func:`openilp.analysis.linkage.features.pair_features` (distance,
expected time gap, time-of-day and day-of-week distances, category agreement). The target is at
least 1,000,000 pairs per minute. Baseline, same run: the same variables computed pair by pair in
Python (how the Python port ``crimeserieslinkage`` computes them, 500–900 pairs/s there), timed
on 20,000 of the pairs, whose values must equal the vectorised ones.

Accuracy. ``openilp series evaluate`` on the ``crimelinkage`` files (5 held-out-pair splits and 5
held-out-offender splits), against the published replication (AUC 0.870–0.878, precision@50
0.54–0.70).
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from bench.common import SHARED_DATA, write_result

MAX_DISTANCE_M = 1000.0
MAX_DAYS = 365.0
BASELINE_PAIRS = 20_000


def load_chicago() -> pd.DataFrame:
    frame = pd.read_csv(SHARED_DATA / "chicago_burglary" / "chicago_burglary_2014_2017.csv")
    day = pd.to_datetime(frame["date_single"], format="%d/%m/%Y")
    return pd.DataFrame(
        {
            "x": frame["x"].astype(float),
            "y": frame["y"].astype(float),
            "occurred_from": day,
            "occurred_to": day + pd.Timedelta(hours=23, minutes=59),
            "category": "burglary",
        }
    )


def _loop_features(crimes: Any, i: np.ndarray, j: np.ndarray, quadrature: int = 6) -> np.ndarray:
    """The evidence variables pair by pair in plain Python (the baseline)."""

    def exp_abs(a1: float, b1: float, a2: float, b2: float) -> float:
        m1, m2 = (a1 + b1) / 2, (a2 + b2) / 2
        l1, l2 = b1 - a1, b2 - a2
        if not (a1 < b2 and a2 < b1):
            return abs(m2 - m1)
        if l1 < 1e-3 and l2 >= 1e-3:
            return ((m1 - a2) ** 2 + (b2 - m1) ** 2) / (2 * l2)
        if l2 < 1e-3 and l1 >= 1e-3:
            return ((m2 - a1) ** 2 + (b1 - m2) ** 2) / (2 * l1)
        if l1 < 1e-3 and l2 < 1e-3:
            return abs(m2 - m1)
        shift = max(a1, a2)
        p, q, r, s = a1 - shift, b1 - shift, a2 - shift, b2 - shift

        def k(u: float, v: float) -> float:
            return -(max(u - v, 0.0) ** 3) / 6

        return (m2 - m1) + 2 * (k(q, s) - k(p, s) - k(q, r) + k(p, r)) / (l1 * l2)

    def circ(s1: float, l1: float, s2: float, l2: float, period: float) -> float:
        l1, l2 = min(l1, period), min(l2, period)
        total = 0.0
        for u in range(quadrature):
            for v in range(quadrature):
                d = abs((s1 + l1 * (u + 0.5) / quadrature) - (s2 + l2 * (v + 0.5) / quadrature)) % period
                total += min(d, period - d)
        return total / quadrature**2

    codes = list(crimes.fields.values())
    out = []
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        la = crimes.t_to[a] - crimes.t_from[a]
        lb = crimes.t_to[b] - crimes.t_from[b]
        row = [
            math.hypot(crimes.x[a] - crimes.x[b], crimes.y[a] - crimes.y[b]),
            exp_abs(crimes.t_from[a], crimes.t_to[a], crimes.t_from[b], crimes.t_to[b]),
            circ(crimes.tod_from[a], la * 24, crimes.tod_from[b], lb * 24, 24.0),
            circ(crimes.dow_from[a], la, crimes.dow_from[b], lb, 7.0),
        ]
        for field in codes:
            same = field[a] == field[b] and field[a] >= 0
            row += [float(same), 0.0]
        out.append(row)
    return np.array(out)


def run_linkage() -> dict[str, Any]:
    from openilp.analysis.linkage.candidates import candidate_pairs
    from openilp.analysis.linkage.features import CrimeTable, pair_features

    load_start = [round(v, 2) for v in os.getloadavg()]
    frame = load_chicago()
    crimes = CrimeTable.from_frame(frame, fields=["category"])
    start = time.perf_counter()
    i, j = candidate_pairs(crimes, max_distance=MAX_DISTANCE_M, max_days=MAX_DAYS)
    blocking_s = time.perf_counter() - start
    start = time.perf_counter()
    features = pair_features(crimes, i, j)
    features_s = time.perf_counter() - start
    pairs = int(i.size)

    rng = np.random.default_rng(0)
    pick = rng.choice(pairs, size=min(BASELINE_PAIRS, pairs), replace=False)
    start = time.perf_counter()
    looped = _loop_features(crimes, i[pick], j[pick])
    loop_s = time.perf_counter() - start
    vector = features.to_numpy()[pick]
    # the loop leaves the rarity column at 0 for a single category (its value is -log 1 = 0 too)
    max_difference = float(np.abs(looped - vector).max())

    per_minute = pairs / features_s * 60
    per_minute_with_blocking = pairs / (features_s + blocking_s) * 60
    loop_per_minute = pick.size / loop_s * 60
    result: dict[str, Any] = {
        "load_average_at_start": load_start,
        "data": f"Chicago residential burglaries 2014–2017 ({crimes.size:,})",
        "blocking": f"pairs within {MAX_DISTANCE_M:g} m and {MAX_DAYS:g} days",
        "pairs": pairs,
        "features": list(features.columns),
        "blocking_s": round(blocking_s, 2),
        "features_s": round(features_s, 2),
        "pairs_per_minute": round(per_minute),
        "pairs_per_minute_with_blocking": round(per_minute_with_blocking),
        "target_pairs_per_minute": 1_000_000,
        "python_loop_baseline": {
            "pairs": int(pick.size),
            "seconds": round(loop_s, 2),
            "pairs_per_minute": round(loop_per_minute),
            "max_abs_difference": max_difference,
        },
        "speedup_vs_python_loop": round(per_minute / loop_per_minute, 1),
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
    }
    result["accuracy"] = _accuracy()
    result["table_rows"] = _table_rows(result)
    write_result("series_linkage", result)
    return result


def _accuracy() -> dict[str, Any]:
    from openilp.services.series import EvaluateLinkageRequest, evaluate_linkage_files

    folder = SHARED_DATA / "crimelinkage"
    out: dict[str, Any] = {}
    for split in ("pairs", "groups"):
        start = time.perf_counter()
        evaluation = evaluate_linkage_files(
            None,
            None,
            EvaluateLinkageRequest(
                crimes_path=folder / "crimes.csv", offenders_path=folder / "offenders.csv", split=split
            ),
        )
        summary = evaluation.as_dict()["summary"]
        out[split] = {
            "seconds": round(time.perf_counter() - start, 1),
            "headline_model": evaluation.headline_model,
            **{
                name: {key: summary[name][key] for key in ("auc", "weighted_auc", "precision_at_50")}
                for name in ("boosted", "logistic", "naive_bayes", "only_spatial", "only_temporal")
            },
        }
    return out


def _table_rows(result: dict[str, Any]) -> list[str]:
    base = result["python_loop_baseline"]
    rows = [
        f"| series linkage pair features, {result['data']}, {result['pairs']:,} pairs ({result['blocking']}) "
        f"| {result['pairs_per_minute']:,} pairs/min ({result['features_s']} s; with KD-tree blocking "
        f"{result['pairs_per_minute_with_blocking']:,}/min); target ≥ 1,000,000/min "
        f"| Python pair loop {base['pairs_per_minute']:,} pairs/min on {base['pairs']:,} pairs "
        f"(same values within {base['max_abs_difference']:.0e}) | {result['speedup_vs_python_loop']:,}× |"
    ]
    for split, label in (("pairs", "held-out pairs"), ("groups", "held-out offenders")):
        acc = result["accuracy"][split]
        head = acc[acc["headline_model"]]
        rows.append(
            f"| series linkage accuracy, crimelinkage data, 5 {label} splits ({acc['seconds']} s) "
            f"| {acc['headline_model']}: AUC {head['auc']['mean']:.3f} ({head['auc']['minimum']:.3f}–"
            f"{head['auc']['maximum']:.3f}), precision@50 {head['precision_at_50']['mean']:.2f} "
            f"({head['precision_at_50']['minimum']:.2f}–{head['precision_at_50']['maximum']:.2f}) "
            f"| crimeserieslinkage (published replication): AUC 0.870–0.878, precision@50 0.54–0.70 | – |"
        )
    return rows


if __name__ == "__main__":
    print(json.dumps(run_linkage(), indent=2))
