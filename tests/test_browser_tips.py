"""The anonymous tip line in a real browser: submit, staff reply, tipster reads the reply.

A member of the public sends a tip on the public form and is shown a tip ID and secret; an
analyst signs in and replies from the tip inbox; the tipster opens the follow-up page with the
tip ID and secret and reads the reply. The real app runs under uvicorn on a free 127.0.0.1 port
(temporary SQLite store) and the system Chromium is driven through Playwright (see
``browser_support``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import BROWSER, PageLog, chromium, serve, sign_in
from sqlalchemy import Engine, select
from web_support import seed_agency, seed_user

from openilp.db import make_engine, migrate, session_scope
from openilp.db.models import Tip

pytestmark = BROWSER

NARRATIVE = "Stolen bicycles are repainted and sold from the yard behind 4100 Olive St every Saturday."
REPLY = "Thank you. Which colour is the gate of the yard?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    data_dir = tmp_path_factory.mktemp("browser-tips")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_agency(engine, "SLMPD", "America/Chicago")
    seed_user(engine, "tipdesk", role="analyst")
    with serve(engine, data_dir) as url:
        yield url, engine


def test_tip_submit_reply_and_follow_up(served: tuple[str, Engine]) -> None:
    server, engine = served
    log = PageLog(server)
    with chromium() as browser:
        # Two separate browser contexts: the tipster and the analyst share no cookies.
        tipster = log.watch(browser.new_context().new_page())
        staff = log.watch(browser.new_context().new_page())

        # 1. A member of the public sends a tip and is shown its ID and secret.
        tipster.goto(f"{server}/tips")
        tipster.select_option("#agency", "SLMPD")
        tipster.check("input[name=kind][value=tip]")
        tipster.fill("#narrative", NARRATIVE)
        tipster.click("button[type=submit]")
        tip_id = tipster.locator("#tip-id").inner_text().strip()
        secret = tipster.locator("#tip-secret").inner_text().strip()
        assert tip_id.startswith("T-") and len(secret) >= 22

        # 2. An analyst signs in, finds the tip in the inbox and replies.
        staff.goto(f"{server}/intel/tips")
        assert staff.url.startswith(f"{server}/login")
        sign_in(staff, "tipdesk")
        staff.wait_for_url(f"{server}/intel/tips")
        staff.click(f"text={tip_id}")
        staff.wait_for_url(f"{server}/intel/tips/{tip_id}")
        assert NARRATIVE in staff.locator(".narrative").inner_text()
        staff.fill("#body", REPLY)
        staff.click("#reply-form button[type=submit]")
        staff.wait_for_url(f"{server}/intel/tips/{tip_id}")
        assert REPLY in staff.locator("#dialogue").inner_text()

        # 3. The tipster comes back with the tip ID and secret and reads the reply.
        tipster.goto(f"{server}/tips/follow-up")
        tipster.fill("#tip_id", tip_id)
        tipster.fill("#secret", secret)
        tipster.click("button[type=submit]")
        dialogue = tipster.locator("#dialogue").inner_text()
        assert REPLY in dialogue and "Police" in dialogue

        # A wrong secret shows nothing of the tip.
        tipster.goto(f"{server}/tips/follow-up")
        tipster.fill("#tip_id", tip_id)
        tipster.fill("#secret", "not-the-secret")
        tipster.click("button[type=submit]")
        assert "No tip matches" in tipster.locator("#tip-error").inner_text()
        assert REPLY not in tipster.content()

    # The one expected error: the follow-up with a wrong secret answers 404 (and the console says so).
    log.assert_offline()
    expected = {f"404 {server}/tips/follow-up"}
    assert [p for p in log.problems if p not in expected and "status of 404" not in p] == []
    with session_scope(engine) as session:
        tip = session.scalars(select(Tip)).one()
        assert tip.public_id == tip_id and tip.status == "triaged"
        assert secret not in tip.secret_hash
