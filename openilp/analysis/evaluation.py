"""Scoring a place-based forecast: hit rate, PAI, PEI, recapture rate index and the coverage curve.

A forecast ranks the cells of a study area by risk; an analyst flags the top ``c`` of the area
(1 %, 5 %, …) and the flagged cells are judged against the events of the test period.

Notation (analytics reference, §2): ``N`` events in the test period, ``n`` of them in the flagged
cells, ``A`` the study area (active cells of a masked grid, not the bounding box), ``a`` the flagged
area.

* **Hit rate** (capture rate) ``n / N`` (Bowers, Johnson & Pease 2004).
* **PAI**, predictive accuracy index, ``(n / N) / (a / A)`` (Chainey, Tompson & Uhlig 2008).
* **PEI**, predictive efficiency index of the NIJ Real-Time Crime Forecasting Challenge,
  ``n / n*`` where ``n*`` is the most events any set of cells of the same area could have caught
  (the oracle: the cells with the most test events). In [0, 1].
* **RRI**, recapture rate index (Levine 2008), ``(n₂ / n₁) / (N₂ / N₁)``: the flagged cells' share
  of the test-period events over their share in a reference period before the forecast. 1 means
  the flagged area kept its share; above 1 it grew.

Coverage is counted in cells: ``k = max(1, round(c × n_cells))`` cells are flagged and the actual
coverage ``k / n_cells`` is used in the PAI (all cells of a grid have the same area).

**Ties at the cut-off: fractional credit** (the NIJ Real-Time Crime Forecasting Challenge rule,
2017). Ties are common: many cells score 0, and the naive method's scores are whole counts. When
the cut-off of ``k`` cells falls inside a group of ``g`` cells with equal scores, of which ``j``
are still to be flagged (the cells above the group fill the first ``k − j``), each cell of the
group is flagged for the fraction ``j / g`` of its area and credited with ``j / g`` of its events:

``n = Σ(counts of the cells scoring above the group) + (j / g) · Σ(counts of the group)``.

That is also the expected catch when the tie is broken uniformly at random, so the result never
depends on the order of the cells (ranking ties by cell number, as a plain sort does, favours one
part of the city; ``open_cp`` instead rounds the coverage up over ties, flagging more area than
asked). The flagged area stays exactly ``k`` cells, so the PAI's ``a / A`` is ``k / n_cells``. PEI's
oracle ``n*`` (the ``k`` largest counts) has no ties to break. :func:`cell_credit` gives each cell's
fraction, which is all an outside scorer needs besides the scores: an exported forecast carries
each cell's exact score and area (see ``openilp.services.analysis.forecasting.forecast_geojson``).

>>> scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
>>> counts = np.array([2, 1, 0, 0, 0, 1, 0, 0, 0, 0])
>>> hit_rate(scores, counts, 0.2)  # the top 2 cells hold 3 of 4 events
0.75
>>> pai(scores, counts, 0.2)
3.75
>>> pei(scores, counts, 0.2)  # the best 2 cells could hold 3 events
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_COVERAGES",
    "cell_credit",
    "flagged_cells",
    "hit_counts",
    "hit_rate",
    "pai",
    "pei",
    "recapture_rate_index",
    "coverage_curve",
    "score_forecast",
]

#: Coverages (fractions of the study area) reported by default: 1 %, 2 % (what a shift's directed
#: patrol covers), 5 %, 10 % and 20 %.
DEFAULT_COVERAGES: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10, 0.20)


def _arrays(scores: ArrayLike, counts: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    s = np.asarray(scores, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    if s.ndim != 1 or s.shape != c.shape:
        raise ValueError(f"scores and counts must be 1-D arrays of equal length, got {s.shape} and {c.shape}")
    if s.size == 0:
        raise ValueError("no cells to score")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if np.any(c < 0):
        raise ValueError("counts must be non-negative")
    return s, c


def flagged_cells(n_cells: int, coverage: float) -> int:
    """Number of cells flagged at ``coverage`` (a fraction in (0, 1]): ``max(1, round(c × n))``.

    >>> flagged_cells(7_000, 0.01), flagged_cells(10, 0.01), flagged_cells(10, 1.0)
    (70, 1, 10)
    """
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be a fraction in (0, 1], got {coverage}")
    return max(1, min(n_cells, int(round(coverage * n_cells))))


def cell_credit(scores: ArrayLike, coverage: float) -> NDArray[np.float64]:
    """Fraction of each cell flagged at ``coverage``: 1 above the cut-off, ``j / g`` for the ``g``
    cells tied at it when ``j`` of them are still to be flagged, 0 below (NIJ fractional credit).

    The fractions sum to the flagged cell count :func:`flagged_cells`, and the hit count is
    ``Σ credit × count``.

    >>> cell_credit([3.0, 1.0, 1.0, 1.0, 0.0], 0.4).tolist()  # 2 cells: the 3, then 1 of the three 1s
    [1.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.0]
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("scores must be a non-empty 1-D array of finite numbers")
    k = flagged_cells(len(s), coverage)
    cut = np.sort(s)[::-1][k - 1]  # score of the last flagged cell
    above = s > cut
    tied = s == cut
    credit = above.astype(np.float64)
    credit[tied] = (k - int(above.sum())) / int(tied.sum())
    return credit


def _ranked_cumulative(scores: NDArray[np.float64], counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Events caught by the top k cells, for k = 0 … n, with fractional credit for ties (the mean
    count of a tie group per flagged cell of it: ``(j / g) · Σ group``)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    s, c = scores[order], counts[order]
    # Replace each count by the mean of its tie group: the expectation under random tie-breaking.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, len(s)])
    means = np.add.reduceat(c, starts) / sizes
    return np.concatenate([[0.0], np.cumsum(np.repeat(means, sizes))])


def hit_counts(scores: ArrayLike, counts: ArrayLike, coverages: Sequence[float]) -> NDArray[np.float64]:
    """Expected number of test events in the flagged cells at each coverage (``n`` above)."""
    s, c = _arrays(scores, counts)
    cumulative = _ranked_cumulative(s, c)
    return np.array([cumulative[flagged_cells(len(s), cov)] for cov in coverages])


def hit_rate(scores: ArrayLike, counts: ArrayLike, coverage: float) -> float:
    """Share of the test events in the top ``coverage`` of cells, ``n / N`` (NaN when ``N = 0``)."""
    s, c = _arrays(scores, counts)
    total = c.sum()
    if total == 0:
        return math.nan
    return float(hit_counts(s, c, [coverage])[0] / total)


def pai(scores: ArrayLike, counts: ArrayLike, coverage: float) -> float:
    """Predictive accuracy index ``(n / N) / (a / A)`` (Chainey, Tompson & Uhlig 2008)."""
    s, _ = _arrays(scores, counts)
    k = flagged_cells(len(s), coverage)
    return hit_rate(scores, counts, coverage) / (k / len(s))


def pei(scores: ArrayLike, counts: ArrayLike, coverage: float) -> float:
    """Predictive efficiency index ``n / n*`` (NIJ RTCFC): events caught over the most any same-area
    set of cells could catch. NaN when no event occurred.

    >>> pei([3.0, 2.0, 1.0], [0, 1, 3], 1 / 3)
    0.0
    """
    s, c = _arrays(scores, counts)
    k = flagged_cells(len(s), coverage)
    best = float(np.sort(c)[::-1][:k].sum())
    if best == 0:
        return math.nan
    return float(hit_counts(s, c, [coverage])[0] / best)


def recapture_rate_index(
    scores: ArrayLike, test_counts: ArrayLike, reference_counts: ArrayLike, coverage: float
) -> float:
    """Recapture rate index ``(n₂ / n₁) / (N₂ / N₁)`` (Levine 2008).

    ``n₁``, ``N₁`` are the events in the flagged cells and in the whole area during a reference
    period before the forecast (e.g. the preceding year); ``n₂``, ``N₂`` the same in the test
    period. NaN when it is undefined (no events in a period, or none in the flagged cells before).

    >>> recapture_rate_index([2.0, 1.0, 0.0, 0.0], [2, 0, 0, 2], [1, 1, 1, 1], 0.25)
    2.0
    """
    s, c2 = _arrays(scores, test_counts)
    _, c1 = _arrays(scores, reference_counts)
    n1 = hit_counts(s, c1, [coverage])[0]
    n2 = hit_counts(s, c2, [coverage])[0]
    total1, total2 = c1.sum(), c2.sum()
    if n1 == 0 or total1 == 0 or total2 == 0:
        return math.nan
    return float((n2 / n1) / (total2 / total1))


def coverage_curve(scores: ArrayLike, counts: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The full coverage curve: for k = 0 … n flagged cells, the coverage ``k / n`` and hit rate.

    The area under the curve is 0.5 for a random ranking and approaches 1 for a perfect one.

    >>> area, hits = coverage_curve([2.0, 1.0, 0.0], [1, 1, 0])
    >>> area.tolist(), hits.tolist()
    ([0.0, 0.3333333333333333, 0.6666666666666666, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    s, c = _arrays(scores, counts)
    cumulative = _ranked_cumulative(s, c)
    total = c.sum()
    hits = cumulative / total if total > 0 else np.full(len(cumulative), np.nan)
    return np.arange(len(cumulative)) / len(s), hits


def score_forecast(
    scores: ArrayLike,
    test_counts: ArrayLike,
    *,
    reference_counts: ArrayLike | None = None,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
) -> dict[str, float]:
    """Every metric at every coverage, as a flat dict (``hit_rate@0.05``, ``pai@0.05``, ``pei@…``,
    ``rri@…`` when ``reference_counts`` are given), plus ``events`` (N) and ``auc`` (area under the
    coverage curve)."""
    s, c = _arrays(scores, test_counts)
    result: dict[str, float] = {"events": float(c.sum())}
    n = len(s)
    total = c.sum()
    caught = hit_counts(s, c, coverages)
    oracle = np.concatenate([[0.0], np.cumsum(np.sort(c)[::-1])])
    reference_caught = None
    if reference_counts is not None:
        _, r = _arrays(s, reference_counts)
        reference_caught = (hit_counts(s, r, coverages), r.sum())
    for i, coverage in enumerate(coverages):
        k = flagged_cells(n, coverage)
        rate = caught[i] / total if total > 0 else math.nan
        result[f"hit_rate@{coverage:g}"] = float(rate)
        result[f"pai@{coverage:g}"] = float(rate / (k / n))
        result[f"pei@{coverage:g}"] = float(caught[i] / oracle[k]) if oracle[k] > 0 else math.nan
        if reference_caught is not None:
            n1, total1 = reference_caught[0][i], reference_caught[1]
            defined = n1 > 0 and total1 > 0 and total > 0
            result[f"rri@{coverage:g}"] = float((caught[i] / n1) / (total / total1)) if defined else math.nan
    area, hits = coverage_curve(s, c)
    result["auc"] = float(np.trapezoid(hits, area)) if total > 0 else math.nan
    return result
