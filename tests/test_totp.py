"""TOTP second factor: required for four roles, enrolment, wrong/replayed/malformed codes, lockout, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner
from web_support import (
    PASSWORD,
    FrozenClock,
    audit_actions,
    csrf_from,
    login,
    make_client,
    seed_agency,
    seed_user,
    totp_code,
)

from openilp.cli import app as cli_app
from openilp.cli import common
from openilp.db import User, session_scope
from openilp.security.roles import ROLES
from openilp.services.accounts.signin import MAX_FAILED_LOGINS
from openilp.services.accounts.totp import TOTP_ROLES
from openilp.web.routes.accounts.auth import FAILED_CODE_MESSAGE, FAILED_SIGN_IN_MESSAGE

_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def client(engine: Engine, tmp_path: Path, clock: FrozenClock) -> TestClient:
    seed_agency(engine)
    for role in ROLES:
        seed_user(engine, f"user-{role}", role=role)
    return make_client(engine, tmp_path, clock=clock)


def _password_step(client: TestClient, username: str) -> str:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/map"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return str(response.headers["location"])


def _submit(client: TestClient, path: str, code: str) -> int:
    token = csrf_from(client.get(path).text)
    return client.post(path, data={"code": code, "csrf_token": token}, follow_redirects=False).status_code


def _enrol(client: TestClient, username: str) -> str:
    """Password, then the setup page; returns the secret (the sign-in is still pending)."""
    assert _password_step(client, username) == "/login/totp/setup"
    match = _SECRET.search(client.get("/login/totp/setup").text)
    assert match
    return match.group(1)


def test_exactly_the_four_roles_need_totp() -> None:
    assert {"reviewer", "supervisor", "auditor", "administrator"} == TOTP_ROLES


@pytest.mark.parametrize("role", sorted(TOTP_ROLES))
def test_totp_roles_reach_nothing_until_enrolled_and_verified(client: TestClient, role: str) -> None:
    secret = _enrol(client, f"user-{role}")
    # Pending: password given, second factor not yet.
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/audit", follow_redirects=False).status_code == 303
    page = client.get("/login/totp/setup").text
    assert "otpauth://totp/OpenILP:user-" in page and "<svg" in page
    response = client.post(
        "/login/totp/setup",
        data={"code": totp_code(client, secret), "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/map"
    me = client.get("/api/v1/me").json()
    assert me["totp_enabled"] is True
    assert "totp_secret" not in json.dumps(me) and secret not in json.dumps(me)


@pytest.mark.parametrize("role", sorted(set(ROLES) - TOTP_ROLES))
def test_other_roles_sign_in_with_the_password(client: TestClient, role: str) -> None:
    assert _password_step(client, f"user-{role}") == "/map"
    assert client.get("/api/v1/me").status_code == 200


def test_enrolled_user_gives_a_code_every_time(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    secret = _enrol(client, "user-auditor")
    assert _submit(client, "/login/totp/setup", pyotp.TOTP(secret).at(clock())) == 303
    client.cookies.clear()
    clock.advance(60)
    assert _password_step(client, "user-auditor") == "/login/totp"
    assert _submit(client, "/login/totp", "000000" if pyotp.TOTP(secret).at(clock()) != "000000" else "111111") == 401
    assert client.get("/api/v1/me").status_code == 401
    assert _submit(client, "/login/totp", pyotp.TOTP(secret).at(clock())) == 303
    assert client.get("/api/v1/me").status_code == 200
    actions = [a for a, _, _ in audit_actions(engine)]
    assert actions.count("login") == 2 and "totp_enroll" in actions and "login_failed" in actions


def test_a_code_is_accepted_only_once(client: TestClient, clock: FrozenClock) -> None:
    secret = _enrol(client, "user-supervisor")
    code = pyotp.TOTP(secret).at(clock())
    assert _submit(client, "/login/totp/setup", code) == 303
    client.cookies.clear()
    assert _password_step(client, "user-supervisor") == "/login/totp"
    response_status = _submit(client, "/login/totp", code)  # same code, same 30-second window
    assert response_status == 401
    assert client.get("/api/v1/me").status_code == 401
    # An earlier code (previous step, within the drift window) is refused too.
    assert _submit(client, "/login/totp", pyotp.TOTP(secret).at(clock.now.timestamp() - 30)) == 401
    clock.advance(30)
    assert _submit(client, "/login/totp", pyotp.TOTP(secret).at(clock())) == 303


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "abcdef", "' OR '1'='1", "<script>alert(1)</script>", "9" * 10_000]
)
def test_malformed_codes_are_refused_and_change_nothing(client: TestClient, engine: Engine, code: str) -> None:
    _enrol(client, "user-reviewer")
    assert _submit(client, "/login/totp/setup", code) == 400
    assert client.get("/api/v1/me").status_code == 401
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(User.username == "user-reviewer")).one()
        assert (user.totp_enabled, user.failed_logins) == (False, 0)


def test_wrong_codes_lock_the_account(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    secret = _enrol(client, "user-administrator")
    right = pyotp.TOTP(secret).at(clock())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert _submit(client, "/login/totp/setup", wrong) == 401
    token = csrf_from(client.get("/login/totp/setup").text)
    last = client.post("/login/totp/setup", data={"code": wrong, "csrf_token": token}, follow_redirects=False)
    assert last.status_code == 401 and FAILED_SIGN_IN_MESSAGE in last.text
    assert client.get("/login/totp", follow_redirects=False).headers["location"] == "/login"
    # Locked: even the right password and a right code do not get in.
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "user-administrator", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401
    assert "lockout" in [a for a, _, _ in audit_actions(engine)]


def test_wrong_code_message_is_clear(client: TestClient, clock: FrozenClock) -> None:
    secret = _enrol(client, "user-reviewer")
    right = pyotp.TOTP(secret).at(clock())
    token = csrf_from(client.get("/login/totp/setup").text)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post("/login/totp/setup", data={"code": wrong, "csrf_token": token})
    assert response.status_code == 401
    assert FAILED_CODE_MESSAGE in response.text


def test_secret_is_stored_encrypted(client: TestClient, engine: Engine) -> None:
    secret = _enrol(client, "user-reviewer")
    with session_scope(engine) as session:
        stored = session.scalar(select(User.totp_secret).where(User.username == "user-reviewer"))
    assert stored and stored.startswith("v1:") and secret not in stored


def test_pending_sign_in_lapses(client: TestClient, clock: FrozenClock) -> None:
    secret = _enrol(client, "user-reviewer")
    clock.advance(301)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login/totp/setup", data={"code": totp_code(client, secret), "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code in (303, 403)
    assert client.get("/api/v1/me").status_code == 401


def test_role_change_to_a_totp_role_ends_a_session_without_it(client: TestClient, engine: Engine) -> None:
    assert login(client, "user-analyst").status_code == 303
    assert client.get("/api/v1/me").status_code == 200
    with session_scope(engine) as session:
        session.execute(update(User).where(User.username == "user-analyst").values(role="supervisor"))
    assert client.get("/api/v1/me").status_code == 401


def test_login_helper_signs_in_totp_roles(client: TestClient) -> None:
    assert login(client, "user-auditor").status_code == 303
    assert client.get("/api/v1/audit").status_code == 200
    client.cookies.clear()
    assert login(client, "user-auditor").status_code == 303  # second sign-in: code, not setup


# --- command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_SECRET_KEY", "cli-test-secret-key-0123456789")
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENILP_TOTP_KEY", raising=False)
    common.settings.cache_clear()
    common.engine.cache_clear()
    yield common.engine()
    common.settings.cache_clear()
    common.engine.cache_clear()


def test_cli_totp_enroll_reset_and_training(cli_env: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    seed_agency(cli_env)
    seed_user(cli_env, "rivera", role="reviewer")
    result = runner.invoke(cli_app, ["users", "totp-enroll", "rivera", "--json"])
    assert result.exit_code == 0, result.output
    enrolment = json.loads(result.output)
    assert enrolment["uri"].startswith("otpauth://totp/OpenILP:rivera?secret=")
    # The handed-over secret works at sign-in (the app shares the CLI's key).
    clock = FrozenClock()
    client = make_client(cli_env, tmp_path, clock=clock, secret_key="cli-test-secret-key-0123456789")
    assert _password_step(client, "rivera") == "/login/totp"
    assert _submit(client, "/login/totp", pyotp.TOTP(enrolment["secret"]).at(clock())) == 303

    result = runner.invoke(cli_app, ["users", "set-training", "rivera", "--valid-until", "2027-06-30"])
    assert result.exit_code == 0 and "2027-06-30" in result.output
    result = runner.invoke(cli_app, ["users", "set-training", "rivera", "--valid-until", "soon"])
    assert result.exit_code == 1 and "YYYY-MM-DD" in result.output
    result = runner.invoke(cli_app, ["users", "set-training", "nobody", "--valid-until", "2027-06-30"])
    assert result.exit_code == 1 and "no user named" in result.output
    result = runner.invoke(cli_app, ["users", "totp-reset", "rivera"])
    assert result.exit_code == 0
    with session_scope(cli_env) as session:
        user = session.scalars(select(User).where(User.username == "rivera")).one()
        assert (user.totp_enabled, user.totp_secret, str(user.training_valid_until)) == (False, None, "2027-06-30")
    actions = [a for a, _, _ in audit_actions(cli_env)]
    assert {"totp_enroll", "update", "login"} <= set(actions)
