"""Session timeouts (injected clock), audited sign-in/out and searches, the audit view, `openilp audit`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from test_audit import triggers_bypassed
from typer.testing import CliRunner
from web_support import (
    FrozenClock,
    IncidentSpec,
    audit_actions,
    csrf_from,
    login,
    make_client,
    seed_agency,
    seed_incidents,
    seed_user,
)

from openilp.cli import app as cli_app
from openilp.cli import common

IDLE_S, ABSOLUTE_S = 600, 3600


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def client(engine: Engine, tmp_path: Path, clock: FrozenClock) -> TestClient:
    seed_agency(engine)
    seed_agency(engine, "OTHER", timezone="America/New_York")
    seed_incidents(engine, "SLMPD", [IncidentSpec("robbery", None)])
    seed_user(engine, "alice", role="analyst")
    seed_user(engine, "audrey", role="auditor")
    seed_user(engine, "otto", role="analyst", agency_code="OTHER")
    return make_client(engine, tmp_path, clock=clock, session_max_age_s=IDLE_S, session_absolute_max_s=ABSOLUTE_S)


def test_idle_timeout(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    login(client, "alice")
    clock.advance(IDLE_S - 1)
    assert client.get("/api/v1/me").status_code == 200  # activity restarts the idle clock
    clock.advance(IDLE_S - 1)
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(IDLE_S + 1)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/map", follow_redirects=False).headers["location"].startswith("/login")
    assert ("session_expired", "alice", "session") in audit_actions(engine)


def test_absolute_timeout_despite_activity(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    login(client, "alice")
    elapsed = 0
    while elapsed + IDLE_S // 2 < ABSOLUTE_S:
        clock.advance(IDLE_S // 2)
        elapsed += IDLE_S // 2
        assert client.get("/api/v1/me").status_code == 200, elapsed
    clock.advance(ABSOLUTE_S - elapsed + 1)  # within the idle limit, past the absolute one
    assert client.get("/api/v1/me").status_code == 401
    with engine.connect() as connection:
        details = connection.execute(
            text("SELECT details FROM audit_log WHERE action = 'session_expired'")
        ).scalar_one()
    assert json.loads(details) == {"reason": "absolute"}


def test_sign_in_failure_lockout_and_sign_out_are_audited(client: TestClient, engine: Engine) -> None:
    login(client, "nobody-here", "whatever password")
    login(client, "alice", "wrong password!!")
    login(client, "alice")
    token = csrf_from(client.get("/").text)
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert audit_actions(engine) == [
        ("login_failed", None, "user"),
        ("login_failed", None, "user"),
        ("login", "alice", "session"),
        ("logout", "alice", "session"),
    ]
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT object_id, details FROM audit_log WHERE action = 'login_failed' ORDER BY seq")
        ).all()
    assert [(r[0], json.loads(r[1])["reason"]) for r in rows] == [
        ("nobody-here", "unknown_user"),
        ("alice", "wrong_password"),
    ]


def test_incident_searches_are_audited_with_an_optional_purpose(client: TestClient, engine: Engine) -> None:
    login(client, "alice")
    assert client.get("/api/v1/incidents.geojson?category=robbery").status_code == 200
    assert client.get("/api/v1/incidents.geojson", params={"purpose": "case 2019-000123"}).status_code == 200
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT actor_username, purpose, details FROM audit_log WHERE action = 'search' ORDER BY seq")
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("alice", None), ("alice", "case 2019-000123")]
    assert "robbery" in json.dumps(json.loads(rows[0][2])["filters"])


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"purpose": "x" * 501}, 400),
        ({"purpose": "x" * 5000}, 422),
        ({"purpose": "case 1\nforged entry"}, 400),
        ({"date_from": "'; DROP TABLE audit_log; --"}, 400),
        ({"limit": "many"}, 422),
        ({"category": "<script>"}, 400),
    ],
)
def test_bad_search_input_is_refused_and_nothing_is_stored(
    client: TestClient, engine: Engine, params: dict[str, str], status: int
) -> None:
    login(client, "alice")
    response = client.get("/api/v1/incidents.geojson", params=params)
    assert response.status_code == status
    assert response.json()["detail"]
    assert [a for a, _, _ in audit_actions(engine) if a == "search"] == []


def test_audit_api_for_auditors_and_each_view_is_audited(client: TestClient, engine: Engine) -> None:
    login(client, "otto")  # another agency's sign-in: not visible to audrey
    client.cookies.clear()
    login(client, "alice")
    client.cookies.clear()
    login(client, "audrey")
    first = client.get("/api/v1/audit", params={"action": "login"}).json()
    assert [e["actor_username"] for e in first["entries"]] == ["audrey", "alice"]
    assert first["entries"][0]["details"] == {"second_factor": True}
    again = client.get("/api/v1/audit", params={"object_type": "audit_log"}).json()
    assert again["total"] == 1 and again["entries"][0]["details"]["filters"] == {"action": "login"}
    page = client.get("/audit", params={"actor": "alice"})
    assert page.status_code == 200 and "login" in page.text
    assert client.get("/audit", params={"verify": "true"}).text.count("Chain intact") == 1
    assert client.get("/api/v1/audit/verify").json()["ok"] is True
    reads = [a for a, _, o in audit_actions(engine) if o == "audit_log"]
    assert reads == ["read", "read", "read", "verify", "read", "verify"]


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "yesterday"},
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        {"actor": "' OR 1=1 --"},
        {"action": "DROP TABLE"},
        {"object_type": "<script>"},
        {"object_id": "9" * 201},
        {"actor": "a" * 5000},
        {"limit": "0"},
        {"limit": "many"},
    ],
)
def test_bad_audit_filters_are_refused_and_nothing_is_stored(
    client: TestClient, engine: Engine, params: dict[str, str]
) -> None:
    login(client, "audrey")
    before = audit_actions(engine)
    response = client.get("/api/v1/audit", params=params)
    assert response.status_code in (400, 422)
    assert response.json()["detail"]
    if "limit" not in params:  # the page has no limit parameter
        page = client.get("/audit", params=params)
        assert page.status_code in (400, 422)
    assert audit_actions(engine) == before


def test_audit_log_is_read_only_over_http(client: TestClient) -> None:
    login(client, "audrey")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/api/v1/audit").status_code == 405


# --- openilp audit ------------------------------------------------------------------------------


@pytest.fixture
def cli_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    common.settings.cache_clear()
    common.engine.cache_clear()
    yield common.engine()
    common.settings.cache_clear()
    common.engine.cache_clear()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("UPDATE audit_log SET purpose = 'nothing' WHERE seq = 2", "entry 2 was altered"),
        ("DELETE FROM audit_log WHERE seq = 2", "entry 2 is missing"),
        (
            "UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; "
            "UPDATE audit_log SET seq = 3 WHERE seq = -2",
            "entry 2 is intact but was written at another position",
        ),
    ],
)
def test_cli_verify_names_the_tampered_entry(cli_engine: Engine, tamper: str, message: str) -> None:
    runner = CliRunner()
    seed_agency(cli_engine)
    seed_user(cli_engine, "alice")
    for _ in range(3):
        assert runner.invoke(cli_app, ["audit", "list", "--json"]).exit_code == 0
    ok = runner.invoke(cli_app, ["audit", "verify"])
    assert ok.exit_code == 0 and "audit log OK" in ok.output
    with triggers_bypassed(cli_engine) as session:
        for statement in tamper.split("; "):
            session.execute(text(statement))
    bad = runner.invoke(cli_app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "TAMPERED" in bad.output and message in bad.output.replace("\n", " ")
    as_json = runner.invoke(cli_app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.output)["bad_seq"] == 2


def test_cli_list_and_expected_head(cli_engine: Engine) -> None:
    runner = CliRunner()
    first = json.loads(runner.invoke(cli_app, ["audit", "verify", "--json"]).output)
    assert first["ok"] and first["entries"] == 0
    listed = runner.invoke(cli_app, ["audit", "list", "--json", "--action", "verify"])
    assert listed.exit_code == 0 and json.loads(listed.output)["total"] == 0  # verifying writes nothing …
    head = json.loads(runner.invoke(cli_app, ["audit", "verify", "--json"]).output)
    again = json.loads(runner.invoke(cli_app, ["audit", "verify", "--json"]).output)
    assert (again["head_seq"], again["head_hash"]) == (head["head_seq"], head["head_hash"])  # … nor moves the head
    anchor = f"{head['head_seq']}:{head['head_hash']}"
    assert runner.invoke(cli_app, ["audit", "verify", "--expect-head", anchor]).exit_code == 0
    with triggers_bypassed(cli_engine) as session:
        session.execute(text("DELETE FROM audit_log WHERE seq >= :s"), {"s": head["head_seq"]})
    cut = runner.invoke(cli_app, ["audit", "verify", "--expect-head", anchor])
    assert cut.exit_code == 1 and "cut or rewritten" in cut.output
    assert runner.invoke(cli_app, ["audit", "list", "--from", "not-a-date"]).exit_code == 1
    table = runner.invoke(cli_app, ["audit", "list"])
    assert table.exit_code == 0 and "matching entries" in table.output
