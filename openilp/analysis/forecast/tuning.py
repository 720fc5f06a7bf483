"""Out-of-sample tuning on past folds: choosing a forecaster's parameters from earlier weeks only.

A forecaster issued at ``T`` may choose its parameters by replaying the weeks before ``T``: for
each past *fold* ``k`` (origin ``o_k = T − horizon − (k − 1) × step``), it computes its candidate
surfaces from the events known at ``o_k`` (:func:`history_at_origin`) and scores them against the
events of ``[o_k, o_k + horizon)`` (:func:`past_folds`). Every fold's test period ends at or before
``T``, and the events of the fold's period are themselves known at ``T`` (the forecaster only ever
receives the events known at ``T``; see :mod:`openilp.analysis.forecast._base`), so the choice is
nested and time-ordered: it never touches the period being forecast (the analytics reference §7,
point 8). ``tests/test_forecast_toprank.py`` checks that the folds end before ``T`` and that the
chosen parameters do not change when later events are added.

The objective (:func:`select_on_folds`) is the pooled PAI at the coverages a patrol plan uses
(1 % and 2 % of the study area by default): the events caught in the top ``k = round(c × cells)``
cells of each candidate surface, summed over folds, over the events of the folds, divided by
``k / cells``, summed over the coverages. At 1–2 % of a city the top scores of the surfaces tuned
here are continuous, so ties at the cut-off are broken by position (the backtest's scoring keeps
its fractional credit). ``coverage_weights`` weigh the coverages in that sum; ``rule="min_relative"``
instead keeps the candidate whose worst coverage is nearest the best candidate there (the largest
minimum, over the coverages, of its pooled PAI over the best pooled PAI at that coverage).

>>> import numpy as np
>>> surfaces = np.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]])   # two candidates, four cells
>>> targets = [np.array([0, 0, 1, 2]), np.array([0, 1, 0, 3])]          # two past weeks
>>> best, objective = select_on_folds([surfaces, surfaces], targets, coverages=(0.25,))
>>> int(best), objective.round(2).tolist()
(1, [0.0, 2.86])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from openilp.analysis.forecast._base import EventHistory

__all__ = ["PastFold", "history_at_origin", "past_folds", "select_on_folds", "top_cells"]


@dataclass(frozen=True)
class PastFold:
    """One past week used for tuning: its origin ``lag_days`` before the as-of moment, and its events
    per cell in ``[origin, origin + horizon)``."""

    lag_days: float
    target: NDArray[np.int64]


def history_at_origin(history: EventHistory, lag_days: float) -> EventHistory:
    """The events known at the origin ``lag_days`` before the as-of moment, with their ages counted
    from that origin (the same rule as :func:`~openilp.analysis.forecast.known_mask`: the middle
    strictly before the origin and the whole window ended by it).

    >>> h = EventHistory(np.zeros(3), np.zeros(3), np.array([0, 1, 2]), np.array([1.0, 8.0, 9.0]),
    ...                  np.array([0.5, 7.5, 9.0]))
    >>> history_at_origin(h, 7.0).age_days.tolist()   # the first event happened after the origin
    [1.0, 2.0]
    """
    known = (history.end_age_days >= lag_days) & (history.age_days > lag_days)
    return EventHistory(
        history.x_m[known],
        history.y_m[known],
        history.cell[known],
        history.age_days[known] - lag_days,
        history.end_age_days[known] - lag_days,
    )


def past_folds(
    history: EventHistory, n_cells: int, *, n_folds: int, horizon_days: float = 7.0, step_days: float = 7.0
) -> list[PastFold]:
    """The ``n_folds`` most recent past weeks whose test periods end at or before the as-of moment
    (the most recent first), with the events of each period per cell (by the middle of the window).

    >>> h = EventHistory(np.zeros(3), np.zeros(3), np.array([0, 1, 1]), np.array([1.0, 8.0, 13.0]),
    ...                  np.array([0.5, 7.5, 13.0]))
    >>> [(f.lag_days, f.target.tolist()) for f in past_folds(h, 2, n_folds=2)]
    [(7.0, [1, 0]), (14.0, [0, 2])]
    """
    folds = []
    for k in range(n_folds):
        lag = horizon_days + k * step_days
        in_period = (history.age_days <= lag) & (history.age_days > lag - horizon_days)
        target = np.bincount(history.cell[in_period], minlength=n_cells).astype(np.int64)
        folds.append(PastFold(lag, target))
    return folds


def top_cells(surfaces: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Indices of the ``k`` highest cells of each row of ``surfaces`` (candidates × cells), unordered.

    >>> sorted(top_cells(np.array([[0.1, 0.9, 0.5, 0.7]]), 2)[0].tolist())
    [1, 3]
    """
    surfaces = np.atleast_2d(surfaces)
    k = int(min(max(k, 1), surfaces.shape[1]))
    if k == surfaces.shape[1]:
        return np.tile(np.arange(k), (surfaces.shape[0], 1))
    # A copy, not a view: a view would keep the whole candidates × cells partition alive wherever the
    # top cells are kept (a warm-started blend keeps them for every past week).
    return np.array(np.argpartition(-surfaces, k - 1, axis=1)[:, :k], dtype=np.int64, copy=True)


def coverage_sizes(n_cells: int, coverages: Sequence[float]) -> list[int]:
    """Cells flagged at each coverage: ``max(1, round(c × n_cells))`` (as the backtest scores)."""
    return [max(1, round(c * n_cells)) for c in coverages]


def select_on_folds(
    surfaces_per_fold: Sequence[NDArray[np.float64]] | None,
    targets: Sequence[NDArray[np.int64]],
    *,
    coverages: Sequence[float] = (0.01, 0.02),
    top_per_fold: Sequence[Sequence[NDArray[np.int64]]] | None = None,
    coverage_weights: Sequence[float] | None = None,
    rule: str = "pooled",
) -> tuple[int, NDArray[np.float64]]:
    """The candidate with the highest pooled PAI at ``coverages`` over the past folds.

    Parameters
    ----------
    surfaces_per_fold : sequence of (candidates × cells) arrays, or None
        Each candidate's surface at each fold's origin (from events known at that origin only).
    targets : sequence of arrays
        Each fold's events per cell.
    coverages : sequence of float
        Shares of the study area the objective is measured at.
    top_per_fold : optional
        Instead of the surfaces, their top cells per coverage (``top_per_fold[f][j]`` is a
        candidates × ``k_j`` array, as :func:`top_cells` returns): what a warm-started forecaster
        keeps from earlier fits.
    coverage_weights : sequence of float, optional
        Weight of each coverage in the pooled sum (default 1 each).
    rule : {"pooled", "min_relative"}
        ``pooled``: the weighted sum over the coverages of the pooled PAI. ``min_relative``: the
        smallest, over the coverages, of the candidate's pooled PAI over the best candidate's there
        (1 for a candidate best at every coverage; the weights are not used).

    Returns
    -------
    best : int
        The index of the best candidate (the first of equals).
    objective : ndarray
        The objective of every candidate (0 when the folds hold no event).
    """
    if not targets:
        raise ValueError("no past fold to tune on")
    if rule not in ("pooled", "min_relative"):
        raise ValueError("rule must be 'pooled' or 'min_relative'")
    weights = np.ones(len(coverages)) if coverage_weights is None else np.asarray(coverage_weights, dtype=np.float64)
    if weights.shape != (len(coverages),) or not np.all(np.isfinite(weights) & (weights >= 0)):
        raise ValueError("coverage_weights needs one non-negative number per coverage")
    n_cells = len(targets[0])
    sizes = coverage_sizes(n_cells, coverages)
    # pooled[i]: the weighted sum over coverages of candidate i's events in its top cells over the
    # coverage, summed over the folds (in this order); caught[j, i]: its events in the top k_j cells.
    pooled: NDArray[np.float64] | None = None
    caught: NDArray[np.float64] | None = None
    total = 0.0
    for f, target in enumerate(targets):
        if top_per_fold is not None:
            tops = top_per_fold[f]
        else:
            assert surfaces_per_fold is not None
            tops = fold_tops(surfaces_per_fold[f], sizes)
        hits = np.vstack([target[top].sum(axis=1) for top in tops]).astype(np.float64)
        fold = np.zeros(hits.shape[1], dtype=np.float64)
        for j, k in enumerate(sizes):
            fold += weights[j] * (hits[j] / (k / n_cells))
        pooled = fold if pooled is None else pooled + fold
        caught = hits if caught is None else caught + hits
        total += float(target.sum())
    assert pooled is not None and caught is not None
    if total <= 0:
        return 0, np.zeros_like(pooled)
    if rule == "min_relative":
        pai = caught / total / (np.asarray(sizes, dtype=np.float64)[:, None] / n_cells)
        best_each = pai.max(axis=1, keepdims=True)
        objective = (pai / np.where(best_each > 0, best_each, 1.0)).min(axis=0)
    else:
        objective = pooled / total
    return int(np.argmax(objective)), objective


def fold_tops(surfaces: NDArray[np.float64], sizes: Sequence[int]) -> list[NDArray[np.int64]]:
    """Top cells of each candidate for each size in ``sizes`` (nested: the largest set is computed
    once and the smaller ones are taken from it)."""
    largest = max(sizes)
    top = top_cells(surfaces, largest)
    out = []
    for k in sizes:
        if k == largest:
            out.append(top)
            continue
        values = np.take_along_axis(np.atleast_2d(surfaces), top, axis=1)
        inner = np.argpartition(-values, k - 1, axis=1)[:, :k]
        out.append(np.take_along_axis(top, inner, axis=1))
    return out
