"""An analyst's first day in a real browser: a shift's deployment list on the St. Louis data, its
places named by block address and its alerts by the agency's complaint numbers, on the page, in
the printable list and on the map over the city's streets; and a form with several bad fields
marks every one of them at once, each next to its control.

Real app under uvicorn on 127.0.0.1 over a store with the SLMPD files of 2019, system Chromium
through Playwright. Skipped outside CI when Chromium is missing; never under CI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from conftest import shared_file
from store_support import import_source
from web_support import seed_user

from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec

pytestmark = [*BROWSER, pytest.mark.realdata]

#: A block address as SLMPD records it: a house number (hundred-block) and a street, or a corner.
BLOCK_ADDRESS = re.compile(r"^\d+ [A-Z0-9]")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-first-day-deploy")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    import_source(engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019")], workers=1)
    seed_user(engine, "first-day-planner", role="analyst")
    with serve(engine, data_dir, "browser-first-day-deploy") as url:
        yield url


def test_a_deployment_list_with_complaint_numbers_and_addresses(server: str) -> None:
    log = PageLog(server)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = log.watch(context.new_page())
        page.goto(
            f"{server}/deploy?category=burglary&as_of=2019-12-02&officer_minutes=960&method=naive&shift_start=07:00",
            timeout=120000,
        )
        sign_in(page, "first-day-planner")
        page.wait_for_url("**/deploy?**", timeout=120000)
        rows = page.locator("#places-table tbody tr")
        assert rows.count() == 9
        addresses = page.locator("#places-table .block-address").all_inner_texts()
        assert len(addresses) == 9 and all(BLOCK_ADDRESS.match(a) for a in addresses), addresses
        hints = page.locator("#places-table tr.plan-alert-row td .hint").all_inner_texts()
        alert_notes = [hint for hint in hints if hint.startswith("after complaint")]
        assert alert_notes, "no place under a near-repeat alert"
        assert all(re.search(r"after complaints? 19-\d{6}", note) for note in alert_notes), alert_notes
        # Store ids never stand in for what the agency uses.
        assert not re.search(r"after complaints? \d+(,|;)", " ".join(alert_notes))
        page.wait_for_selector("#map:not([data-cells-drawn=''])", state="attached", timeout=60000)
        assert page.locator("#map").get_attribute("data-cells-drawn") == "9"
        page.wait_for_selector("#map[data-streets-drawn]", state="attached", timeout=30000)
        assert int(page.locator("#map").get_attribute("data-streets-drawn") or 0) > 1000

        # A held list has no printable link; an issued one prints the same addresses.
        if page.locator("#print-link").count():
            page.click("#print-link")
            page.wait_for_url("**/deploy/print?plan=**")
            assert page.locator("#places-table .block-address").all_inner_texts() == addresses

        # Several bad fields: every one is marked at once, next to its control (a 400 page, so in
        # a page of the same session that the log does not watch).
        form = context.new_page()
        form.goto(
            f"{server}/deploy?category=burglary&as_of=2019-12-02&officer_minutes=-5&shift_hours=30&visit_minutes=90"
        )
        assert "3 fields need a correction" in form.locator("#deploy-error").inner_text()
        for name in ("officer_minutes", "shift_hours", "visit_minutes"):
            assert form.locator(f"#{name}").get_attribute("aria-invalid") == "true"
            assert form.locator(f"#err-{name}").is_visible()
        assert form.locator("#as_of").get_attribute("aria-invalid") is None
    log.assert_clean()
