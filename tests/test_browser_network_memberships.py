"""The membership layer of the link chart in a real browser: dashed person → organisation edges,
the legend, the toggle that hides them, and the table that lists them for screen readers.

Real app under uvicorn on 127.0.0.1 (temporary SQLite store of ``test_networks_memberships``: Bob
Broker designated a member of two organisations), system Chromium through Playwright.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import BROWSER, PageLog, chromium, serve, sign_in
from test_networks_memberships import seed_memberships

from openilp.db import make_engine, migrate
from openilp.web.context import CYTOSCAPE_DIR

pytestmark = BROWSER


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, object]]]:
    if not (CYTOSCAPE_DIR / "cytoscape.min.js").is_file():
        pytest.fail("Cytoscape.js is not built: run `npm ci && python3 scripts/build_assets.py` first")
    data_dir = tmp_path_factory.mktemp("browser-network-memberships")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    _core, _people, ids = seed_memberships(engine, data_dir)
    with serve(engine, data_dir, "browser-network-memberships-secret") as url:
        yield url, ids


def _membership_display(page: object) -> list[str]:
    return page.evaluate(  # type: ignore[attr-defined, no-any-return]
        "() => document.getElementById('network-chart')._cyreg.cy.elements('.membership')"
        ".map(e => e.id() + ':' + e.style('display'))"
    )


def test_memberships_are_drawn_dashed_toggled_and_listed(server: tuple[str, dict[str, object]]) -> None:
    url, ids = server
    log = PageLog(url)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}))
        page.goto(f"{url}/networks?around={ids['bob']}&hops=1")
        sign_in(page, "ana")
        page.wait_for_url("**/networks**")
        page.wait_for_selector("#network-chart[data-nodes]", state="attached", timeout=30000)
        assert "2 designated memberships" in page.locator("#network-status").inner_text()
        assert "memberships are listed in the table" in (
            page.locator("#network-chart").get_attribute("aria-label") or ""
        )
        drawn = page.evaluate(
            """() => document.getElementById('network-chart')._cyreg.cy.edges('.membership')
                   .map(e => [e.source().id(), e.target().id(), e.style('line-style')])"""
        )
        assert sorted(map(tuple, drawn)) == sorted(
            [(ids["bob"], ids["crew"], "dashed"), (ids["bob"], ids["south_entity"], "dashed")]
        )
        assert page.locator("#network-legend .legend-designated_member").count() == 1

        rows = page.locator("#network-memberships tbody tr")
        assert page.locator("#network-memberships").is_visible() and rows.count() == 2
        cells = sorted(rows.nth(i).locator("td").nth(1).inner_text() for i in range(2))
        assert cells == ["North Side Crew", "Southside Holdings LLC"]
        assert rows.first.locator("a").get_attribute("href") == f"/networks/designations#designation-{ids['north']}"

        page.uncheck("#show-memberships")
        assert set(d.split(":")[-1] for d in _membership_display(page)) == {"none"}
        page.check("#show-memberships")
        assert set(d.split(":")[-1] for d in _membership_display(page)) == {"element"}
    log.assert_clean()


def test_a_viewer_of_another_agency_gets_no_layer(server: tuple[str, dict[str, object]]) -> None:
    url, ids = server
    log = PageLog(url)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}))
        page.goto(f"{url}/networks?around={ids['bob']}&hops=1")
        sign_in(page, "other-ana")
        page.wait_for_url("**/networks**")
        page.wait_for_selector("#network-chart[data-nodes]", state="attached", timeout=30000)
        assert "designated memberships" not in page.locator("#network-status").inner_text()
        assert (
            page.evaluate("() => document.getElementById('network-chart')._cyreg.cy.elements('.membership').length")
            == 0
        )
        assert page.locator("#network-memberships").is_hidden()
    log.assert_clean()
