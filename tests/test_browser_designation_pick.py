"""Picking the person of a designation from the known entities, in a real browser: the entity
suggestion offers the person entities the reviewer may see while the name is typed, *Pick entity N*
fills the field, and the proposal is saved with that entity.

Real app under uvicorn on 127.0.0.1 (temporary SQLite store of the network tests, Bob Broker's
records resolved into one entity), system Chromium through Playwright; the reviewer enrols an
authenticator on the way in, as reviewers must.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyotp
import pytest
from browser_support import BROWSER, PageLog, chromium, serve, sign_in
from network_support import seed_network
from sqlalchemy import select
from test_designations_pick_entity import _entity_of

from openilp.db import make_engine, migrate, session_scope
from openilp.db.models import Designation

pytestmark = BROWSER


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int], object]]:
    data_dir = tmp_path_factory.mktemp("browser-designation-pick")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    _core, people, _records = seed_network(engine, data_dir)
    slmpd = people.analyst.agency_id
    ids = {"bob": _entity_of(engine, slmpd, ["Bob Broker"]), "pam": _entity_of(engine, slmpd, ["Pam Pending"])}
    with serve(engine, data_dir, "browser-designation-pick-secret") as url:
        yield url, ids, engine


def test_the_reviewer_picks_the_known_person_entity(server: tuple[str, dict[str, int], object]) -> None:
    url, ids, engine = server
    log = PageLog(url)
    today = dt.datetime.now(dt.UTC).date()  # the served app runs on the real clock
    criteria = (
        ("self_admission", "Field interview card 24-118 (Officer Diaz)", today - dt.timedelta(days=20)),
        ("tattoos", "Booking photograph 24-0931", today - dt.timedelta(days=400)),
    )
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1300, "height": 900}))
        page.goto(f"{url}/networks/designations")
        sign_in(page, "rev")
        page.wait_for_url("**/login/totp/setup**")
        secret = page.locator("#totp-secret").inner_text().strip()
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("button[type=submit]")
        page.wait_for_url("**/networks/designations**")

        # Pam is known only through a pending record: never offered
        person = page.locator("#designate-person")
        person.click()
        with page.expect_response(lambda r: "/api/v1/entities/suggest" in r.url and "Pending" in r.url) as asked:
            person.press_sequentially("Pam Pending", delay=30)
        assert asked.value.ok and ids["pam"] not in {hit["entity_id"] for hit in asked.value.json()["hits"]}
        page.wait_for_timeout(300)  # the answer drawn
        assert page.locator("#entity-suggestions .entity-pick").count() == 0

        person.fill("")
        person.press_sequentially("Bob Broker", delay=30)
        pick = page.locator(f"#entity-suggestions button:has-text('Pick entity {ids['bob']}')")
        pick.wait_for(timeout=15000)
        assert page.locator("#designate-person-entity").input_value() == ""  # nothing picked unasked
        pick.click()
        assert page.locator("#designate-person-entity").input_value() == str(ids["bob"])
        assert f"Picked entity {ids['bob']}" in page.locator("#entity-suggestions .entity-picked").inner_text()

        page.fill("input[name='organisation']", "North Side Crew")
        codes = page.locator("select[name='criterion_code']")
        sources = page.locator("input[name='criterion_source']")
        days = page.locator("input[name='criterion_date']")
        for row, (code, source, day) in enumerate(criteria):
            codes.nth(row).select_option(code)
            sources.nth(row).fill(source)
            days.nth(row).fill(day.isoformat())
        page.fill("input[name='review_due_on']", (today + dt.timedelta(days=180)).isoformat())
        page.click("#designate button[type=submit]")
        page.wait_for_selector("#proposals", timeout=15000)
        assert f"entity {ids['bob']}" in page.locator("#proposals").inner_text()
    log.assert_clean()
    with session_scope(engine) as session:  # type: ignore[arg-type]
        assert session.scalars(select(Designation.person_entity_id)).all() == [ids["bob"]]
