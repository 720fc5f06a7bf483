"""Deconfliction in a real browser: an analyst plans an event, sees the conflict with another agency's
operation (its agency and contact only), and a watch officer acknowledges and resolves it.

Real app under uvicorn on 127.0.0.1, system Chromium through Playwright. Skipped outside CI when
Chromium is missing; never under CI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from browser_support import BROWSER, PageLog, chromium, serve, sign_in
from store_support import core_for
from web_support import seed_agency, seed_user

from openilp.db import make_engine, migrate, session_scope
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import user_info
from openilp.services.deconfliction import SubmitEventRequest, submit_event

pytestmark = BROWSER

LON, LAT = -90.1928, 38.6226
START = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(hour=22, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("browser-deconfliction")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_agency(engine, "SLMPD")
    seed_agency(engine, "STLCO")
    county = seed_user(engine, "okafor", role="analyst", agency_code="STLCO")
    seed_user(engine, "diaz", role="analyst", agency_code="SLMPD")
    seed_user(engine, "watch", role="watch_officer", agency_code="SLMPD")
    with session_scope(engine) as session:
        okafor = user_info(session, county)
    assert isinstance(okafor, UserInfo)
    submit_event(
        core_for(engine, data_dir),
        okafor,
        SubmitEventRequest(
            event_type="surveillance",
            operation_name="Operation Nightjar",
            starts_at=START,
            ends_at=START + dt.timedelta(hours=3),
            contact_name="Lt Okafor",
            contact_phone="314-555-0199",
            radius_m=50,
            lon=LON,
            lat=LAT,
            targets=("vehicle:KZT-4471",),
        ),
    )
    with serve(engine, data_dir, "browser-deconfliction-secret") as url:
        yield url


def test_plan_see_the_conflict_and_the_watch_centre_resolves_it(server: str) -> None:
    log = PageLog(server)
    later = START + dt.timedelta(hours=4, minutes=30)
    with chromium() as browser:
        analyst = log.watch(browser.new_page())
        analyst.goto(f"{server}/deconfliction")
        sign_in(analyst, "diaz")
        analyst.wait_for_url("**/deconfliction")
        form = analyst.locator("#plan-event")
        form.locator("select[name=event_type]").select_option("search_warrant")
        form.locator("input[name=operation_name]").fill("Operation Lantern")
        form.locator("input[name=starts_at]").fill(later.strftime("%Y-%m-%dT%H:%M"))
        form.locator("input[name=ends_at]").fill((later + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
        form.locator("input[name=lon]").fill(str(LON + 250 / 86_980))  # 250 m east
        form.locator("input[name=lat]").fill(str(LAT))
        form.locator("input[name=radius_m]").fill("30")
        form.locator("input[name=contact_name]").fill("Sgt Diaz")
        form.locator("input[name=contact_phone]").fill("314-555-0100")
        form.locator("button[type=submit]").click()
        result = analyst.locator("#deconfliction-result")
        result.wait_for()
        text = result.inner_text()
        assert "1 conflict(s)" in text and "STLCO" in text and "Lt Okafor" in text and "314-555-0199" in text
        # Only a pointer: nothing of the county's operation.
        assert "Nightjar" not in analyst.content() and "KZT" not in analyst.content()
        assert "open" in analyst.locator("#deconfliction-events .conflict-status").inner_text()

        watch = log.watch(browser.new_context().new_page())
        watch.goto(f"{server}/deconfliction/watch")
        sign_in(watch, "watch")
        watch.wait_for_url("**/deconfliction/watch")
        row = watch.locator("#watch-queue tbody tr").first
        assert "SLMPD" in row.inner_text() and "STLCO" in row.inner_text() and "open" in row.inner_text()
        assert "Nightjar" not in watch.content() and "Lantern" not in watch.content()
        row.get_by_role("button", name="Acknowledge").click()
        watch.wait_for_url("**/deconfliction/watch")
        row = watch.locator("#watch-queue tbody tr").first
        assert "acknowledged" in row.locator(".conflict-status").inner_text()
        row.locator("select[name=resolution]").select_option("joint")
        row.locator("input[name=note]").fill("one entry team, SLMPD leads")
        row.get_by_role("button", name="Resolve").click()
        watch.wait_for_url("**/deconfliction/watch")
        assert "No open conflicts." in watch.locator("#watch-queue").inner_text()
        assert "joint" in watch.locator("#watch-resolved .resolution").first.inner_text()

        analyst.goto(f"{server}/deconfliction")
        assert "resolved: joint" in analyst.locator("#deconfliction-events .conflict-status").inner_text()
    log.assert_clean()
