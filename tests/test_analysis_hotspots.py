"""Hot spots: Gi* against PySAL esda, exact permutation inference, calibration on random scatter,
FDR, KDE mass conservation, stability classes, and a real-data check on St. Louis burglaries.

No timings here: speed is measured by ``python -m bench gistar``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from conftest import SHARED_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.grids import SquareGrid
from openilp.analysis.hotspots import (
    benjamini_hochberg,
    gi_star,
    hotspot_stability,
    rate_per_1000_residents,
    rate_per_km2,
)
from openilp.analysis.kde import kernel_density, kernel_weights
from openilp.analysis.weights import SpatialWeights

STL_CRS = "EPSG:26996"
NEIGHBOURHOODS = SHARED_DATA / "stlouis" / "stl_neighborhoods_wgs84.geojson"


@pytest.fixture(scope="module")
def city() -> PolygonAreas:
    return PolygonAreas.from_geojson(NEIGHBOURHOODS, id_property="NHD_NUM", target_crs=STL_CRS)


@pytest.fixture(scope="module")
def city_grid(city: PolygonAreas) -> SquareGrid:
    """St. Louis on 100 m cells, masked to the city (16,089 cells)."""
    return SquareGrid.from_bounds(city.union().bounds, 100.0, study_area=city, crs=STL_CRS)


def random_scatter(area: shapely.Geometry, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` events uniformly at random over ``area`` (no spatial pattern)."""
    x_min, y_min, x_max, y_max = area.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    while sum(len(a) for a in xs) < n:
        x, y = rng.uniform(x_min, x_max, 3 * n), rng.uniform(y_min, y_max, 3 * n)
        inside = shapely.contains_xy(area, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def esda_g_local(counts: np.ndarray, w: Any) -> Any:
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(counts, w, transform="B", star=True, permutations=0)


# --- analytical Gi* against esda --------------------------------------------------------------


@pytest.mark.parametrize("rook", [False, True])
def test_gi_star_z_equals_esda_on_a_lattice(rook: bool) -> None:
    from libpysal.weights import lat2W

    rows, cols = 60, 80
    grid = SquareGrid(cell_size_m=150.0, origin=(0.0, 0.0), shape=(rows, cols))
    counts = np.random.default_rng(42).poisson(0.4, grid.n_units).astype(float)
    ours = gi_star(counts, grid.weights("rook" if rook else "queen"), permutations=0)
    reference = esda_g_local(counts, lat2W(rows, cols, rook=rook))
    assert np.max(np.abs(ours.z - reference.Zs)) < 1e-9
    assert np.max(np.abs(ours.gi - reference.Gs)) < 1e-12
    assert ours.p_sim is None


def test_gi_star_z_equals_esda_on_the_masked_city_with_a_distance_band(city_grid: SquareGrid) -> None:
    from libpysal.weights import DistanceBand

    counts = np.random.default_rng(7).poisson(0.25, city_grid.n_units).astype(float)
    cx, cy = city_grid.centres_m()
    for band in (150.0, 300.0):  # 150 m ~ queen on 100 m cells; 300 m: 28 neighbours
        reference_w = DistanceBand(np.column_stack([cx, cy]), threshold=band, binary=True, silence_warnings=True)
        reference = esda_g_local(counts, reference_w)
        ours = gi_star(counts, city_grid.weights(distance_band_m=band), permutations=0)
        assert np.max(np.abs(ours.z - reference.Zs)) < 1e-9


def test_gi_star_z_with_general_weights_matches_the_ord_getis_formula() -> None:
    rng = np.random.default_rng(3)
    n = 40
    dense = (rng.random((n, n)) < 0.15) * rng.uniform(0.2, 2.0, (n, n))
    np.fill_diagonal(dense, 0.0)
    rows, cols = np.nonzero(dense)
    weights = SpatialWeights.from_pairs(rows, cols, dense[rows, cols], n=n)
    x = rng.poisson(2.0, n).astype(float)
    result = gi_star(x, weights, permutations=0, self_weight=0.5)
    w = dense + 0.5 * np.eye(n)
    w_sum, s1 = w.sum(1), (w**2).sum(1)
    mean, sd = x.mean(), x.std()
    expected_z = (w @ x - mean * w_sum) / (sd * np.sqrt((n * s1 - w_sum**2) / (n - 1)))
    assert np.allclose(result.z, expected_z, atol=1e-12)
    assert np.allclose(result.p_norm, [0.5 * math.erfc(z / math.sqrt(2)) for z in expected_z], atol=1e-15)


# --- permutation inference --------------------------------------------------------------------


def exact_upper_tail(x: np.ndarray, k: int, observed: float) -> float:
    """P(sum of k values drawn without replacement from x >= observed), by enumeration."""
    sums = np.array([x[list(c)].sum() for c in itertools.combinations(range(len(x)), k)])
    return float(np.mean(sums >= observed - 1e-12))


def test_permutation_p_values_converge_to_the_exact_randomisation_distribution() -> None:
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(3, 4))
    x = np.array([0, 0, 1, 3, 0, 2, 0, 0, 5, 1, 0, 0], dtype=float)
    weights = grid.weights("rook")
    for method in ("grouped", "full"):
        result = gi_star(x, weights, permutations=20_000, seed=2, method=method)
        assert result.p_sim is not None
        k = weights.with_self_weight().cardinalities()
        exact = np.array([exact_upper_tail(x, int(k[i]), result.local_sum[i]) for i in range(grid.n_units)])
        assert np.max(np.abs(result.p_sim - exact)) < 0.01, method


def test_permutation_p_values_are_reproducible_with_a_seed(city_grid: SquareGrid) -> None:
    counts = np.random.default_rng(1).poisson(0.3, city_grid.n_units).astype(float)
    weights = city_grid.weights("queen")
    first = gi_star(counts, weights, permutations=199, seed=123)
    again = gi_star(counts, weights, permutations=199, seed=123)
    other = gi_star(counts, weights, permutations=199, seed=124)
    assert first.p_sim is not None and again.p_sim is not None and other.p_sim is not None
    assert np.array_equal(first.p_sim, again.p_sim)
    assert not np.array_equal(first.p_sim, other.p_sim)
    full = gi_star(counts, weights, permutations=199, seed=123, method="full")
    assert full.p_sim is not None
    full_again = gi_star(counts, weights, permutations=199, seed=123, method="full").p_sim
    assert full_again is not None and np.array_equal(full.p_sim, full_again)
    # Two simulations of the same null: close on average.
    assert np.mean(np.abs(full.p_sim - first.p_sim)) < 0.03


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(2, 12),
    cols=st.integers(2, 12),
    rate=st.floats(0.0, 5.0),
    alternative=st.sampled_from(["greater", "less", "two-sided"]),
    permutations=st.integers(1, 200),
)
def test_p_values_lie_in_zero_one(
    seed: int, rows: int, cols: int, rate: float, alternative: str, permutations: int
) -> None:
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(rows, cols))
    counts = np.random.default_rng(seed).poisson(rate, grid.n_units)
    result = gi_star(counts, grid.weights("queen"), permutations=permutations, seed=seed, alternative=alternative)  # type: ignore[arg-type]
    assert result.p_sim is not None
    smallest = 1.0 / (permutations + 1)
    assert ((result.p_sim >= smallest - 1e-15) & (result.p_sim <= 1.0)).all()
    assert ((result.p_norm >= 0.0) & (result.p_norm <= 1.0)).all()
    assert np.isclose(np.nansum(result.local_sum), float(grid.weights("queen").with_self_weight().matmul(counts).sum()))


def test_mask_restricts_the_statistic_to_the_study_area() -> None:
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(10, 10))
    counts = np.random.default_rng(0).poisson(1.0, grid.n_units).astype(float)
    mask = np.zeros(grid.n_units, dtype=bool)
    mask[:60] = True
    masked = gi_star(counts, grid.weights("queen"), mask=mask, permutations=99, seed=0)
    small = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(6, 10))
    direct = gi_star(counts[:60], small.weights("queen"), permutations=99, seed=0)
    assert np.isnan(masked.z[60:]).all()
    assert np.allclose(masked.z[:60], direct.z)
    assert masked.p_sim is not None and direct.p_sim is not None
    assert np.array_equal(masked.p_sim[:60], direct.p_sim)


# --- calibration --------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("events", [1500, 4000])
def test_gi_star_is_calibrated_on_random_scatter_over_the_city(
    city: PolygonAreas, city_grid: SquareGrid, events: int
) -> None:
    """No spatial pattern: at most 5 % of cells flagged at 0.05, almost none after FDR control.

    With 1,500-4,000 events on 16,089 cells, 78-91 % of cells are empty: as zero-heavy as a year of
    burglary. esda's folded conditional p_sim flags ~19 % of cells on such data.
    """
    area = city.union()
    weights = city_grid.weights("queen")
    rng = np.random.default_rng(events)
    for _ in range(3):
        counts = city_grid.count(*random_scatter(area, events, rng))
        assert (counts == 0).mean() > 0.75
        result = gi_star(counts, weights, permutations=999, seed=rng)
        assert result.p_sim is not None
        assert (result.p_sim <= 0.05).mean() <= 0.05
        assert result.hot_spots(0.05, fdr=True).sum() <= 0.001 * city_grid.n_units
        two_sided = gi_star(counts, weights, permutations=999, seed=rng, alternative="two-sided")
        assert two_sided.p_sim is not None
        assert (two_sided.p_sim <= 0.05).mean() <= 0.05


def test_gi_star_finds_a_planted_hot_spot() -> None:
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(60, 60))
    rng = np.random.default_rng(9)
    counts = rng.poisson(0.3, grid.n_units).astype(float)
    block = grid.raster_index[30:33, 40:43].ravel()
    counts[block] += rng.poisson(3.0, len(block))
    result = gi_star(counts, grid.weights("queen"), seed=1)
    hot = result.hot_spots(0.05)
    assert hot[grid.raster_index[31, 41]]
    assert hot.sum() < 40, "flags stay around the planted block"


# --- FDR, rates, stability --------------------------------------------------------------------


def test_benjamini_hochberg_equals_scipy() -> None:
    from scipy.stats import false_discovery_control

    p = np.random.default_rng(0).uniform(size=500) ** 3
    assert np.allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"), atol=1e-15)
    with_nan = np.concatenate([p[:10], [np.nan]])
    q = benjamini_hochberg(with_nan)
    assert np.isnan(q[-1]) and np.allclose(q[:10], false_discovery_control(p[:10], method="bh"))


def test_rates() -> None:
    assert rate_per_km2([3, 0], [10_000.0, 22_500.0]).tolist() == [300.0, 0.0]
    rates = rate_per_1000_residents([10, 4, 1], [2000.0, 0.0, np.nan])
    assert rates[0] == 5.0 and np.isnan(rates[1:]).all()


def test_stability_classes_for_every_three_period_pattern() -> None:
    patterns = np.array(list(itertools.product([0, 1], repeat=3))).T  # periods × units
    classes = dict(zip(map(tuple, patterns.T), hotspot_stability(patterns), strict=True))
    assert classes == {
        (0, 0, 0): "none",
        (0, 0, 1): "emerging",
        (0, 1, 1): "emerging",
        (1, 0, 0): "diminishing",
        (1, 1, 0): "diminishing",
        (1, 1, 1): "persistent",
        (0, 1, 0): "sporadic",
        (1, 0, 1): "sporadic",
    }
    ten = np.ones((10, 2), dtype=bool)
    ten[4, 0] = False  # 9 of 10 periods hot: still persistent
    ten[[2, 3, 4, 5, 6, 7, 8, 9], 1] = False  # hot, hot, then never: diminishing
    assert hotspot_stability(ten).tolist() == ["persistent", "diminishing"]
    with pytest.raises(ValueError):
        hotspot_stability([[True, False]])


# --- kernel density ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("bandwidth_m", [None, 60.0, 400.0])
def test_kde_surface_sums_to_the_events_in_the_study_area(
    city: PolygonAreas, kernel: str, bandwidth_m: float | None
) -> None:
    grid = SquareGrid.from_bounds(city.union().bounds, 50.0, study_area=city, crs=STL_CRS)
    rng = np.random.default_rng(4)
    x, y = random_scatter(city.union(), 2000, rng)
    x = np.concatenate([x, [0.0, np.nan]])  # one event far outside, one unlocated
    y = np.concatenate([y, [0.0, np.nan]])
    inside = int((grid.assign(x, y) >= 0).sum())
    surface = kernel_density(x, y, grid, bandwidth_m=bandwidth_m, kernel=kernel)  # type: ignore[arg-type]
    assert surface.shape == (grid.n_units,)
    assert (surface >= 0).all()
    assert surface.sum() == pytest.approx(inside, rel=1e-9)
    leaky = kernel_density(x, y, grid, bandwidth_m=bandwidth_m, kernel=kernel, edge_correction=False)  # type: ignore[arg-type]
    assert leaky.sum() < inside


def test_kde_tiny_bandwidth_returns_the_counts_and_kernels_have_the_right_spread() -> None:
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(30, 30))
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 3000, 500), rng.uniform(0, 3000, 500)
    assert np.allclose(kernel_density(x, y, grid, bandwidth_m=10.0), grid.count(x, y))
    for kernel, bandwidth, per_axis_variance in (("gaussian", 300.0, 300.0**2), ("quartic", 600.0, 600.0**2 / 8)):
        k = kernel_weights(100.0, bandwidth, kernel)  # type: ignore[arg-type]
        offsets = (np.arange(k.shape[0]) - k.shape[0] // 2) * 100.0
        variance = float((k.sum(axis=1) * offsets**2).sum())
        # Binning adds the variance of a uniform over one cell (c² / 12).
        assert variance == pytest.approx(per_axis_variance + 100.0**2 / 12, rel=0.02), kernel


def test_kde_peaks_at_a_cluster() -> None:
    grid = SquareGrid(cell_size_m=50.0, origin=(0.0, 0.0), shape=(80, 80))
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(0, 4000, 300), rng.normal(1000, 60, 100)])
    y = np.concatenate([rng.uniform(0, 4000, 300), rng.normal(3000, 60, 100)])
    surface = kernel_density(x, y, grid, bandwidth_m=250.0, kernel="quartic")
    cx, cy = grid.centres_m()
    peak = int(np.argmax(surface))
    assert math.hypot(cx[peak] - 1000, cy[peak] - 3000) < 100


# --- real data: St. Louis burglaries ------------------------------------------------------------


def stlouis_burglaries(year: int) -> tuple[np.ndarray, np.ndarray]:
    """x_m, y_m of the burglaries coded in ``year`` (netted per complaint), through the importer's
    own reading and normalisation (no database)."""
    import pandas as pd

    from openilp.ingest.normalize import normalize
    from openilp.ingest.reading import read_source_file
    from openilp.ingest.spec import load_source_spec

    spec = load_source_spec("stlouis")
    frames = []
    for path in sorted(Path(SHARED_DATA, "stlouis", "monthly", str(year)).glob("*.csv")):
        batch = normalize(read_source_file(path, spec), spec)
        frame = batch.frame[["source_key", "category_code", "x_m", "y_m"]].copy()
        frame["delta"] = batch.count_delta
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    net = rows.groupby("source_key")["delta"].transform("sum")
    kept = rows[(net > 0) & (rows["delta"] > 0) & (rows["category_code"] == "burglary")]
    kept = kept.drop_duplicates("source_key").dropna(subset=["x_m", "y_m"])
    return kept["x_m"].to_numpy(float), kept["y_m"].to_numpy(float)


@pytest.mark.realdata
def test_gi_star_on_stlouis_burglaries(city: PolygonAreas) -> None:
    x, y = stlouis_burglaries(2018)
    assert 2000 < len(x) < 4000
    grid = SquareGrid.from_bounds(city.union().bounds, 150.0, study_area=city, crs=STL_CRS)
    counts = grid.count(x, y)
    assert counts.sum() > 0.95 * len(x)
    result = gi_star(counts, grid.weights("queen"), seed=2018)
    uncorrected = result.hot_spots(0.05, fdr=False)
    corrected = result.hot_spots(0.05, fdr=True)
    assert corrected.sum() > 0
    assert not (corrected & ~uncorrected).any(), "FDR flags are a subset of the uncorrected ones"
    # The strongest Gi* cells sit where burglaries concentrate.
    local_mean = result.local_sum / grid.weights("queen").with_self_weight().row_sums()
    top = np.argsort(-result.z)[:20]
    assert local_mean[top].mean() > 5 * counts.mean()
    assert counts[corrected].mean() > 3 * counts.mean()
    # And KDE agrees: the mean density in FDR hot spots is well above the city mean.
    surface = kernel_density(x, y, grid, bandwidth_m=300.0)
    assert surface[corrected].mean() > 3 * surface.mean()


# ------------------------------------------------------------------------- exact p-values


def test_exact_tail_matches_brute_force_enumeration() -> None:
    from itertools import combinations

    from openilp.analysis.hotspots import exact_tail_probabilities

    values = [0, 0, 1, 0, 2, 3, 0, 1, 0]
    for k in (1, 3, 5):
        sums = [sum(c) for c in combinations(values, k)]
        for s in range(0, 8):
            upper = exact_tail_probabilities(values, [k], [s])[0]
            lower = exact_tail_probabilities(values, [k], [s], upper=False)[0]
            assert upper == pytest.approx(sum(v >= s for v in sums) / len(sums), abs=1e-12)
            assert lower == pytest.approx(sum(v <= s for v in sums) / len(sums), abs=1e-12)


def test_exact_p_values_are_the_limit_of_the_permutation_test() -> None:
    grid = SquareGrid(cell_size_m=150.0, origin=(0.0, 0.0), shape=(30, 30))
    counts = np.random.default_rng(0).poisson(0.3, grid.n_units)
    exact = gi_star(counts, grid.weights("queen"), exact=True)
    simulated = gi_star(counts, grid.weights("queen"), permutations=99_999, seed=0)
    assert exact.exact and exact.permutations == 0
    p, q = exact.p_sim, simulated.p_sim
    z = (q - p) / np.sqrt(p * (1 - p) / 99_999 + 1e-15)
    assert np.mean(np.abs(z[p > 1e-3])) < 1.2  # Monte Carlo error only (|N(0, 1)| has mean 0.8)
    assert np.all(p > 0) and np.all(p <= 1)


def test_exact_p_values_reach_the_fdr_on_a_large_grid() -> None:
    """7,225 cells: 999 permutations cannot flag a strong cluster after FDR; the exact route does."""
    from openilp.analysis.hotspots import permutations_for_fdr

    grid = SquareGrid(cell_size_m=150.0, origin=(0.0, 0.0), shape=(85, 85))
    counts = np.random.default_rng(1).poisson(0.05, grid.n_units)
    counts[grid.raster_index[40:42, 40:42].ravel()] += 2
    weights = grid.weights("queen")
    assert gi_star(counts, weights, permutations=999, seed=0).hot_spots(0.05).sum() == 0
    assert gi_star(counts, weights, exact=True).hot_spots(0.05)[grid.raster_index[40, 40]]
    assert permutations_for_fdr(grid.n_units, 0.05) == 999_999
    with pytest.raises(ValueError, match="integer counts"):
        gi_star(counts + 0.5, weights, exact=True)
