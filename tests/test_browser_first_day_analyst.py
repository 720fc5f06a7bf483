"""An analyst's first day in a real browser: a month's hot spots over the city's streets, the
CompStat table, a forecast reached from the navigation.

Real app under uvicorn on 127.0.0.1 over a store with October to December 2019 of St. Louis, system
Chromium through Playwright. Skipped outside CI when Chromium is missing; never under CI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from conftest import shared_file
from store_support import import_source
from web_support import seed_user

from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec

pytestmark = [*BROWSER, pytest.mark.realdata]

MONTHS = ("october2019.csv", "november2019.csv", "december2019.csv")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-first-day-analyst")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    files = [shared_file("stlouis", "monthly", "2019", name) for name in MONTHS]
    import_source(engine, load_source_spec("stlouis"), files, workers=1)
    seed_user(engine, "first-day-analyst", role="analyst")
    with serve(engine, data_dir, "browser-first-day-analyst") as url:
        yield url


def test_a_month_of_hot_spots_compstat_and_a_forecast_from_the_navigation(server: str) -> None:
    log = PageLog(server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}))
        # Hot spots for December's burglaries with the defaults: significant cells, drawn, and why this neighbourhood.
        page.goto(f"{server}/analysis/hotspots?category=burglary&date_from=2019-12-01&date_to=2019-12-31")
        sign_in(page, "first-day-analyst")
        page.wait_for_url("**/analysis/hotspots**")
        assert int(page.locator("#hot-count").inner_text()) > 0
        assert page.locator("#hotspot-diagnosis").count() == 0
        assert "nearest cell" in page.locator("#hotspot-neighbourhood").inner_text()
        page.wait_for_selector("#map:not([data-cells-drawn=''])", state="attached", timeout=30000)
        assert page.locator("#map").get_attribute("data-cells-drawn") not in (None, "error", "0")
        # The bundled streets over the cells (no tiles, nothing from the internet): a hot cell reads
        # as a block, the street's name and blocks on hover, and the layer can be switched off.
        page.wait_for_selector("#map[data-streets-drawn]", state="attached", timeout=30000)
        assert int(page.locator("#map").get_attribute("data-streets-drawn") or 0) > 1000
        streets = page.locator(".leaflet-streets-pane path")
        assert streets.count() > 1000
        streets.nth(500).dispatch_event("mouseover")
        assert " block" in page.locator(".leaflet-tooltip").last.inner_text()
        assert page.locator(".leaflet-control-layers").count() == 1  # one switch for the page's layers and streets
        assert "Streets" in page.locator(".leaflet-control-layers-overlays").inner_text()

        # The trend table as a CompStat meeting reads it: neighbourhood names, three periods, sparklines.
        page.click("a[href='/analysis/trends']")
        page.wait_for_url("**/analysis/trends")
        table = page.locator("#compstat-table")
        assert table.is_visible()
        assert table.locator("thead th.period-head").all_inner_texts() == ["Week", "28 days", "Year to date"]
        first_areas = table.locator("tbody th[scope=row]").all_inner_texts()[:20]
        assert first_areas[0].startswith("(all areas)")
        assert any(name.split()[0].isalpha() and not name.startswith("(") for name in first_areas)
        assert table.locator("svg.sparkline").count() >= 1

        # The forecast from the analysis navigation: boundaries and cells drawn, accuracy charted.
        # (The naive method: the learned default trains 13 models, too slow for a browser test.)
        href = page.locator("#nav-forecast").get_attribute("href")
        assert href == "/forecast" and page.locator("#nav-forecast").is_visible()
        page.goto(f"{server}{href}?category=burglary&method=naive", timeout=120000)
        page.wait_for_selector("#map:not([data-cells-drawn=''])", state="attached", timeout=60000)
        assert int(page.locator("#map").get_attribute("data-cells-drawn") or 0) > 0
        page.wait_for_selector("#map[data-boundary-features]", state="attached", timeout=30000)
        assert int(page.locator("#map").get_attribute("data-boundary-features") or 0) == 88  # St. Louis neighbourhoods
        page.wait_for_selector("#map[data-streets-drawn]", state="attached", timeout=30000)
        assert int(page.locator("#map").get_attribute("data-streets-drawn") or 0) > 1000
        assert page.locator("#accuracy-chart svg polyline").count() >= 1
    log.assert_clean()


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose pages never wait for their analysis: every first load shows the progress page."""
    data_dir = tmp_path_factory.mktemp("browser-jobs")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    import_source(
        engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019", "january2019.csv")], workers=1
    )
    seed_user(engine, "patient-analyst", role="analyst")
    with serve(engine, data_dir, "browser-jobs-secret", page_wait_ms=0) as url:
        yield url


def test_a_long_analysis_shows_progress_and_then_the_result(impatient_server: str) -> None:
    log = PageLog(impatient_server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}))
        progress_pages: list[str] = []
        page.on("response", lambda r: progress_pages.append(r.url) if r.status == 202 else None)
        page.goto(f"{impatient_server}/analysis/trends?category=burglary")
        sign_in(page, "patient-analyst")
        page.wait_for_url("**/analysis/trends?**")
        # The progress bar first (202), which polls the job and reloads the page when it ends.
        page.wait_for_selector("#compstat-table", timeout=120000)
        assert page.locator("#job-progress").count() == 0
        assert any("/analysis/trends" in url for url in progress_pages), "the progress page was never shown"
        assert any("/api/v1/jobs/" in url for url in log.requested), "the progress page never polled its job"
        assert page.locator("#compstat-table tbody tr").count() >= 1
    # The progress page answers 202, which the log counts as no failure (only >= 400 is).
    log.assert_clean()
