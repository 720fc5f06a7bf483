"""The parity gate in a real browser: a plan outside parity cannot be issued without a supervisor's override;
the override lands in the audit log and in the public transparency report's counts.

Real app under uvicorn on 127.0.0.1 over the synthetic tasking store (tests/tasking_support.py), system
Chromium through Playwright. Four earlier overrides are recorded through the service, so the browser's
override moves the public count from "<5" to "5" (small counts are suppressed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyotp
import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from sqlalchemy import Engine, select
from store_support import core_for
from tasking_support import AGENCY, AS_OF, history, seed_store, trigger, write_halves
from web_support import seed_user

from openilp.db import make_engine, migrate, session_scope
from openilp.db.models import AuditEntry
from openilp.services.analysis.tasking import DeployRequest, OverrideRequest, make_deployment, override_deployment

pytestmark = BROWSER

PLAN = f"/deploy?category=burglary&as_of={AS_OF}&officer_minutes=800&method=naive&shift_start=07:00"
REASON = "Confirmed burglary series in the east half; reviewed with the community board this week."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-civil-rights")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    seed_user(engine, "commander", role="supervisor", agency_code=AGENCY)
    areas, _ = write_halves(data_dir)  # the hot spot lies where group_b lives: outside parity
    (data_dir / "boundaries").mkdir()
    (data_dir / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    (data_dir / "disparity").mkdir()
    (data_dir / "disparity" / f"{AGENCY}.toml").write_text(
        'demographics = "../residents.csv"\ngroups = ["group_a", "group_b"]\n'
    )
    core = core_for(engine, data_dir)
    for budget in (700.0, 725.0, 750.0, 775.0):  # four earlier overrides of other held plans
        request = DeployRequest(AGENCY, as_of=AS_OF, officer_minutes=budget, method="naive", near_repeat=False)
        held = make_deployment(core, None, request)
        cells = tuple(p["cell_id"] for p in held.deployment.places)
        override_deployment(core, None, OverrideRequest(held.request, held.reference, cells, REASON))
    with serve(engine, data_dir, "browser-civil-rights-secret") as url:
        yield url, engine


def _override_count(page: object, url: str) -> str:
    page.goto(f"{url}/transparency?agency={AGENCY}&year={AS_OF.year}")  # type: ignore[attr-defined]
    row = page.locator("tr", has_text="issued on a supervisor's recorded override")  # type: ignore[attr-defined]
    return str(row.locator("td").inner_text()).strip()


def test_a_plan_outside_parity_needs_an_override_that_is_audited_and_counted(server: tuple[str, Engine]) -> None:
    url, engine = server
    log = PageLog(url)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1280, "height": 900}))
        assert _override_count(page, url) == "<5"  # public, no sign-in: four overrides, suppressed

        page.goto(f"{url}{PLAN}")
        sign_in(page, "commander")
        page.wait_for_url("**/login/totp/setup**")
        secret = page.locator("#totp-secret").inner_text().strip()
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("button[type=submit]")
        page.wait_for_url("**/deploy?**")
        # Held: no printable list, the reason, and the override form.
        assert page.locator("#plan-held").is_visible()
        assert page.locator("#plan-held li[data-gate=parity]").count() == 1
        assert page.locator("#print-link").count() == 0
        # A one-word reason is not sent (the server refuses one too: tests/test_civil_rights_web.py).
        page.fill("#override-reason", "because")
        page.click("#override-button")
        assert page.locator("#override-reason:invalid").count() == 1
        assert "/deploy?" in page.url and page.locator("#print-link").count() == 0

        page.fill("#override-reason", REASON)
        page.click("#override-button")
        page.wait_for_selector("#plan-override")
        assert REASON in page.locator("#plan-override").inner_text()
        assert page.locator("#print-link").is_visible()

        assert _override_count(page, url) == "5"
    log.assert_clean()
    with session_scope(engine) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "override").order_by(AuditEntry.seq)
        ).all()
        last = entries[-1]
        assert len(entries) == 5 and last.actor_username == "commander" and last.object_type == "deployment_plan"
        assert json.loads(last.details)["reason"] == REASON
