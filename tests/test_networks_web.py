"""The networks API and page through the real app: the chart JSON, the exports, the page's script."""

from __future__ import annotations

import io
from pathlib import Path

import networkx as nx
import pytest
from network_support import BOB, CARL, JOHNNY, VAN, seed_network
from sqlalchemy import Engine
from web_support import login, make_client

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_chart_json_exports_and_page(engine: Engine, tmp_path: Path) -> None:
    seed_network(engine, tmp_path)
    client = make_client(engine, tmp_path)
    login(client, "ana")
    chart = client.get("/api/v1/networks/chart.json", params={"around": "Johnny Suspect", "hops": 1})
    assert chart.status_code == 200, chart.text
    body = chart.json()
    assert {n["id"] for n in body["nodes"]} == {JOHNNY, BOB, VAN, CARL}
    assert body["seeds"] == [JOHNNY]
    expanded = client.get(
        "/api/v1/networks/chart.json",
        params=[("around", JOHNNY), ("hops", "1"), ("link_types", "association"), ("expand", BOB)],
    ).json()
    assert {n["id"] for n in expanded["nodes"]} == {JOHNNY, BOB, VAN, CARL}  # Carl through Bob's record C
    assert {link["link_type"] for link in expanded["links"]} == {"association"}
    graphml = client.get("/api/v1/networks/export", params={"around": JOHNNY, "hops": 1, "format": "graphml"})
    assert graphml.status_code == 200
    assert graphml.headers["content-type"].startswith("application/graphml+xml")
    assert 'filename="network.graphml"' in graphml.headers["content-disposition"]
    assert set(nx.read_graphml(io.BytesIO(graphml.content)).nodes) == {JOHNNY, BOB, VAN, CARL}
    anb = client.get("/api/v1/networks/export", params={"format": "anb_csv"})
    assert anb.text.splitlines()[0].startswith("Entity 1 Identity,Entity 1 Type")
    assert client.get("/api/v1/networks/chart.json", params={"around": "Pam Pending"}).status_code == 404
    assert client.get("/api/v1/networks/chart.json", params={"hops": 7}).status_code == 400
    assert client.get("/api/v1/networks/export", params={"format": "pdf"}).status_code == 400
    page = client.get("/networks", params={"around": "Johnny Suspect"})
    assert page.status_code == 200
    assert 'data-query="around=Johnny+Suspect"' in page.text
    assert "/static/js/network_chart.js" in page.text or "make assets" in page.text
