"""The link chart in a real browser: open a chart, expand a node, export PNG and GraphML.

Real app under uvicorn on 127.0.0.1 (temporary SQLite store with intelligence records in two
agencies), system Chromium through Playwright, Cytoscape.js served from the app (built from npm).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest
from browser_support import BROWSER, PageLog, chromium, serve, sign_in
from network_support import BOB, CARL, JOHNNY, VAN, seed_network
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import text

from openilp.db import make_engine, migrate
from openilp.web.context import CYTOSCAPE_DIR

pytestmark = BROWSER


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (CYTOSCAPE_DIR / "cytoscape.min.js").is_file():
        pytest.fail("Cytoscape.js is not built: run `npm ci && python3 scripts/build_assets.py` first")
    data_dir = tmp_path_factory.mktemp("browser-networks")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_network(engine, data_dir)
    with serve(engine, data_dir, "browser-networks-secret") as url:
        yield url


def test_open_a_chart_expand_a_node_and_export(server: str) -> None:
    log = PageLog(server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True))
        page.goto(f"{server}/networks?around=Johnny+Suspect&hops=1&link_types=association")
        sign_in(page, "ana")
        page.wait_for_url("**/networks**")
        page.wait_for_selector("#network-chart[data-nodes='3']", state="attached", timeout=30000)
        assert "3 nodes" in page.locator("#network-status").inner_text()

        # click Bob Broker on the canvas, then expand him: Carl Courier comes in through record C
        page.locator("#network-chart").scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # let the scroll settle before the chart maps the pointer
        for _ in range(3):  # a real click on the node's spot on the canvas
            spot = page.evaluate(
                """id => {
                    const element = document.getElementById('network-chart');
                    const box = element.getBoundingClientRect();
                    const at = element._cyreg.cy.getElementById(id).renderedPosition();
                    return {x: box.left + element.clientLeft + at.x, y: box.top + element.clientTop + at.y};
                }""",
                BOB,
            )
            page.mouse.click(spot["x"], spot["y"])
            try:
                page.wait_for_selector("#network-detail h2:has-text('Bob Broker')", timeout=3000)
                break
            except PlaywrightTimeout:
                continue
        assert page.locator("#network-detail h2").inner_text() == "Bob Broker"
        page.click("#expand-node")
        page.wait_for_selector("#network-chart[data-nodes='4']", state="attached", timeout=30000)
        drawn = page.evaluate("() => document.getElementById('network-chart')._cyreg.cy.nodes().map(n => n.id())")
        assert set(drawn) == {JOHNNY, BOB, VAN, CARL}

        with page.expect_download() as png:
            page.click("#export-png")
        assert png.value.suggested_filename == "network.png"
        assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        with page.expect_download() as exported:
            page.click("#export-graphml")
        assert exported.value.suggested_filename == "network.graphml"
        graph = nx.read_graphml(io.BytesIO(Path(exported.value.path()).read_bytes()))
        assert set(graph.nodes) == {JOHNNY, BOB, VAN, CARL}  # the expanded chart, as drawn
        assert {data["link_type"] for _, _, data in graph.edges(data=True)} == {"association"}
    log.assert_clean()


@pytest.fixture(scope="module")
def dated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same records, record C approved 40 days after record A: the chart has two link dates."""
    data_dir = tmp_path_factory.mktemp("browser-networks-dated")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    _core, _people, records = seed_network(engine, data_dir)
    with engine.begin() as conn:
        approved_a = conn.execute(
            text("SELECT approved_at FROM intel_records WHERE id = :a"), {"a": records["A"]}
        ).scalar_one()
        later = approved_a if isinstance(approved_a, dt.datetime) else dt.datetime.fromisoformat(str(approved_a))
        conn.execute(
            text("UPDATE intel_records SET approved_at = :later WHERE id = :c"),
            {"later": later + dt.timedelta(days=40), "c": records["C"]},
        )
    with serve(engine, data_dir, "browser-networks-dated-secret") as url:
        yield url


def test_the_time_slider_asks_the_server_for_the_network_up_to_its_date(dated_server: str) -> None:
    """Released at the earlier date, the slider re-queries the network with date_to: record C's links
    (Bob to Carl Courier, 40 days later) leave the chart, and the exports follow the slider."""
    log = PageLog(dated_server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}))
        page.goto(f"{dated_server}/networks?around=Johnny+Suspect&hops=2&link_types=association")
        sign_in(page, "ana")
        page.wait_for_url("**/networks**")
        page.wait_for_selector("#network-chart[data-nodes='4']", state="attached", timeout=30000)
        assert page.locator("#time-slider").is_enabled()
        assert page.locator("#time-label").inner_text() == "all dates"
        with page.expect_request(lambda r: "/api/v1/networks" in r.url and "date_to=" in r.url) as asked:
            page.evaluate(
                """() => {
                    const slider = document.getElementById('time-slider');
                    slider.value = '0';
                    slider.dispatchEvent(new Event('input'));
                    slider.dispatchEvent(new Event('change'));
                }"""
            )
        assert "date_to=" in asked.value.url
        page.wait_for_selector("#network-chart[data-nodes='3']", state="attached", timeout=30000)
        drawn = page.evaluate("() => document.getElementById('network-chart')._cyreg.cy.nodes().map(n => n.id())")
        assert set(drawn) == {JOHNNY, BOB, VAN}
        assert "date_to=" in (page.locator("#export-graphml").get_attribute("href") or "")
    log.assert_clean()
