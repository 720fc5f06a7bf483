"""Knox pair counting: the pairs of events close in space, and their counts per space × time band
under the observed times and under seeded permutations of the times.

This is the heavy part of the Knox test (:class:`openilp.analysis.nearrepeat.KnoxTest`), kept apart
so that another engine can do it and hand the counts back: the counts are sums over pairs, so any
split of the pairs (the partitions of a Spark job, :mod:`openilp.spark.knox`) counted with the same
seeded permutations adds up to exactly the counts of one process.

Permutation ``k`` of a test with seed ``s`` is ``default_rng(SeedSequence(s).spawn(R)[k]).permutation(n)``
whoever computes it, so the p-values do not depend on where the pairs are counted.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from openilp.analysis import _knox_kernel

__all__ = ["Closed", "band_index", "close_pairs", "knox_pair_counts", "permutation_seeds", "space_bands"]

Closed = Literal["left", "right"]

_CHUNK = 1 << 16


def band_index(values: NDArray[np.float64], edges: NDArray[np.float64], closed: Closed) -> NDArray[np.intp]:
    """Index of the band of each value; ``len(edges)`` means beyond the last edge.

    >>> band_index(np.array([0.0, 7.0, 13.9, 30.0]), np.array([7.0, 14.0]), "left").tolist()
    [0, 1, 1, 2]
    """
    side: Literal["left", "right"] = "right" if closed == "left" else "left"
    return np.searchsorted(edges, values, side=side).astype(np.intp)


def space_bands(
    distance_m: NDArray[np.float64], edges: NDArray[np.float64], same_location_m: float | None, closed: Closed
) -> NDArray[np.intp]:
    """Space band per pair; bands start with "same location" when it is kept apart; -1 = beyond.

    >>> space_bands(np.array([0.0, 50.0, 150.0, 500.0]), np.array([100.0, 200.0]), 0.0, "left").tolist()
    [0, 1, 2, -1]
    """
    band = band_index(distance_m, edges, closed)
    band[band >= edges.size] = -1
    if same_location_m is not None:
        band[band >= 0] += 1
        band[distance_m <= same_location_m] = 0
    return band


def close_pairs(
    x_m: NDArray[np.float64],
    y_m: NDArray[np.float64],
    space_edges_m: NDArray[np.float64],
    same_location_m: float | None,
    closed: Closed,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """All pairs ``i < j`` within the last space band, with their space band (a KD-tree).

    Returns ``first``, ``second`` (indices into the events) and ``band`` (0 = same location when
    it is kept apart), in no particular order.

    >>> first, second, band = close_pairs(np.array([0.0, 0.0, 50.0]), np.zeros(3), np.array([100.0]), 0.0, "left")
    >>> sorted(zip(first.tolist(), second.tolist(), band.tolist()))
    [(0, 1, 0), (0, 2, 1), (1, 2, 1)]
    """
    xy = np.column_stack([x_m, y_m])
    pairs = cKDTree(xy).query_pairs(float(space_edges_m[-1]), output_type="ndarray")
    first = pairs[:, 0].astype(np.intp)
    second = pairs[:, 1].astype(np.intp)
    del pairs
    distance = np.hypot(x_m[first] - x_m[second], y_m[first] - y_m[second])
    band = space_bands(distance, space_edges_m, same_location_m, closed)
    keep = band >= 0
    return first[keep], second[keep], band[keep]


def permutation_seeds(seed: int | None, permutations: int) -> list[np.random.SeedSequence]:
    """One independent random stream per permutation (the same for every engine and thread count)."""
    return np.random.SeedSequence(seed).spawn(int(permutations))


def knox_pair_counts(
    first: NDArray[np.intp],
    second: NDArray[np.intp],
    band: NDArray[np.intp],
    t_days: NDArray[np.float64],
    time_edges_days: NDArray[np.float64],
    *,
    n_space: int,
    closed: Closed,
    seeds: list[np.random.SeedSequence],
    n_jobs: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Counts of the given pairs per (space band, time band, beyond) under the observed times and
    under each seeded permutation of ``t_days`` (all events' times, not only those of the pairs).

    Returns ``observed`` of shape ``(n_space, time bands + 1)`` and ``simulated`` of shape
    ``(len(seeds), n_space, time bands + 1)``; the last column counts pairs beyond the last time
    band. Counts of disjoint sets of pairs add up to the counts of their union.

    >>> t = np.array([0.0, 3.0, 20.0])
    >>> obs, sim = knox_pair_counts(np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([0, 1, 1]), t,
    ...                             np.array([7.0, 14.0]), n_space=2, closed="left", seeds=permutation_seeds(0, 5))
    >>> obs.tolist(), sim.shape, bool((sim.sum(axis=(1, 2)) == 3).all())
    ([[1, 0, 0], [0, 0, 2]], (5, 2, 3), True)
    """
    n_time = time_edges_days.size
    band8 = band.astype(np.int8)
    order = np.argsort(band8, kind="stable")
    first, second, band8 = first[order], second[order], band8[order]
    del order
    bounds = np.searchsorted(band8, np.arange(n_space + 1))
    del band8
    t = np.asarray(t_days, dtype=np.float64)
    integer_times = bool(np.all(t == np.round(t)))
    counter = _PairCounter(first, second, bounds, t, time_edges_days, closed, integer_times)
    observed = counter.count(np.arange(t.size))

    n_perm = len(seeds)
    simulated = np.empty((n_perm, n_space, n_time + 1), dtype=np.int64)

    def run(k: int) -> None:
        simulated[k] = counter.count(np.random.default_rng(seeds[k]).permutation(t.size))

    jobs = n_jobs or 1
    if jobs < 0:
        jobs = os.cpu_count() or 1
    if counter.compiled:
        # The same seeded permutations, counted by the compiled loop in blocks (bounded memory).
        block = max(1, min(n_perm, 2**24 // max(t.size, 1)))
        for start in range(0, n_perm, block):
            stop = min(start + block, n_perm)
            perms = np.stack([np.random.default_rng(seeds[k]).permutation(t.size) for k in range(start, stop)])
            simulated[start:stop] = counter.count_many(perms, jobs)
    elif jobs == 1:
        for k in range(n_perm):
            run(k)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, range(n_perm)))
    return observed, simulated


class _PairCounter:
    """Counts the pairs per (space band, time band) for one assignment of times to events."""

    def __init__(
        self,
        first: NDArray[np.intp],
        second: NDArray[np.intp],
        bounds: NDArray[np.intp],
        t: NDArray[np.float64],
        t_edges: NDArray[np.float64],
        closed: Closed,
        integer_times: bool,
    ) -> None:
        self.first, self.second, self.bounds = first, second, bounds
        self.t_edges, self.closed = t_edges, closed
        self.n_space = bounds.size - 1
        self.n_time = t_edges.size
        self.integer_times = integer_times
        if integer_times:
            # Shift times to start at 0; a pair's signed difference then lies in [-span, span]
            # and is counted with one bincount; the fold to |difference| and to bands is done on
            # the small histogram afterwards.
            t0 = t.min()
            self.t_int = (t - t0).astype(np.int64)
            self.span = int(self.t_int.max())
            abs_diff = np.abs(np.arange(-self.span, self.span + 1, dtype=np.float64))
            self.band_of_diff = band_index(abs_diff, t_edges, closed)
            # Over very long spans the signed histogram gets big: count min(|difference|, cap).
            self.cap = int(np.ceil(t_edges[-1])) + 1
            self.wide = 2 * self.span + 1 > 4 * self.cap and 2 * self.span + 1 > _CHUNK // 4
            self.band_of_capped = band_index(np.arange(self.cap + 1, dtype=np.float64), t_edges, closed)
            #: Whether the compiled loop counts the permutations (whole days).
            self.compiled = _knox_kernel.AVAILABLE
        else:
            self.t = t
            self.compiled = False

    def count_many(self, permutations: NDArray[np.intp], threads: int = 1) -> NDArray[np.int64]:
        """Counts for a block of permutations (rows), with the compiled loop on ``threads`` threads."""
        return _knox_kernel.count_permutations(
            self.first,
            self.second,
            self.bounds,
            self.t_int,
            permutations,
            self.cap,
            self.band_of_capped,
            self.n_time + 1,
            threads,
        )

    def count(self, permutation: NDArray[np.intp]) -> NDArray[np.int64]:
        out = np.zeros((self.n_space, self.n_time + 1), dtype=np.int64)
        if self.integer_times:
            tp = self.t_int[permutation]
            if self.wide:
                return self._count_capped(tp)
            shifted = tp + self.span
            n_bins = 2 * self.span + 1
            for band in range(self.n_space):
                lo, hi = int(self.bounds[band]), int(self.bounds[band + 1])
                if hi == lo:
                    continue
                hist = np.zeros(n_bins, dtype=np.int64)
                for start in range(lo, hi, _CHUNK):
                    stop = min(start + _CHUNK, hi)
                    diff = shifted[self.first[start:stop]]
                    diff -= tp[self.second[start:stop]]
                    hist += np.bincount(diff, minlength=n_bins)
                out[band] = np.bincount(self.band_of_diff, weights=hist, minlength=self.n_time + 1).astype(np.int64)
        else:
            tp = self.t[permutation]
            for band in range(self.n_space):
                lo, hi = int(self.bounds[band]), int(self.bounds[band + 1])
                for start in range(lo, hi, _CHUNK):
                    stop = min(start + _CHUNK, hi)
                    diff = tp[self.first[start:stop]]
                    diff -= tp[self.second[start:stop]]
                    np.abs(diff, out=diff)
                    out[band] += np.bincount(band_index(diff, self.t_edges, self.closed), minlength=self.n_time + 1)
        return out

    def _count_capped(self, tp: NDArray[np.int64]) -> NDArray[np.int64]:
        out = np.zeros((self.n_space, self.n_time + 1), dtype=np.int64)
        for band in range(self.n_space):
            lo, hi = int(self.bounds[band]), int(self.bounds[band + 1])
            hist = np.zeros(self.cap + 1, dtype=np.int64)
            for start in range(lo, hi, _CHUNK):
                stop = min(start + _CHUNK, hi)
                diff = tp[self.first[start:stop]]
                diff -= tp[self.second[start:stop]]
                np.abs(diff, out=diff)
                np.minimum(diff, self.cap, out=diff)
                hist += np.bincount(diff, minlength=self.cap + 1)
            out[band] = np.bincount(self.band_of_capped, weights=hist, minlength=self.n_time + 1).astype(np.int64)
        return out
