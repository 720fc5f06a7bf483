"""Trend alerts: Poisson z by hand, E-test against statsmodels, baselines, seasonality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import rates
from statsmodels.stats.multitest import multipletests

from openilp.analysis.trends import ALL_AREAS, etest_pvalue, poisson_z, trend_alerts


def test_poisson_z_hand_examples() -> None:
    # Wheeler (2016): 16 -> 25 robberies is +56% but only z = 2.0
    assert poisson_z(25, 16) == pytest.approx(2.0)
    assert poisson_z(16, 25) == pytest.approx(-2.0)
    assert poisson_z(100, 100) == 0.0
    assert poisson_z(4, 0) == pytest.approx(4.0)
    assert poisson_z(10, 6.25) == pytest.approx(2 * (np.sqrt(10) - 2.5))
    with pytest.raises(ValueError):
        poisson_z(-1, 3)


@pytest.mark.parametrize(
    ("current", "baseline", "expected"),
    [(6, 2, 0.17487), (0, 3, 0.08838), (3, 0, 0.08838), (20, 10, 0.06883), (25, 16, 0.16480), (10, 5, 0.20616)],
)
def test_etest_published_values(current: int, baseline: int, expected: float) -> None:
    assert etest_pvalue(current, baseline) == pytest.approx(expected, abs=5e-6)


def test_etest_equals_statsmodels() -> None:
    for current in (0, 1, 4, 9, 17, 40):
        for baseline in (0, 2, 7, 30, 55):
            for exposure in (1.0, 4.0, 8.0, 0.8):
                if current == baseline == 0:
                    assert etest_pvalue(current, baseline, exposure) == 1.0
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    ref = rates.test_poisson_2indep(current, 1.0, baseline, exposure, method="etest").pvalue
                assert etest_pvalue(current, baseline, exposure) == pytest.approx(min(ref, 1.0), rel=1e-12)


def _events(counts_per_day: np.ndarray, start: str, area: str = "A", category: str = "burglary") -> pd.DataFrame:
    days = pd.date_range(start, periods=len(counts_per_day), freq="D")
    return pd.DataFrame({"time": days.repeat(counts_per_day), "area": area, "category": category})


def test_table_counts_baselines_and_tests() -> None:
    counts = np.full(800, 2)
    counts[-7:] = 5  # a jump in the last week
    events = _events(counts, "2018-01-01")
    as_of = events["time"].max()
    table = trend_alerts(events, as_of, rolling_periods=4)
    week = table[(table["period"] == "week") & (table["area"] == "A")].set_index("baseline")
    assert week.loc["previous", "current"] == 35 and week.loc["previous", "baseline_count"] == 14
    assert week.loc["last_year", "baseline_count"] == 14
    assert week.loc["rolling", "baseline_count"] == 56 and week.loc["rolling", "baseline_exposure"] == 4
    assert week.loc["rolling", "expected"] == 14
    for _, row in week.iterrows():
        assert row["z"] == pytest.approx(2 * (np.sqrt(row["current"]) - np.sqrt(row["expected"])))
        assert row["p_value"] == pytest.approx(
            etest_pvalue(row["current"], row["baseline_count"], row["baseline_exposure"])
        )
    assert (week["severity"] == "alert").all() and (week["direction"] == "up").all()
    np.testing.assert_allclose(table["q_value"], multipletests(table["p_value"], method="fdr_bh")[1])
    # year to date: the same calendar dates last year
    ytd = table[(table["period"] == "ytd") & (table["area"] == "A")]
    assert list(ytd["baseline"]) == ["last_year"]
    first_ytd = pd.Timestamp(year=as_of.year, month=1, day=1)
    days_in = (as_of - first_ytd).days + 1
    assert int(ytd["current"].iloc[0]) == 2 * days_in + 21
    # the all-areas rows equal area A here (only one area)
    all_rows = table[table["area"] == ALL_AREAS].set_index(["period", "baseline"])["current"]
    a_rows = table[table["area"] == "A"].set_index(["period", "baseline"])["current"]
    pd.testing.assert_series_equal(all_rows.sort_index(), a_rows.sort_index())
    # sorted by severity
    rank = table["severity"].map({"alert": 0, "watch": 1, "": 2}).to_numpy()
    assert (np.diff(rank) >= 0).all()


def test_small_counts_are_never_flagged() -> None:
    counts = np.zeros(800, dtype=int)
    counts[-3:] = 1  # 0 -> 3 events: z = 3.46, but a change from nothing to three is not a trend
    table = trend_alerts(_events(counts, "2018-01-01"), "2020-03-10", periods=["week"], baselines=["previous"])
    assert (table["z"] > 3).all() and (table["severity"] == "").all()


def test_seasonal_baseline_does_not_flag_a_stable_seasonal_series() -> None:
    """Three years of the same strong summer peak: previous/rolling baselines flag every spring,
    the seasonal baseline (last year × citywide trend) almost never does."""
    rng = np.random.default_rng(7)
    n_days = 364 * 3 + 120
    day = np.arange(n_days)
    rate = 6.0 * (1 + 0.6 * np.sin(2 * np.pi * (day - 91) / 364))  # 2.4 to 9.6 a day, 52-week cycle
    frames = [_events(rng.poisson(rate), "2016-01-04", area=area) for area in ("A", "B", "C")]
    events = pd.concat(frames, ignore_index=True)
    flagged: dict[str, list[bool]] = {"seasonal": [], "rolling": [], "previous": []}
    for as_of in pd.date_range("2018-01-07", "2019-04-20", freq="14D"):
        table = trend_alerts(
            events,
            as_of,
            periods=["28d"],
            baselines=list(flagged),
            rolling_periods=3,
            include_all_areas=False,
        )
        for baseline, rows in table.groupby("baseline"):
            flagged[str(baseline)] += list(rows["severity"] == "alert")
    rates_flagged = {name: float(np.mean(values)) for name, values in flagged.items()}
    # Noise alone: |z| >= 3 with an E-test q <= 0.05 is rare (< 5%); the season is not.
    assert rates_flagged["seasonal"] <= 0.05, rates_flagged
    assert rates_flagged["rolling"] >= 0.25, rates_flagged
    assert rates_flagged["rolling"] > 5 * max(rates_flagged["seasonal"], 0.01)


def test_seasonal_baseline_follows_the_citywide_level() -> None:
    """The same seasonal shape at twice last year's level: the seasonal baseline doubles too."""
    day = np.arange(364 + 200)
    shape = np.round(4 * (1 + 0.5 * np.sin(2 * np.pi * day / 364))).astype(int)
    counts = np.where(day >= 364, 2 * shape, shape)
    table = trend_alerts(
        _events(counts, "2018-01-01"),
        pd.Timestamp("2018-01-01") + pd.Timedelta(days=len(day) - 1),
        periods=["28d"],
        baselines=["seasonal", "last_year"],
        rolling_periods=4,
        include_all_areas=False,
    )
    rows = table.set_index("baseline")
    assert rows.loc["seasonal", "expected"] == pytest.approx(rows.loc["seasonal", "current"], rel=0.03)
    assert rows.loc["seasonal", "severity"] == ""
    assert rows.loc["last_year", "severity"] == "alert"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"periods": ["month"]}, "unknown period"),
        ({"baselines": ["median"]}, "unknown baseline"),
        ({"rolling_periods": 0}, "rolling_periods"),
        ({"area": "district"}, "lacks columns"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    events = _events(np.ones(30, dtype=int), "2019-01-01")
    with pytest.raises(ValueError, match=message):
        trend_alerts(events, "2019-01-30", **kwargs)
    with pytest.raises(ValueError):
        etest_pvalue(-1, 2)


def test_empty_events_give_an_empty_table() -> None:
    empty = pd.DataFrame({"time": pd.to_datetime([]), "area": [], "category": []})
    assert trend_alerts(empty, "2019-06-30").empty
