"""Entities from scored pairs: greedy clustering with must-link and cannot-link constraints.

Pairs are joined strongest first (a union–find, Tarjan 1975). A human decision overrides the
model: a pair decided "match" is joined first whatever its score, and two clusters are never
joined when any decided "not a match" pair spans them, nor (when ``anchors`` are given) when both
already carry a different established entity. Without constraints this is connected components at
the threshold, the clustering Splink uses.

>>> pairs = pd.DataFrame({"record_id_l": ["a", "b", "c"], "record_id_r": ["b", "c", "d"],
...                       "match_probability": [0.99, 0.97, 0.2]})
>>> cluster_pairs(["a", "b", "c", "d"], pairs, threshold=0.9)
{'a': 'a', 'b': 'a', 'c': 'a', 'd': 'd'}
>>> cluster_pairs(["a", "b", "c", "d"], pairs, threshold=0.9, cannot_link=[("a", "c")])
{'a': 'a', 'b': 'a', 'c': 'c', 'd': 'd'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

__all__ = ["cluster_pairs"]


def cluster_pairs(
    record_ids: Sequence[str],
    pairs: pd.DataFrame,
    *,
    threshold: float,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    anchors: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Record id -> cluster label (the smallest record id of the cluster, in sort order).

    ``pairs`` has ``record_id_l``, ``record_id_r`` and ``match_probability``; pairs at or above
    ``threshold`` are joined, strongest first. ``anchors`` maps records to an established entity:
    a cluster holds at most one, so re-running never merges two established entities (a review
    decision in ``must_link`` can). Refused joins are skipped, not errors.
    """
    parent = {record_id: record_id for record_id in record_ids}
    members: dict[str, list[str]] = {record_id: [record_id] for record_id in record_ids}
    anchor_of: dict[str, object] = {}
    for record_id, anchor in (anchors or {}).items():
        if record_id in parent and anchor is not None:
            anchor_of[record_id] = anchor
    forbidden: dict[str, set[str]] = {}
    for left, right in cannot_link:
        if left in parent and right in parent:
            forbidden.setdefault(left, set()).add(right)
            forbidden.setdefault(right, set()).add(left)
    blocked: dict[str, set[str]] = {root: set(partners) for root, partners in forbidden.items()}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(left: str, right: str, *, decided: bool) -> None:
        a, b = find(left), find(right)
        if a == b:
            return
        # A "not a match" decision between any members of the two clusters forbids the join.
        if blocked.get(a) and any(find(x) == b for x in blocked[a]):
            return
        anchor_a, anchor_b = anchor_of.get(a), anchor_of.get(b)
        if not decided and anchor_a is not None and anchor_b is not None and anchor_a != anchor_b:
            return
        anchor = anchor_a if anchor_a is not None else anchor_b
        if len(members[a]) < len(members[b]):
            a, b = b, a
        parent[b] = a
        members[a].extend(members.pop(b))
        if b in blocked:
            blocked.setdefault(a, set()).update(blocked.pop(b))
        if anchor is not None:
            anchor_of[a] = anchor

    for left, right in must_link:
        if left in parent and right in parent:
            union(left, right, decided=True)
    strong = pairs[pairs["match_probability"] >= threshold]
    strong = strong.sort_values("match_probability", ascending=False, kind="stable")
    for left, right in zip(strong["record_id_l"].tolist(), strong["record_id_r"].tolist(), strict=True):
        if left in parent and right in parent:
            union(left, right, decided=False)
    labels: dict[str, str] = {}
    for group in members.values():
        label = min(group)
        for record_id in group:
            labels[record_id] = label
    return {record_id: labels[record_id] for record_id in record_ids}
