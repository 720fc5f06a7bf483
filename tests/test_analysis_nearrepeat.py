"""Knox near-repeat test: exact counts against all pairs, seeded permutations, calibration, alerts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
from conftest import shared_file
from hypothesis import given, settings
from hypothesis import strategies as st

from openilp.analysis.nearrepeat import KnoxTest, event_days, knox_counts_bruteforce
from openilp.analysis.nearrepeat_alerts import alert_zones, alerts_geojson, elevated_bands, near_repeat_alerts
from openilp.ingest.normalize import normalize
from openilp.ingest.reading import read_source_file
from openilp.ingest.spec import load_source_spec

SPACE_10 = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
TIME_10 = [7, 14, 21, 28, 35, 42, 49, 56, 63, 70]


def load_stlouis_burglaries(files: list[Path]) -> pd.DataFrame:
    """Located St. Louis burglaries (net of reversals) with local occurrence times."""
    spec = load_source_spec("stlouis")
    frames = []
    for path in files:
        batch = normalize(read_source_file(path, spec), spec)
        frame = batch.frame.assign(delta=batch.count_delta)
        frames.append(frame[frame["category_code"] == "burglary"])
    frame = pd.concat(frames, ignore_index=True)
    net = frame.groupby("source_key")["delta"].sum()
    frame = frame[frame["source_key"].isin(net[net > 0].index) & (frame["delta"] > 0)]
    frame = frame[frame["location_status"] == "located"].drop_duplicates("source_key")
    local = {
        c: frame[c].dt.tz_localize("UTC").dt.tz_convert("America/Chicago").dt.tz_localize(None)
        for c in ("occurred_from", "occurred_to")
    }
    return frame.assign(**local).reset_index(drop=True)


@pytest.fixture(scope="module")
def stlouis() -> pd.DataFrame:
    files = [
        shared_file("stlouis", "monthly", "2019", f"{m}2019.csv")
        for m in ("january", "february", "march", "april", "may", "june")
    ]
    return load_stlouis_burglaries(files)


# --------------------------------------------------------------------------- exact counts
@pytest.mark.realdata
@pytest.mark.parametrize("closed", ["left", "right"])
@pytest.mark.parametrize("whole_days", [True, False])
def test_observed_counts_equal_all_pairs_on_real_burglaries(
    stlouis: pd.DataFrame, closed: str, whole_days: bool
) -> None:
    days = event_days(stlouis["occurred_from"], stlouis["occurred_to"], whole_days=whole_days)
    x, y = stlouis["x_m"].to_numpy(), stlouis["y_m"].to_numpy()
    assert len(x) > 1000
    knox = KnoxTest(space_bands_m=SPACE_10, time_bands_days=TIME_10, permutations=3, seed=0, closed=closed)  # type: ignore[arg-type]
    knox.fit(x, y, days)
    observed, beyond = knox_counts_bruteforce(x, y, days, SPACE_10, TIME_10, closed=closed)  # type: ignore[arg-type]
    np.testing.assert_array_equal(knox.observed_, observed)
    np.testing.assert_array_equal(knox.observed_beyond_, beyond)
    assert knox.observed_[0].sum() > 0  # the real data has same-location repeats
    assert knox.integer_times_ is whole_days


def test_counts_equal_all_pairs_with_same_location_options() -> None:
    rng = np.random.default_rng(5)
    x = np.round(rng.uniform(0, 2000, 400))
    y = np.round(rng.uniform(0, 2000, 400))
    x[:40], y[:40] = x[40:80], y[40:80]  # exact repeats
    t = rng.integers(0, 120, 400).astype(float)
    for same in (None, 0.0, 15.0):
        knox = KnoxTest(space_bands_m=[50, 150, 400], time_bands_days=[3, 10], same_location_m=same, permutations=2)
        knox.fit(x, y, t)
        observed, beyond = knox_counts_bruteforce(x, y, t, [50, 150, 400], [3, 10], same_location_m=same)
        np.testing.assert_array_equal(knox.observed_, observed)
        np.testing.assert_array_equal(knox.observed_beyond_, beyond)


def test_very_long_time_span_uses_capped_path_with_same_counts() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 1500, 300), rng.uniform(0, 1500, 300)
    t = rng.integers(0, 200_000, 300).astype(float)  # a few dates centuries off, as in real exports
    knox = KnoxTest(space_bands_m=[200, 500], time_bands_days=[7, 30], permutations=2).fit(x, y, t)
    observed, beyond = knox_counts_bruteforce(x, y, t, [200, 500], [7, 30])
    np.testing.assert_array_equal(knox.observed_, observed)
    np.testing.assert_array_equal(knox.observed_beyond_, beyond)


# --------------------------------------------------------------------------- permutations
def _planted(seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform background burglaries plus a 'near repeat' within 60 m and 5 days of 150 of them."""
    rng = np.random.default_rng(seed)
    n = 1500
    x, y = rng.uniform(0, 8000, n), rng.uniform(0, 8000, n)
    t = rng.integers(0, 730, n).astype(float)
    parents = rng.choice(n, 150, replace=False)
    angle, radius = rng.uniform(0, 2 * np.pi, 150), rng.uniform(0, 60, 150)
    x = np.r_[x, x[parents] + radius * np.cos(angle)]
    y = np.r_[y, y[parents] + radius * np.sin(angle)]
    t = np.r_[t, t[parents] + rng.integers(0, 5, 150)]
    return x, y, t


def test_seeded_permutations_are_reproducible_and_thread_independent() -> None:
    x, y, t = _planted()
    a = KnoxTest(space_bands_m=[100, 300], time_bands_days=[7, 21], permutations=49, seed=42).fit(x, y, t)
    b = KnoxTest(space_bands_m=[100, 300], time_bands_days=[7, 21], permutations=49, seed=42, n_jobs=2).fit(x, y, t)
    c = KnoxTest(space_bands_m=[100, 300], time_bands_days=[7, 21], permutations=49, seed=43).fit(x, y, t)
    np.testing.assert_array_equal(a.simulated_, b.simulated_)
    np.testing.assert_array_equal(a.p_value_, b.p_value_)
    assert not np.array_equal(a.simulated_, c.simulated_)
    np.testing.assert_array_equal(a.observed_, c.observed_)


def test_p_value_and_ratio_definitions() -> None:
    x, y, t = _planted()
    knox = KnoxTest(space_bands_m=[100, 300], time_bands_days=[7, 21], permutations=99, seed=1).fit(x, y, t)
    exceed = (knox.simulated_ >= knox.observed_).sum(axis=0)
    np.testing.assert_allclose(knox.p_value_, (exceed + 1) / 100)
    np.testing.assert_allclose(knox.expected_, knox.simulated_.mean(axis=0))
    ok = knox.expected_ > 0
    np.testing.assert_allclose(knox.knox_ratio_[ok], knox.observed_[ok] / knox.expected_[ok])
    # a permutation only moves pairs between time bands: every row keeps its total
    totals = knox.simulated_.sum(axis=2)
    assert (totals <= (knox.observed_.sum(axis=1) + knox.observed_beyond_)).all()


def test_planted_near_repeat_pattern_is_detected() -> None:
    x, y, t = _planted()
    knox = KnoxTest(space_bands_m=[100, 200, 500, 1000], time_bands_days=[7, 14, 30, 60], permutations=199, seed=3)
    table = knox.fit(x, y, t).table()
    hit = table[(table["distance_to_m"] == 100) & (table["days_to"] == 7)].iloc[0]
    assert hit["knox_ratio"] > 3 and hit["p_value"] == pytest.approx(1 / 200) and hit["significant"]
    far = table[(table["distance_from_m"] >= 500) | (table["days_from"] >= 14)]
    assert far["significant"].mean() <= 0.15  # nothing planted out there
    sentences = knox.summary(event_name="burglaries")
    assert sentences[0].startswith("Burglaries within 0–100 m and 0–7 days of another burglary occur")
    assert "× as often as chance" in sentences[0]


@pytest.mark.realdata
def test_calibration_on_shuffled_times(stlouis: pd.DataFrame) -> None:
    """With the times shuffled at random there is no space-time interaction: ~5% of cells reject.

    20 random shuffles × 25 cells = 500 cell tests at 99 permutations. Under the null a
    permutation p-value satisfies P(p ≤ 0.05) = 5/100 exactly (up to ties, which make it
    smaller). Cells of one shuffle share their permutations and overlap, so the 500 tests are
    positively correlated; allowing for a design effect of about 4, the standard error of the
    rejection rate is ~2 × sqrt(0.05·0.95/500) ≈ 0.02, hence the band 0.01–0.10 (±2.5 SE). The
    test is deterministic (seeded), so it cannot flake; it fails if the p-values lose their
    calibration (e.g. a wrong (k+1)/(R+1) or a biased permutation).
    """
    days = event_days(stlouis["occurred_from"], stlouis["occurred_to"])
    x, y = stlouis["x_m"].to_numpy(), stlouis["y_m"].to_numpy()
    rng = np.random.default_rng(2024)
    rejections = []
    for rep in range(20):
        shuffled = rng.permutation(days)
        knox = KnoxTest(
            space_bands_m=[200, 400, 600, 800, 1000],
            time_bands_days=[7, 14, 21, 28, 35],
            same_location_m=None,
            permutations=99,
            seed=rep,
        ).fit(x, y, shuffled)
        rejections.append(knox.p_value_ <= 0.05)
    rate = float(np.mean(rejections))
    assert 0.01 <= rate <= 0.10, rate


# --------------------------------------------------------------------------- invariants
@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 60),
    seed=st.integers(0, 10_000),
    closed=st.sampled_from(["left", "right"]),
    same=st.sampled_from([None, 0.0, 5.0]),
)
def test_invariants(n: int, seed: int, closed: str, same: float | None) -> None:
    rng = np.random.default_rng(seed)
    x, y = np.round(rng.uniform(0, 300, n)), np.round(rng.uniform(0, 300, n))
    t = rng.integers(0, 40, n).astype(float)
    knox = KnoxTest(
        space_bands_m=[20, 50, 100],
        time_bands_days=[2, 7],
        same_location_m=same,
        closed=closed,  # type: ignore[arg-type]
        permutations=19,
        seed=seed,
    ).fit(x, y, t)
    assert ((knox.p_value_ > 0) & (knox.p_value_ <= 1)).all()
    distance = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])[np.triu_indices(n, 1)]
    within = int((distance < 100).sum()) if closed == "left" else int((distance <= 100).sum())
    assert knox.observed_.sum() + knox.observed_beyond_.sum() == within == knox.n_pairs_
    assert (knox.simulated_.sum(axis=(1, 2)) <= within).all()


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"space_bands_m": []}, "at least one band"),
        ({"space_bands_m": [-100, 200]}, "positive"),
        ({"time_bands_days": [14, 7]}, "strictly increasing"),
        ({"time_bands_days": [7, 7]}, "strictly increasing"),
        ({"permutations": 0}, "permutations"),
        ({"same_location_m": 150.0}, "same_location_m"),
        ({"closed": "both"}, "closed"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KnoxTest(**kwargs).fit([0, 1, 2], [0, 1, 2], [0, 1, 2])


def test_bad_events() -> None:
    with pytest.raises(ValueError, match="at least 2 events"):
        KnoxTest().fit([], [], [])
    with pytest.raises(ValueError, match="same length"):
        KnoxTest().fit([0, 1], [0, 1], [0])
    with pytest.raises(ValueError, match="NaN"):
        KnoxTest().fit([0, np.nan], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="not fitted"):
        KnoxTest().table()


def test_event_days_uses_the_window_midpoint() -> None:
    days = event_days(
        pd.to_datetime(["2019-03-01 22:00", "2019-03-10 08:00"]), pd.to_datetime(["2019-03-02 04:00", pd.NaT])
    )
    assert days.tolist() == [17957.0, 17965.0]
    assert event_days(["2019-03-01 18:00"], ["2019-03-02 00:00"], whole_days=False).tolist() == [17956.875]


# --------------------------------------------------------------------------- alerts
def test_alerts_from_a_fitted_table() -> None:
    x, y, t = _planted()
    knox = KnoxTest(space_bands_m=[100, 200, 500], time_bands_days=[7, 14, 30], permutations=99, seed=3).fit(x, y, t)
    bands = elevated_bands(knox.table())
    assert len(bands) >= 1 and (bands["knox_ratio"] >= 1.2).all()
    as_of = 100.0
    recent_t = np.array([99.0, 95.0, 60.0, 101.0])
    alerts = near_repeat_alerts(
        knox.table(),
        [1000, 2000, 3000, 4000],
        [1000, 1000, 1000, 1000],
        recent_t,
        as_of,
        incident_ids=list("abcd"),
        origin="2019-01-01",
    )
    assert "d" not in set(alerts["incident_id"])  # after as_of
    assert "c" not in set(alerts["incident_id"])  # 40 days ago: every elevated band has expired
    assert (alerts["expires_day"] > as_of).all()
    top = alerts.iloc[0]
    assert top["active"] and top["risk_multiplier"] == pytest.approx(bands["knox_ratio"].max())
    assert (alerts["expires_date"] > pd.Timestamp("2019-04-11")).all()
    zones = alert_zones(alerts)
    assert set(zones["incident_id"]) <= {"a", "b"}
    to_wgs84 = pyproj.Transformer.from_crs("EPSG:26996", "EPSG:4326", always_xy=True)
    fc = alerts_geojson(zones, transformer=to_wgs84, segments=16)
    ring = np.array(fc["features"][0]["geometry"]["coordinates"][0])
    assert ring.shape == (17, 2) and (ring[:, 0] < -90).all()  # longitudes west of Greenwich
    annuli = alerts_geojson(alerts, radius_column="distance_to_m", inner_radius_column="distance_from_m")
    assert len(annuli["features"]) == len(alerts)


def test_alerts_without_elevated_cells_are_empty() -> None:
    table = pd.DataFrame(
        {
            "distance_from_m": [0.0],
            "distance_to_m": [100.0],
            "days_from": [0.0],
            "days_to": [7.0],
            "knox_ratio": [1.1],
            "p_value": [0.01],
            "same_location": [False],
        }
    )
    assert near_repeat_alerts(table, [0.0], [0.0], [5.0], 6.0).empty
    with pytest.raises(ValueError, match="KnoxTest.table"):
        elevated_bands(table.drop(columns=["p_value"]))


def test_compiled_permutation_loop_equals_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The numba loop and the numpy fallback give identical counts for the same seeds and threads."""
    from openilp.analysis import _knox_kernel

    assert _knox_kernel.AVAILABLE, "numba is a dependency: the compiled path must load"
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 3000, 1500), rng.uniform(0, 3000, 1500)
    t = rng.integers(0, 400, 1500).astype(float)
    t[:20] -= 40_000  # a few records dated a century earlier (as in the St. Louis files): a wide span
    params = {"space_bands_m": [100, 200, 400], "time_bands_days": [7, 14, 28], "permutations": 59, "seed": 11}
    compiled = KnoxTest(**params, n_jobs=2).fit(x, y, t)
    monkeypatch.setattr(_knox_kernel, "AVAILABLE", False)
    fallback = KnoxTest(**params).fit(x, y, t)
    assert np.array_equal(compiled.simulated_, fallback.simulated_)
    assert np.array_equal(compiled.p_value_, fallback.p_value_)


@pytest.mark.parametrize(
    ("n_events", "day_span"),
    [(500, 3_000), (70_000, 3_000), (500, 3_000_000_000)],
    ids=["16-bit indices", "32-bit indices", "64-bit days"],
)
def test_compiled_knox_counts_equal_a_plain_count_for_every_index_and_day_width(n_events: int, day_span: int) -> None:
    from openilp.analysis import _knox_kernel

    rng = np.random.default_rng(4)
    t_int = rng.integers(0, day_span, n_events).astype(np.int64)
    n_pairs = 3_000
    first = rng.integers(0, n_events, n_pairs)
    second = rng.integers(0, n_events, n_pairs)
    bounds = np.array([0, 1_000, 2_500, n_pairs])
    permutations = np.vstack([rng.permutation(n_events) for _ in range(4)])
    cap, n_bands = 40, 4
    band_of_capped = np.minimum(np.arange(cap + 1) // 10, n_bands - 1)
    counts = _knox_kernel.count_permutations(
        first, second, bounds, t_int, permutations, cap, band_of_capped, n_bands, threads=2
    )
    expected = np.zeros_like(counts)
    for k, order in enumerate(permutations):
        days = t_int[order]
        capped = np.minimum(np.abs(days[first] - days[second]), cap)
        for s in range(len(bounds) - 1):
            band = band_of_capped[capped[bounds[s] : bounds[s + 1]]]
            expected[k, s] = np.bincount(band, minlength=n_bands)
    assert (counts == expected).all()
