"""Server-side sessions: a copied cookie stops working after sign-out, sign-out everywhere,
an administrator's revocation, a deactivation, a role change and expiry."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner
from web_support import FrozenClock, audit_actions, csrf_from, login, make_client, seed_agency, seed_user

from openilp.cli import app as cli_app
from openilp.cli import common
from openilp.db import session_scope
from openilp.db.models import UserSession
from openilp.web.app import SESSION_COOKIE

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def app_client(engine: Engine, tmp_path: Path, clock: FrozenClock) -> TestClient:
    seed_agency(engine)
    seed_user(engine, "alice")
    seed_user(engine, "adam", role="administrator")
    return make_client(engine, tmp_path, clock=clock, session_max_age_s=600, session_absolute_max_s=3600)


def _thief(client: TestClient) -> TestClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    other = TestClient(client.app)
    other.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    return other


def _sign_out(client: TestClient, *, everywhere: bool = False) -> None:
    data = {"csrf_token": csrf_from(client.get("/").text), **({"everywhere": "1"} if everywhere else {})}
    assert client.post("/logout", data=data, follow_redirects=False).status_code == 303


def test_a_stolen_cookie_stops_working_after_sign_out(app_client: TestClient, engine: Engine) -> None:
    login(app_client, "alice")
    thief = _thief(app_client)
    assert thief.get("/api/v1/me").json()["username"] == "alice"  # the copy works while the session lives
    _sign_out(app_client)
    assert app_client.get("/api/v1/me").status_code == 401
    assert thief.get("/api/v1/me").status_code == 401  # ended on the server, not just in one browser
    with session_scope(engine) as session:
        row = session.scalars(select(UserSession)).one()
        assert row.end_reason == "logout" and row.ended_at is not None
        assert app_client.cookies.get(SESSION_COOKIE, "") == "" or row.token_hash not in str(app_client.cookies)


def test_the_store_keeps_only_a_hash_of_the_token(app_client: TestClient, engine: Engine) -> None:
    login(app_client, "alice")
    with session_scope(engine) as session:
        stored = session.scalars(select(UserSession.token_hash)).one()
    assert len(stored) == 64 and stored not in app_client.cookies[SESSION_COOKIE]


def test_sign_out_everywhere_ends_every_session_of_the_user(app_client: TestClient, engine: Engine) -> None:
    login(app_client, "alice")
    laptop = TestClient(app_client.app)
    login(laptop, "alice")
    thief = _thief(laptop)
    _sign_out(app_client, everywhere=True)
    assert laptop.get("/api/v1/me").status_code == 401
    assert thief.get("/api/v1/me").status_code == 401
    assert ("logout", "alice", "session") in audit_actions(engine)


def test_an_administrator_revokes_every_session_of_an_account(app_client: TestClient, engine: Engine) -> None:
    login(app_client, "alice")
    thief = _thief(app_client)
    admin = TestClient(app_client.app)
    login(admin, "adam")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "account-alice" in page.text
    answer = admin.post(
        "/admin/users/alice",
        data={"action": "revoke_sessions", "reason": "lost laptop", "csrf_token": csrf_from(page.text)},
    )
    assert answer.status_code == 200 and "Every session of alice ended" in answer.text
    assert app_client.get("/api/v1/me").status_code == 401
    assert thief.get("/api/v1/me").status_code == 401
    assert admin.get("/api/v1/me").status_code == 200  # the administrator's own session goes on
    assert ("revoke", "adam", "session") in audit_actions(engine)


def test_the_command_line_revokes_sessions(
    app_client: TestClient, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(app_client, "alice")
    thief = _thief(app_client)
    monkeypatch.setenv("OPENILP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["users", "revoke-sessions", "alice", "--reason", "copied cookie"])
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 session(s) of alice ended" in result.output
    assert thief.get("/api/v1/me").status_code == 401


def test_deactivation_and_role_change_end_sessions(app_client: TestClient, engine: Engine) -> None:
    login(app_client, "alice")
    admin = TestClient(app_client.app)
    login(admin, "adam")
    token = csrf_from(admin.get("/admin/users").text)
    admin.post("/admin/users/alice", data={"action": "role", "role": "officer", "csrf_token": token})
    assert app_client.get("/api/v1/me").status_code == 401
    login(app_client, "alice")
    assert app_client.get("/api/v1/me").json()["role"] == "officer"
    admin.post("/admin/users/alice", data={"action": "deactivate", "csrf_token": token})
    assert app_client.get("/api/v1/me").status_code == 401
    assert login(app_client, "alice").status_code == 401  # and no new sign-in


def test_an_expired_session_is_ended_on_the_server(app_client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    login(app_client, "alice")
    thief = _thief(app_client)
    clock.advance(601)
    assert app_client.get("/api/v1/me").status_code == 401
    clock.advance(-601)  # even with the clock back, the ended session stays ended
    assert thief.get("/api/v1/me").status_code == 401
    with session_scope(engine) as session:
        assert session.scalars(select(UserSession.end_reason)).one() == "idle"
    assert ("session_expired", "alice", "session") in audit_actions(engine)
