"""Rolling-origin backtest: how well each forecaster did, week after week, out of sample.

For each origin ``T`` of an evaluation span (default: weekly), every forecaster is fitted on the
events known at ``T`` (strictly before it, :func:`~openilp.analysis.forecast.known_mask`), predicts
the next ``horizon_days``, and is scored (:mod:`openilp.analysis.evaluation`) against the events of
``[T, T + horizon)``; an event belongs to a test period by the middle of its occurrence window.
Scores are averaged over origins with a 95 % moving-block bootstrap confidence interval (blocks of
four periods keep the week-to-week dependence; Künsch 1989), and two methods are compared on
*paired* per-period differences (same weeks, same events), as the analytics reference (§7)
prescribes.

**Periods are local calendar days** in the agency's time zone (IANA name, :mod:`zoneinfo`): a
period runs from its origin to the same wall-clock time ``horizon_days`` later
(:func:`period_end`), so a week that spans the spring change lasts 167 hours and one that spans the
autumn change 169, and with weekly origins at local midnight every event falls in exactly one
week. (A fixed 168 hours in UTC counted the hour after the spring change in two consecutive weeks.)
The forecast of each period is asked for the period's true length (``predict(hours / 24)``).

The same code runs on any city: coordinates in metres in the agency's CRS, times naive UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from openilp.analysis.evaluation import DEFAULT_COVERAGES, coverage_curve, score_forecast
from openilp.analysis.forecast import Forecaster, to_utc_naive
from openilp.analysis.grids import SquareGrid

__all__ = [
    "BacktestResult",
    "ScoredForecast",
    "block_bootstrap_ci",
    "local_midnight",
    "period_end",
    "weekly_origins",
    "rolling_origin_backtest",
    "plot_coverage_curves",
    "stable_risk_oracle",
]

#: Coverage points (fractions of the area) at which mean coverage curves are kept.
CURVE_POINTS = np.linspace(0.0, 1.0, 201)


def local_midnight(day: dt.date, timezone: str) -> pd.Timestamp:
    """The start of local calendar day ``day`` in ``timezone``, as naive UTC.

    Where midnight does not exist (a zone that springs forward at 00:00), the first moment after the
    gap.

    >>> str(local_midnight(dt.date(2019, 3, 11), "America/Chicago"))  # CDT, after the change
    '2019-03-11 05:00:00'
    """
    stamp = pd.Timestamp(day).tz_localize(ZoneInfo(timezone), nonexistent="shift_forward", ambiguous=True)
    return to_utc_naive(stamp)


def period_end(origin: dt.datetime | pd.Timestamp, horizon_days: float, timezone: str = "UTC") -> pd.Timestamp:
    """End (exclusive, naive UTC) of the test period that starts at ``origin`` (naive UTC): the same
    local wall-clock time ``horizon_days`` later in ``timezone``.

    A week from local midnight ends at local midnight seven days later, whatever the clocks did in
    between: 167 hours across the spring change, 169 across the autumn one. A wall-clock time that
    falls in the autumn's repeated hour is read as the first of the two; one in the spring gap as
    the first moment after it.

    >>> start = local_midnight(dt.date(2019, 3, 4), "America/Chicago")
    >>> end = period_end(start, 7, "America/Chicago")
    >>> str(end), (end - start) / pd.Timedelta(hours=1)
    ('2019-03-11 05:00:00', 167.0)
    """
    if not (horizon_days > 0 and math.isfinite(horizon_days)):
        raise ValueError(f"horizon_days must be a positive number of days, got {horizon_days!r}")
    return _shift_local(origin, horizon_days, timezone)


def _shift_local(moment: dt.datetime | pd.Timestamp, days: float, timezone: str) -> pd.Timestamp:
    """``moment`` (naive UTC) moved by ``days`` on the local wall clock of ``timezone``; naive UTC."""
    zone = ZoneInfo(timezone)
    wall = to_utc_naive(moment).tz_localize("UTC").tz_convert(zone).tz_localize(None)
    shifted = (wall + pd.Timedelta(days=days)).tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
    return to_utc_naive(shifted)


def weekly_origins(
    date_from: dt.date, date_to: dt.date, *, timezone: str = "UTC", step_days: int = 7, horizon_days: int = 7
) -> list[pd.Timestamp]:
    """Forecast origins at local midnight every ``step_days`` from ``date_from`` while the test period
    ``[origin, origin + horizon)`` ends by the end of ``date_to``; naive UTC.

    >>> [str(t) for t in weekly_origins(dt.date(2019, 1, 1), dt.date(2019, 1, 21), timezone="America/Chicago")]
    ['2019-01-01 06:00:00', '2019-01-08 06:00:00', '2019-01-15 06:00:00']
    """
    if date_to < date_from:
        raise ValueError(f"date_to {date_to} is before date_from {date_from}")
    ZoneInfo(timezone)  # an unknown zone fails here, with its name
    origins = []
    day = date_from
    while day + dt.timedelta(days=horizon_days - 1) <= date_to:
        origins.append(local_midnight(day, timezone))
        day += dt.timedelta(days=step_days)
    if not origins:
        raise ValueError(f"no complete {horizon_days}-day test period between {date_from} and {date_to}")
    return origins


def block_bootstrap_ci(
    values: Sequence[float] | NDArray[np.float64],
    *,
    confidence: float = 0.95,
    block: int = 4,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean and moving-block bootstrap percentile interval of a series (NaNs dropped).

    >>> mean, low, high = block_bootstrap_ci(np.arange(20.0))
    >>> mean, bool(low < mean < high)
    (9.5, True)
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    if len(v) == 1:
        return float(v[0]), math.nan, math.nan
    block = max(1, min(block, len(v)))
    rng = np.random.default_rng(seed)
    n_blocks = math.ceil(len(v) / block)
    starts = rng.integers(0, len(v) - block + 1, size=(n_boot, n_blocks))
    index = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_boot, -1)[:, : len(v)]
    means = v[index].mean(axis=1)
    alpha = (1 - confidence) / 2
    return float(v.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


@dataclass(frozen=True)
class ScoredForecast:
    """One forecast of a backtest as it was scored: what :func:`rolling_origin_backtest` hands to
    its ``on_forecast`` callback (the forecaster may be refitted afterwards: use it at once)."""

    method: str
    forecaster: Forecaster
    #: Risk score per active cell (the forecaster's ``predict`` for the period's length).
    scores: NDArray[np.float64]
    #: Events of the test period per active cell.
    test_counts: NDArray[np.int64]
    #: Start and end (exclusive) of the test period, naive UTC.
    origin: pd.Timestamp
    period_end: pd.Timestamp
    timezone: str


@dataclass
class BacktestResult:
    """Per-period scores of every method, and their mean coverage curves."""

    #: One row per (method, origin): ``method``, ``origin``, ``period_end`` (exclusive; both naive
    #: UTC), ``events``, ``fit_s`` and the metrics.
    scores: pd.DataFrame
    #: Mean hit rate at :data:`CURVE_POINTS` coverage, per method.
    curves: dict[str, NDArray[np.float64]]
    horizon_days: float
    coverages: tuple[float, ...]
    n_cells: int
    cell_size_m: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.scores["method"]))

    def metric_columns(self) -> list[str]:
        return [c for c in self.scores.columns if "@" in c or c == "auc"]

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Mean and bootstrap CI over periods, per method and metric (long format)."""
        rows = []
        for method, group in self.scores.groupby("method", sort=False):
            group = group.sort_values("origin")
            for metric in self.metric_columns():
                mean, low, high = block_bootstrap_ci(group[metric].to_numpy(), confidence=confidence)
                rows.append({"method": method, "metric": metric, "mean": mean, "ci_low": low, "ci_high": high})
        return pd.DataFrame(rows)

    def compare(self, method: str, baseline: str, metric: str = "pai@0.05") -> dict[str, float]:
        """Paired comparison over the same periods: mean difference with its CI, and the ratio of means."""
        wide = self.scores.pivot(index="origin", columns="method", values=metric).sort_index()
        a, b = wide[method].to_numpy(), wide[baseline].to_numpy()
        both = np.isfinite(a) & np.isfinite(b)
        mean, low, high = block_bootstrap_ci(a[both] - b[both])
        return {
            "method": method,  # type: ignore[dict-item]
            "baseline": baseline,  # type: ignore[dict-item]
            "metric": metric,  # type: ignore[dict-item]
            "method_mean": float(a[both].mean()),
            "baseline_mean": float(b[both].mean()),
            "ratio": float(a[both].mean() / b[both].mean()) if b[both].mean() > 0 else math.nan,
            "difference": mean,
            "ci_low": low,
            "ci_high": high,
            "periods": int(both.sum()),
        }

    def best(self, metric: str = "pai@0.05", among: Sequence[str] | None = None) -> str:
        """The method with the highest mean ``metric`` (optionally among ``among``)."""
        means = self.scores.groupby("method")[metric].mean()
        if among is not None:
            means = means[[m for m in among if m in means.index]]
        return str(means.idxmax())

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data: per-period scores, summary and mean curves."""
        scores = self.scores.copy()
        scores["origin"] = scores["origin"].astype(str)
        if "period_end" in scores:
            scores["period_end"] = scores["period_end"].astype(str)
        return {
            "horizon_days": self.horizon_days,
            "coverages": list(self.coverages),
            "n_cells": self.n_cells,
            "cell_size_m": self.cell_size_m,
            "periods": int(self.scores["origin"].nunique()),
            "meta": self.meta,
            "summary": _records(self.summary()),
            "per_period": _records(scores),
            "coverage_curves": {
                "coverage": [round(float(c), 4) for c in CURVE_POINTS],
                **{m: [round(float(v), 5) for v in curve] for m, curve in self.curves.items()},
            },
        }

    def table(self, metrics: Sequence[str] | None = None) -> str:
        """A Markdown table: one row per method, ``mean [low, high]`` per metric."""
        metrics = list(metrics or [f"{m}@{c:g}" for m in ("hit_rate", "pai", "pei") for c in self.coverages])
        summary = self.summary().set_index(["method", "metric"])
        lines = ["| method | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for method in self.methods:
            cells = []
            for metric in metrics:
                mean, low, high = summary.loc[(method, metric), ["mean", "ci_low", "ci_high"]]
                cells.append(f"{mean:.3g} [{low:.3g}, {high:.3g}]")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, default=str) + "\n")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    return out


def _event_middles(events: pd.DataFrame) -> NDArray[np.datetime64]:
    start = events["occurred_from"].to_numpy(dtype="datetime64[ns]")
    end = events["occurred_to"].to_numpy(dtype="datetime64[ns]")
    end = np.where(np.isnat(end), start, end)
    return np.asarray(start + (end - start) / 2)


def rolling_origin_backtest(
    events: pd.DataFrame,
    grid: SquareGrid,
    forecasters: Mapping[str, Forecaster],
    origins: Sequence[dt.datetime | pd.Timestamp],
    *,
    horizon_days: float = 7.0,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    reference_days: float = 365.0,
    context_events: pd.DataFrame | None = None,
    timezone: str = "UTC",
    on_forecast: Callable[[ScoredForecast], None] | None = None,
) -> BacktestResult:
    """Fit, forecast and score every forecaster at every origin.

    Parameters
    ----------
    events : DataFrame
        ``x_m``, ``y_m``, ``occurred_from``, ``occurred_to`` (naive UTC) of one category.
    grid : SquareGrid
        Cells (with the study-area mask) over which coverage is counted.
    forecasters : mapping of name to Forecaster
        Each is refitted at every origin (``warm_start`` forecasters may reuse earlier work, never
        later data).
    origins : sequence of datetimes
        Forecast moments (naive UTC), e.g. :func:`weekly_origins`.
    horizon_days : float
        Length of each test period, local calendar days (:func:`period_end`).
    coverages : sequence of float
        Fractions of the study area for hit rate, PAI, PEI and RRI.
    reference_days : float
        Reference period before each origin for the recapture rate index, local calendar days.
    context_events : DataFrame, optional
        Incidents of every category, given to each forecaster's ``fit`` (read only by methods with
        ``uses_context``, under the same cut-off as the events).
    timezone : str
        The agency's IANA time zone, in which periods are counted in calendar days.
    on_forecast : callable, optional
        Called with each :class:`ScoredForecast` (fitted forecaster, scores, test counts, period)
        right after it is scored, e.g. to write it out for others to re-score.
    """
    import time

    if not forecasters:
        raise ValueError("give at least one forecaster")
    if len(events) == 0:
        raise ValueError("no events to backtest (empty category?)")
    middles = _event_middles(events)
    cells = grid.assign(events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float))
    inside = cells >= 0
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[NDArray[np.float64]]] = {name: [] for name in forecasters}
    for origin in sorted(to_utc_naive(o) for o in origins):
        end = period_end(origin, horizon_days, timezone)
        reference_start = _shift_local(origin, -reference_days, timezone)
        t0, t1 = np.datetime64(origin.to_datetime64()), np.datetime64(end.to_datetime64())
        in_test = inside & (middles >= t0) & (middles < t1)
        in_reference = inside & (middles >= np.datetime64(reference_start.to_datetime64())) & (middles < t0)
        test_counts = np.bincount(cells[in_test], minlength=grid.n_units)
        reference_counts = np.bincount(cells[in_reference], minlength=grid.n_units)
        length_days = (end - origin) / pd.Timedelta(days=1)
        for name, forecaster in forecasters.items():
            start = time.perf_counter()
            fitted = forecaster.fit(events, grid=grid, as_of=origin, context_events=context_events)
            scores = fitted.predict(length_days)
            seconds = time.perf_counter() - start
            row: dict[str, Any] = {"method": name, "origin": origin, "period_end": end, "fit_s": seconds}
            row.update(score_forecast(scores, test_counts, reference_counts=reference_counts, coverages=coverages))
            rows.append(row)
            if on_forecast is not None:
                on_forecast(ScoredForecast(name, fitted, scores, test_counts, origin, end, timezone))
            if test_counts.sum() > 0:
                area, hits = coverage_curve(scores, test_counts)
                curves[name].append(np.interp(CURVE_POINTS, area, hits))
    mean_curves = {name: np.mean(c, axis=0) if c else np.full(len(CURVE_POINTS), np.nan) for name, c in curves.items()}
    return BacktestResult(
        scores=pd.DataFrame(rows),
        curves=mean_curves,
        horizon_days=horizon_days,
        coverages=tuple(coverages),
        n_cells=grid.n_units,
        cell_size_m=grid.cell_size_m,
    )


def stable_risk_oracle(
    events: pd.DataFrame,
    grid: SquareGrid,
    origins: Sequence[dt.datetime | pd.Timestamp],
    *,
    horizon_days: float = 7.0,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """PAI of two **in-sample oracles** of stable risk, per test period: a ceiling, not a method.

    Both rank the cells by their mean count per period over *all* the test periods, i.e. with
    hindsight of the whole evaluation span (no forecaster can know it):

    * ``in_sample_pai@c``: the mean includes the period being scored, so it partly knows the answer;
    * ``leave_out_pai@c``: the mean of the *other* periods, the best a forecast of each cell's
      stable rate could do if it knew that rate from the whole span.

    When the bar asked of a forecaster lies above these, it can only be reached by foreseeing the
    week-to-week changes around a place's stable rate. Test periods are counted as in
    :func:`rolling_origin_backtest` (local calendar days in ``timezone``); rows: ``origin``,
    ``events`` and the two PAIs per coverage.

    >>> grid = SquareGrid.from_bounds((0, 0, 400, 100), 100.0)
    >>> weeks = [pd.Timestamp("2019-01-07") + pd.Timedelta(days=7 * k) for k in range(3)]
    >>> times = [w + pd.Timedelta(days=1) for w in weeks for _ in range(3)]
    >>> events = pd.DataFrame({"x_m": [50.0, 50.0, 150.0] * 3, "y_m": 50.0, "occurred_from": times})
    >>> events["occurred_to"] = events["occurred_from"]
    >>> table = stable_risk_oracle(events, grid, weeks, coverages=[0.25])
    >>> table[["in_sample_pai@0.25", "leave_out_pai@0.25"]].iloc[0].tolist()
    [2.6666666666666665, 2.6666666666666665]
    """
    from openilp.analysis.evaluation import pai

    middles = _event_middles(events)
    cells = grid.assign(events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float))
    inside = cells >= 0
    stamps = sorted(to_utc_naive(o) for o in origins)
    counts = []
    for origin in stamps:
        t0 = np.datetime64(origin.to_datetime64())
        t1 = np.datetime64(period_end(origin, horizon_days, timezone).to_datetime64())
        in_test = inside & (middles >= t0) & (middles < t1)
        counts.append(np.bincount(cells[in_test], minlength=grid.n_units).astype(np.float64))
    table = np.array(counts)
    total = table.sum(axis=0)
    rows: list[dict[str, Any]] = []
    for origin, week in zip(stamps, table, strict=True):
        row: dict[str, Any] = {"origin": origin, "events": int(week.sum())}
        for c in coverages:
            row[f"in_sample_pai@{c:g}"] = pai(total, week, c) if week.sum() > 0 else math.nan
            row[f"leave_out_pai@{c:g}"] = pai(total - week, week, c) if week.sum() > 0 and len(table) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def plot_coverage_curves(
    results: Mapping[str, BacktestResult], path: str | Path, *, title: str = "", max_coverage: float = 0.2
) -> None:
    """Mean coverage curves (hit rate against share of the area flagged), one panel per result
    (e.g. per category), written as PNG or SVG (by the file suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    upto = max_coverage + 1e-12 >= CURVE_POINTS
    for ax, (label, result) in zip(axes[0], results.items(), strict=True):
        for method, curve in result.curves.items():
            ax.plot(100 * CURVE_POINTS[upto], 100 * curve[upto], label=method, linewidth=1.5)
        ax.plot(100 * CURVE_POINTS[upto], 100 * CURVE_POINTS[upto], color="grey", linestyle=":", label="random")
        periods = result.scores["origin"].nunique()
        ax.set_title(f"{label} ({periods} periods)", fontsize=10)
        ax.set_xlabel("area flagged (%)")
        ax.set_ylabel("events caught (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
