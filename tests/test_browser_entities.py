"""Entities in a real browser: the intelligence record form suggests a known person while the
subject's name is typed, the suggestion leads to the entity page, and its places are drawn on the map.

Real app under uvicorn on 127.0.0.1 (temporary SQLite store: the FEBRL 1 person file resolved
into entities, and a burglary with call records naming a phone that is a party to it), system
Chromium through Playwright, Leaflet served from the app (built from npm); no request leaves
127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from conftest import shared_file
from entities_support import FEBRL_MAPPING, seed_phone_case
from sqlalchemy import select

from openilp.db import make_engine, migrate, session_scope
from openilp.db.entity_models import EntityMention
from openilp.services.entities import (
    ImportPersonsRequest,
    ResolveRequest,
    ResolveThingsRequest,
    import_persons,
    resolve_entities,
    resolve_things,
)

pytestmark = [*BROWSER, pytest.mark.realdata]
#: A FEBRL 1 person with a duplicate (rec-122-org and rec-122-dup-0): "lachlan berry".
KNOWN = "Lachlan Berr"

pytestmark = [*BROWSER, pytest.mark.realdata]
#: A FEBRL 1 person with a duplicate (rec-122-org and rec-122-dup-0): "lachlan berry".
KNOWN = "Lachlan Berr"

PHONES = """\
[source]
name = "cdr"
kind = "phone"
party_role = "suspect"
[columns]
record_id = "id"
phone = "number"
incident = "complaint"
seen_on = "day"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-entities")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    rows = b"id,number,complaint,day\nc1,314 555 0142,24-000123,2024-01-05\n"
    core = seed_phone_case(engine, data_dir / "core", {"ana": "analyst"}, rows)
    resolve_things(core, None, ResolveThingsRequest(agency="SLMPD"))
    febrl = ImportPersonsRequest(
        FEBRL_MAPPING.read_text(), "dataset1.csv", shared_file("febrl", "dataset1.csv").read_bytes()
    )
    import_persons(core, None, febrl)
    resolve_entities(core, None, ResolveRequest(agency="SLMPD"))
    with session_scope(engine) as session:
        phone = session.scalar(select(EntityMention.entity_id).where(EntityMention.source_record_id == "c1"))
        berry = session.scalar(select(EntityMention.entity_id).where(EntityMention.source_record_id == "rec-122-org"))
    assert phone is not None and berry is not None
    with serve(engine, data_dir, "browser-entities-secret") as url:
        yield url, int(phone)


def test_the_record_form_suggests_a_known_person_and_the_entity_page_maps_its_places(
    server: tuple[str, int],
) -> None:
    url, phone_entity = server
    log = PageLog(url)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1300, "height": 900}))
        page.goto(f"{url}/intel/records/new")
        sign_in(page, "ana")
        page.wait_for_url("**/intel/records/new")
        name = page.locator("input[name='subject_name']").first
        name.click()
        name.press_sequentially(KNOWN, delay=40)
        suggestion = page.locator("#entity-suggestions a").first
        suggestion.wait_for(timeout=15000)
        assert "berry" in suggestion.inner_text().lower()
        assert KNOWN in page.locator("#entity-suggestions p").inner_text()
        assert name.input_value() == KNOWN  # a suggestion never fills anything in
        suggestion.click()
        page.wait_for_url("**/entities/*")
        assert "berry" in page.locator("h1").inner_text().lower()
        assert "rec-122" in page.locator("#entity-mentions").inner_text()
        # The phone's incident is a place of the phone entity: drawn as one marker on the map.
        page.goto(f"{url}/entities/{phone_entity}")
        page.wait_for_selector("#entity-map[data-drawn='1']", state="attached", timeout=15000)
        assert page.locator("#entity-map .leaflet-interactive").count() >= 1
        assert "1200 MARKET ST" in page.locator("#entity-places").inner_text()
    log.assert_offline()
    log.assert_clean()
