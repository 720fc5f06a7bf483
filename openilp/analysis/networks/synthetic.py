"""A synthetic offender network of any size, for benchmarks and tests of scale.

Co-offending networks are sparse, split into many small components around one large one, with
heavy-tailed degrees (a few prolific offenders) and groups that offend together (Sarnecki 2001;
McGloin & Piquero 2010). The generator draws people into groups of log-normal size, gives each
person a Pareto activity weight, and draws each link inside a group with probability
``1 - mixing`` (both ends chosen by weight), across the whole population otherwise: a degree-
corrected planted-partition model (Karrer & Newman 2011). Fully vectorised and seeded.

>>> links = synthetic_links(1_000, seed=1)
>>> len(links), sorted(links.columns.tolist())
(1000, ['link_type', 'source', 'target'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["synthetic_adjacency", "synthetic_links"]


def _draw_pairs(
    n_links: int, *, people_per_link: float, mixing: float, seed: int, n_people: int, attempt: int
) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)  # the groups and weights: the same on every attempt
    # groups of log-normal size (median 8), people assigned in order
    sizes = np.maximum(2, rng.lognormal(mean=np.log(8.0), sigma=0.8, size=n_people // 2).astype(np.int64))
    ends = np.cumsum(sizes)
    sizes = sizes[: np.searchsorted(ends, n_people) + 1]
    ends = np.minimum(np.cumsum(sizes), n_people)
    starts = np.concatenate([[0], ends[:-1]])
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    weight = rng.pareto(2.2, size=n_people) + 1.0
    cumulative = np.concatenate([[0.0], np.cumsum(weight)])
    group_weight = cumulative[ends] - cumulative[starts]
    rng = np.random.default_rng([seed, attempt])  # the links: new on each attempt

    inside = rng.random(n_links) >= mixing
    n_inside = int(inside.sum())
    group = np.searchsorted(np.cumsum(group_weight), rng.random(n_inside) * group_weight.sum(), side="right")
    group = np.minimum(group, group_weight.size - 1)
    low, high = cumulative[starts[group]], cumulative[ends[group]]

    def pick(u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(cumulative, lo + u * (hi - lo), side="right") - 1, n_people - 1)

    source = np.empty(n_links, dtype=np.int64)
    target = np.empty(n_links, dtype=np.int64)
    source[inside] = pick(rng.random(n_inside), low, high)
    target[inside] = pick(rng.random(n_inside), low, high)
    n_across = n_links - n_inside
    total = np.full(n_across, cumulative[-1])
    zero = np.zeros(n_across)
    source[~inside] = pick(rng.random(n_across), zero, total)
    target[~inside] = pick(rng.random(n_across), zero, total)
    same = source == target
    target[same] = (target[same] + 1) % n_people
    return source, target, n_people


def _distinct_pairs(
    n_links: int, *, people_per_link: float, mixing: float, seed: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Exactly ``n_links`` distinct pairs (in draw order), drawing more while repeats fall out."""
    n_people = max(4, int(n_links * people_per_link))
    if n_links > n_people * (n_people - 1) // 4:
        raise ValueError("too many links for so few people: raise people_per_link")
    sources, targets = [], []
    have = 0
    codes = np.zeros(0, dtype=np.int64)
    draw = n_links
    for attempt in range(50):
        source, target, _ = _draw_pairs(
            draw, people_per_link=people_per_link, mixing=mixing, seed=seed, n_people=n_people, attempt=attempt
        )
        sources.append(source)
        targets.append(target)
        low, high = (
            np.minimum(np.concatenate(sources), np.concatenate(targets)),
            np.maximum(np.concatenate(sources), np.concatenate(targets)),
        )
        codes = low * n_people + high
        _, first = np.unique(codes, return_index=True)
        have = first.size
        if have >= n_links:
            keep = np.sort(first)[:n_links]
            return low[keep], high[keep], n_people
        draw = max(1000, int((n_links - have) * 2))
    raise ValueError("could not draw enough distinct links: raise people_per_link or mixing")


def synthetic_links(
    n_links: int, *, people_per_link: float = 0.25, mixing: float = 0.02, seed: int = 0
) -> pd.DataFrame:
    """``n_links`` distinct co-offending links among ``n_links × people_per_link`` people (ids ``p<n>``)."""
    source, target, _ = _distinct_pairs(n_links, people_per_link=people_per_link, mixing=mixing, seed=seed)
    return pd.DataFrame(
        {
            "source": np.char.add("p", source.astype(str)),
            "target": np.char.add("p", target.astype(str)),
            "link_type": "co_offending",
        }
    )


def synthetic_adjacency(
    n_links: int, *, people_per_link: float = 0.25, mixing: float = 0.02, seed: int = 0
) -> sp.csr_matrix:
    """The graph of :func:`synthetic_links` as a symmetric 0/1 CSR matrix with ``2 × n_links`` entries."""
    source, target, n_people = _distinct_pairs(n_links, people_per_link=people_per_link, mixing=mixing, seed=seed)
    rows = np.concatenate([source, target])
    cols = np.concatenate([target, source])
    matrix = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_people, n_people))
    matrix.sort_indices()
    return matrix
