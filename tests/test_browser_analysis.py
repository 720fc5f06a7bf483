"""The analysis pages in a real browser: hot-spot cells drawn on the map, the Knox heat table.

Real app under uvicorn on 127.0.0.1 (temporary SQLite store with one month of St. Louis data),
system Chromium through Playwright. Skipped outside CI when Chromium is missing; never under CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from conftest import shared_file
from store_support import import_source
from web_support import seed_user

from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec

pytestmark = [*BROWSER, pytest.mark.realdata]

SCREENSHOT = Path(os.environ.get("OPENILP_ANALYSIS_SCREENSHOT", "/tmp/openilp-hotspots.png"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-analysis")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    import_source(
        engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019", "january2019.csv")], workers=1
    )
    seed_user(engine, "hotspotter", role="analyst")
    with serve(engine, data_dir, "browser-analysis-secret") as url:
        yield url


def test_hotspot_cells_and_knox_heat_table(server: str) -> None:
    log = PageLog(server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1280, "height": 800}))

        page.goto(f"{server}/analysis/hotspots?category=property&cell_size_m=250")
        sign_in(page, "hotspotter")
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
    log.assert_clean()
