"""The deployment pages: plan a shift (map, list, disparity check), print it, refuse bad input clearly."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tasking_support import AGENCY, AS_OF, TRIGGER, _moment, history, seed_store, trigger, write_halves
from web_support import audit_actions, login, make_client, seed_user

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PLAN = f"/deploy?category=burglary&as_of={AS_OF}&officer_minutes=800&method=naive&shift_start=07:00"


@pytest.fixture
def store(sqlite_engine: Engine) -> Engine:
    seed_store(sqlite_engine, history(), "history")
    seed_store(sqlite_engine, trigger(), "trigger")
    for role in ("analyst", "supervisor", "officer", "reviewer"):
        seed_user(sqlite_engine, f"nrt-{role}", role=role, agency_code=AGENCY)
    return sqlite_engine


def _configure(data_dir: Path, residents: str = "NHD_NUM,group_a,group_b\n1,900,100\n2,100,900\n") -> None:
    """The agency's boundary layer (two halves) and its disparity configuration, as a deployment sets them up."""
    areas, _ = write_halves(data_dir, residents)
    (data_dir / "boundaries").mkdir(exist_ok=True)
    (data_dir / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    (data_dir / "disparity").mkdir(exist_ok=True)
    (data_dir / "disparity" / f"{AGENCY}.toml").write_text(
        'demographics = "../residents.csv"\nid_column = "NHD_NUM"\ngroups = ["group_a", "group_b"]\n'
    )


def _client(engine: Engine, data_dir: Path, username: str) -> TestClient:
    client = make_client(engine, data_dir)
    assert login(client, username).status_code == 303
    return client


def _print_link(page: str) -> str:
    found = re.search(r'id="print-link" href="([^"]+)"', page)
    assert found, "no printable-list link on the page"
    return html.unescape(found.group(1))


def test_plan_page_map_list_disparity_and_audit(store: Engine, tmp_path: Path) -> None:
    _configure(tmp_path)
    client = _client(store, tmp_path, "nrt-analyst")
    form = client.get("/deploy")
    assert form.status_code == 200 and 'id="officer_minutes"' in form.text and "places-table" not in form.text
    assert f'value="{AS_OF - dt.timedelta(days=1)}"' in form.text  # the day after the latest incident (the trigger)
    page = client.get(PLAN)
    assert page.status_code == 200, page.text
    text = page.text
    assert 'id="places-table"' in text and text.count('<th scope="row">') >= 8
    assert "8 places, 800 of 800 officer-minutes" in text
    assert 'class="badge badge-alert">alert</span> near-repeat alert; forecast rank' in text
    assert "Round 1</strong> (07:00–09:00)" in text and "Round 4</strong> (13:00–15:00)" in text
    assert "West" in text or "East" in text
    # The map's data: the planned cells (numbered, alert marked) and the alert zone.
    data = json.loads(html.unescape(re.search(r'id="deploy-data">(.*?)</script>', text, re.S).group(1)))  # type: ignore[union-attr]
    cells = data["cells"]["features"]
    assert [f["properties"]["number"] for f in cells] == list(range(1, 9))
    assert cells[0]["properties"]["alert"] and len(data["alerts"]["features"]) == 1
    assert cells[0]["geometry"]["type"] == "Polygon"
    # The disparity check beside the list, flagged (the hot spot is in the east, where group_b lives).
    assert 'id="disparity-table"' in text and 'id="disparity-limits"' in text
    assert 'class="flagged"' in text and "(flag)" in text and 'id="disparity-flag"' in text
    # Outside parity (0.8-1.25), the plan is held: no printable list, and the audit log says so.
    assert ("hold", "nrt-analyst", "deployment_plan") in audit_actions(store)
    assert 'id="plan-held"' in text and 'data-gate="parity"' in text and 'id="print-link"' not in text
    assert 'id="override-form"' not in text  # analysts cannot override
    assert 'href="/deploy"' in text  # in the menu of planners


def test_printable_list_for_planners_and_officers_only_from_the_link(store: Engine, tmp_path: Path) -> None:
    _configure(tmp_path, residents="NHD_NUM,group_a,group_b\n1,500,500\n2,500,500\n")  # within parity: issued
    supervisor = _client(store, tmp_path, "nrt-supervisor")
    link = _print_link(supervisor.get(PLAN).text)
    assert link.startswith("/deploy/print?plan=")
    printed = supervisor.get(link)
    assert printed.status_code == 200
    assert 'id="print-heading"' in printed.text and 'id="places-table"' in printed.text
    assert "by nrt-supervisor" in printed.text and 'id="plan-changed"' not in printed.text
    assert "@media print" in (Path(__file__).parent.parent / "openilp/web/static/css/deploy.css").read_text()
    assert 'href="/static/css/deploy.css"' in printed.text and 'id="print-button"' in printed.text
    officer = _client(store, tmp_path, "nrt-officer")
    # The link opened from another site (mail, chat) reads nothing in the officer's name ...
    linked = officer.get(link, headers={"sec-fetch-site": "cross-site"})
    assert linked.status_code == 403 and 'id="places-table"' not in linked.text and 'id="open-here"' in linked.text
    assert ("read", "nrt-officer", "deployment_plan") not in audit_actions(store)
    assert officer.get(PLAN).status_code == 403  # officers do not plan ...
    seen = officer.get(link)  # ... but open the list issued to them
    assert seen.status_code == 200 and 'id="places-table"' in seen.text and 'href="/deploy"' not in seen.text
    forged = officer.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert forged.status_code == 400 and "not the link of a deployment list" in forged.text
    assert officer.get("/deploy/print").status_code == 400
    assert _client(store, tmp_path, "nrt-reviewer").get(link).status_code == 403
    actions = audit_actions(store)
    assert ("read", "nrt-officer", "deployment_plan") in actions and (
        "read",
        "nrt-supervisor",
        "deployment_plan",
    ) in actions


def test_printable_list_warns_when_the_store_changed(store: Engine, tmp_path: Path) -> None:
    client = _client(store, tmp_path, "nrt-analyst")
    link = _print_link(client.get(PLAN).text)
    # Late reports of incidents before the shift change the forecast: the link recomputes and warns.
    late = [(TRIGGER[0] + 900 + i, TRIGGER[1] + 900, _moment(AS_OF - dt.timedelta(days=100 + i))) for i in range(60)]
    seed_store(store, late, "late")
    printed = client.get(link)
    assert printed.status_code == 200 and 'id="plan-changed"' in printed.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("officer_minutes=0", "the budget must be more than 0"),
        ("officer_minutes=30", "cannot cover one place"),
        ("officer_minutes=abc", "officer-minutes must be a number"),
        ("as_of=2030-01-01", "outside the data"),
        ("as_of=2019-13-45", "as_of"),
        ("category=arsen", "unknown category or crime group &#39;arsen&#39;"),
        ("method=oracle", "unknown forecasting method"),
        ("shift_hours=30", "between 1 and 24 hours"),
        ("shift_start=25:99", "shift start must be a time"),
    ],
)
def test_bad_input_is_explained_not_a_server_error(store: Engine, tmp_path: Path, query: str, message: str) -> None:
    client = _client(store, tmp_path, "nrt-analyst")
    values = {"category": "burglary", "as_of": str(AS_OF), "officer_minutes": "800", "method": "naive"}
    key, value = query.split("=", 1)
    values[key] = value
    response = client.get("/deploy", params=values)
    assert response.status_code == 400
    assert 'id="deploy-error"' in response.text and message in response.text, response.text[-2000:]
    assert 'id="officer_minutes"' in response.text  # the form is still there to correct it


def test_without_demographic_data_the_list_says_why_there_is_no_check(store: Engine, tmp_path: Path) -> None:
    client = _client(store, tmp_path, "nrt-analyst")
    page = client.get(PLAN + "&near_repeat=off")
    assert page.status_code == 200 and 'id="places-table"' in page.text
    assert 'id="disparity-table"' not in page.text and 'id="disparity-absent"' in page.text
    assert "no demographic data are configured for NRT" in page.text and "disparity/NRT.toml" in page.text
    assert "badge-alert" not in page.text and "<dt>Near-repeat alerts</dt><dd>off</dd>" in page.text


def test_an_even_list_is_not_flagged(store: Engine, tmp_path: Path) -> None:
    _configure(tmp_path, residents="NHD_NUM,group_a,group_b\n1,500,500\n2,500,500\n")
    page = _client(store, tmp_path, "nrt-analyst").get(PLAN)
    assert 'id="disparity-table"' in page.text
    assert 'class="flagged"' not in page.text and 'id="disparity-flag"' not in page.text


def test_unusable_demographic_data_leave_the_list_and_say_why(store: Engine, tmp_path: Path) -> None:
    _configure(tmp_path)
    (tmp_path / "disparity" / f"{AGENCY}.toml").write_text('demographics = "../residents.csv"\ngroups = ["group_c"]\n')
    page = _client(store, tmp_path, "nrt-analyst").get(PLAN)
    assert page.status_code == 200 and 'id="places-table"' in page.text
    assert 'id="disparity-absent"' in page.text and "the demographic data are unusable" in page.text
    assert "group_c" in page.text
