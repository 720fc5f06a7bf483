"""The deployment page in a real browser: the planned cells drawn on the map, numbered, alert cells marked.

Real app under uvicorn on 127.0.0.1 over the synthetic tasking store (tests/tasking_support.py), system
Chromium through Playwright. Skipped outside CI when Chromium is missing; never under CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from tasking_support import AGENCY, AS_OF, history, seed_store, trigger, write_halves
from web_support import seed_user

from openilp.db import make_engine, migrate

pytestmark = BROWSER

SCREENSHOT = Path(os.environ.get("OPENILP_DEPLOY_SCREENSHOT", "/tmp/openilp-deploy.png"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-tasking")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    seed_user(engine, "planner", role="analyst", agency_code=AGENCY)
    # Residents spread evenly: the list is within parity and issued (the gates: tests/test_browser_civil_rights.py).
    areas, _ = write_halves(data_dir, "NHD_NUM,group_a,group_b\n1,500,500\n2,500,500\n")
    (data_dir / "boundaries").mkdir()
    (data_dir / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    (data_dir / "disparity").mkdir()
    (data_dir / "disparity" / f"{AGENCY}.toml").write_text(
        'demographics = "../residents.csv"\ngroups = ["group_a", "group_b"]\n'
    )
    with serve(engine, data_dir, "browser-tasking-secret") as url:
        yield url


def test_planned_cells_on_the_map_and_the_printable_list(server: str) -> None:
    log = PageLog(server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1280, "height": 900}))
        page.goto(f"{server}/deploy?category=burglary&as_of={AS_OF}&officer_minutes=800&method=naive&shift_start=07:00")
        sign_in(page, "planner")
        page.wait_for_url("**/deploy?**")
        page.wait_for_selector("#map:not([data-cells-drawn=''])", state="attached", timeout=30000)
        assert page.locator("#map").get_attribute("data-cells-drawn") == "8"
        assert page.locator(".leaflet-tooltip.deploy-label").count() == 8  # each place numbered on the map
        assert page.locator(".leaflet-overlay-pane path").count() >= 8 + 1  # cells and the alert zone
        assert page.locator("#places-table tbody tr").count() == 8
        assert page.locator("#disparity-table tbody tr").count() == 2
        assert "8 places drawn, 1 alert zone." in page.locator("#map-status").inner_text()
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        page.click("#print-link")
        page.wait_for_url("**/deploy/print?plan=**")
        assert page.locator("#places-table tbody tr").count() == 8
        page.emulate_media(media="print")
        assert not page.locator(".site-header").is_visible()  # the print stylesheet leaves the list only
        assert not page.locator("#print-button").is_visible()
        page.screenshot(path=str(SCREENSHOT.with_name(SCREENSHOT.stem + "-print.png")), full_page=True)
    log.assert_clean()
