"""Possible series: agglomerative clustering of crimes on pairwise linkage scores.

As ``crimelinkage``'s ``crimeClust_hier``: the distance between two crimes is ``-score`` (a log
Bayes factor or a log-odds), shifted to be non-negative; pairs that were never scored (outside the
blocking limits) get the largest distance. Average linkage merges groups while their mean score
stays above ``threshold``; the clusters of two or more crimes are the possible series, ordered by
their mean pairwise score.

>>> import numpy as np
>>> i = np.array([0, 0, 1, 2]); j = np.array([1, 2, 2, 3]); s = np.array([5.0, 4.0, 6.0, -3.0])
>>> [c.members for c in cluster_series(4, i, j, s, threshold=1.0)]
[(0, 1, 2)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["SeriesCluster", "cluster_series"]

#: Largest number of crimes clustered at once (the condensed distance matrix is n²/2 floats).
MAX_CLUSTER_CRIMES = 5000


@dataclass(frozen=True)
class SeriesCluster:
    """A possible series: crime indices, mean and smallest pairwise score among scored pairs."""

    members: tuple[int, ...]
    mean_score: float
    min_score: float


def cluster_series(
    n: int,
    i: NDArray[np.int64],
    j: NDArray[np.int64],
    scores: NDArray[np.float64],
    *,
    threshold: float = 0.0,
    min_size: int = 2,
) -> list[SeriesCluster]:
    """Average-linkage clusters of ``n`` crimes whose mean pairwise score is at least ``threshold``."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if n > MAX_CLUSTER_CRIMES:
        raise ValueError(f"{n} crimes: cluster at most {MAX_CLUSTER_CRIMES} at once (narrow the period or area)")
    if n < 2 or scores.size == 0:
        return []
    top = float(max(scores.max(), threshold)) + 1.0
    floor = float(min(scores.min(), threshold)) - 1.0
    square = np.full((n, n), top - floor)
    square[i, j] = top - scores
    square[j, i] = top - scores
    np.fill_diagonal(square, 0.0)
    condensed = square[np.triu_indices(n, k=1)]
    tree = linkage(condensed, method="average")
    labels = fcluster(tree, t=top - threshold, criterion="distance")
    lookup = {(int(a), int(b)): float(s) for a, b, s in zip(i, j, scores, strict=True)}
    clusters = []
    for label in np.unique(labels):
        members = tuple(int(k) for k in np.flatnonzero(labels == label))
        if len(members) < min_size:
            continue
        within = [lookup[(a, b)] for x, a in enumerate(members) for b in members[x + 1 :] if (a, b) in lookup]
        if not within:
            continue
        clusters.append(SeriesCluster(members, round(float(np.mean(within)), 4), round(float(np.min(within)), 4)))
    clusters.sort(key=lambda c: (-c.mean_score, c.members))
    return clusters
