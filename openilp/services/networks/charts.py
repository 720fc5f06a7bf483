"""The network around a person, a group, a series or a record: nodes, links, metrics, key players.

``network_chart(core, actor, NetworkRequest(...))`` gathers the links the actor may see from the
sources (:mod:`.sources`: intelligence records under 28 CFR Part 23, and co-offending rows the
command line passes from a file), keeps the people within ``hops`` links of the seeds, filters by
link type and date, computes each node's metrics and the key-player sets of the people, and
returns the chart, or its export (GraphML or an Analyst's Notebook CSV). Every chart and export is
audited with its seeds and size.

A person's place in a network is never a designation: the chart marks no one as a gang member and
feeds nothing into :mod:`.designations`, which needs documented criteria. The memberships those
designations make once approved are a layer of their own (:mod:`.membership_layer`: ``memberships``
and ``membership_nodes``), shown to viewers who may read designations and kept out of every metric.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from openilp.analysis.networks import LINK_TYPES, build_network, kpp_negative, kpp_positive
from openilp.analysis.networks import metrics as network_metrics
from openilp.analysis.networks.export import anb_csv, graphml
from openilp.core.contract import Request, Result, require
from openilp.errors import NotFound, NotPermitted
from openilp.services.networks.membership_layer import membership_layer
from openilp.services.networks.sources import (
    IncidentPartyLinks,
    IntelRecordLinks,
    LinkSource,
    LinkTables,
    OffenderLinks,
    subject_key,
    visible_record_ids,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = [
    "EXPORT_FORMATS",
    "MAX_CHART_NODES",
    "METRICS",
    "NetworkChart",
    "NetworkRequest",
    "network_chart",
]

#: What a chart can be exported as: its JSON, GraphML, or an Analyst's Notebook import CSV.
EXPORT_FORMATS = ("json", "graphml", "anb_csv")
#: Node metrics a chart carries (and can size its nodes by).
METRICS = ("degree", "betweenness", "eigenvector", "pagerank")
#: Most nodes one chart holds; a larger neighbourhood is refused with the fix (fewer hops, a filter).
MAX_CHART_NODES = 2000
#: Said with every chart.
NOTES = (
    "Links are evidence that two subjects are connected, not proof of a relationship; each link names its record.",
    "Only the criminal subjects of intelligence records you may read appear; non-criminal identifying "
    "information never becomes a node.",
    "A place in a network never designates anyone as a member of a gang or enterprise.",
    "A subject is its resolved entity when entity resolution has placed it, otherwise its kind and name: "
    "two unresolved people of the same name are one node here.",
    'Dashed "designated member of" edges come only from approved gang or enterprise designations '
    "(documented criteria, a second person's approval) that you may read; they count in no metric.",
)


@dataclass(frozen=True)
class NetworkRequest(Request):
    """Which network: seeds (node identifiers or names), a saved series, or a record; hops; filters."""

    around: tuple[str, ...] = ()
    #: Nodes of a drawn chart whose neighbours (one link away) are added: "expand" on the page.
    expand: tuple[str, ...] = ()
    series_id: int | None = None
    record_id: int | None = None
    hops: int = 2
    link_types: tuple[str, ...] = LINK_TYPES
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    key_players: int = 3
    community_method: str = "louvain"
    format: str = "json"
    #: Co-offending rows (person, incident, date or "") the command line read from a file.
    co_offending: tuple[tuple[str, str, str], ...] = ()

    def validate(self) -> NetworkRequest:
        require(1 <= self.hops <= 4, "hops: choose 1 to 4 links from the seeds")
        unknown = sorted(set(self.link_types) - set(LINK_TYPES))
        require(not unknown, f"link_types: unknown {unknown}; choose from {', '.join(LINK_TYPES)}")
        require(bool(self.link_types), f"link_types: choose at least one of {', '.join(LINK_TYPES)}")
        require(
            self.date_from is None or self.date_to is None or self.date_from <= self.date_to,
            "date_from: must not be after date_to",
        )
        require(0 <= self.key_players <= 20, "key_players: choose 0 to 20")
        require(
            self.community_method in network_metrics.COMMUNITY_METHODS,
            f"community_method: choose {' or '.join(network_metrics.COMMUNITY_METHODS)}",
        )
        require(self.format in EXPORT_FORMATS, f"format: choose one of {', '.join(EXPORT_FORMATS)}")
        require(len(self.around) <= 50, "around: at most 50 seeds")
        require(len(self.expand) <= 200, "expand: at most 200 expanded nodes")
        require(all(0 < len(s.strip()) <= 200 for s in self.around), "around: give names of 1 to 200 characters")
        require(len(self.co_offending) <= 1_000_000, "co_offending: at most 1,000,000 rows")
        return dataclasses.replace(
            self,
            around=tuple(s.strip() for s in self.around),
            expand=tuple(dict.fromkeys(s.strip() for s in self.expand if s.strip())),
            link_types=tuple(self.link_types),
        )


@dataclass(frozen=True)
class NetworkChart(Result):
    """The chart: nodes with metrics, links with their records, key players, a summary, the notes."""

    nodes: tuple[dict[str, Any], ...]
    links: tuple[dict[str, Any], ...]
    seeds: tuple[str, ...]
    key_players_negative: tuple[str, ...]
    key_players_positive: tuple[str, ...]
    summary: dict[str, Any]
    notes: tuple[str, ...] = NOTES
    format: str = "json"
    export: str = ""
    records: tuple[str, ...] = field(default=())
    #: Person → organisation edges of active designations the viewer may read (:mod:`.membership_layer`).
    memberships: tuple[dict[str, Any], ...] = ()
    #: Organisation nodes only the membership layer draws (no record in the chart names them).
    membership_nodes: tuple[dict[str, Any], ...] = ()

    @property
    def media_type(self) -> str:
        return {"graphml": "application/graphml+xml", "anb_csv": "text/csv"}.get(self.format, "application/json")

    @property
    def filename(self) -> str:
        return {"graphml": "network.graphml", "anb_csv": "network-anb.csv"}.get(self.format, "network.json")


def _sources(request: NetworkRequest) -> list[LinkSource]:
    sources: list[LinkSource] = [IntelRecordLinks(), IncidentPartyLinks()]
    if request.co_offending:
        arrests = pd.DataFrame(list(request.co_offending), columns=["person", "incident", "date"])
        arrests["date"] = pd.to_datetime(arrests["date"].replace("", None), errors="coerce")
        sources.append(OffenderLinks(arrests))
    return sources


def _seed_ids(
    session: Session | None, viewer: UserInfo | None, request: NetworkRequest, nodes: pd.DataFrame, now: dt.datetime
) -> list[str]:
    """Node identifiers of the seeds; NotFound (the same words whether hidden or absent) otherwise."""
    seeds: list[str] = []
    ids = set(nodes["id"].astype(str))
    by_label: dict[str, list[str]] = {}
    for node_id, label in zip(nodes["id"].astype(str), nodes["label"].astype(str), strict=True):
        by_label.setdefault(" ".join(label.split()).casefold(), []).append(node_id)
    for seed in request.around:
        if seed in ids:
            seeds.append(seed)
            continue
        found = by_label.get(" ".join(seed.split()).casefold())
        if not found:
            raise NotFound(f"no one named {seed!r} in the records you may read")
        seeds += found
    if request.series_id is not None or request.record_id is not None:
        seeds += _record_seeds(session, viewer, request, ids, now)
    return list(dict.fromkeys(seeds))


def _record_seeds(
    session: Session | None, viewer: UserInfo | None, request: NetworkRequest, ids: set[str], now: dt.datetime
) -> list[str]:
    from sqlalchemy import select

    from openilp.db.models import CrimeSeries, IntelSubject

    if session is None or viewer is None:
        raise NotFound("a series or record needs a signed-in viewer")
    record_id = request.record_id
    if request.series_id is not None:
        series = session.get(CrimeSeries, request.series_id)
        if series is None or series.agency_id != viewer.agency_id:
            raise NotFound(f"no crime series {request.series_id} in your agency")
        if series.intel_record_id is None:
            raise NotFound(f"crime series {request.series_id} is kept on no intelligence record, so it names no one")
        record_id = series.intel_record_id
    subjects = session.execute(
        select(IntelSubject.kind, IntelSubject.display_name).where(
            IntelSubject.record_id == record_id, IntelSubject.role == "criminal_subject"
        )
    ).all()
    if record_id not in visible_record_ids(session, viewer, now):  # hidden or absent: the same answer
        raise NotFound(f"no intelligence record {record_id} you may read")
    return [key for key in (subject_key(kind, name) for kind, name in subjects) if key in ids]


def network_chart(core: OpenILP, actor: UserInfo | None, request: NetworkRequest) -> NetworkChart:
    """The network around the seeds that ``actor`` may see (see the module notes); audited."""
    request = request.validate()
    if actor is not None and not actor.can("networks:read"):
        raise NotPermitted(f"your role ({actor.role}) may not read networks")
    if actor is None and (request.series_id is not None or request.record_id is not None):
        raise NotPermitted("a series or an intelligence record needs a signed-in user (--user)")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        tables = LinkTables.join([source.tables(session, actor, uow.now) for source in _sources(request)])
        seeds = _seed_ids(session, actor, request, tables.nodes, uow.now)
        hidden = sorted(set(request.expand) - set(tables.nodes["id"].astype(str)))
        if hidden:  # the same answer as for a name no one has
            raise NotFound(f"no one named {hidden[0]!r} in the records you may read")
        chart = _chart(tables, seeds, request)
        layer = membership_layer(session, actor, {str(n["id"]): str(n["label"]) for n in chart.nodes})
        chart = dataclasses.replace(
            chart,
            memberships=layer.edges,
            membership_nodes=layer.nodes,
            summary={**chart.summary, "memberships": len(layer.edges)},
        )
        uow.audit(
            action="network_chart" if request.format == "json" else "network_export",
            object_type="network",
            object_id=",".join(seeds)[:200] or None,
            details={
                "seeds": seeds,
                "series_id": request.series_id,
                "record_id": request.record_id,
                "hops": request.hops,
                "link_types": list(request.link_types),
                "format": request.format,
                "nodes": len(chart.nodes),
                "links": len(chart.links),
                "records": list(chart.records),
                "designations": layer.designations,
            },
            agency_id=actor.agency_id if actor is not None else None,
        )
    return chart


def _chart(tables: LinkTables, seeds: Sequence[str], request: NetworkRequest) -> NetworkChart:
    network = build_network(tables.links, tables.nodes)
    network = network.filter_links(link_types=request.link_types, date_from=request.date_from, date_to=request.date_to)
    if seeds:
        keep = network.within(seeds, hops=request.hops)
        if request.expand:
            keep |= network.within(request.expand, hops=1)
        network = network.subnetwork(keep)
    # people with no link left after the filters are not drawn, unless they are seeds
    linked = np.diff(network.adjacency.indptr) > 0
    linked |= np.isin(network.node_ids.astype(str), list(seeds))
    network = network.subnetwork(linked)
    if network.n_nodes > MAX_CHART_NODES:
        raise NotPermitted(
            f"the chart would hold {network.n_nodes:,} nodes (at most {MAX_CHART_NODES:,}): "
            "start from a person, group or series, use fewer hops or filter the link types or dates"
        )
    adjacency = network.adjacency
    metric_values: dict[str, np.ndarray] = {
        "degree": network_metrics.degree(adjacency),
        "betweenness": network_metrics.betweenness(adjacency),
        "eigenvector": network_metrics.eigenvector(adjacency),
        "pagerank": network_metrics.pagerank(adjacency),
    }
    community = network_metrics.communities(adjacency, method=request.community_method)
    component = network_metrics.components(adjacency)
    people = np.flatnonzero(network.node_kinds.astype(str) == "person")
    negative: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    if request.key_players and people.size > request.key_players:
        persons = network.subnetwork(people)
        k = request.key_players
        negative = tuple(str(persons.node_ids[m]) for m in kpp_negative(persons.adjacency, k).members)
        positive = tuple(str(persons.node_ids[m]) for m in kpp_positive(persons.adjacency, k).members)
    seed_set = set(seeds)
    nodes = pd.DataFrame(
        {
            "id": network.node_ids.astype(str),
            "label": network.node_labels.astype(str),
            "kind": network.node_kinds.astype(str),
            **{name: np.round(values, 6) for name, values in metric_values.items()},
            "community": community,
            "component": component,
            "seed": [n in seed_set for n in network.node_ids.astype(str)],
            "key_player_negative": [n in negative for n in network.node_ids.astype(str)],
            "key_player_positive": [n in positive for n in network.node_ids.astype(str)],
        }
    )
    links = network.links[["source", "target", "link_type", "date", "record", "via"]].copy()
    links["date"] = pd.to_datetime(links["date"]).dt.strftime("%Y-%m-%d")
    links = links.astype(object).where(links.notna(), None)
    links.insert(0, "id", [f"l{i}" for i in range(len(links))])
    records = tuple(sorted({str(r) for r in links["record"] if r is not None}))
    summary = {
        "nodes": int(network.n_nodes),
        "people": int(people.size),
        "links": int(len(links)),
        "linked_pairs": int(network.n_edges),
        "components": int(component.max() + 1) if component.size else 0,
        "communities": int(community.max() + 1) if community.size else 0,
        "modularity": round(network_metrics.modularity(adjacency, community), 4) if community.size else 0.0,
        "link_types": {t: int((links["link_type"] == t).sum()) for t in LINK_TYPES},
        "bridges": int(len(network_metrics.bridges(adjacency))),
    }
    export = ""
    if request.format == "graphml":
        export = graphml(nodes, links)
    elif request.format == "anb_csv":
        export = anb_csv(nodes, links)
    return NetworkChart(
        nodes=tuple({str(k): v for k, v in row.items()} for row in nodes.to_dict(orient="records")),
        links=tuple({str(k): v for k, v in row.items()} for row in links.to_dict(orient="records")),
        seeds=tuple(seeds),
        key_players_negative=negative,
        key_players_positive=positive,
        summary=summary,
        format=request.format,
        export=export,
        records=records,
    )
