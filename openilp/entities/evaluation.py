"""Pairwise precision, recall and F1 of a clustering against the truth.

The usual measure of deduplication (Christen 2012, *Data Matching*, ch. 7): a pair of records is
a true positive when both the prediction and the truth put them in one entity. Counting is done
on the contingency table of (predicted, true) labels, so a million records cost no pair list:
``TP = Σ C(n_ij, 2)``, predicted pairs ``Σ C(a_i, 2)``, true pairs ``Σ C(b_j, 2)``.

>>> scores = pairwise_scores(predicted=[1, 1, 2, 3], truth=["a", "a", "a", "b"])
>>> scores.true_positives, scores.predicted_pairs, scores.true_pairs, round(scores.f1, 3)
(1, 1, 3, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PairwiseScores", "pairwise_scores"]


@dataclass(frozen=True)
class PairwiseScores:
    true_positives: int
    predicted_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positives": self.true_positives,
            "predicted_pairs": self.predicted_pairs,
            "true_pairs": self.true_pairs,
        }


def _pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(predicted: Sequence[object] | pd.Series, truth: Sequence[object] | pd.Series) -> PairwiseScores:
    """Pairwise scores of predicted cluster labels against true labels (same order, same length)."""
    predicted_codes = pd.factorize(pd.Series(list(predicted)))[0]
    true_codes = pd.factorize(pd.Series(list(truth)))[0]
    if len(predicted_codes) != len(true_codes):
        raise ValueError(f"{len(predicted_codes)} predicted labels for {len(true_codes)} true labels")
    joint = pd.Series(predicted_codes.astype(np.int64) * (true_codes.max() + 1 if len(true_codes) else 1) + true_codes)
    return PairwiseScores(
        true_positives=_pairs(joint.value_counts().to_numpy()),
        predicted_pairs=_pairs(np.bincount(predicted_codes)),
        true_pairs=_pairs(np.bincount(true_codes)),
    )
