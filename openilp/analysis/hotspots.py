"""Hot spots: counts and rates per unit, Getis-Ord Gi* with calibrated inference, FDR and stability.

Gi* (Getis & Ord 1992; Ord & Getis 1995) compares the events in a unit *and its neighbours*
with what the same number of units would hold if the counts were shuffled at random over the
study area. This module gives two answers to "is that more than chance?":

* the analytical z-score and its normal p-value (``p_norm``), identical to PySAL esda's
  ``G_Local(..., star=True, transform="B")``. Crime counts are small and zero-heavy, so the normal
  approximation is rough in the tails;
* an exact-in-distribution permutation p-value (``p_sim``) that keeps its nominal level on
  zero-heavy data (see :func:`gi_star` for why esda's ``p_sim`` does not, and how this one does);
* for counts (non-negative integers) with binary weights, the **exact** p-value of the same
  permutation null (``exact=True``): the tail of the null distribution itself, computed by
  enumeration (:func:`exact_tail_probabilities`), with no Monte Carlo floor. Benjamini-Hochberg over
  ``m`` cells needs p-values of ``α / m`` and below, which ``R`` permutations cannot give once
  ``1 / (R + 1) > α / m`` (7,000 cells at α = 0.05 need more than 140,000 permutations).

Thousands of cells are tested at once, so flags should be controlled for the false discovery rate
(Benjamini & Hochberg 1995): :meth:`GiStarResult.hot_spots` does this by default.
:func:`hotspot_stability` classifies units across consecutive periods.

>>> from openilp.analysis.grids import SquareGrid
>>> grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(20, 20))
>>> counts = np.zeros(grid.n_units)
>>> counts[grid.raster_index[8:11, 8:11].ravel()] = 6  # a 3 × 3 block of 6 events per cell
>>> result = gi_star(counts, grid.weights("queen"), seed=1)
>>> hot = result.hot_spots(alpha=0.05)  # flagged after FDR control
>>> int(hot.sum()), bool(hot[grid.raster_index[9, 9]]), bool(hot[grid.raster_index[0, 0]])
(13, True, False)
>>> bool(result.p_sim.min() > 0)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.weights import SpatialWeights

__all__ = [
    "Alternative",
    "GiStarResult",
    "STABILITY_CLASSES",
    "benjamini_hochberg",
    "exact_tail_probabilities",
    "gi_star",
    "permutations_for_fdr",
    "hotspot_stability",
    "rate_per_km2",
    "rate_per_1000_residents",
]

Alternative = Literal["greater", "less", "two-sided"]

#: The classes returned by :func:`hotspot_stability`.
STABILITY_CLASSES = ("persistent", "emerging", "diminishing", "sporadic", "none")

_erfc = np.vectorize(math.erfc, otypes=[np.float64])
#: Simulated local sums per distinct weight multiset: this multiple of the permutations asked for,
#: and at least ``_POOL_MIN``.
_POOL_FACTOR = 10
_POOL_MIN = 100_000


def _normal_sf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Upper tail of the standard normal, ``P(Z > z)`` (exact via erfc; no SciPy needed)."""
    return np.asarray(0.5 * _erfc(np.asarray(z, dtype=np.float64) / math.sqrt(2.0)), dtype=np.float64)


def rate_per_km2(counts: ArrayLike, areas_m2: ArrayLike) -> NDArray[np.float64]:
    """Events per square kilometre: ``counts / (areas_m2 / 1e6)``.

    >>> rate_per_km2([5, 0], [250_000.0, 1e6]).tolist()
    [20.0, 0.0]
    """
    return np.asarray(counts, dtype=np.float64) / (np.asarray(areas_m2, dtype=np.float64) / 1e6)


def rate_per_1000_residents(counts: ArrayLike, population: ArrayLike) -> NDArray[np.float64]:
    """Events per 1,000 residents; ``NaN`` where the population is zero or missing (parks, industry).

    >>> rate_per_1000_residents([3, 2], [1500.0, 0.0]).tolist()
    [2.0, nan]
    """
    pop = np.asarray(population, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 1000.0 * np.asarray(counts, dtype=np.float64) / pop
    return np.where(pop > 0, rate, np.nan)


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (q-values); ``q <= alpha`` controls the FDR at ``alpha``.

    Benjamini & Hochberg (1995), *Controlling the false discovery rate*, JRSS B 57:289-300. Valid for
    independent or positively dependent tests (Benjamini & Yekutieli 2001), which covers Gi* on
    overlapping neighbourhoods. ``NaN`` entries (units outside the mask) are ignored and stay ``NaN``.
    Same values as ``scipy.stats.false_discovery_control(p, method="bh")``.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return q
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


@dataclass(frozen=True)
class GiStarResult:
    """Gi* for every unit (``NaN`` for units outside the mask).

    Attributes
    ----------
    local_sum : ndarray
        ``Σ_j w_ij x_j`` over the unit and its neighbours (events).
    expected_sum : ndarray
        Its expectation under random relocation of the counts, ``x̄ W_i`` (events).
    gi : ndarray
        The Gi* statistic ``local_sum / Σ_j x_j`` (share of all events).
    z : ndarray
        Analytical z-score (Ord & Getis 1995, eq. 9).
    p_norm : ndarray
        Normal p-value of ``z`` for ``alternative``.
    p_sim : ndarray or None
        Permutation p-value ``(1 + #{simulated ≥ observed}) / (permutations + 1)`` (for "greater";
        ``≤`` for "less").
    alternative : str
    permutations : int
        Permutations behind ``p_sim`` (0 when it is exact or absent).
    exact : bool
        Whether ``p_sim`` is the exact tail probability of the permutation null.
    """

    local_sum: NDArray[np.float64]
    expected_sum: NDArray[np.float64]
    gi: NDArray[np.float64]
    z: NDArray[np.float64]
    p_norm: NDArray[np.float64]
    p_sim: NDArray[np.float64] | None
    alternative: str
    permutations: int
    exact: bool = False

    @property
    def p_values(self) -> NDArray[np.float64]:
        """The p-values used for flags: ``p_sim`` when permutations (or the exact null) ran, else ``p_norm``."""
        return self.p_sim if self.p_sim is not None else self.p_norm

    def q_values(self) -> NDArray[np.float64]:
        """Benjamini-Hochberg adjusted :attr:`p_values`."""
        return benjamini_hochberg(self.p_values)

    def hot_spots(self, alpha: float = 0.05, *, fdr: bool = True) -> NDArray[np.bool_]:
        """Units significant at ``alpha`` (false discovery rate when ``fdr``, else per test)."""
        values = self.q_values() if fdr else self.p_values
        with np.errstate(invalid="ignore"):
            return np.asarray(values <= alpha, dtype=bool)


def _draw_without_replacement(rng: np.random.Generator, n: int, k: int, size: int) -> NDArray[np.int64]:
    """``size`` independent draws of ``k`` distinct indices from ``range(n)`` (shape ``(size, k)``)."""
    if k > n:
        raise ValueError(f"cannot draw {k} distinct units from {n}")
    if k == 0:
        return np.zeros((size, 0), dtype=np.int64)
    if k * (k - 1) / (2.0 * n) < 0.5:  # duplicates are rare: draw with replacement, redraw bad rows
        idx = rng.integers(0, n, size=(size, k))
        while True:
            ordered = np.sort(idx, axis=1)
            bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
            if len(bad) == 0:
                return idx
            idx[bad] = rng.integers(0, n, size=(len(bad), k))
    chunk = max(1, 4_000_000 // n)  # rows of random keys sorted at a time
    return np.concatenate(
        [np.argsort(rng.random((min(chunk, size - start), n)), axis=1)[:, :k] for start in range(0, size, chunk)]
    ).astype(np.int64)


def _p_from_counts(
    at_least: NDArray[np.int64], at_most: NDArray[np.int64], permutations: int, alternative: str
) -> NDArray[np.float64]:
    p_greater = np.asarray((1.0 + at_least) / (permutations + 1.0), dtype=np.float64)
    p_less = np.asarray((1.0 + at_most) / (permutations + 1.0), dtype=np.float64)
    if alternative == "greater":
        return p_greater
    if alternative == "less":
        return p_less
    return np.minimum(1.0, 2.0 * np.minimum(p_greater, p_less))


def _permutation_counts_grouped(
    x: NDArray[np.float64],
    observed: NDArray[np.float64],
    sorted_weights: NDArray[np.float64],
    group_of: NDArray[np.int64],
    permutations: int,
    rng: np.random.Generator,
    tolerance: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Null distribution per distinct weight multiset (exact: see :func:`gi_star`, Notes).

    Each group gets a pool of ``max(10 × permutations, 100,000)`` simulated local sums. Each unit's own
    ``permutations`` simulations are a random subset of its group's pool, so its counts of simulated
    sums above, tied with and below the observed sum are drawn from a (multivariate) hypergeometric
    distribution. This gives every unit the exact distribution of a permutation test with
    ``permutations`` draws, and the units' Monte Carlo errors stay nearly independent.
    """
    n = len(x)
    pool_size = max(_POOL_FACTOR * permutations, _POOL_MIN)
    at_least = np.zeros(n, dtype=np.int64)
    at_most = np.zeros(n, dtype=np.int64)
    for g, weights_row in enumerate(sorted_weights):
        w = weights_row[weights_row != 0]
        members = np.flatnonzero(group_of == g)
        pool = np.sort(x[_draw_without_replacement(rng, n, len(w), pool_size)] @ w)
        obs = observed[members]
        below = np.searchsorted(pool, obs - tolerance, side="left")
        not_above = np.searchsorted(pool, obs + tolerance, side="right")
        above, tied = pool_size - not_above, not_above - below
        drawn_above = rng.hypergeometric(above, pool_size - above, permutations)
        drawn_tied = rng.hypergeometric(tied, below, permutations - drawn_above)
        at_least[members] = drawn_above + drawn_tied
        at_most[members] = permutations - drawn_above
    return at_least, at_most


def _permutation_counts_full(
    x: NDArray[np.float64],
    observed: NDArray[np.float64],
    weights: SpatialWeights,
    permutations: int,
    rng: np.random.Generator,
    tolerance: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Shuffle the whole map ``permutations`` times, in blocks: ``W @ X_permuted``."""
    n = len(x)
    at_least = np.zeros(n, dtype=np.int64)
    at_most = np.zeros(n, dtype=np.int64)
    block = max(1, min(permutations, 20_000_000 // max(1, len(weights.indices))))
    done = 0
    while done < permutations:
        b = min(block, permutations - done)
        shuffled = rng.permuted(np.broadcast_to(x, (b, n)), axis=1).T
        simulated = weights.matmul(shuffled)
        at_least += (simulated >= (observed - tolerance)[:, None]).sum(axis=1)
        at_most += (simulated <= (observed + tolerance)[:, None]).sum(axis=1)
        done += b
    return at_least, at_most


def permutations_for_fdr(n_tests: int, alpha: float, *, ladder: Sequence[int] = (999, 9_999, 99_999, 999_999)) -> int:
    """The fewest permutations of ``ladder`` whose smallest p-value ``1 / (R + 1)`` is at most ``α / m``.

    Below that, Benjamini-Hochberg at level ``α`` over ``m = n_tests`` tests cannot flag a single
    unit, however strong the cluster. Returns the last rung when none suffices.

    >>> permutations_for_fdr(150, 0.05), permutations_for_fdr(7_148, 0.05)
    (9999, 999999)
    """
    if n_tests < 1 or not 0 < alpha < 1:
        raise ValueError("need at least one test and 0 < alpha < 1")
    for permutations in ladder:
        if 1.0 / (permutations + 1.0) <= alpha / n_tests:
            return int(permutations)
    return int(ladder[-1])


def _log_comb(n: int, k: ArrayLike) -> NDArray[np.float64]:
    """``log C(n, k)`` for integer ``0 <= k <= n`` (elementwise over ``k``)."""
    from scipy.special import gammaln

    k_arr = np.asarray(k, dtype=np.float64)
    return np.asarray(gammaln(n + 1.0) - gammaln(k_arr + 1.0) - gammaln(n - k_arr + 1.0), dtype=np.float64)


def exact_tail_probabilities(
    values: ArrayLike, sizes: ArrayLike, observed: ArrayLike, *, upper: bool = True
) -> NDArray[np.float64]:
    """Exact ``P(S_k >= s)`` (or ``P(S_k <= s)``): ``S_k`` the sum of ``k`` values drawn without replacement.

    The null distribution of a binary-weight Gi* local sum under total randomisation (every unit's
    count relocated at random) is that of the sum of ``k`` counts drawn without replacement from all
    ``n`` counts, ``k`` the unit's neighbours plus itself. For non-negative integer counts it is
    enumerated by dynamic programming over the distinct count values ``v`` (each ``n_v`` times)::

        N_k(s) = sum over (c_v) with sum c_v = k, sum c_v v = s of prod_v C(n_v, c_v),
        P(S_k = s) = N_k(s) / C(n, k),

    so the tail is exact (no Monte Carlo floor): the p-value a permutation test converges to as its
    permutations grow. Cost: (distinct values) x k² x (k x largest count).

    Parameters
    ----------
    values : integer array (n,)
        The counts (non-negative integers).
    sizes, observed : arrays (m,)
        For each test, the number of values summed ``k`` (1 to n) and the observed sum ``s``.
    upper : bool
        ``P(S_k >= s)`` when True, else ``P(S_k <= s)``.

    >>> p = exact_tail_probabilities([0, 0, 0, 1, 2], [2, 2], [3, 0])
    >>> [round(float(v), 3) for v in p]  # only {1, 2} sums to 3: 1 of C(5, 2) = 10 pairs
    [0.1, 1.0]
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("exact Gi* p-values need non-negative integer counts")
    counts = x.astype(np.int64)
    k_of = np.asarray(sizes, dtype=np.int64)
    s_obs = np.asarray(observed, dtype=np.float64)
    n = len(counts)
    if len(k_of) and (k_of.min() < 1 or k_of.max() > n):
        raise ValueError(f"each test sums between 1 and {n} values")
    kmax = int(k_of.max()) if len(k_of) else 0
    top = int(counts.max()) * kmax if n else 0
    distinct, multiplicity = np.unique(counts, return_counts=True)
    # prob[j, s]: P(sum = s) for j values drawn without replacement from the values seen so far. Adding a
    # group of `times` equal values to `seen` values, c of the j draws come from the group with the
    # hypergeometric probability C(seen, j - c) C(times, c) / C(seen + times, j). Probabilities, not counts
    # of ways, so nothing overflows however many neighbours a cell has (C(7148, 113) ~ 1e252).
    prob = np.zeros((kmax + 1, top + 1))
    prob[0, 0] = 1.0
    seen = 0
    draws = np.arange(kmax + 1)
    for value, times in zip(distinct.tolist(), multiplicity.tolist(), strict=True):
        total = seen + times
        updated = np.zeros_like(prob)
        for c in range(0, min(times, kmax) + 1):
            shift = c * value
            if shift > top:
                break
            j = draws[c:]
            from_seen = j - c
            possible = (from_seen <= seen) & (j <= total)
            log_weight = (
                _log_comb(seen, np.minimum(from_seen, seen))
                + _log_comb(times, c)
                - _log_comb(total, np.minimum(j, total))
            )
            weight = np.where(possible, np.exp(log_weight), 0.0)
            updated[c:, shift:] += weight[:, None] * prob[: kmax + 1 - c, : top + 1 - shift]
        prob = updated
        seen = total
    result = np.empty(len(k_of))
    for k in np.unique(k_of).tolist():
        pmf = prob[k]
        tail = np.cumsum(pmf[::-1])[::-1] if upper else np.cumsum(pmf)
        members = np.flatnonzero(k_of == k)
        s = s_obs[members]
        index = np.ceil(s - 1e-9) if upper else np.floor(s + 1e-9)
        inside = (index >= 0) & (index <= top)
        fill = 0.0 if upper else 1.0
        beyond = np.where(index < 0, 1.0 if upper else 0.0, fill)
        result[members] = np.where(inside, tail[np.clip(index, 0, top).astype(np.int64)], beyond)
    return np.minimum(result, 1.0)


def gi_star(
    counts: ArrayLike,
    weights: SpatialWeights,
    *,
    mask: ArrayLike | None = None,
    permutations: int = 9999,
    alternative: Alternative = "greater",
    seed: int | np.random.Generator | None = None,
    self_weight: float = 1.0,
    method: Literal["auto", "grouped", "full"] = "auto",
    exact: bool = False,
) -> GiStarResult:
    """Getis-Ord Gi* local statistic with analytical and permutation inference.

    Parameters
    ----------
    counts : array of shape (n_units,)
        Events (or any non-negative values) per unit.
    weights : SpatialWeights
        Neighbours of each unit, without or with the diagonal (the diagonal is set to ``self_weight``,
        which makes the statistic Gi* rather than Gi). Binary contiguity or distance bands are usual:
        ``grid.weights("queen")``, ``grid.weights(distance_band_m=300)``.
    mask : bool array of shape (n_units,), optional
        Units where crime can occur; the statistic, its null distribution and the FDR are computed over
        these units only and the others get ``NaN``. Grids built with a study area are already masked.
    permutations : int
        Random relocations of the counts behind each unit's ``p_sim``; 0 skips them (``p_sim`` is None).
        The smallest possible p-value is ``1 / (permutations + 1)`` and Benjamini-Hochberg can only flag
        ``k`` of ``m`` units if ``k`` p-values are at most ``α k / m``, so FDR control on thousands of
        cells needs many permutations: hence the default 9,999 (cheap here; see Notes).
    alternative : {"greater", "less", "two-sided"}
        "greater" tests for hot spots (the default), "less" for cold spots; "two-sided" doubles the
        smaller one-sided p-value.
    seed : int or numpy Generator, optional
        Makes ``p_sim`` reproducible.
    self_weight : float
        Weight of the unit itself in its local sum (1 for the usual binary Gi*).
    method : {"auto", "grouped", "full"}
        How to simulate the null (same distribution, different speed; see Notes).
    exact : bool
        Instead of simulating, compute ``p_sim`` as the exact tail probability of the same null
        (:func:`exact_tail_probabilities`): for non-negative integer counts and binary weights with
        ``self_weight`` 1. ``permutations`` is then ignored. On grids of thousands of cells this is
        what lets FDR control flag anything at all.

    Returns
    -------
    GiStarResult

    Notes
    -----
    *Statistic.* ``G*_i = Σ_j w_ij x_j / Σ_j x_j`` with ``w_ii = self_weight``. Under random relocation
    of the ``n`` observed counts, with ``W_i = Σ_j w_ij``, ``S1_i = Σ_j w_ij²``, mean ``x̄`` and
    ``s² = Σ x² / n − x̄²``, the z-score is (Ord & Getis 1995, eq. 9)::

        z_i = (Σ_j w_ij x_j − x̄ W_i) / (s √((n S1_i − W_i²) / (n − 1)))

    which equals esda's ``G_Local(y, w, transform="B", star=True).Zs`` for binary weights.

    *Why esda's p_sim is miscalibrated on crime counts.* esda holds the focal count fixed and
    relocates the others ("conditional randomisation", Anselin 1995), then folds the two tails:
    ``p = (1 + min(#{sim ≥ obs}, #{sim < obs})) / (R + 1)``. With zero-heavy counts most local sums
    tie with most simulated sums. A cell whose neighbourhood is empty has ``#{sim < 0} = 0`` and gets the
    smallest possible p-value as a "cold spot", and the fold makes every cell take the smaller of
    two one-sided tests. On pure noise ~19 % of cells come out significant at 0.05.

    *Calibrated inference here.* Under the null that events fall at random over the study area, the
    counts are exchangeable across the masked units, so the reference distribution is every unit's
    local sum after a random relocation of *all* counts (total randomisation, the null of Getis & Ord's
    moments). The p-value is one-sided, counts ties as at least as extreme, and includes the
    observed arrangement, ``p = (1 + #{sim ≥ obs}) / (R + 1)`` (Davison & Hinkley 1997, eq. 4.11;
    Phipson & Smyth 2010). Such a p-value is valid: ``P(p ≤ α) ≤ α`` for every α, with equality up
    to ties. Discrete counts make it conservative, never liberal.

    *Speed.* Under total randomisation a unit's local sum is ``Σ_k w_k x_{J_k}``, with ``J`` drawn
    without replacement from all units. So its null distribution depends only on the unit's multiset
    of weights: for binary weights, on its number of neighbours. ``method="grouped"`` simulates a
    pool of ``max(10 R, 100,000)`` local sums once per distinct multiset (a masked grid has ≤ 9 for
    queen weights). Each unit's ``R`` simulations are then a random subset of its pool: the numbers
    above, tied with and below its observed sum are drawn from a multivariate hypergeometric
    distribution. That is exactly the distribution of an ``R``-permutation test for every unit, with
    Monte Carlo errors that are nearly independent across units. (Sharing one set of ``R``
    simulations would make all units with the same weights cross the 5 % line together.)
    ``method="full"`` shuffles the whole map ``R`` times and computes ``W @ X`` in blocks, which is
    slower. "auto" takes "grouped" when the distinct multisets are few. On 50,000 cells, 9,999
    permutations take well under a second.

    References
    ----------
    Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
    statistics. *Geographical Analysis* 24(3), 189-206.
    Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics: distributional issues
    and an application. *Geographical Analysis* 27(4), 286-306.
    Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero. *Statistical
    Applications in Genetics and Molecular Biology* 9(1), 39.

    Examples
    --------
    >>> from openilp.analysis.grids import SquareGrid
    >>> grid = SquareGrid(cell_size_m=150.0, origin=(0.0, 0.0), shape=(3, 3))
    >>> result = gi_star([0, 0, 0, 0, 9, 0, 0, 0, 1], grid.weights("rook"), permutations=99, seed=7)
    >>> round(float(result.z[4]), 3), float(result.local_sum[4])
    (0.776, 9.0)
    """
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError("alternative must be 'greater', 'less' or 'two-sided'")
    if permutations < 0:
        raise ValueError("permutations must be >= 0")
    values = np.asarray(counts, dtype=np.float64)
    if values.shape != (weights.n,):
        raise ValueError(f"counts have shape {values.shape}; the weights have {weights.n} units")
    if not np.all(np.isfinite(values)):
        raise ValueError("counts must be finite")
    full_n = weights.n
    keep = np.ones(full_n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if keep.shape != (full_n,):
        raise ValueError("mask must have one entry per unit")
    w = (weights if mask is None else weights.subset(keep)).with_self_weight(self_weight)
    x = values[keep]
    n = len(x)
    if n < 2:
        raise ValueError("Gi* needs at least two units")

    local = w.matmul(x)
    w_sum = w.row_sums()
    s1 = w.row_sums_of_squares()
    mean = x.mean()
    sd = math.sqrt(max(float(np.mean(x**2) - mean**2), 0.0))
    expected = mean * w_sum
    denominator = sd * np.sqrt(np.maximum(n * s1 - w_sum**2, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denominator > 0, (local - expected) / denominator, 0.0)
        gi = local / x.sum() if x.sum() != 0 else np.full(n, np.nan)
    if alternative == "greater":
        p_norm = _normal_sf(z)
    elif alternative == "less":
        p_norm = _normal_sf(-z)
    else:
        p_norm = np.minimum(1.0, 2.0 * _normal_sf(np.abs(z)))

    p_sim: NDArray[np.float64] | None = None
    if exact:
        if not np.all(w.data == 1.0):
            raise ValueError("exact Gi* p-values need binary weights with self_weight 1")
        sizes = w.cardinalities()
        if alternative == "two-sided":
            upper = exact_tail_probabilities(x, sizes, local, upper=True)
            lower = exact_tail_probabilities(x, sizes, local, upper=False)
            p_sim = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
        else:
            p_sim = exact_tail_probabilities(x, sizes, local, upper=alternative == "greater")
        permutations = 0
    elif permutations > 0:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        tolerance = 1e-9 * max(1.0, float(np.abs(x).sum() * np.abs(w.data).max()))
        kmax = int(w.cardinalities().max())
        # Each row's weights sorted in decreasing order, zero-padded: identical rows share a null.
        padded = np.zeros((n, kmax))
        rows = w.row_index()
        position = np.arange(len(rows)) - w.indptr[rows]
        order = np.lexsort((-w.data, rows))
        padded[rows, position] = w.data[order]
        distinct, group_of = np.unique(padded, axis=0, return_inverse=True)
        # Grouping pays when the distinct multisets are few and their draws are cheap.
        pool_cost = len(distinct) * max(_POOL_FACTOR * permutations, _POOL_MIN) * kmax
        if kmax * (kmax - 1) >= n:  # large neighbourhoods: draws by sorting random keys
            pool_cost *= max(1, n // kmax)
        use_grouped = method == "grouped" or (method == "auto" and pool_cost <= 20 * permutations * len(w.indices))
        if use_grouped:
            at_least, at_most = _permutation_counts_grouped(
                x, local, distinct, group_of.ravel(), permutations, rng, tolerance
            )
        else:
            at_least, at_most = _permutation_counts_full(x, local, w, permutations, rng, tolerance)
        p_sim = _p_from_counts(at_least, at_most, permutations, alternative)

    def spread(v: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.full(full_n, np.nan)
        out[keep] = v
        return out

    return GiStarResult(
        local_sum=spread(local),
        expected_sum=spread(expected),
        gi=spread(gi),
        z=spread(z),
        p_norm=spread(p_norm),
        p_sim=None if p_sim is None else spread(p_sim),
        alternative=alternative,
        permutations=permutations,
        exact=exact,
    )


def hotspot_stability(flags_by_period: Sequence[ArrayLike] | ArrayLike) -> NDArray[np.str_]:
    """Classify each unit by its hot-spot flags over consecutive periods (oldest first).

    Classes (``STABILITY_CLASSES``), for ``T ≥ 2`` periods:

    * ``"persistent"``: hot in at least 90 % of the periods (all of them when ``T < 10``);
    * ``"emerging"``: not hot at first, then hot from some period to the last without a break
      (flags ``0…0 1…1``);
    * ``"diminishing"``: hot from the first period, then not hot to the last without a break
      (flags ``1…1 0…0``);
    * ``"sporadic"``: hot at least once, in any other on-and-off pattern;
    * ``"none"``: never hot.

    The 90 % rule follows ESRI's Emerging Hot Spot Analysis ("persistent"); the other classes are simple
    run patterns, so they read the same on monthly or yearly flags. Flags should come from FDR-controlled
    tests (:meth:`GiStarResult.hot_spots`), or noise alone makes many "sporadic" units.

    >>> hotspot_stability([[1, 0, 1, 0, 0], [1, 1, 0, 1, 0], [1, 1, 0, 0, 0]]).tolist()
    ['persistent', 'emerging', 'diminishing', 'sporadic', 'none']
    """
    flags = np.asarray(flags_by_period, dtype=bool)
    if flags.ndim != 2 or flags.shape[0] < 2:
        raise ValueError("give flags of shape (n_periods >= 2, n_units)")
    n_periods = flags.shape[0]
    hot_periods = flags.sum(axis=0)
    switches = (flags[1:] != flags[:-1]).sum(axis=0)
    persistent = hot_periods >= math.ceil(0.9 * n_periods - 1e-9)
    emerging = ~flags[0] & flags[-1] & (switches == 1)
    diminishing = flags[0] & ~flags[-1] & (switches == 1)
    result = np.full(flags.shape[1], "none", dtype="<U11")
    result[hot_periods > 0] = "sporadic"
    result[emerging] = "emerging"
    result[diminishing] = "diminishing"
    result[persistent] = "persistent"
    return result
