"""The analysis pages in a real browser: hot-spot cells drawn on the map, the Knox heat table.

Real app under uvicorn on 127.0.0.1 (temporary SQLite store with one month of St. Louis data),
system Chromium through Playwright. Skipped outside CI when Chromium is missing; never under CI.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from conftest import shared_file
from web_support import PASSWORD, seed_user

from openilp.config import Settings
from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec
from openilp.services.imports import import_source
from openilp.web import create_app
from openilp.web.context import LEAFLET_DIR

pytestmark = [pytest.mark.browser, pytest.mark.realdata]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(os.environ.get("OPENILP_ANALYSIS_SCREENSHOT", "/tmp/openilp-hotspots.png"))

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (LEAFLET_DIR / "leaflet.js").is_file():
        pytest.fail("Leaflet is not built: run `npm ci && python3 scripts/build_assets.py` first")
    data_dir = tmp_path_factory.mktemp("browser-analysis")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    import_source(
        engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019", "january2019.csv")], workers=1
    )
    seed_user(engine, "hotspotter", role="analyst")
    app = create_app(Settings(data_dir=str(data_dir), secret_key="browser-analysis-secret"), engine)
    port = _free_port()
    uv_server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv_server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_hotspot_cells_and_knox_heat_table(server: str) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    external: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(server) else external.append(r.url))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            page.goto(f"{server}/analysis/hotspots?category=property&cell_size_m=250")
            page.fill("#username", "hotspotter")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/analysis/hotspots**")
            page.wait_for_selector("#map:not([data-cells-drawn=''])", state="attached", timeout=30000)
            drawn = page.locator("#map").get_attribute("data-cells-drawn")
            assert drawn not in (None, "error", "0"), drawn
            assert int(drawn) > 1000  # 250 m cells over the city
            assert page.locator(".leaflet-overlay-pane canvas").count() >= 1
            assert page.locator(".leaflet-control-layers").count() == 1
            assert "cells drawn" in page.locator("#map-status").inner_text()
            assert page.locator("#kde-label-5").inner_text().startswith(">")
            page.screenshot(path=str(SCREENSHOT))

            page.click("a[href='/analysis/near-repeat']")
            page.wait_for_url("**/analysis/near-repeat")
            heat = page.locator("#knox-heat")
            assert heat.is_visible()
            assert heat.locator("tbody tr").count() == 6  # same location + five 100 m bands
            assert heat.locator("thead th").count() == 7
            assert heat.locator("td[class*='knox-r']").count() == 36
            assert page.locator("#knox-summary li").count() >= 1
            page.wait_for_selector("#map:not([data-zones-drawn=''])", state="attached", timeout=30000)
            assert page.locator("#map").get_attribute("data-zones-drawn") != "error"
        finally:
            browser.close()
    assert not external, f"the page fetched from outside the app: {external}"
    assert not problems, f"browser console errors: {problems}"
