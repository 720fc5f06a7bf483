"""Compiled inner loop of the Knox permutation test (numba), with the numpy path as fallback.

For whole-day times, each permutation's pair counts are a histogram of signed day differences
per space band. numpy needs a gather, a subtraction and a ``bincount`` per chunk of pairs, and
``bincount`` holds the interpreter lock; the fused loop below does one pass per permutation and
runs permutations in parallel threads. It gives exactly the same counts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["AVAILABLE", "count_permutations"]

try:  # numba is a regular dependency; the guard keeps the library usable where it cannot load.
    import numba
    from numba import njit, prange

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only without numba
    AVAILABLE = False


if AVAILABLE:

    @njit(cache=True, parallel=True, nogil=True)
    def _count_parallel(
        first: NDArray[np.integer],
        second: NDArray[np.integer],
        bounds: NDArray[np.int64],
        t_int: NDArray[np.integer],
        permutations: NDArray[np.int32],
        cap: int,
        band_of_capped: NDArray[np.int64],
        n_bands: int,
    ) -> NDArray[np.int64]:  # pragma: no cover - compiled
        n_perm = permutations.shape[0]
        n_space = bounds.size - 1
        out = np.zeros((n_perm, n_space, n_bands), dtype=np.int64)
        for k in prange(n_perm):
            tp = t_int[permutations[k]]
            hist = np.zeros(cap + 1, dtype=np.int64)
            for s in range(n_space):
                hist[:] = 0
                for p in range(bounds[s], bounds[s + 1]):
                    d = tp[first[p]] - tp[second[p]]
                    if d < 0:
                        d = -d
                    if d > cap:
                        d = cap
                    hist[d] += 1
                for d in range(cap + 1):
                    out[k, s, band_of_capped[d]] += hist[d]
        return out


def count_permutations(
    first: NDArray[np.intp],
    second: NDArray[np.intp],
    bounds: NDArray[np.intp],
    t_int: NDArray[np.int64],
    permutations: NDArray[np.intp],
    cap: int,
    band_of_capped: NDArray[np.intp],
    n_bands: int,
    threads: int = 1,
) -> NDArray[np.int64]:
    """Pair counts per (permutation, space band, time band incl. beyond) for whole-day times.

    ``band_of_capped[min(|d|, cap)]`` is the time band of a day difference ``d`` (``cap`` lies
    beyond the last band edge); ``threads`` permutations are counted at once. Requires
    :data:`AVAILABLE`.
    """
    if not AVAILABLE:  # pragma: no cover
        raise RuntimeError("numba is not available")
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))))
    try:
        return _run(first, second, bounds, t_int, permutations, cap, band_of_capped, n_bands)
    finally:
        numba.set_num_threads(previous)


def _run(
    first: NDArray[np.intp],
    second: NDArray[np.intp],
    bounds: NDArray[np.intp],
    t_int: NDArray[np.int64],
    permutations: NDArray[np.intp],
    cap: int,
    band_of_capped: NDArray[np.intp],
    n_bands: int,
) -> NDArray[np.int64]:
    # The loop streams every pair once per permutation: the narrowest index and day types that hold
    # the data halve the memory it reads (the pair arrays are tens of megabytes; memory bandwidth,
    # not arithmetic, bounds the loop). numba compiles one version per combination of types.
    n_events = int(t_int.size)
    index_type = np.uint16 if n_events <= np.iinfo(np.uint16).max + 1 else np.int32
    span = int(t_int.max() - t_int.min()) if n_events else 0
    day_type = np.int32 if span < np.iinfo(np.int32).max // 2 else np.int64
    base = int(t_int.min()) if n_events else 0
    return _count_parallel(
        first.astype(index_type, copy=False),
        second.astype(index_type, copy=False),
        bounds.astype(np.int64, copy=False),
        (t_int - base).astype(day_type, copy=False),
        permutations.astype(np.int32, copy=False),
        int(cap),
        band_of_capped.astype(np.int64, copy=False),
        int(n_bands),
    )
