"""Backtest periods are local calendar days in the agency's zone: across both daylight-saving changes
every event falls in exactly one week, and each week's count equals a count by local date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from openilp.analysis.backtest import (
    local_midnight,
    period_end,
    rolling_origin_backtest,
    stable_risk_oracle,
    weekly_origins,
)
from openilp.analysis.forecast import make_forecaster
from openilp.analysis.grids import SquareGrid

ZONE = "America/Chicago"
GRID = SquareGrid.from_bounds((0.0, 0.0, 400.0, 400.0), 100.0)


def _hourly_events(first: str, last: str, seed: int = 0) -> pd.DataFrame:
    """One point event every 20 minutes (UTC), so the hour that the clocks skip or repeat is full."""
    times = pd.date_range(first, last, freq="20min")
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x_m": rng.uniform(0, 400, len(times)),
            "y_m": rng.uniform(0, 400, len(times)),
            "occurred_from": times,
            "occurred_to": times,
        }
    )


def _local_dates(events: pd.DataFrame) -> pd.Series:
    return events["occurred_from"].dt.tz_localize("UTC").dt.tz_convert(ZONE).dt.date


@pytest.mark.parametrize(
    ("date_from", "change_week_hours"),
    [(dt.date(2019, 3, 4), 167.0), (dt.date(2019, 10, 28), 169.0)],  # changes on 10 March and 3 November
)
def test_weekly_counts_equal_counts_by_local_date(date_from: dt.date, change_week_hours: float) -> None:
    origins = weekly_origins(date_from, date_from + dt.timedelta(days=20), timezone=ZONE)
    assert len(origins) == 3
    ends = [period_end(o, 7, ZONE) for o in origins]
    hours = [(e - o) / pd.Timedelta(hours=1) for o, e in zip(origins, ends, strict=True)]
    assert hours == [change_week_hours, 168.0, 168.0]
    assert ends[:-1] == origins[1:]  # consecutive weeks meet: no hour in two weeks, none in none

    history = _hourly_events(str(date_from - dt.timedelta(days=60)), str(date_from + dt.timedelta(days=25)))
    result = rolling_origin_backtest(history, GRID, {"naive": make_forecaster("naive")}, origins, timezone=ZONE)
    local = _local_dates(history)
    expected = [
        int(
            ((local >= date_from + dt.timedelta(days=7 * k)) & (local < date_from + dt.timedelta(days=7 * k + 7))).sum()
        )
        for k in range(3)
    ]
    assert result.scores["events"].astype(int).tolist() == expected
    assert expected[0] == change_week_hours * 3  # three events an hour, every local hour of the week
    assert result.scores["period_end"].tolist() == ends
    oracle = stable_risk_oracle(history, GRID, origins, timezone=ZONE)
    assert oracle["events"].tolist() == expected


def test_a_fixed_168_hours_would_count_the_hour_after_the_change_twice() -> None:
    # The bug this guards against: with UTC weeks the hour 00:00-01:00 CDT on 11 March 2019 is
    # both the last hour of the first week (06:00 UTC + 168 h) and the first of the second.
    origins = weekly_origins(dt.date(2019, 3, 4), dt.date(2019, 3, 17), timezone=ZONE)
    history = _hourly_events("2019-01-01", "2019-03-20")
    result = rolling_origin_backtest(history, GRID, {"naive": make_forecaster("naive")}, origins, timezone=ZONE)
    in_span = (history["occurred_from"] >= origins[0]) & (history["occurred_from"] < period_end(origins[1], 7, ZONE))
    assert int(result.scores["events"].sum()) == int(in_span.sum())


def test_the_forecast_is_asked_for_the_periods_true_length() -> None:
    origins = weekly_origins(dt.date(2019, 3, 4), dt.date(2019, 3, 17), timezone=ZONE)
    history = _hourly_events("2019-01-01", "2019-03-20")
    seen: list[float] = []

    class Recording:
        name = "recording"

        def fit(self, events: pd.DataFrame, **kwargs: object) -> Recording:
            self.inner = make_forecaster("naive").fit(events, **kwargs)  # type: ignore[arg-type]
            return self

        def predict(self, horizon_days: float) -> np.ndarray:
            seen.append(horizon_days)
            return self.inner.predict(horizon_days)

    rolling_origin_backtest(history, GRID, {"r": Recording()}, origins, timezone=ZONE)  # type: ignore[dict-item]
    assert seen == [pytest.approx(167 / 24), pytest.approx(7.0)]


def test_local_midnight_and_bad_input() -> None:
    assert str(local_midnight(dt.date(2019, 3, 10), ZONE)) == "2019-03-10 06:00:00"  # CST: change at 02:00
    assert str(local_midnight(dt.date(2019, 11, 4), ZONE)) == "2019-11-04 06:00:00"
    assert str(period_end(pd.Timestamp("2019-01-01"), 7)) == "2019-01-08 00:00:00"  # UTC: 168 hours
    with pytest.raises(ValueError, match="horizon_days"):
        period_end(pd.Timestamp("2019-01-01"), 0, ZONE)
    with pytest.raises(Exception, match="Nowhere"):
        weekly_origins(dt.date(2019, 1, 1), dt.date(2019, 1, 31), timezone="Europe/Nowhere")
