"""Trend alerts (CompStat style): counts per area × category × period against a baseline.

For each area and offence category the events of the *current period* (the last 7 days, the
last 28 days, or the year to date, ending on ``as_of``) are compared with a *baseline*:

``previous``
    the period just before (7 or 28 days; not for the year to date);
``last_year``
    the same period a year earlier: shifted by 364 days (52 weeks, so weekdays line up) for
    weeks and 28 days, the same calendar dates for the year to date;
``rolling``
    the mean of the ``rolling_periods`` periods before the current one (not for the year to
    date);
``seasonal``
    the same period last year scaled by the year-over-year trend of the category over the
    ``rolling_periods`` periods before the current one, summed over all areas:
    ``last_year × (recent this year / same weeks last year)``. Last year's same weeks carry the
    season (summer is compared with summer), and the ratio carries the citywide level change,
    so a stable seasonal pattern does not flag every summer. The ratio is taken over all areas
    of the category because an area's own few events would make it noisy and would absorb a
    local rise into its own baseline.

Two tests, both reported:

* the **Poisson z** ``z = 2(√current − √baseline)`` (square-root variance stabilisation;
  Wheeler 2016). ``|z| ≥ 2`` is about a 1-in-20 event for a single comparison; Wheeler
  recommends ``|z| ≥ 3`` before acting, which is the default ``z_alert``;
* the **exact Poisson E-test** of equal rates (Krishnamoorthy & Thomson 2004) from
  :func:`openilp.analysis.assessment.rates.etest_exact` (equal to statsmodels'
  ``test_poisson_2indep(method="etest")`` to about 1e-12, in O(√n) instead of O(n²) time and
  memory: a citywide count of 9,000 crimes takes a millisecond, not 11 s and 2.6 GB), with the baseline's
  exposure (``rolling_periods`` periods for the rolling mean; ``1 / trend ratio`` for the
  seasonal baseline, whose ratio is treated as known). Its p-values are adjusted across the
  whole alert table with Benjamini–Hochberg (``q_value``), because a CompStat table makes
  hundreds of comparisons at once.

``severity`` is ``"alert"`` when ``|z| ≥ z_alert`` *and* ``q_value ≤ fdr``, ``"watch"`` when
``|z| ≥ z_watch`` (default 2) only, else ``""``. Rows where both counts are below
``min_count`` (default 5) are never flagged: a change from 1 to 4 is not a trend.

References
----------
Krishnamoorthy, K. & Thomson, J. (2004). A more powerful test for comparing two Poisson means.
*J. Stat. Plan. Inference* 119, 23–35.
Wheeler, A. P. (2016). Tables and graphs for monitoring temporal crime trends: translating theory
into practical crime analysis advice. *Int. J. Police Sci. Manag.* 18(3), 159–172.
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B* 57, 289–300.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.assessment.rates import etest_exact
from openilp.analysis.hotspots import benjamini_hochberg

__all__ = ["BASELINES", "PERIODS", "etest_pvalue", "poisson_z", "trend_alerts"]

#: Period name -> length in days (None: year to date).
PERIODS: dict[str, int | None] = {"week": 7, "28d": 28, "ytd": None}
BASELINES = ("previous", "last_year", "rolling", "seasonal")
ALL_AREAS = "(all areas)"
_SEVERITY_RANK = {"alert": 0, "watch": 1, "": 2}


def poisson_z(current: ArrayLike, baseline: ArrayLike) -> NDArray[np.float64]:
    """Poisson z-score ``2(√current − √baseline)`` (Wheeler 2016).

    Parameters
    ----------
    current : array_like
        Count in the current period.
    baseline : array_like
        Expected count (may be a mean, so not a whole number).

    Examples
    --------
    >>> poisson_z([25, 16, 9], [16, 25, 9]).tolist()
    [2.0, -2.0, 0.0]
    """
    c = np.asarray(current, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if np.any(c < 0) or np.any(b < 0):
        raise ValueError("counts and baselines must be non-negative")
    return np.asarray(2.0 * (np.sqrt(c) - np.sqrt(b)), dtype=float)


@lru_cache(maxsize=65536)
def _etest(count1: int, count2: int, exposure2: float) -> float:
    if count1 == 0 and count2 == 0:
        return 1.0  # undefined: nothing happened in either period
    return etest_exact(count1, count2, 1.0, exposure2).p_value


def etest_pvalue(current: int, baseline_count: int, baseline_exposure: float = 1.0) -> float:
    """Two-sided exact Poisson E-test p-value of equal rates (Krishnamoorthy & Thomson 2004).

    ``current`` events in one period against ``baseline_count`` events in
    ``baseline_exposure`` periods (:func:`~openilp.analysis.assessment.rates.etest_exact`, equal
    to statsmodels' ``test_poisson_2indep(method="etest")``). Both counts zero gives 1.

    Examples
    --------
    >>> round(etest_pvalue(6, 2), 5), round(etest_pvalue(25, 16), 4)
    (0.17487, 0.1648)
    """
    if current < 0 or baseline_count < 0 or baseline_exposure <= 0:
        raise ValueError("counts must be >= 0 and the exposure > 0")
    return _etest(int(current), int(baseline_count), float(baseline_exposure))


def _window(as_of: pd.Timestamp, period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day (inclusive) of the current period."""
    length = PERIODS[period]
    if length is None:
        return pd.Timestamp(year=as_of.year, month=1, day=1), as_of
    return as_of - pd.Timedelta(days=length - 1), as_of


def _same_day_last_year(day: pd.Timestamp) -> pd.Timestamp:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def trend_alerts(
    events: pd.DataFrame,
    as_of: str | pd.Timestamp,
    *,
    time: str = "time",
    area: str = "area",
    category: str = "category",
    periods: Sequence[str] = ("week", "28d", "ytd"),
    baselines: Sequence[str] = BASELINES,
    rolling_periods: int = 8,
    include_all_areas: bool = True,
    z_alert: float = 3.0,
    z_watch: float = 2.0,
    fdr: float = 0.05,
    min_count: int = 5,
) -> pd.DataFrame:
    """CompStat table of counts per area × category × period against baselines, with tests.

    Parameters
    ----------
    events : DataFrame
        One row per event with a local time (``time``), an area and a category.
    as_of : date-like
        Last day (inclusive) of the current periods, e.g. yesterday.
    time, area, category : str
        Column names.
    periods : sequence of {"week", "28d", "ytd"}
        Current periods: the last 7 days, the last 28 days, the year to date.
    baselines : sequence of {"previous", "last_year", "rolling", "seasonal"}
        See the module description.
    rolling_periods : int
        Periods in the rolling mean and in the seasonal trend ratio (default 8).
    include_all_areas : bool
        Also give one row per category over all areas (area ``"(all areas)"``).
    z_alert, z_watch : float
        |Poisson z| for an ``"alert"`` (with the E-test) and for a ``"watch"``.
    fdr : float
        Benjamini–Hochberg false discovery rate for the E-test ``q_value``.
    min_count : int
        Rows with both the current and the baseline count below this are never flagged.

    Returns
    -------
    DataFrame
        ``area, category, period, period_start, period_end, baseline, current,
        baseline_count, baseline_exposure, expected, change_pct, z, p_value, q_value,
        direction, severity``, sorted by severity then by |z|.

    Examples
    --------
    >>> days = pd.date_range("2018-01-01", "2019-06-30", freq="D")
    >>> events = pd.DataFrame({"time": days.repeat(2), "area": "A", "category": "burglary"})
    >>> extra = pd.DataFrame({"time": pd.date_range("2019-06-24", periods=7).repeat(3), "area": "A",
    ...     "category": "burglary"})
    >>> table = trend_alerts(pd.concat([events, extra]), "2019-06-30", periods=["week"],
    ...     baselines=["previous"], include_all_areas=False)
    >>> table[["current", "expected", "z", "severity"]].round(2).values.tolist()
    [[35, 14.0, 4.35, 'alert']]
    """
    for name in periods:
        if name not in PERIODS:
            raise ValueError(f"unknown period {name!r}; choose from {list(PERIODS)}")
    for name in baselines:
        if name not in BASELINES:
            raise ValueError(f"unknown baseline {name!r}; choose from {list(BASELINES)}")
    if rolling_periods < 1:
        raise ValueError(f"rolling_periods must be at least 1, got {rolling_periods}")
    missing = [c for c in (time, area, category) if c not in events.columns]
    if missing:
        raise ValueError(f"events lacks columns {missing}")
    as_of_day = pd.Timestamp(as_of).normalize()

    # Earliest day any window needs.
    starts = []
    for name in periods:
        first, _ = _window(as_of_day, name)
        length = PERIODS[name]
        if length is None:
            starts.append(_same_day_last_year(first))
        else:
            starts.append(first - pd.Timedelta(days=364 + rolling_periods * length))
    origin = min(starts) if starts else as_of_day
    n_days = (as_of_day - origin).days + 1

    day = pd.to_datetime(events[time]).dt.normalize()
    inside = ((day >= origin) & (day <= as_of_day)).to_numpy()
    frame = pd.DataFrame(
        {
            "day": ((day[inside] - origin) / pd.Timedelta(days=1)).to_numpy().astype(np.int64),
            "area": events.loc[inside, area].astype(str).to_numpy(),
            "category": events.loc[inside, category].astype(str).to_numpy(),
        }
    )
    if include_all_areas:
        frame = pd.concat([frame, frame.assign(area=ALL_AREAS)], ignore_index=True)
    columns = [
        "area",
        "category",
        "period",
        "period_start",
        "period_end",
        "baseline",
        "current",
        "baseline_count",
        "baseline_exposure",
        "expected",
        "change_pct",
        "z",
        "p_value",
        "q_value",
        "direction",
        "severity",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)

    groups = frame.groupby(["area", "category"], sort=True).size().index
    group_code = groups.get_indexer(pd.MultiIndex.from_frame(frame[["area", "category"]]))
    daily = np.bincount(group_code * n_days + frame["day"].to_numpy(), minlength=len(groups) * n_days)
    cumulative = np.zeros((len(groups), n_days + 1), dtype=np.int64)
    np.cumsum(daily.reshape(len(groups), n_days), axis=1, out=cumulative[:, 1:])
    group_area = groups.get_level_values(0).to_numpy()
    group_category = groups.get_level_values(1).to_numpy()
    # Category totals over all areas, for the seasonal trend ratio (excluding the "(all areas)" rows).
    categories, category_code = np.unique(group_category, return_inverse=True)
    real_area = group_area != ALL_AREAS
    category_cumulative = np.zeros((categories.size, n_days + 1), dtype=np.int64)
    np.add.at(category_cumulative, category_code[real_area], cumulative[real_area])

    def window_sum(table: NDArray[np.int64], first: pd.Timestamp, last: pd.Timestamp) -> NDArray[np.int64]:
        a = max((first - origin).days, 0)
        b = (last - origin).days + 1
        return table[:, b] - table[:, a]

    pieces = []
    for name in periods:
        first, last = _window(as_of_day, name)
        length = PERIODS[name]
        current = window_sum(cumulative, first, last)
        for baseline in baselines:
            if length is None and baseline in ("previous", "rolling", "seasonal"):
                continue  # the year to date is compared with the same dates last year only
            exposure = np.ones(len(groups))
            if length is None:
                count = window_sum(cumulative, _same_day_last_year(first), _same_day_last_year(last))
            else:
                step = pd.Timedelta(days=length)
                year = pd.Timedelta(days=364)
                if baseline == "previous":
                    count = window_sum(cumulative, first - step, last - step)
                elif baseline == "last_year":
                    count = window_sum(cumulative, first - year, last - year)
                elif baseline == "rolling":
                    count = window_sum(cumulative, first - rolling_periods * step, first - pd.Timedelta(days=1))
                    exposure = np.full(len(groups), float(rolling_periods))
                else:  # seasonal
                    count = window_sum(cumulative, first - year, last - year)
                    recent_first = first - rolling_periods * step
                    recent_last = first - pd.Timedelta(days=1)
                    this_year = window_sum(category_cumulative, recent_first, recent_last)
                    last_year = window_sum(category_cumulative, recent_first - year, recent_last - year)
                    ratio = np.where(last_year > 0, this_year / np.maximum(last_year, 1), 1.0)
                    ratio = np.where(ratio > 0, ratio, 1.0)
                    exposure = 1.0 / ratio[category_code]
            piece = pd.DataFrame(
                {
                    "area": group_area,
                    "category": group_category,
                    "period": name,
                    "period_start": first,
                    "period_end": last,
                    "baseline": baseline,
                    "current": current,
                    "baseline_count": count,
                    "baseline_exposure": exposure,
                }
            )
            pieces.append(piece)
    if not pieces:
        return pd.DataFrame(columns=columns)
    table = pd.concat(pieces, ignore_index=True)
    table = table[(table["current"] > 0) | (table["baseline_count"] > 0)].reset_index(drop=True)
    table["expected"] = table["baseline_count"] / table["baseline_exposure"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["change_pct"] = np.where(
            table["expected"] > 0, 100.0 * (table["current"] / table["expected"] - 1.0), np.nan
        )
    table["z"] = poisson_z(table["current"], table["expected"])
    table["p_value"] = [
        _etest(int(c), int(b), float(e))
        for c, b, e in zip(table["current"], table["baseline_count"], table["baseline_exposure"], strict=True)
    ]
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float)) if len(table) else []
    table["direction"] = np.where(table["z"] > 0, "up", np.where(table["z"] < 0, "down", ""))
    enough = (table["current"] >= min_count) | (table["expected"] >= min_count)
    strong = enough & (table["z"].abs() >= z_alert) & (table["q_value"] <= fdr)
    some = enough & (table["z"].abs() >= z_watch)
    table["severity"] = np.where(strong, "alert", np.where(some, "watch", ""))
    table["_rank"] = table["severity"].map(_SEVERITY_RANK)
    table["_abs_z"] = -table["z"].abs()
    table = table.sort_values(["_rank", "_abs_z", "area", "category"]).drop(columns=["_rank", "_abs_z"])
    return table[columns].reset_index(drop=True)
