"""Helpers shared by the browser tests: system Chromium, the real app under uvicorn, sign-in, checks.

Every browser test runs the real app with uvicorn on a free 127.0.0.1 port (in a thread, over a
temporary SQLite store the test builds) and drives the system Chromium through Playwright. Outside
CI a browser test is skipped when Chromium is not installed; under ``CI=true`` it never skips. Never
run ``playwright install``: we use ``/usr/bin/chromium``.

A test module marks itself with :data:`BROWSER`, serves its store with :func:`serve` and watches
its pages with a :class:`PageLog`::

    pytestmark = BROWSER

    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        ...  # migrate and seed an engine over data_dir
        with serve(engine, data_dir) as url:
            yield url

    def test_something(server):
        log = PageLog(server)
        with chromium() as browser:
            page = log.watch(browser.new_page())
            ...
        log.assert_clean()
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from sqlalchemy import Engine
from store_support import core_for
from web_support import PASSWORD

from openilp.web import create_app
from openilp.web.context import LEAFLET_DIR

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: The marks of a browser test module: ``browser``, and skipped when Chromium is missing outside CI.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="Chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def require_leaflet() -> None:
    """Fail (not skip) when the map's front-end assets have not been built."""
    if not (LEAFLET_DIR / "leaflet.js").is_file():
        pytest.fail("Leaflet is not built: run `npm ci && python3 scripts/build_assets.py` first")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(engine: Engine, data_dir: Path, secret_key: str = "browser-test-secret", **settings: object) -> Iterator[str]:
    """Run the app over ``engine`` under uvicorn on a free 127.0.0.1 port in a thread; yield its base URL.

    ``settings`` override the test settings (e.g. ``page_wait_ms``). On exit the server stops and
    ``engine`` is disposed.
    """
    app = create_app(core_for(engine, data_dir, secret_key=secret_key, **settings))
    port = _free_port()
    uv_server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv_server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system Chromium, headless, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What the watched pages of one test did, for the checks every browser test ends with."""

    #: Base URL of the app (from :func:`serve`): the only place a page may fetch from.
    server: str
    #: Console errors, page errors and responses >= 400 (as ``"status url"``).
    problems: list[str] = field(default_factory=list)
    #: URL of every request the pages made.
    requested: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        """Record ``page``'s problems and requests here; return the page."""
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(str(e)))
        page.on("request", lambda r: self.requested.append(r.url))
        page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        return page

    def assert_offline(self) -> None:
        """The pages made requests, and every one went to the app (on 127.0.0.1), none elsewhere."""
        assert self.requested, "the browser made no requests"
        external = [url for url in self.requested if not url.startswith(f"{self.server}/")]
        assert not external, f"the page fetched from outside the app: {external}"

    def assert_clean(self) -> None:
        """:meth:`assert_offline`, and no console error, page error or failed response."""
        self.assert_offline()
        assert not self.problems, f"browser console errors: {self.problems}"


def sign_in(page: Page, username: str) -> None:
    """Fill in and send the sign-in form the page shows (the password of ``web_support.seed_user``)."""
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
