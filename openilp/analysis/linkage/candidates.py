"""Candidate pairs by spatio-temporal blocking, and "crimes like this one".

Scoring every pair of a city's crimes is quadratic; most pairs are far apart in space or time and
would score low anyway. :func:`candidate_pairs` finds the pairs within ``max_distance`` (KD-tree,
``scipy.spatial.cKDTree.query_pairs``) and then keeps those whose expected time gap is within
``max_days``; both limits are stated with every result, so a reader knows which pairs were never
scored. :func:`rank_similar` scores one crime against all others without blocking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from openilp.analysis.linkage.features import CrimeTable, pair_features
from openilp.analysis.linkage.models import LinkageModel

__all__ = ["candidate_pairs", "rank_similar"]


def candidate_pairs(
    crimes: CrimeTable, *, max_distance: float, max_days: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs ``i < j`` at most ``max_distance`` apart whose window midpoints are at most ``max_days`` apart."""
    if max_distance <= 0 or max_days <= 0:
        raise ValueError("max_distance and max_days must be positive")
    if crimes.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tree = cKDTree(np.column_stack([crimes.x, crimes.y]))
    pairs = tree.query_pairs(max_distance, output_type="ndarray").astype(np.int64)
    if pairs.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    mid = 0.5 * (crimes.t_from + crimes.t_to)
    keep = np.abs(mid[pairs[:, 0]] - mid[pairs[:, 1]]) <= max_days
    pairs = pairs[keep]
    return pairs[:, 0], pairs[:, 1]


def rank_similar(
    crimes: CrimeTable,
    seed_index: int,
    model: LinkageModel,
    *,
    candidates: NDArray[np.int64] | None = None,
    top: int = 20,
) -> pd.DataFrame:
    """The ``top`` crimes most like crime ``seed_index`` by the model's score, best first.

    Columns: ``index`` (row of the other crime), ``score`` and the evidence variables, so a page can
    say *why* two crimes look alike.
    """
    if not 0 <= seed_index < crimes.size:
        raise IndexError(f"seed_index {seed_index} is outside the {crimes.size} crimes")
    others = np.arange(crimes.size, dtype=np.int64) if candidates is None else np.asarray(candidates, np.int64)
    others = others[others != seed_index]
    features = pair_features(crimes, np.full(others.size, seed_index, dtype=np.int64), others)
    scores = model.score(features) if others.size else np.empty(0)
    frame = features.assign(index=others, score=scores)
    frame = frame.sort_values("score", ascending=False, kind="stable").head(top).reset_index(drop=True)
    return frame[["index", "score", *features.columns]]
