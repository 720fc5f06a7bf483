"""Linked and unlinked crime pairs from solved crimes, with ``crimelinkage``'s series-weighted design.

Ground truth: two solved crimes are **linked** when they share an offender. Crimes joined through
any chain of shared offenders form a **crime group** (a connected component of the crime–offender
graph). The sampling follows ``makePairs(thres = 365, m = 40)`` of Porter & Reich's ``crimelinkage``:

* every linked pair within ``threshold_days`` is kept, with weight ``1 / N`` where ``N`` is the
  number of linked pairs of its series (the offender), so a prolific offender counts as much as a
  pair of crimes; a pair shared by several offenders takes the largest weight;
* unlinked pairs: for every crime group, ``m`` crimes drawn from *other* groups are paired with a
  member of the group, kept when within ``threshold_days``; weight 1; duplicates dropped.

>>> import numpy as np
>>> crimes = ["C1", "C2", "C3", "C4"]
>>> offenders = [("O1", "C1"), ("O1", "C2"), ("O2", "C3"), ("O3", "C4")]
>>> groups = crime_groups(crimes, offenders)
>>> groups.tolist()
[0, 0, 1, 2]
>>> pairs = make_pairs(crimes, offenders, np.zeros(4), m=5, seed=1)
>>> int(pairs.linked.sum()), int((~pairs.linked).sum())
(1, 5)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["LinkagePairs", "crime_groups", "make_pairs", "series_lists"]


@dataclass(frozen=True)
class LinkagePairs:
    """Pairs ``(i, j)`` of crime indices (``i < j``), whether linked, their weight and crime group of ``i``."""

    i: NDArray[np.int64]
    j: NDArray[np.int64]
    linked: NDArray[np.bool_]
    weight: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.i.shape[0])

    def subset(self, mask: NDArray[np.bool_]) -> LinkagePairs:
        return LinkagePairs(self.i[mask], self.j[mask], self.linked[mask], self.weight[mask])


def series_lists(crime_ids: Sequence[str], offender_links: Iterable[tuple[str, str]]) -> list[NDArray[np.int64]]:
    """Crime indices of each offender's series (offenders on crimes outside ``crime_ids`` are ignored)."""
    index = {cid: k for k, cid in enumerate(crime_ids)}
    by_offender: dict[str, set[int]] = {}
    for offender, crime in offender_links:
        k = index.get(crime)
        if k is not None:
            by_offender.setdefault(offender, set()).add(k)
    return [np.array(sorted(v), dtype=np.int64) for _, v in sorted(by_offender.items())]


def crime_groups(crime_ids: Sequence[str], offender_links: Iterable[tuple[str, str]]) -> NDArray[np.int64]:
    """Crime group per crime: connected components of crimes joined by shared offenders (0, 1, …).

    A crime without any offender (unsolved) gets its own group.
    """
    n = len(crime_ids)
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    for members in series_lists(crime_ids, offender_links):
        if members.size > 1:
            rows.append(members[:-1])
            cols.append(members[1:])
    r = np.concatenate(rows) if rows else np.empty(0, np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, np.int64)
    graph = coo_matrix((np.ones(r.size), (r, c)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # renumber in order of first appearance, for stable output
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[labels].astype(np.int64)


def make_pairs(
    crime_ids: Sequence[str],
    offender_links: Iterable[tuple[str, str]],
    t_mid: ArrayLike,
    *,
    threshold_days: float = 365.0,
    m: int = 40,
    seed: int | None = 0,
    restrict_to: ArrayLike | None = None,
) -> LinkagePairs:
    """Linked and sampled unlinked pairs among the crimes (see the module docstring).

    ``t_mid`` is a time per crime in days (the window midpoint); ``restrict_to`` (crime indices)
    limits both members of every pair to those crimes, for a train/test split by crime group.
    """
    if m < 1:
        raise ValueError("m must be at least 1 (crimes drawn per crime group for unlinked pairs)")
    links = list(offender_links)
    t = np.asarray(t_mid, dtype=float)
    n = len(crime_ids)
    allowed = np.ones(n, dtype=bool) if restrict_to is None else np.zeros(n, dtype=bool)
    if restrict_to is not None:
        allowed[np.asarray(restrict_to, dtype=np.int64)] = True
    groups = crime_groups(crime_ids, links)
    rng = np.random.default_rng(seed)

    linked_weight: dict[tuple[int, int], float] = {}
    for members in series_lists(crime_ids, links):
        members = members[allowed[members]]
        if members.size < 2:
            continue
        a, b = np.triu_indices(members.size, k=1)
        pi, pj = members[a], members[b]
        keep = np.abs(t[pi] - t[pj]) <= threshold_days
        if not keep.any():
            continue
        w = 1.0 / int(keep.sum())
        for x, y in zip(pi[keep].tolist(), pj[keep].tolist(), strict=True):
            linked_weight[(x, y)] = max(linked_weight.get((x, y), 0.0), w)

    candidates = np.flatnonzero(allowed)
    cand_groups = groups[candidates]
    pairs_i: list[NDArray[np.int64]] = []
    pairs_j: list[NDArray[np.int64]] = []
    for g in np.unique(cand_groups):
        members = candidates[cand_groups == g]
        others = candidates[cand_groups != g]
        if others.size == 0:
            continue
        drawn = rng.choice(others, size=min(m, others.size), replace=False)
        partner = rng.choice(members, size=drawn.size, replace=True)
        keep = np.abs(t[drawn] - t[partner]) <= threshold_days
        pairs_i.append(np.minimum(drawn, partner)[keep])
        pairs_j.append(np.maximum(drawn, partner)[keep])
    ui = np.concatenate(pairs_i) if pairs_i else np.empty(0, np.int64)
    uj = np.concatenate(pairs_j) if pairs_j else np.empty(0, np.int64)
    unlinked = np.unique(np.column_stack([ui, uj]), axis=0) if ui.size else np.empty((0, 2), np.int64)

    if linked_weight:
        keys = np.array(sorted(linked_weight), dtype=np.int64)
        weights = np.array([linked_weight[(int(a), int(b))] for a, b in keys], dtype=float)
    else:
        keys = np.empty((0, 2), np.int64)
        weights = np.empty(0)
    return LinkagePairs(
        i=np.concatenate([keys[:, 0], unlinked[:, 0]]).astype(np.int64),
        j=np.concatenate([keys[:, 1], unlinked[:, 1]]).astype(np.int64),
        linked=np.concatenate([np.ones(len(keys), bool), np.zeros(len(unlinked), bool)]),
        weight=np.concatenate([weights, np.ones(len(unlinked))]),
    )
