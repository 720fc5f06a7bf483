"""Network metrics on a CSR adjacency matrix: components, centralities, communities, bridges.

Betweenness and communities run in networkit (Staudt, Sazonovs & Meyerhenke 2016), whose C++
kernels handle millions of links in seconds; components, bridges and cut points come from one
compiled depth-first pass (:mod:`._cut_kernel`), PageRank and eigenvector centrality from sparse
matrix products in scipy. networkx (Hagberg, Schult & Swart 2008) is the reference the tests and
the benchmark compare against, and the format for export.

* components: connected components (:func:`components`);
* degree, betweenness (Freeman 1977; Brandes 2001, exact, or sampled with ``samples`` pivots as
  Geisberger, Sanders & Schultes 2008), eigenvector centrality (Bonacich 1972) and PageRank
  (Brin & Page 1998, damping 0.85);
* communities: Louvain (Blondel et al. 2008, networkit's PLM) or Leiden (Traag, Waltman & van Eck
  2019, networkit's ParallelLeiden), with their modularity (Newman 2006);
* bridges and articulation points: links and people whose removal disconnects their component
  (Hopcroft & Tarjan 1973), from the same compiled pass as the key-player search.

Centralities are on a 0–1 scale: degree over ``n - 1``, betweenness over ``(n - 1)(n - 2)/2``,
eigenvector with unit Euclidean norm, PageRank summing to 1.

>>> import numpy as np, scipy.sparse as sp
>>> edges = np.array([[0, 1], [1, 2], [0, 2], [2, 3], [4, 5]])
>>> a = sp.coo_matrix((np.ones(5), (edges[:, 0], edges[:, 1])), shape=(6, 6))
>>> a = ((a + a.T) > 0).astype(float).tocsr()
>>> components(a).tolist()
[0, 0, 0, 0, 1, 1]
>>> bridges(a).tolist()
[[2, 3], [4, 5]]
>>> articulation_points(a).tolist()
[2]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from openilp.analysis.networks._cut_kernel import cut_pass

__all__ = [
    "COMMUNITY_METHODS",
    "articulation_points",
    "betweenness",
    "bridges",
    "communities",
    "components",
    "degree",
    "eigenvector",
    "modularity",
    "node_metrics",
    "pagerank",
    "to_networkit",
]

COMMUNITY_METHODS = ("louvain", "leiden")


def to_networkit(adjacency: sp.spmatrix) -> Any:
    """An undirected, unweighted ``networkit.Graph`` with the upper triangle of ``adjacency``."""
    import networkit as nk

    upper = sp.triu(adjacency, k=1).tocoo()
    graph = nk.GraphFromCoo(
        (upper.row.astype(np.uint64), upper.col.astype(np.uint64)), n=adjacency.shape[0], directed=False
    )
    return graph


def _seed(seed: int) -> None:
    import networkit as nk

    nk.engineering.setSeed(seed, False)


def components(adjacency: sp.spmatrix) -> NDArray[np.int64]:
    """Component label of every node, labels numbered from 0 in order of each component's first node."""
    matrix = sp.csr_matrix(adjacency)
    component, _, _, _, _ = cut_pass(matrix.indptr, matrix.indices, np.zeros(matrix.shape[0], dtype=bool))
    return component


def degree(adjacency: sp.spmatrix) -> NDArray[np.float64]:
    """Degree of every node over ``n - 1`` (Freeman 1979)."""
    matrix = sp.csr_matrix(adjacency)
    n = matrix.shape[0]
    counts = np.diff(matrix.indptr).astype(np.float64)
    return counts / (n - 1) if n > 1 else counts


def betweenness(adjacency: sp.spmatrix, *, samples: int | None = None, seed: int = 0) -> NDArray[np.float64]:
    """Betweenness of every node, normalised to 0–1; exact, or estimated from ``samples`` pivots."""
    import networkit as nk

    n = adjacency.shape[0]
    if n < 3:
        return np.zeros(n)
    graph = to_networkit(adjacency)
    _seed(seed)
    if samples is None or samples >= n:
        algorithm = nk.centrality.Betweenness(graph, normalized=True)
    else:
        algorithm = nk.centrality.EstimateBetweenness(graph, samples, normalized=True)
    algorithm.run()
    return np.asarray(algorithm.scores(), dtype=np.float64)


def eigenvector(adjacency: sp.spmatrix) -> NDArray[np.float64]:
    """Eigenvector centrality (Bonacich 1972): the leading eigenvector of the adjacency, unit norm.

    In a disconnected network it is zero outside the component with the largest eigenvalue.
    """
    from scipy.sparse.linalg import eigsh

    matrix = sp.csr_matrix(adjacency, dtype=np.float64)
    n = matrix.shape[0]
    if n == 0 or matrix.nnz == 0:
        return np.zeros(n)
    if n < 3:
        values, vectors = np.linalg.eigh(matrix.toarray())
        vector = vectors[:, -1]
    else:
        _, vectors = eigsh(matrix, k=1, which="LA", v0=np.ones(n), tol=1e-10)
        vector = vectors[:, 0]
    scores = np.abs(vector)
    scores[scores < 1e-12] = 0.0
    return scores / float(np.linalg.norm(scores))


def pagerank(
    adjacency: sp.spmatrix, *, damping: float = 0.85, tolerance: float = 1e-9, max_iterations: int = 200
) -> NDArray[np.float64]:
    """PageRank (Brin & Page 1998), summing to 1: power iteration over the sparse matrix.

    A person with no link spreads their share evenly (the dangling-node rule of networkx); the
    iteration stops when the L1 change is below ``n × tolerance``, networkx's criterion.
    """
    matrix = sp.csr_matrix(adjacency, dtype=np.float64)
    n = matrix.shape[0]
    if n == 0:
        return np.zeros(0)
    out_degree = np.asarray(matrix.sum(axis=1)).ravel()
    dangling = out_degree == 0
    share = np.divide(1.0, out_degree, out=np.zeros(n), where=~dangling)
    transposed = matrix.T.tocsr()
    scores = np.full(n, 1.0 / n)
    for _ in range(max_iterations):
        updated = damping * (transposed @ (scores * share))
        updated += (damping * scores[dangling].sum() + 1.0 - damping) / n
        change = float(np.abs(updated - scores).sum())
        scores = updated
        if change < n * tolerance:
            break
    return scores / scores.sum()


def communities(adjacency: sp.spmatrix, *, method: str = "louvain", seed: int = 0) -> NDArray[np.int64]:
    """Community of every node by Louvain (PLM) or Leiden; labels renumbered by size, largest first."""
    import networkit as nk

    if method not in COMMUNITY_METHODS:
        raise ValueError(f"unknown community method {method!r}; known: {list(COMMUNITY_METHODS)}")
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = to_networkit(adjacency)
    _seed(seed)
    if method == "louvain":
        algorithm = nk.community.PLM(graph, refine=True)
    else:
        algorithm = nk.community.ParallelLeiden(graph, randomize=False)
    algorithm.run()
    raw = np.asarray(algorithm.getPartition().getVector(), dtype=np.int64)
    _, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
    rank = np.empty(counts.size, dtype=np.int64)
    rank[np.lexsort((np.arange(counts.size), -counts))] = np.arange(counts.size)
    return rank[inverse]


def modularity(adjacency: sp.spmatrix, labels: NDArray[np.int64]) -> float:
    """Newman's modularity Q of a partition (Newman 2006)."""
    matrix = sp.csr_matrix(adjacency)
    two_m = float(matrix.sum())
    if two_m == 0:
        return 0.0
    degrees = np.asarray(matrix.sum(axis=1)).ravel()
    coo = matrix.tocoo()
    inside = float(coo.data[labels[coo.row] == labels[coo.col]].sum())
    totals = np.bincount(labels, weights=degrees)
    return inside / two_m - float(np.square(totals / two_m).sum())


def bridges(adjacency: sp.spmatrix) -> NDArray[np.int64]:
    """Links whose removal disconnects their component, as sorted ``[low, high]`` node pairs."""
    matrix = sp.csr_matrix(adjacency)
    _, _, _, bridge_to_parent, parent = cut_pass(matrix.indptr, matrix.indices, np.zeros(matrix.shape[0], dtype=bool))
    child = np.flatnonzero(bridge_to_parent)
    pairs = np.sort(np.column_stack([parent[child], child]), axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))] if pairs.size else pairs.reshape(0, 2)


def articulation_points(adjacency: sp.spmatrix) -> NDArray[np.int64]:
    """People whose removal splits their component (cut points), in node order."""
    matrix = sp.csr_matrix(adjacency)
    component, sizes, after_sq, _, _ = cut_pass(matrix.indptr, matrix.indices, np.zeros(matrix.shape[0], dtype=bool))
    own = sizes[component].astype(np.float64)
    # removing a node that cuts nothing leaves one piece of size s-1
    return np.flatnonzero(after_sq < (own - 1.0) ** 2 - 0.5)


def node_metrics(
    adjacency: sp.spmatrix, *, betweenness_samples: int | None = None, community_method: str = "louvain", seed: int = 0
) -> pd.DataFrame:
    """Every metric of every node, one row per node position."""
    return pd.DataFrame(
        {
            "component": components(adjacency),
            "degree": degree(adjacency),
            "betweenness": betweenness(adjacency, samples=betweenness_samples, seed=seed),
            "eigenvector": eigenvector(adjacency),
            "pagerank": pagerank(adjacency),
            "community": communities(adjacency, method=community_method, seed=seed),
        }
    )
