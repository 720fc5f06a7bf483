"""Gi* with 999 permutations on a ≥ 50,000-cell grid of real data: OpenILP vs PySAL esda, same input.

Chicago residential burglaries 2016 (x, y in EPSG:26971 metres) on a 150 m bounding-box grid
(51k cells, the grid of docs/reference), queen contiguity, Gi* (self included), binary weights.
esda runs once on a small grid first so that its numba compilation is not timed. Also measured: the
share of cells each method flags at p ≤ 0.05 on pure Poisson noise of the same mean.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from bench.common import SHARED_DATA, timed, write_result
from openilp.analysis.grids import SquareGrid
from openilp.analysis.hotspots import gi_star

CELL_SIZE_M = 150.0
PERMUTATIONS = 999


def _esda(counts: np.ndarray, rows: int, cols: int, seed: int) -> Any:
    from esda.getisord import G_Local
    from libpysal.weights import lat2W

    w = lat2W(rows, cols, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(
            counts, w, transform="B", star=True, permutations=PERMUTATIONS, seed=seed, keep_simulations=False
        )


def run() -> dict[str, Any]:
    frame = pd.read_csv(SHARED_DATA / "chicago_burglary" / "chicago_burglary_2014_2017.csv")
    year = frame["date_single"].str[-4:].astype(int)  # dd/mm/yyyy
    all_x, all_y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
    grid = SquareGrid.from_points(all_x, all_y, CELL_SIZE_M, crs="EPSG:26971")
    rows, cols = grid.shape
    counts = grid.count(all_x[year == 2016], all_y[year == 2016]).astype(float)

    def ours() -> Any:
        return gi_star(counts, grid.weights("queen"), permutations=PERMUTATIONS, seed=0)

    ours_s, result = timed(ours, repeat=3)
    ours_9999_s, _ = timed(lambda: gi_star(counts, grid.weights("queen"), permutations=9999, seed=0), repeat=3)

    start = time.perf_counter()
    _esda(np.random.default_rng(0).poisson(1.0, 100).astype(float), 10, 10, seed=0)  # numba compile
    esda_compile_s = time.perf_counter() - start
    esda_s, reference = timed(lambda: _esda(counts, rows, cols, seed=0))

    noise = np.random.default_rng(1).poisson(counts.mean(), grid.n_units).astype(float)
    ours_noise = gi_star(noise, grid.weights("queen"), permutations=PERMUTATIONS, seed=1)
    esda_noise = _esda(noise, rows, cols, seed=1)
    return_value = {
        "data": "Chicago residential burglary 2016",
        "events": int(counts.sum()),
        "cells": grid.n_units,
        "cell_size_m": CELL_SIZE_M,
        "permutations": PERMUTATIONS,
        "openilp_s": round(ours_s, 3),
        "openilp_9999_s": round(ours_9999_s, 3),
        "esda_s": round(esda_s, 2),
        "esda_compile_s": round(esda_compile_s, 1),
        "speedup": round(esda_s / ours_s, 1),
        "max_abs_z_difference": float(np.max(np.abs(result.z - reference.Zs))),
        "noise_mean_per_cell": round(float(counts.mean()), 3),
        "noise_flagged_share_openilp": round(float(np.mean(ours_noise.p_values <= 0.05)), 4),
        "noise_flagged_share_openilp_fdr": round(float(ours_noise.hot_spots(0.05).mean()), 5),
        "noise_flagged_share_esda": round(float((esda_noise.p_sim <= 0.05).mean()), 4),
    }
    write_result("gistar_chicago", return_value)
    return return_value


if __name__ == "__main__":
    print(run())
