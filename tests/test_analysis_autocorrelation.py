"""Moran's I over distance bands and the Gi* neighbourhood chosen from it.

Moran's I and its randomisation z-score are checked against PySAL esda on real St. Louis counts;
the band choice against a planted cluster whose scale is known, and against clustering at every
scale (the fallback). Exact Gi* tails stay finite for neighbourhoods of a hundred cells and more.
"""

from __future__ import annotations

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest
from conftest import shared_file

from openilp.analysis.autocorrelation import (
    choose_distance_band,
    incremental_morans_i,
    kth_neighbour_distance_m,
    morans_i,
)
from openilp.analysis.grids import SquareGrid
from openilp.analysis.hotspots import exact_tail_probabilities, gi_star
from openilp.analysis.weights import SpatialWeights


def _pysal(weights: SpatialWeights) -> libpysal.weights.W:
    rows = weights.row_index()
    neighbours: dict[int, list[int]] = {i: [] for i in range(weights.n)}
    for r, c in zip(rows.tolist(), weights.indices.tolist(), strict=True):
        neighbours[r].append(c)
    return libpysal.weights.W(neighbours, silence_warnings=True)


@pytest.fixture(scope="module")
def stlouis_counts() -> tuple[SquareGrid, np.ndarray]:
    """A month of St. Louis crime on 300 m cells (x, y in the file's State Plane feet, as metres × 0.3048)."""
    frame = pd.read_csv(shared_file("stlouis", "monthly", "2019", "december2019.csv"), usecols=["XCoord", "YCoord"])
    frame = frame[(frame.XCoord > 0) & (frame.YCoord > 0)]
    x = frame.XCoord.to_numpy() * 0.3048
    y = frame.YCoord.to_numpy() * 0.3048
    grid = SquareGrid.from_points(x, y, cell_size_m=300.0)
    return grid, grid.count(x, y).astype(float)


@pytest.mark.realdata
@pytest.mark.parametrize("band", [300.0, 600.0, 900.0])
def test_morans_i_and_its_z_equal_esda_on_real_counts(
    stlouis_counts: tuple[SquareGrid, np.ndarray], band: float
) -> None:
    grid, counts = stlouis_counts
    weights = grid.weights(distance_band_m=band)
    ours = morans_i(counts, weights)
    theirs = esda.Moran(counts, _pysal(weights), transformation="B", permutations=0)
    assert ours.i == pytest.approx(theirs.I, rel=1e-9)
    assert ours.z == pytest.approx(theirs.z_rand, rel=1e-9)
    scan = incremental_morans_i(counts, grid, [band])
    assert scan.morans_i[0] == pytest.approx(theirs.I, rel=1e-9) and scan.z_scores[0] == pytest.approx(theirs.z_rand)
    assert scan.mean_neighbours[0] == pytest.approx(weights.cardinalities().mean())


def test_a_planted_cluster_is_found_at_its_own_scale() -> None:
    """Blocks of 5 × 5 cells of 100 m, 1.5 km apart: clustering peaks near the blocks' size, not wider."""
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(60, 60))
    counts = np.zeros(grid.n_units)
    for r0 in (5, 25, 45):
        for c0 in (5, 25, 45):
            counts[grid.raster_index[r0 : r0 + 5, c0 : c0 + 5].ravel()] = 4
    bands = [100.0 * k for k in range(1, 11)]
    choice = choose_distance_band(counts, grid, bands)
    assert choice.method == "first peak" and 200.0 <= choice.band_m <= 500.0
    assert "peaks first" in choice.explanation


def test_clustering_at_every_scale_falls_back_to_the_kth_nearest_cell() -> None:
    """A smooth east-west gradient is clustered at every band: no peak, so K = 30 nearest cells."""
    grid = SquareGrid(cell_size_m=150.0, origin=(0.0, 0.0), shape=(80, 80))
    x, _ = grid.centres_m()
    counts = np.round(x / 1000.0)
    choice = choose_distance_band(counts, grid, [150.0 * k for k in range(1, 6)])
    assert choice.method == "k nearest" and choice.k == 30
    assert choice.band_m == pytest.approx(kth_neighbour_distance_m(grid, 30), abs=0.1)
    assert 450.0 < choice.band_m < 500.0  # √10 cells on an interior cell: 474 m; edge cells reach further
    assert all(np.diff(choice.scan.z_scores) > 0)


def test_bad_bands_and_mismatched_values_are_refused() -> None:
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(5, 5))
    with pytest.raises(ValueError, match="positive"):
        incremental_morans_i(np.zeros(25), grid, [0.0, 100.0])
    with pytest.raises(ValueError, match="entries"):
        incremental_morans_i(np.zeros(24), grid, [100.0])


def test_exact_gi_tails_stay_finite_for_wide_neighbourhoods() -> None:
    """C(7148, 113) ~ 1e252 ways overflowed a count-of-ways recursion; probabilities do not."""
    rng = np.random.default_rng(7)
    counts = rng.poisson(0.6, 7148)
    counts[:50] = rng.poisson(40, 50)
    p = exact_tail_probabilities(counts, [113, 113, 9], [400, 60, 3])
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1 + 1e-12))
    assert p[0] < 1e-6 < p[1]  # 400 in 113 draws is extreme; 60 is about the mean (113 × 0.86)
    # Against brute force on a small case.
    small = np.array([0, 0, 0, 1, 1, 2, 3, 5])
    draws = np.array([sum(c) for c in __import__("itertools").combinations(small, 4)])
    for s in range(0, 12):
        assert exact_tail_probabilities(small, [4], [s])[0] == pytest.approx((draws >= s).mean(), abs=1e-12)


def test_wide_band_gi_star_runs_exactly_on_a_busy_grid() -> None:
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(40, 40))
    rng = np.random.default_rng(3)
    counts = rng.poisson(3.0, grid.n_units)
    result = gi_star(counts, grid.weights(distance_band_m=600.0), alternative="greater", exact=True)
    assert np.all(np.isfinite(result.p_sim))
