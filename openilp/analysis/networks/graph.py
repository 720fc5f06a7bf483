"""A network of people and the links between them, built from edge lists.

A link is one piece of evidence that two people are connected: they were arrested on the same
incident (``co_offending``), they are named together in an intelligence record (``association``),
or they share a vehicle, a phone or an address (``shared_vehicle``, ``shared_phone``,
``shared_address``). Each link keeps the record it comes from and its date, so a chart can show
why two people are joined and a viewer can be shown only the links from records they may see.

:class:`Network` keeps the links as given (several links may join the same two people) and the
simple undirected graph under them as a compressed sparse row matrix (``adjacency``), on which
the metrics and the key-player sets are computed.

Nodes carry an identifier, a kind and a label, nothing else: a node table with any other column
is refused, so that no protected attribute (race, ethnicity, national origin, religion) can reach
a metric or a key-player list (:data:`NODE_COLUMNS`).

>>> import pandas as pd
>>> links = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "a"], "link_type": "co_offending"})
>>> net = build_network(links)
>>> net.n_nodes, net.n_links, int(net.adjacency.nnz)
(3, 3, 6)
>>> net.neighbourhood(["a"], hops=1).n_nodes
3
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = [
    "LINK_TYPES",
    "LINK_COLUMNS",
    "NODE_COLUMNS",
    "PROTECTED_ATTRIBUTE_NAMES",
    "Network",
    "build_network",
]

#: The kinds of link a network holds.
LINK_TYPES = ("co_offending", "association", "shared_vehicle", "shared_phone", "shared_address")
#: Columns of a link table; ``source``, ``target`` and ``link_type`` are required.
LINK_COLUMNS = ("source", "target", "link_type", "date", "record", "via")
#: Columns a node table may have; any other column is refused.
NODE_COLUMNS = ("id", "kind", "label")
#: Words that name a protected attribute; a column containing one is refused with its own message.
PROTECTED_ATTRIBUTE_NAMES = ("race", "ethnic", "national_origin", "nationality", "religion", "religious")


def _refuse_columns(frame: pd.DataFrame, allowed: Sequence[str], what: str) -> None:
    extra = [str(c) for c in frame.columns if c not in allowed]
    protected = [c for c in extra if any(word in c.lower() for word in PROTECTED_ATTRIBUTE_NAMES)]
    if protected:
        raise ValueError(f"{what} has protected attribute column(s) {protected}: networks never use them")
    if extra:
        raise ValueError(f"{what} has column(s) {extra} a network does not use; allowed: {list(allowed)}")


@dataclass(frozen=True)
class Network:
    """People (nodes) and the links between them; ``adjacency`` is the simple graph under the links.

    Attributes
    ----------
    node_ids, node_kinds, node_labels : arrays of ``n_nodes`` strings.
    links : the links as a data frame with integer ``source_index``/``target_index`` columns added.
    adjacency : symmetric ``n_nodes × n_nodes`` CSR matrix of 0/1 (one entry per linked pair and
        direction, no self-loops), the graph every metric is computed on.
    """

    node_ids: NDArray[Any]
    node_kinds: NDArray[Any]
    node_labels: NDArray[Any]
    links: pd.DataFrame
    adjacency: sp.csr_matrix = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.node_ids.size)

    @property
    def n_links(self) -> int:
        return len(self.links)

    @property
    def n_edges(self) -> int:
        """Linked pairs of distinct people (several links between two people count once)."""
        return int(self.adjacency.nnz // 2)

    def index_of(self, ids: Iterable[Any]) -> NDArray[np.int64]:
        """Positions of node identifiers; raises ``KeyError`` naming an unknown one."""
        lookup = pd.Index(self.node_ids)
        wanted = list(ids)
        positions = lookup.get_indexer(wanted)
        if (positions < 0).any():
            missing = [w for w, p in zip(wanted, positions, strict=True) if p < 0]
            raise KeyError(f"not in the network: {missing[:5]}")
        return positions.astype(np.int64)

    def subnetwork(self, keep: NDArray[np.bool_] | NDArray[np.int64]) -> Network:
        """The network on the kept nodes (a boolean mask or node positions) and the links among them."""
        mask = np.zeros(self.n_nodes, dtype=bool)
        mask[keep] = True
        new_index = np.cumsum(mask) - 1
        src = self.links["source_index"].to_numpy()
        dst = self.links["target_index"].to_numpy()
        inside = mask[src] & mask[dst]
        links = self.links.loc[inside].copy()
        links["source_index"] = new_index[src[inside]]
        links["target_index"] = new_index[dst[inside]]
        links = links.reset_index(drop=True)
        return Network(
            node_ids=self.node_ids[mask],
            node_kinds=self.node_kinds[mask],
            node_labels=self.node_labels[mask],
            links=links,
            adjacency=self.adjacency[mask][:, mask].tocsr(),
        )

    def filter_links(
        self,
        *,
        link_types: Sequence[str] | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> Network:
        """The same people with only the links of the given types and dates (``date_to`` inclusive).

        Undated links are kept by a date filter only when no date bound is given.
        """
        keep = np.ones(self.n_links, dtype=bool)
        if link_types is not None:
            keep &= self.links["link_type"].isin(list(link_types)).to_numpy()
        if date_from is not None or date_to is not None:
            dates = pd.to_datetime(self.links["date"])
            known = dates.notna().to_numpy()
            keep &= known
            if date_from is not None:
                keep &= (dates >= pd.Timestamp(date_from)).to_numpy() | ~known
            if date_to is not None:
                keep &= (dates < pd.Timestamp(date_to) + pd.Timedelta(days=1)).to_numpy() | ~known
        links = self.links.loc[keep].reset_index(drop=True)
        return Network(
            node_ids=self.node_ids,
            node_kinds=self.node_kinds,
            node_labels=self.node_labels,
            links=links,
            adjacency=_simple_adjacency(
                links["source_index"].to_numpy(), links["target_index"].to_numpy(), self.n_nodes
            ),
        )

    def within(self, seeds: Iterable[Any], *, hops: int = 1) -> NDArray[np.bool_]:
        """Mask of the nodes within ``hops`` links of the seed identifiers (breadth-first)."""
        if hops < 0:
            raise ValueError("hops must be 0 or more")
        reached = np.zeros(self.n_nodes, dtype=bool)
        reached[self.index_of(seeds)] = True
        frontier = reached.copy()
        for _ in range(hops):
            step = (self.adjacency @ frontier.astype(np.float64)) > 0
            frontier = step & ~reached
            if not frontier.any():
                break
            reached |= frontier
        return reached

    def neighbourhood(self, seeds: Iterable[Any], *, hops: int = 1) -> Network:
        """The network of everyone within ``hops`` links of the seed identifiers."""
        return self.subnetwork(self.within(seeds, hops=hops))

    def to_networkx(self) -> Any:
        """A ``networkx.MultiGraph`` with one edge per link (attributes: type, date, record, via)."""
        import networkx as nx

        graph = nx.MultiGraph()
        for node, kind, label in zip(self.node_ids, self.node_kinds, self.node_labels, strict=True):
            graph.add_node(str(node), kind=str(kind), label=str(label))
        sources = self.node_ids[self.links["source_index"].to_numpy()]
        targets = self.node_ids[self.links["target_index"].to_numpy()]
        dates = pd.to_datetime(self.links["date"]).dt.strftime("%Y-%m-%d").to_numpy()
        extras = {
            name: [None if pd.isna(v) else str(v) for v in self.links[name].astype(object).tolist()]
            for name in ("record", "via")
        }
        for position, link_type in enumerate(self.links["link_type"].to_numpy()):
            attributes = {"link_type": str(link_type)}
            if isinstance(dates[position], str):
                attributes["date"] = dates[position]
            for name, values in extras.items():
                if values[position] is not None:
                    attributes[name] = str(values[position])
            graph.add_edge(str(sources[position]), str(targets[position]), **attributes)
        return graph


def _simple_adjacency(src: NDArray[np.int64], dst: NDArray[np.int64], n: int) -> sp.csr_matrix:
    """Symmetric 0/1 CSR matrix of the distinct pairs, without self-loops."""
    keep = src != dst
    rows = np.concatenate([src[keep], dst[keep]])
    cols = np.concatenate([dst[keep], src[keep]])
    matrix = sp.csr_matrix((np.ones(rows.size, dtype=np.float64), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    matrix.sort_indices()
    return matrix


def build_network(links: pd.DataFrame, nodes: pd.DataFrame | None = None) -> Network:
    """A :class:`Network` from a link table and, optionally, a node table.

    Parameters
    ----------
    links : columns ``source``, ``target`` (node identifiers), ``link_type`` (one of
        :data:`LINK_TYPES`), and optionally ``date`` (of the evidence), ``record`` (the record it
        comes from) and ``via`` (the shared vehicle, phone or address). No other column.
    nodes : columns ``id`` and optionally ``kind`` and ``label``; people named only in ``links`` are
        added with kind ``person``. No other column: protected attributes are refused.
    """
    _refuse_columns(links, LINK_COLUMNS, "the link table")
    for required in ("source", "target", "link_type"):
        if required not in links.columns:
            raise ValueError(f"the link table needs a {required!r} column")
    unknown = sorted(set(links["link_type"].astype(str)) - set(LINK_TYPES))
    if unknown:
        raise ValueError(f"unknown link type(s) {unknown}; known: {list(LINK_TYPES)}")
    if nodes is None:
        nodes = pd.DataFrame({"id": pd.Series([], dtype=object)})
    _refuse_columns(nodes, NODE_COLUMNS, "the node table")
    if "id" not in nodes.columns:
        raise ValueError("the node table needs an 'id' column")

    source = links["source"].astype(str).to_numpy()
    target = links["target"].astype(str).to_numpy()
    given = nodes["id"].astype(str).to_numpy()
    if pd.Index(given).has_duplicates:
        raise ValueError("the node table names a node twice")
    extra = pd.unique(np.concatenate([source, target]))
    extra = extra[~pd.Index(extra).isin(given)]
    node_ids = np.concatenate([given, extra]).astype(object)
    kinds = (
        nodes["kind"].astype(str).to_numpy() if "kind" in nodes.columns else np.full(given.size, "person", dtype=object)
    )
    labels = nodes["label"].astype(str).to_numpy() if "label" in nodes.columns else given
    node_kinds = np.concatenate([kinds, np.full(extra.size, "person", dtype=object)]).astype(object)
    node_labels = np.concatenate([labels, extra]).astype(object)

    index = pd.Index(node_ids)
    source_index = index.get_indexer(source).astype(np.int64)
    target_index = index.get_indexer(target).astype(np.int64)
    table = pd.DataFrame(
        {
            "source": source,
            "target": target,
            "link_type": links["link_type"].astype(str).to_numpy(),
            "date": pd.to_datetime(links["date"]).to_numpy() if "date" in links.columns else pd.NaT,
            "record": links["record"].astype(object).to_numpy() if "record" in links.columns else None,
            "via": links["via"].astype(object).to_numpy() if "via" in links.columns else None,
            "source_index": source_index,
            "target_index": target_index,
        }
    )
    table = table.loc[source_index != target_index].reset_index(drop=True)
    return Network(
        node_ids=node_ids,
        node_kinds=node_kinds,
        node_labels=node_labels,
        links=table,
        adjacency=_simple_adjacency(table["source_index"].to_numpy(), table["target_index"].to_numpy(), node_ids.size),
    )
