"""Near-repeat analysis: the Knox space-time test with Monte Carlo permutation of event times.

Every pair of events is placed in a table of *space bands* (metres apart) by *time bands*
(days apart). The observed pair counts are compared with the counts expected when the same
locations and the same times are kept but the times are shuffled among the locations: any
space-time interaction ("a burglary is followed by another one nearby, soon") is destroyed by
the shuffle while the spatial and the temporal distributions are kept (Knox 1964; Johnson et
al. 2007; Ratcliffe's Near Repeat Calculator, NRC).

Conventions (those of Ratcliffe's NRC and of Steenbeek's ``NearRepeat`` R package):

* **same location** is its own space band: pairs no more than ``same_location_m`` apart
  (default 0 m: identical coordinates). The distance bands that follow leave those pairs out.
* bands are half-open ``[a, b)`` by default (``closed="left"``, as ``NearRepeat``); pass
  ``closed="right"`` for ``(a, b]``. The first time band always includes 0 days.
* pairs further apart in time than the last time band are counted in an overflow column
  (``observed_beyond_``), so the counts add up to all pairs within the last space band.
* the p-value of a cell is ``(k + 1) / (R + 1)`` where ``k`` of the ``R`` permutations gave a
  count at least as large as the observed one (one-sided, testing for *more* pairs than chance).
* the Knox ratio is observed / mean of the permutation counts. Ratcliffe's practical flag is a
  ratio of at least 1.2 with p < 0.05.

Time. Pass one time per event in days (any origin). When all times are whole numbers (dates, as
in NRC) the day difference is an integer and the fast path is used; fractional times work too,
about four times slower. :func:`event_days` turns an ``occurred_from``/``occurred_to`` window
into one day number: the calendar day of the window's midpoint (documented in
``docs/analysis-near-repeat.md``). Aoristic weighting is not used: the permutation test needs one
time per event, and NRC and ``NearRepeat`` also take a single date.

Speed. Pairs within the largest distance are found once with a KD-tree (``O(n log n + pairs)``
memory: 16 bytes per pair); each permutation then only recomputes the time differences of those
pairs from the permuted time vector and counts them. For whole-day times a compiled loop
(:mod:`openilp.analysis._knox_kernel`, numba) does this in one pass per permutation, with
permutations spread over ``n_jobs`` threads; otherwise ``numpy.bincount`` does it. Both give the
same counts. Pairs are never dropped by time, because the times are permuted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.knox_pairs import Closed, close_pairs, knox_pair_counts, permutation_seeds
from openilp.analysis.knox_pairs import band_index as _band_index
from openilp.analysis.knox_pairs import space_bands as _space_bands

__all__ = ["KnoxTest", "event_days", "knox_counts_bruteforce"]

#: Ratcliffe's practical threshold for a meaningful near-repeat cell.
DEFAULT_MIN_RATIO = 1.2


def _check_edges(edges: Sequence[float] | ArrayLike, name: str, unit: str) -> NDArray[np.float64]:
    arr = np.asarray(edges, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} must list at least one band edge ({unit})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers ({unit}), got {arr.tolist()}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive upper band edges ({unit}), got {arr.tolist()}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing ({unit}), got {arr.tolist()}")
    return arr


def _check_events(
    x_m: ArrayLike, y_m: ArrayLike, t_days: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(x_m, dtype=float).ravel()
    y = np.asarray(y_m, dtype=float).ravel()
    t = np.asarray(t_days, dtype=float).ravel()
    if not (x.size == y.size == t.size):
        raise ValueError(f"x_m, y_m and t_days must have the same length, got {x.size}, {y.size}, {t.size}")
    if x.size < 2:
        raise ValueError(f"the Knox test needs at least 2 events, got {x.size}")
    for name, arr in (("x_m", x), ("y_m", y), ("t_days", t)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values: drop unlocated or undated events first")
    return x, y, t


def knox_counts_bruteforce(
    x_m: ArrayLike,
    y_m: ArrayLike,
    t_days: ArrayLike,
    space_bands_m: Sequence[float],
    time_bands_days: Sequence[float],
    *,
    same_location_m: float | None = 0.0,
    closed: Closed = "left",
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Knox pair counts by looking at every pair of events: an ``O(n²)`` reference for tests.

    Parameters and conventions as :class:`KnoxTest`.

    Returns
    -------
    observed : ndarray of int64, shape (space bands, time bands)
        Pairs per cell (first row "same location" unless ``same_location_m`` is None).
    beyond : ndarray of int64, shape (space bands,)
        Pairs within the last space band but further apart in time than the last time band.

    Examples
    --------
    >>> obs, beyond = knox_counts_bruteforce([0, 0, 50], [0, 0, 0], [0, 3, 20], [100], [7, 14])
    >>> obs.tolist(), beyond.tolist()
    ([[1, 0], [0, 0]], [0, 2])
    """
    x, y, t = _check_events(x_m, y_m, t_days)
    s_edges = _check_edges(space_bands_m, "space_bands_m", "metres")
    t_edges = _check_edges(time_bands_days, "time_bands_days", "days")
    n_space = s_edges.size + (same_location_m is not None)
    counts = np.zeros((n_space, t_edges.size + 1), dtype=np.int64)
    for a in range(x.size - 1):
        distance = np.hypot(x[a + 1 :] - x[a], y[a + 1 :] - y[a])
        sband = _space_bands(distance, s_edges, same_location_m, closed)
        tband = _band_index(np.abs(t[a + 1 :] - t[a]), t_edges, closed)
        keep = sband >= 0
        np.add.at(counts, (sband[keep], tband[keep]), 1)
    return counts[:, :-1], counts[:, -1]


def event_days(
    occurred_from: ArrayLike,
    occurred_to: ArrayLike | None = None,
    *,
    origin: str | np.datetime64 = "1970-01-01",
    whole_days: bool = True,
) -> NDArray[np.float64]:
    """One time per event in days since ``origin``: the midpoint of its occurrence window.

    A window ``[occurred_from, occurred_to]`` (e.g. a burglary discovered after a weekend away)
    is reduced to its midpoint; with ``whole_days`` (default) to the calendar day of that
    midpoint, as NRC uses dates. Pass local (agency time zone) naive timestamps so that days
    break at local midnight. Events with very long windows carry little timing information:
    consider leaving out those whose window is longer than the first time band.

    Parameters
    ----------
    occurred_from, occurred_to : array_like of datetime64
        Start and end of each occurrence window; ``occurred_to`` may be None or NaT (a point).
    origin : str or numpy.datetime64
        Day 0.
    whole_days : bool
        Floor to the calendar day (the fast integer path of :class:`KnoxTest`).

    Returns
    -------
    ndarray of float64
        Days since ``origin``.

    Examples
    --------
    >>> event_days(["2019-03-01T22:00", "2019-03-02T10:00"], ["2019-03-02T04:00", None]).tolist()
    [17957.0, 17957.0]
    """
    start = pd.to_datetime(pd.Series(np.asarray(occurred_from)))
    end = start if occurred_to is None else pd.to_datetime(pd.Series(np.asarray(occurred_to)))
    end = end.where(end.notna(), start)
    mid = start + (end - start) / 2
    days = (mid - pd.Timestamp(origin)) / pd.Timedelta(days=1)
    out = np.asarray(days.to_numpy(dtype=float), dtype=np.float64)
    return np.asarray(np.floor(out), dtype=np.float64) if whole_days else out


def _label(lo: float, hi: float, unit: str, closed: Closed) -> str:
    left, right = ("[", ")") if closed == "left" else ("(", "]")
    if closed == "right" and lo == 0:
        left = "["
    return f"{left}{lo:g}, {hi:g}{right} {unit}"


class KnoxTest:
    """Knox test for near-repeat space-time clustering, with a Monte Carlo permutation p-value.

    Parameters
    ----------
    space_bands_m : sequence of float
        Upper edges of the distance bands in metres, increasing, e.g. ``(100, 200, …, 1000)``.
    time_bands_days : sequence of float
        Upper edges of the time bands in days, increasing, e.g. ``(7, 14, …, 70)``.
    same_location_m : float or None
        Pairs at most this many metres apart form the "same location" band (0 = identical
        coordinates, as NRC). None: no separate band.
    permutations : int
        Number of random permutations of the event times (999 gives p-values down to 0.001).
    seed : int or None
        Seed of the random permutations: the same seed gives the same p-values.
    closed : {"left", "right"}
        Bands are ``[a, b)`` ("left", as Steenbeek's ``NearRepeat``) or ``(a, b]`` ("right").
    n_jobs : int or None
        Threads used for the permutations (None or 1: one; -1: all CPUs). Results do not depend
        on it: every permutation has its own random stream.

    Attributes
    ----------
    observed_ : ndarray of int64, shape (space bands, time bands)
        Observed pairs per cell; the first row is "same location" unless it is disabled.
    observed_beyond_ : ndarray of int64, shape (space bands,)
        Pairs within the space band but further apart in time than the last time band.
    simulated_ : ndarray of int64, shape (permutations, space bands, time bands)
        Counts under each permutation.
    expected_ : ndarray of float64
        Mean of ``simulated_``: the pairs expected by chance.
    knox_ratio_ : ndarray of float64
        ``observed_ / expected_`` (NaN where nothing is expected).
    p_value_ : ndarray of float64
        ``(1 + #{simulated ≥ observed}) / (permutations + 1)``.
    z_score_ : ndarray of float64
        ``(observed − mean) / sd`` of the permutation counts (NaN where sd is 0).
    n_events_, n_pairs_ : int
        Events, and pairs within the largest distance.
    space_band_labels_, time_band_labels_ : list of str

    References
    ----------
    Knox, E. G. (1964). The detection of space-time interactions. *Applied Statistics* 13, 25–29.
    Johnson, S. D. et al. (2007). Space–time patterns of risk: a cross national assessment of
    residential burglary victimization. *J. Quant. Criminol.* 23, 201–219.
    Ratcliffe, J. H. (2009). *Near Repeat Calculator* (version 1.3). Temple University.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x, y = rng.uniform(0, 5000, 300), rng.uniform(0, 5000, 300)
    >>> t = rng.integers(0, 365, 300).astype(float)
    >>> knox = KnoxTest(space_bands_m=[200, 400], time_bands_days=[7, 14], permutations=99, seed=0)
    >>> knox.fit(x, y, t).observed_.shape
    (3, 2)
    >>> bool(((knox.p_value_ > 0) & (knox.p_value_ <= 1)).all())
    True
    """

    def __init__(
        self,
        *,
        space_bands_m: Sequence[float] = (100, 200, 300, 400, 500, 600, 700, 800, 900, 1000),
        time_bands_days: Sequence[float] = (7, 14, 21, 28, 35, 42, 49, 56, 63, 70),
        same_location_m: float | None = 0.0,
        permutations: int = 999,
        seed: int | None = None,
        closed: Closed = "left",
        n_jobs: int | None = None,
    ) -> None:
        self.space_bands_m = space_bands_m
        self.time_bands_days = time_bands_days
        self.same_location_m = same_location_m
        self.permutations = permutations
        self.seed = seed
        self.closed = closed
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting
    def _validate(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        s_edges = _check_edges(self.space_bands_m, "space_bands_m", "metres")
        t_edges = _check_edges(self.time_bands_days, "time_bands_days", "days")
        if s_edges.size > 100:
            raise ValueError(f"at most 100 space bands are supported, got {s_edges.size}")
        if self.same_location_m is not None and not (0 <= self.same_location_m < s_edges[0]):
            raise ValueError(
                f"same_location_m must be >= 0 and below the first space band ({s_edges[0]:g} m), "
                f"got {self.same_location_m}"
            )
        if int(self.permutations) != self.permutations or self.permutations < 1:
            raise ValueError(f"permutations must be a positive whole number, got {self.permutations}")
        if self.closed not in ("left", "right"):
            raise ValueError(f"closed must be 'left' or 'right', got {self.closed!r}")
        return s_edges, t_edges

    def fit(self, x_m: ArrayLike, y_m: ArrayLike, t_days: ArrayLike) -> KnoxTest:
        """Count the pairs per cell, then permute the times ``permutations`` times.

        Parameters
        ----------
        x_m, y_m : array_like of float
            Event coordinates in metres (a projected CRS).
        t_days : array_like of float
            Event times in days; whole numbers (dates) use the fast integer path.

        Returns
        -------
        KnoxTest
            ``self``, fitted.
        """
        s_edges, t_edges = self._validate()
        x, y, t = _check_events(x_m, y_m, t_days)
        n_space = s_edges.size + (self.same_location_m is not None)
        # All pairs within the largest distance, once (16 bytes per pair), then their counts under
        # the observed times and under every seeded permutation (openilp.analysis.knox_pairs).
        first, second, band = close_pairs(x, y, s_edges, self.same_location_m, self.closed)
        observed, simulated = knox_pair_counts(
            first,
            second,
            band,
            t,
            t_edges,
            n_space=n_space,
            closed=self.closed,
            seeds=permutation_seeds(self.seed, int(self.permutations)),
            n_jobs=self.n_jobs,
        )
        return self.fit_counts(
            observed,
            simulated,
            n_events=int(t.size),
            n_pairs=int(first.size),
            integer_times=bool(np.all(t == np.round(t))),
        )

    def fit_counts(
        self,
        observed: NDArray[np.int64],
        simulated: NDArray[np.int64],
        *,
        n_events: int,
        n_pairs: int,
        integer_times: bool,
    ) -> KnoxTest:
        """Finish the test from pair counts made elsewhere (another engine, e.g. :mod:`openilp.spark.knox`).

        ``observed`` has shape ``(space bands, time bands + 1)`` and ``simulated`` one such table per
        permutation, both from :func:`openilp.analysis.knox_pairs.knox_pair_counts` (the last column
        counts pairs beyond the last time band); the statistics are those of :meth:`fit`.
        """
        s_edges, t_edges = self._validate()
        n_time = t_edges.size
        n_perm = int(self.permutations)
        if simulated.shape[0] != n_perm:
            raise ValueError(f"expected counts of {n_perm} permutations, got {simulated.shape[0]}")
        self.n_events_ = int(n_events)
        self.n_pairs_ = int(n_pairs)
        self.integer_times_ = integer_times
        self.observed_ = observed[:, :n_time]
        self.observed_beyond_ = observed[:, n_time]
        self.simulated_ = simulated[:, :, :n_time]
        self.expected_ = self.simulated_.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.knox_ratio_ = np.where(self.expected_ > 0, self.observed_ / self.expected_, np.nan)
            sd = self.simulated_.std(axis=0, ddof=1) if n_perm > 1 else np.zeros_like(self.expected_)
            self.z_score_ = np.where(sd > 0, (self.observed_ - self.expected_) / sd, np.nan)
        exceed = (self.simulated_ >= self.observed_[None, :, :]).sum(axis=0)
        self.p_value_ = (exceed + 1.0) / (n_perm + 1.0)

        lows = np.concatenate([[0.0], s_edges[:-1]])
        labels = [_label(lo, hi, "m", self.closed) for lo, hi in zip(lows, s_edges, strict=True)]
        if self.same_location_m is not None:
            if self.same_location_m == 0:
                labels = ["same location"] + labels
            else:
                labels = [f"same location (≤ {self.same_location_m:g} m)"] + labels
        self.space_band_labels_ = labels
        self._space_lo = np.concatenate([[0.0], lows]) if self.same_location_m is not None else lows
        self._space_hi = (
            np.concatenate([[float(self.same_location_m or 0.0)], s_edges])
            if self.same_location_m is not None
            else s_edges
        )
        t_lows = np.concatenate([[0.0], t_edges[:-1]])
        self.time_band_labels_ = [_label(lo, hi, "days", self.closed) for lo, hi in zip(t_lows, t_edges, strict=True)]
        self._time_lo, self._time_hi = t_lows, t_edges
        return self

    # ------------------------------------------------------------------ results
    def _check_fitted(self) -> None:
        if not hasattr(self, "observed_"):
            raise ValueError("this KnoxTest is not fitted yet: call fit(x_m, y_m, t_days) first")

    def table(self, *, alpha: float = 0.05, min_ratio: float = DEFAULT_MIN_RATIO) -> pd.DataFrame:
        """One row per cell: bands, observed and expected pairs, Knox ratio, p-value, flag.

        ``significant`` is ``p_value < alpha`` and ``knox_ratio >= min_ratio`` (Ratcliffe's
        practical flag).
        """
        self._check_fitted()
        n_space, n_time = self.observed_.shape
        s_idx, t_idx = np.divmod(np.arange(n_space * n_time), n_time)
        frame = pd.DataFrame(
            {
                "space_band": np.asarray(self.space_band_labels_, dtype=object)[s_idx],
                "time_band": np.asarray(self.time_band_labels_, dtype=object)[t_idx],
                "space_index": s_idx,
                "time_index": t_idx,
                "same_location": (s_idx == 0) if self.same_location_m is not None else False,
                "distance_from_m": self._space_lo[s_idx],
                "distance_to_m": self._space_hi[s_idx],
                "days_from": self._time_lo[t_idx],
                "days_to": self._time_hi[t_idx],
                "observed": self.observed_.ravel(),
                "expected": self.expected_.ravel(),
                "knox_ratio": self.knox_ratio_.ravel(),
                "z_score": self.z_score_.ravel(),
                "p_value": self.p_value_.ravel(),
            }
        )
        frame["significant"] = (frame["p_value"] < alpha) & (frame["knox_ratio"] >= min_ratio)
        return frame

    def summary(
        self, *, event_name: str = "events", alpha: float = 0.05, min_ratio: float = DEFAULT_MIN_RATIO
    ) -> list[str]:
        """Plain-language sentences for the significant cells, strongest first.

        Examples
        --------
        >>> rng = np.random.default_rng(3)
        >>> x, y, t = rng.uniform(0, 3000, 200), rng.uniform(0, 3000, 200), rng.integers(0, 200, 200)
        >>> x, y, t = np.r_[x, x + 20], np.r_[y, y], np.r_[t, t + 2]  # every event repeated nearby
        >>> knox = KnoxTest(space_bands_m=[100, 500], time_bands_days=[7, 30], permutations=99, seed=1)
        >>> knox.fit(x, y, t).summary(event_name="burglaries")[0][:60]
        'Burglaries within 0–100 m and 0–7 days of another burglary o'
        """
        table = self.table(alpha=alpha, min_ratio=min_ratio)
        hits = table[table["significant"]].sort_values("knox_ratio", ascending=False)
        singular = event_name[:-3] + "y" if event_name.endswith("ies") else event_name.rstrip("s")
        capital = event_name[:1].upper() + event_name[1:]
        sentences = []
        for row in hits.itertuples():
            when = f"{row.days_from:g}–{row.days_to:g} days"
            if row.same_location:
                sentence = f"{capital} at the same location and within {when} of another {singular}"
            else:
                sentence = (
                    f"{capital} within {row.distance_from_m:g}–{row.distance_to_m:g} m and {when} of another {singular}"
                )
            sentences.append(
                f"{sentence} occur {row.knox_ratio:.1f}× as often as chance would give "
                f"({row.observed:,} pairs observed, {row.expected:,.0f} expected; p = {row.p_value:.3f})."
            )
        if not sentences:
            sentences.append(
                f"No space-time band shows more pairs of {event_name} than chance "
                f"(p < {alpha:g} with a Knox ratio of at least {min_ratio:g})."
            )
        return sentences
