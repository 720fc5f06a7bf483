"""The anonymous tip line in a real browser: submit, staff reply, tipster reads the reply.

A member of the public sends a tip on the public form and is shown a tip ID and secret; an
analyst signs in and replies from the tip inbox; the tipster opens the follow-up page with the
tip ID and secret and reads the reply. The real app runs under uvicorn on a free 127.0.0.1 port
(temporary SQLite store) and the system Chromium is driven through Playwright. Outside CI the test
is skipped when Chromium is not installed; under ``CI=true`` it never skips. Never run
``playwright install``: we use ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from sqlalchemy import Engine, select
from web_support import PASSWORD, seed_agency, seed_user

from openilp.config import Settings
from openilp.db import make_engine, migrate, session_scope
from openilp.db.models import Tip
from openilp.web import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

NARRATIVE = "Stolen bicycles are repainted and sold from the yard behind 4100 Olive St every Saturday."
REPLY = "Thank you. Which colour is the gate of the yard?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    data_dir = tmp_path_factory.mktemp("browser-tips")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_agency(engine, "SLMPD", "America/Chicago")
    seed_user(engine, "tipdesk", role="analyst")
    app = create_app(Settings(data_dir=str(data_dir), secret_key="browser-test-secret"), engine)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv_server = uvicorn.Server(config)
    thread = threading.Thread(target=uv_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", engine
    uv_server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_tip_submit_reply_and_follow_up(served: tuple[str, Engine]) -> None:
    from playwright.sync_api import sync_playwright

    server, engine = served
    problems: list[str] = []  # console errors, page errors, failed responses
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # Two separate browser contexts: the tipster and the analyst share no cookies.
            tipster = browser.new_context().new_page()
            staff = browser.new_context().new_page()
            for page in (tipster, staff):
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("request", lambda r: requested.append(r.url))
                page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

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
            staff.fill("#username", "tipdesk")
            staff.fill("#password", PASSWORD)
            staff.click("button[type=submit]")
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
        finally:
            browser.close()

    leaving = [url for url in requested if urlsplit(url).hostname != "127.0.0.1"]
    assert not leaving, f"requests left 127.0.0.1: {leaving}"
    assert requested, "the browser made no requests"
    # The one expected error: the follow-up with a wrong secret answers 404 (and the console says so).
    expected = {f"404 {server}/tips/follow-up"}
    assert [p for p in problems if p not in expected and "status of 404" not in p] == []
    with session_scope(engine) as session:
        tip = session.scalars(select(Tip)).one()
        assert tip.public_id == tip_id and tip.status == "triaged"
        assert secret not in tip.secret_hash
