"""A chart's nodes and links as GraphML (Brandes et al. 2002) and as an i2 Analyst's Notebook import CSV.

Both take the same two tables a link chart draws: nodes (``id``, ``label``, ``kind`` and any
metric columns) and links (``source``, ``target``, ``link_type``, ``date``, ``record``, ``via``).

* GraphML keeps everything, typed (metrics as doubles), for Gephi, Cytoscape desktop, yEd and
  networkx (``networkx.read_graphml`` reads it back).
* The Analyst's Notebook CSV has one row per link with both ends, as ANB's *Import Data* wizard
  expects for an entity-link-entity import: ``Entity 1 Identity``, ``Entity 1 Type``, ``Entity 1
  Label``, ``Entity 2 …``, ``Link Type``, ``Link Date`` (``DD/MM/YYYY``, ANB's default date
  format), ``Link Reference`` (the record the link comes from) and ``Link Description``.

>>> import pandas as pd
>>> nodes = pd.DataFrame({"id": ["person:a", "person:b"], "label": ["A", "B"], "kind": "person", "degree": 1.0})
>>> links = pd.DataFrame({"source": ["person:a"], "target": ["person:b"], "link_type": ["association"],
...                       "date": ["2024-03-01"], "record": ["intel:7"], "via": [None]})
>>> print(anb_csv(nodes, links).splitlines()[1])
person:a,Person,A,person:b,Person,B,Association,01/03/2024,intel:7,association (intel:7)
>>> "<graphml" in graphml(nodes, links)
True
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

__all__ = ["ANB_COLUMNS", "anb_csv", "graphml"]

ANB_COLUMNS = (
    "Entity 1 Identity",
    "Entity 1 Type",
    "Entity 1 Label",
    "Entity 2 Identity",
    "Entity 2 Type",
    "Entity 2 Label",
    "Link Type",
    "Link Date",
    "Link Reference",
    "Link Description",
)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    return str(value)


def _date(value: object) -> pd.Timestamp | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return None if pd.isna(stamp) else stamp


def graphml(nodes: pd.DataFrame, links: pd.DataFrame) -> str:
    """The chart as GraphML text: one node per row of ``nodes``, one edge per link (a multigraph)."""
    import networkx as nx

    graph = nx.MultiGraph()
    for row in nodes.to_dict(orient="records"):
        attributes: dict[str, object] = {}
        for name, value in row.items():
            key = str(name)
            if key == "id" or value is None:
                continue
            if isinstance(value, bool | np.bool_):
                attributes[key] = bool(value)
            elif isinstance(value, int | np.integer):
                attributes[key] = int(value)
            elif isinstance(value, float | np.floating):
                if np.isfinite(value):
                    attributes[key] = float(value)
            else:
                attributes[key] = str(value)
        graph.add_node(str(row["id"]), **attributes)
    for position, row in enumerate(links.to_dict(orient="records")):
        attributes = {"link_type": _text(row.get("link_type"))}
        stamp = _date(row.get("date"))
        if stamp is not None:
            attributes["date"] = stamp.strftime("%Y-%m-%d")
        for key in ("record", "via"):
            if _text(row.get(key)):
                attributes[key] = _text(row.get(key))
        graph.add_edge(str(row["source"]), str(row["target"]), key=f"e{position}", **attributes)
    return "\n".join(nx.generate_graphml(graph)) + "\n"


def anb_csv(nodes: pd.DataFrame, links: pd.DataFrame) -> str:
    """The chart as an Analyst's Notebook entity-link-entity CSV (see the module notes)."""
    by_id = {str(row["id"]): row for row in nodes.to_dict(orient="records")}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANB_COLUMNS)
    for row in links.to_dict(orient="records"):
        ends = []
        for end in (str(row["source"]), str(row["target"])):
            node = by_id.get(end, {})
            ends += [end, _text(node.get("kind", "person")).title(), _text(node.get("label", end))]
        link_type = _text(row.get("link_type"))
        stamp = _date(row.get("date"))
        reference = _text(row.get("record"))
        via = _text(row.get("via"))
        description = link_type + (f" via {via}" if via else "") + (f" ({reference})" if reference else "")
        writer.writerow(
            [
                *ends,
                link_type.replace("_", " ").capitalize(),
                stamp.strftime("%d/%m/%Y") if stamp is not None else "",
                reference,
                description,
            ]
        )
    return out.getvalue()
