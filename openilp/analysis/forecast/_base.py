"""The forecaster contract, and the strict cut-off that keeps the future out of every forecast.

Every forecaster follows scikit-learn's estimator shape: keyword parameters stored by
``__init__``; ``fit(events, grid=..., as_of=...)`` validates them, keeps only the events *known*
at the as-of moment and returns ``self``; fitted state ends in ``_``; ``predict(horizon_days)``
returns one risk score per active grid cell (higher = more risk; for most methods an expected
number of events in the horizon).

**What a forecaster sees.** Only :data:`FORECAST_INPUT_COLUMNS` (where and when each event
occurred) are read from the event frame; any other column (category, neighbourhood, and anything a
caller might add, such as a demographic attribute) is dropped before a forecaster sees the data.
Tests in ``tests/test_forecast_contract.py`` prove it for each method.

**When an event is known** (:func:`known_mask`). An event with occurrence window
``[occurred_from, occurred_to)`` is known at the as-of moment ``T`` when
``occurred_from < T`` and ``occurred_to <= T``: the whole window lies before ``T``. A point event
(``occurred_to == occurred_from``, minute precision) must have happened strictly before ``T``. A
date-only event (``[midnight, next midnight)``) is known only from the following midnight, so a
forecast issued at midnight never sees that day's events: inclusive cut-offs (``t <= T``) that let
them in inflated the prospective-hotspot PAI@1 % on Chicago burglary from 4.9 to 10.8 in a popular
open-source library (analytics reference §3.3). An event whose window ends after ``T`` (a burglary
discovered later) is not known yet either.

Times are naive UTC (as :func:`openilp.services.analysis.events.load_events` returns them). Each known event
is then represented by the middle of its window, as an age in days before ``T`` (> 0).

**Context events.** A method with ``uses_context = True`` (the learned model) may also read
``context_events``: the located incidents of *every* category, as extra inputs (crime of all kinds
near a cell tells about the place as well as the category's own history). They pass through the
same filter: only :data:`FORECAST_INPUT_COLUMNS` are read and only events known at ``T`` are kept,
so the context can neither carry a protected attribute nor leak the future. Other methods ignore it.
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.signal import fftconvolve

from openilp.analysis.grids import SquareGrid

__all__ = [
    "FORECAST_INPUT_COLUMNS",
    "EventHistory",
    "Forecaster",
    "known_mask",
    "to_utc_naive",
]

#: The only event columns any forecaster reads.
FORECAST_INPUT_COLUMNS = ("x_m", "y_m", "occurred_from", "occurred_to")

_DAY = np.timedelta64(1, "D")


def to_utc_naive(moment: dt.datetime | dt.date | pd.Timestamp | str) -> pd.Timestamp:
    """The moment as a naive UTC timestamp (aware times are converted; a date is its UTC midnight)."""
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def known_mask(events: pd.DataFrame, as_of: dt.datetime | pd.Timestamp) -> NDArray[np.bool_]:
    """Which events are known at ``as_of``: ``occurred_from < as_of`` and ``occurred_to <= as_of``.

    >>> frame = pd.DataFrame({
    ...     "occurred_from": pd.to_datetime(["2019-01-01 00:00", "2019-01-02 00:00", "2019-01-01 23:59"]),
    ...     "occurred_to": pd.to_datetime(["2019-01-02 00:00", "2019-01-03 00:00", "2019-01-01 23:59"]),
    ... })
    >>> known_mask(frame, pd.Timestamp("2019-01-02")).tolist()  # the 2 January (date-only) is not known
    [True, False, True]
    """
    cut = np.datetime64(to_utc_naive(as_of).to_datetime64())
    start = events["occurred_from"].to_numpy(dtype="datetime64[ns]")
    end = events["occurred_to"].to_numpy(dtype="datetime64[ns]")
    end = np.where(np.isnat(end), start, end)
    return np.asarray((start < cut) & (end <= cut), dtype=bool)


@dataclass(frozen=True)
class EventHistory:
    """The known events a forecaster fits on, already restricted to the grid's active cells.

    ``age_days`` is the time from the middle of each event's window to the as-of moment (days, > 0);
    ``end_age_days`` from the end of the window (≥ 0): the event was known ``end_age_days`` ago.
    """

    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    cell: NDArray[np.int64]
    age_days: NDArray[np.float64]
    end_age_days: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.cell)

    def recent(self, window_days: float) -> NDArray[np.bool_]:
        """Events younger than ``window_days``."""
        return np.asarray(self.age_days <= window_days, dtype=bool)


def _history(events: pd.DataFrame, grid: SquareGrid, as_of: pd.Timestamp) -> EventHistory:
    missing = [c for c in FORECAST_INPUT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"the events lack column(s) {', '.join(missing)}")
    inputs = events.loc[:, list(FORECAST_INPUT_COLUMNS)]  # nothing else is ever read
    if len(inputs) == 0:
        raise ValueError("no events to forecast from (empty category or period?)")
    known = inputs[known_mask(inputs, as_of)]
    if len(known) == 0:
        first = inputs["occurred_from"].min()
        raise ValueError(f"as_of {as_of} is before the data (first event {first}): no event is known yet")
    start = known["occurred_from"].to_numpy(dtype="datetime64[ns]")
    end = known["occurred_to"].to_numpy(dtype="datetime64[ns]")
    end = np.where(np.isnat(end), start, end)
    middle = start + (end - start) / 2
    cut = np.datetime64(as_of.to_datetime64())
    age = np.asarray((cut - middle) / _DAY, dtype=np.float64)
    end_age = np.asarray((cut - end) / _DAY, dtype=np.float64)  # type: ignore[operator]
    x = known["x_m"].to_numpy(dtype=np.float64)
    y = known["y_m"].to_numpy(dtype=np.float64)
    cell = grid.assign(x, y)
    inside = cell >= 0
    if not inside.any():
        raise ValueError("no known event lies inside the grid's study area")
    # A canonical order (oldest first, then by place), so the row order of the input never matters.
    order = np.lexsort((end_age[inside], y[inside], x[inside], -age[inside]))
    keep = np.flatnonzero(inside)[order]
    return EventHistory(x[keep], y[keep], cell[keep], np.maximum(age[keep], 1e-9), end_age[keep])


class Forecaster(ABC):
    """Base class of the place-based forecasters (see the module docstring for the contract).

    Subclasses store keyword parameters in ``__init__`` and implement :meth:`_fit` and
    :meth:`_predict`; :meth:`fit` does the validation and the cut-off once for all of them.
    """

    #: Short name used in tables and on the command line.
    name: str = "forecaster"
    #: Longest gap (days) between the last known event and the as-of moment before the data are
    #: considered not to cover the as-of date.
    max_gap_days: float = 62.0
    #: Whether :meth:`fit` reads ``context_events`` (incidents of every category) as extra inputs.
    uses_context: bool = False
    #: The known context events (see :meth:`fit`), or None when none were given or not used.
    context_history_: EventHistory | None

    def get_params(self) -> dict[str, Any]:
        """The parameters given to ``__init__`` (scikit-learn convention)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def fit(
        self,
        events: pd.DataFrame,
        *,
        grid: SquareGrid,
        as_of: dt.datetime | pd.Timestamp | str,
        context_events: pd.DataFrame | None = None,
    ) -> Self:
        """Fit on the events known at ``as_of`` (see :func:`known_mask`); return ``self``.

        Parameters
        ----------
        events : DataFrame
            At least :data:`FORECAST_INPUT_COLUMNS`; ``x_m``/``y_m`` in the grid's CRS (metres),
            times naive UTC. Other columns are ignored.
        grid : SquareGrid
            The cells to forecast (a study-area mask restricts events and scores).
        as_of : datetime
            The moment the forecast is issued (naive UTC, or aware).
        context_events : DataFrame, optional
            Incidents of every category (same columns and CRS), read only by methods with
            ``uses_context``; the same columns and the same cut-off apply to them.

        Raises
        ------
        ValueError
            No events, no event known before ``as_of``, or ``as_of`` long after the data end.
        """
        if not isinstance(grid, SquareGrid):
            raise TypeError("forecasters need a SquareGrid")
        if grid.n_units == 0:
            raise ValueError("the grid has no active cells")
        self._validate()
        stamp = to_utc_naive(as_of)
        history = _history(events, grid, stamp)
        gap = float(history.age_days.min())
        if gap > self.max_gap_days:
            raise ValueError(f"as_of {stamp} is {gap:.0f} days after the last known event: the data do not cover it")
        self.as_of_ = stamp
        self.grid_ = grid
        self.n_events_ = len(history)
        self.context_history_ = None
        if self.uses_context and context_events is not None:
            self.context_history_ = _history(context_events, grid, stamp)
        self._fit(history)
        return self

    def predict(self, horizon_days: float = 7.0) -> NDArray[np.float64]:
        """Risk score of each active cell for ``(as_of, as_of + horizon_days]`` (higher = more risk)."""
        if not hasattr(self, "as_of_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() first")
        if not (horizon_days > 0 and math.isfinite(horizon_days)):
            raise ValueError("horizon_days must be positive")
        scores = np.asarray(self._predict(float(horizon_days)), dtype=np.float64)
        if scores.shape != (self.grid_.n_units,):
            raise AssertionError("a forecaster must return one score per active cell")
        return scores

    def _validate(self) -> None:  # noqa: B027 - optional hook
        """Check the parameters (called by :meth:`fit`)."""

    @abstractmethod
    def _fit(self, history: EventHistory) -> None: ...

    @abstractmethod
    def _predict(self, horizon_days: float) -> NDArray[np.float64]: ...


# --- raster helpers shared by the grid methods -------------------------------------------------------


def raster_counts(
    grid: SquareGrid, cell: NDArray[np.int64], weights: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Weighted event counts on the full (rows, columns) raster of ``grid`` (0 in masked cells)."""
    values = np.bincount(cell, weights=weights, minlength=grid.n_units).astype(np.float64)
    return grid.to_raster(values, fill=0.0)


def smooth(raster: NDArray[np.float64], kernel: NDArray[np.float64]) -> NDArray[np.float64]:
    """``raster`` convolved with a centred odd-sized ``kernel`` (same shape, FFT, clipped at 0)."""
    if kernel.size == 1:
        return raster * float(kernel.ravel()[0])
    return np.asarray(np.clip(fftconvolve(raster, kernel, mode="same"), 0.0, None), dtype=np.float64)


def positive(name: str, value: float) -> None:
    """Raise a clear error unless ``value`` is a positive finite number."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
