"""Proxy leakage: can a model's scores tell which areas have a demographic majority?

A model that never sees race can still learn it through place: if the areas it scores highest are
the areas where one group is the majority, its scores are a proxy for that group. The check (civil-
rights reference §3.10, check 2) aggregates the scores to areas (neighbourhoods) and measures how
well they separate areas where ``group`` is the majority from the others, as the area under the ROC
curve (AUC; Hanley & McNeil 1982: the probability that a random majority area scores higher than a
random other area, ties counting one half). 0.5 means no information; 1.0 (or 0.0) perfect
separation. **Leakage** is ``max(AUC, 1 − AUC)``: scores that point away from a group leak as much as
scores that point at it. The *policy default* threshold is 0.70: at or above it, plans from the model
need a written, audited justification.

>>> audit = proxy_auc({1: 0.9, 2: 0.8, 3: 0.1, 4: 0.2}, {1: True, 2: True, 3: False, 4: False}, min_per_side=2)
>>> audit.auc, audit.leakage, audit.flagged
(1.0, 1.0, True)

It measures areas, not people: a high AUC says the model's attention follows the residential
pattern of a group, not that any individual was treated by race.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

__all__ = ["PROXY_AUC_THRESHOLD", "ProxyAudit", "majority_areas", "proxy_auc"]

#: At or above this leakage a model's plans need a written, audited justification (policy default).
PROXY_AUC_THRESHOLD = 0.70


@dataclass(frozen=True)
class ProxyAudit:
    """The AUC of area scores against a majority flag, and what it means for the gate."""

    auc: float
    leakage: float
    n_areas: int
    n_majority: int
    threshold: float = PROXY_AUC_THRESHOLD
    group: str = ""
    #: Fewest areas on each side (majority or not) for the AUC to count.
    min_per_side: int = 3

    @property
    def enough_areas(self) -> bool:
        """Whether both sides have at least ``min_per_side`` areas (an AUC over two areas is 0 or 1)."""
        return min(self.n_majority, self.n_areas - self.n_majority) >= self.min_per_side

    @property
    def flagged(self) -> bool:
        """Whether the leakage reaches the threshold with enough areas (a justification is needed)."""
        return bool(self.enough_areas and np.isfinite(self.leakage) and self.leakage >= self.threshold)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "enough_areas": self.enough_areas, "flagged": self.flagged}


def proxy_auc(
    area_scores: Mapping[Any, float],
    majority: Mapping[Any, bool],
    *,
    threshold: float = PROXY_AUC_THRESHOLD,
    group: str = "",
    min_per_side: int = 3,
) -> ProxyAudit:
    """AUC of ``area_scores`` for telling areas with ``majority`` True from the others.

    Only areas present in both mappings count; an area the model gives no score is not guessed.
    With no area on one side the AUC is undefined (NaN); with fewer than ``min_per_side`` areas on
    a side it is computed but never flagged.
    """
    keys = [k for k in area_scores if k in majority]
    scores = np.array([float(area_scores[k]) for k in keys], dtype=np.float64)
    target = np.array([bool(majority[k]) for k in keys], dtype=bool)
    n_pos, n_neg = int(target.sum()), int((~target).sum())
    if n_pos == 0 or n_neg == 0:
        return ProxyAudit(float("nan"), float("nan"), len(keys), n_pos, threshold, group, min_per_side)
    ranks = rankdata(scores)  # average ranks: ties count one half
    auc = float((ranks[target].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return ProxyAudit(auc, max(auc, 1.0 - auc), len(keys), n_pos, threshold, group, min_per_side)


def majority_areas(residents: pd.DataFrame, group: str) -> dict[Any, bool]:
    """For each area (index) with residents, whether ``group`` is more than half of them.

    >>> frame = pd.DataFrame({"a": [60.0, 10.0, 0.0], "b": [40.0, 90.0, 0.0]}, index=[1, 2, 3])
    >>> majority_areas(frame, "b")
    {1: False, 2: True}
    """
    if group not in residents.columns:
        raise ValueError(f"no group {group!r} among {', '.join(map(str, residents.columns))}")
    total = residents.sum(axis=1)
    inhabited = total > 0
    share = residents.loc[inhabited, group] / total[inhabited]
    return {key: bool(value > 0.5) for key, value in share.items()}
