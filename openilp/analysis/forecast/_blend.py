"""A weighted blend of two families of surfaces, its parameters tuned on past folds only.

A :class:`TunedBlendForecaster` scores every cell ``primary[p] + w × secondary[s]``: ``p`` and
``s`` pick one surface of each family (a long-term rate and a short-term boost, say) and ``w`` a
weight. Which ``(p, s, w)`` is chosen at the as-of moment ``T`` by :func:`select_on_folds` over the
``tuning_weeks`` weeks before ``T`` (see :mod:`openilp.analysis.forecast.tuning`): each candidate
is computed at each past origin from the events known there and scored on the week that followed.
With ``ensemble = n > 1`` the ``n`` best candidates on those weeks are averaged, each scaled to the
same total: the choice among near-equal candidates is noisy (a few dozen burglaries decide it), and
the average of the best few ranks the top cells more steadily than any one of them.

The top cells of every candidate at a past origin depend only on the events known at that origin,
so they are kept between fits, keyed by the origin and a fingerprint of those events (their number,
cells and ages): a weekly backtest computes each past week once and re-tunes every week at the cost
of a few gathers, and a fit on other data never reuses them.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from openilp.analysis.forecast._base import EventHistory, Forecaster, positive
from openilp.analysis.forecast.tuning import (
    coverage_sizes,
    fold_tops,
    history_at_origin,
    past_folds,
    select_on_folds,
)

__all__ = ["TunedBlendForecaster"]


class TunedBlendForecaster(Forecaster):
    """Base of the tuned blends (see the module docstring).

    Subclasses define :meth:`_primary` and :meth:`_secondary` (named surfaces per active cell,
    computed from an :class:`EventHistory` whose ages count from the origin) and the weights
    ``self.weights``. Fitted state: ``chosen_`` (the chosen primary, secondary and weight),
    ``tuning_`` (the objective of every candidate), ``surface_`` (the chosen surface at ``T``).
    """

    weights: tuple[float, ...]
    #: How many of the best candidates on the past weeks are averaged (1: the best alone).
    ensemble: int = 1
    #: Weight of each target coverage in the objective (None: 1 each), and the objective's rule
    #: (``pooled`` or ``min_relative``; see :func:`select_on_folds`).
    coverage_weights: tuple[float, ...] | None = None
    objective: str = "pooled"
    tuning_weeks: int
    target_coverages: tuple[float, ...]
    horizon_days: float
    chosen_: dict[str, Any]
    tuning_: pd.DataFrame
    candidates_: list[tuple[str, str, float]]
    surface_: NDArray[np.float64]

    def _validate(self) -> None:
        if not (isinstance(self.tuning_weeks, int) and self.tuning_weeks >= 1):
            raise ValueError("tuning_weeks must be a positive integer")
        if not (isinstance(self.ensemble, int) and self.ensemble >= 1):
            raise ValueError("ensemble must be a positive integer (the number of best candidates averaged)")
        if not self.weights or any(not (np.isfinite(w) and w >= 0) for w in self.weights):
            raise ValueError("weights must be non-negative numbers")
        if not self.target_coverages or any(not 0 < c <= 1 for c in self.target_coverages):
            raise ValueError("target_coverages must be shares of the area in (0, 1]")
        positive("horizon_days", self.horizon_days)
        if self.objective not in ("pooled", "min_relative"):
            raise ValueError("objective must be 'pooled' or 'min_relative'")
        if self.coverage_weights is not None and (
            len(self.coverage_weights) != len(self.target_coverages)
            or any(not (np.isfinite(w) and w >= 0) for w in self.coverage_weights)
        ):
            raise ValueError("coverage_weights needs one non-negative number per target coverage")

    @abstractmethod
    def _primary(self, history: EventHistory) -> dict[str, NDArray[np.float64]]: ...

    @abstractmethod
    def _secondary(self, history: EventHistory) -> dict[str, NDArray[np.float64]]: ...

    def _candidates(
        self, primary: dict[str, NDArray[np.float64]], secondary: dict[str, NDArray[np.float64]]
    ) -> tuple[list[tuple[str, str, float]], NDArray[np.float64]]:
        names: list[tuple[str, str, float]] = []
        rows: list[NDArray[np.float64]] = []
        for p, base in primary.items():
            for w in self.weights:
                for s, boost in secondary.items():
                    names.append((p, s, float(w)))
                    rows.append(base + w * boost if w > 0 else base)
                    if w == 0:
                        break  # the secondary surface does not matter at weight 0
        return names, np.vstack(rows)

    def _fold_cache(self) -> dict[tuple[Any, ...], list[NDArray[np.int64]]]:
        """Top cells per past origin, kept while the grid and the parameters stay the same."""
        state: tuple[Any, dict[str, Any], dict[tuple[Any, ...], list[NDArray[np.int64]]]] | None
        state = getattr(self, "fold_tops_", None)
        params = self.get_params()
        if state is None or state[0] is not self.grid_ or state[1] != params:
            state = (self.grid_, params, {})
            self.fold_tops_ = state
        return state[2]

    def _fit(self, history: EventHistory) -> None:
        n = self.grid_.n_units
        sizes = coverage_sizes(n, self.target_coverages)
        folds = past_folds(history, n, n_folds=self.tuning_weeks, horizon_days=self.horizon_days)
        cache = self._fold_cache()
        tops = []
        used = set()
        for fold in folds:
            at_origin = history_at_origin(history, fold.lag_days)
            key = (self.as_of_ - pd.Timedelta(days=fold.lag_days), *_fingerprint(at_origin))
            if key not in cache:
                _, surfaces = self._candidates(self._primary(at_origin), self._secondary(at_origin))
                cache[key] = fold_tops(surfaces.astype(np.float32), sizes)
            tops.append(cache[key])
            used.add(key)
        for key in [k for k in cache if k not in used]:
            del cache[key]
        primary, secondary = self._primary(history), self._secondary(history)
        self.candidates_, surfaces = self._candidates(primary, secondary)
        best, objective = select_on_folds(
            None,
            [f.target for f in folds],
            coverages=self.target_coverages,
            top_per_fold=tops,
            coverage_weights=self.coverage_weights,
            rule=self.objective,
        )
        p, s, w = self.candidates_[best]
        self.chosen_ = {"primary": p, "secondary": s if w > 0 else None, "weight": w}
        members = _best_candidates(objective, self.ensemble)
        if len(members) > 1:
            self.chosen_["members"] = [self.candidates_[i] for i in members]
        self.tuning_ = pd.DataFrame(
            [
                {"primary": a, "secondary": b, "weight": c, "objective": o}
                for (a, b, c), o in zip(self.candidates_, objective, strict=True)
            ]
        )
        if len(members) > 1:
            # Each member scaled to the same total, so every one weighs alike in the ranking.
            totals = surfaces[members].sum(axis=1, keepdims=True)
            self.surface_ = (surfaces[members] / np.where(totals > 0, totals, 1.0)).mean(axis=0)
        else:
            self.surface_ = surfaces[best]
        # Scale to the expected number of events per day over the last year (the ranking is unchanged).
        per_day = float((history.age_days <= 365.0).sum()) / 365.0
        total = float(self.surface_.sum())
        self.per_day_ = self.surface_ * (per_day / total) if total > 0 else self.surface_

    def _predict(self, horizon_days: float) -> NDArray[np.float64]:
        return np.asarray(self.per_day_ * horizon_days, dtype=np.float64)


def _best_candidates(objective: NDArray[np.float64], n: int) -> list[int]:
    """Indices of the ``n`` best candidates, best first (the first of equals first).

    >>> _best_candidates(np.array([0.2, 0.9, 0.5, 0.9]), 3)
    [1, 3, 2]
    """
    order = np.argsort(-objective, kind="stable")
    return [int(i) for i in order[: max(1, min(n, len(order)))]]


def _fingerprint(history: EventHistory) -> tuple[int, int, float, float]:
    """Number, cells and ages (from the origin) of the events known at a past origin."""
    ages = np.round(history.age_days, 6)
    return len(history), int(history.cell.sum()), float(ages.sum()), float((ages * history.cell).sum())
