"""Sign-in, sign-out, lockout, sessions, CSRF and security headers through the real app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from web_support import PASSWORD, FrozenClock, csrf_from, login, make_client, seed_agency, seed_user

from openilp.db import User, session_scope
from openilp.services.accounts.signin import MAX_FAILED_LOGINS
from openilp.web.app import SESSION_COOKIE
from openilp.web.routes.accounts.auth import FAILED_SIGN_IN_MESSAGE


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    seed_agency(engine)
    seed_user(engine, "alice", role="analyst")
    return make_client(engine, tmp_path)


def test_login_success_redirects_to_next_and_starts_a_session(client: TestClient) -> None:
    response = login(client, "alice", next_path="/map?category=robbery")
    assert response.status_code == 303
    assert response.headers["location"] == "/map?category=robbery"
    me = client.get("/api/v1/me").json()
    assert me["username"] == "alice"
    assert me["agency"]["code"] == "SLMPD"
    assert me["last_login_at"] is not None


def test_username_is_case_insensitive(client: TestClient) -> None:
    assert login(client, "  ALICE ").status_code == 303


@pytest.mark.parametrize("username,password", [("alice", "wrong password!!"), ("nobody", PASSWORD), ("", "")])
def test_login_failure_gives_one_generic_message(client: TestClient, username: str, password: str) -> None:
    response = login(client, username, password)
    assert response.status_code == 401
    assert FAILED_SIGN_IN_MESSAGE in response.text
    assert client.get("/api/v1/me").status_code == 401


def test_open_redirects_are_refused(client: TestClient) -> None:
    assert login(client, "alice", next_path="https://evil.example/").headers["location"] == "/"
    client.cookies.clear()
    assert login(client, "alice", next_path="//evil.example/x").headers["location"] == "/"


def test_lockout_after_repeated_failures(client: TestClient, engine: Engine) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        assert login(client, "alice", "wrong password!!").status_code == 401
    locked = login(client, "alice")  # the right password no longer works
    assert locked.status_code == 401
    assert FAILED_SIGN_IN_MESSAGE in locked.text
    assert client.get("/api/v1/me").status_code == 401
    with session_scope(engine) as session:
        session.execute(update(User).values(locked_until=None, failed_logins=0))
    assert login(client, "alice").status_code == 303


def test_logout_requires_csrf_and_ends_the_session(client: TestClient) -> None:
    login(client, "alice")
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    token = csrf_from(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401


def test_login_form_rejects_a_missing_or_foreign_csrf_token(client: TestClient) -> None:
    client.get("/login")
    for data in (
        {"username": "alice", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "csrf_token": "not-the-token"},
    ):
        response = client.post("/login", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "form has expired" in response.text
    assert client.get("/api/v1/me").status_code == 401


def test_csrf_token_changes_at_sign_in(client: TestClient) -> None:
    before = csrf_from(client.get("/login").text)
    login(client, "alice")
    after = csrf_from(client.get("/").text)
    assert before != after


def test_session_cookie_is_httponly_and_samesite_lax(client: TestClient) -> None:
    response = login(client, "alice")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_https_only_marks_the_cookie_secure_and_sends_hsts(engine: Engine, tmp_path: Path) -> None:
    client = make_client(engine, tmp_path, https_only=True)
    response = client.get("https://testserver/login")
    assert "secure" in response.headers["set-cookie"].lower()
    assert "max-age" in response.headers["strict-transport-security"]


def test_session_expires_after_max_age(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    seed_user(engine, "alice")
    clock = FrozenClock()  # the app's clock, not the wall clock: a slow sign-in cannot expire it early
    client = make_client(engine, tmp_path, session_max_age_s=1, clock=clock)
    login(client, "alice")
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(2.1)
    assert client.get("/api/v1/me").status_code == 401


def test_deactivated_user_is_signed_out_at_once(client: TestClient, engine: Engine) -> None:
    login(client, "alice")
    with session_scope(engine) as session:
        session.execute(update(User).values(is_active=False))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_tampered_session_cookie_is_ignored(client: TestClient) -> None:
    login(client, "alice")
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/css/openilp.css", "/api/v1/me", "/nowhere"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path, follow_redirects=False).headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "http" not in csp  # no external origin without a tile server
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_signed_in_pages_are_not_cached(client: TestClient) -> None:
    login(client, "alice")
    assert client.get("/").headers["cache-control"] == "no-store"
    assert client.get("/api/v1/me").headers["cache-control"] == "no-store"


def test_tile_origin_is_the_only_external_source(engine: Engine, tmp_path: Path) -> None:
    client = make_client(
        engine,
        tmp_path,
        tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
        tile_attribution="© Example",
    )
    csp = client.get("/login").headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tile.example.org" in csp
    assert csp.count("http") == 1


def test_password_hash_is_never_exposed(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    seed_user(engine, "admin", role="administrator")
    client = make_client(engine, tmp_path)
    login(client, "admin")
    for path in ["/api/v1/me", "/api/v1/users", "/", "/map"]:
        body = client.get(path).text
        assert "argon2" not in body
        assert "password_hash" not in body
        assert PASSWORD not in body


def test_healthz_reports_ok_without_detail(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
