"""User accounts: validation, storage as hashes only, sign-in and lockout (service and CLI)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from store_support import core_for
from typer.testing import CliRunner
from web_support import PASSWORD, seed_agency, seed_user

from openilp.db import User, session_scope
from openilp.errors import ServiceError
from openilp.services.accounts.signin import (
    LOCKOUT_MINUTES,
    MAX_FAILED_LOGINS,
    AuthOutcome,
    AuthResult,
    SignInRequest,
    authenticate,
)
from openilp.services.accounts.users import CreateUserRequest, ListUsersRequest, create_user, list_users

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def _authenticate(store: Engine, username: str, password: str, now: dt.datetime = T0) -> AuthResult:
    """Sign-in through the service, with the core's clock at ``now``."""
    return authenticate(core_for(store, clock=lambda: now), None, SignInRequest(username, password))


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed_agency(engine)
    return engine


def test_create_user_stores_only_an_argon2_hash(store: Engine) -> None:
    seed_user(store, "alice", password=PASSWORD)
    with store.connect() as connection:
        row = connection.execute(text("SELECT * FROM users WHERE username = 'alice'")).mappings().one()
    assert row["password_hash"].startswith("$argon2id$")
    assert all(PASSWORD not in str(value) for value in row.values())


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"password": "short pass"}, "at least 12 characters"),
        ({"password": "x" * 2000}, "at most 1024 characters"),
        ({"role": "sheriff"}, "unknown role 'sheriff'; choose one of: analyst, officer"),
        ({"agency_code": "NOPE"}, "unknown agency 'NOPE'; known agencies: SLMPD"),
        ({"username": "a"}, "username must be 3–80 characters"),
        ({"username": "bad name"}, "username must be 3–80 characters"),
        ({"username": "longpassword", "password": "LongPassword"}, "must not be the username"),
    ],
)
def test_create_user_validation(store: Engine, kwargs: dict[str, str], message: str) -> None:
    values = {"username": "bob", "password": PASSWORD, "role": "analyst", "agency_code": "SLMPD"}
    values.update(kwargs)
    with pytest.raises(ServiceError, match=message):
        create_user(core_for(store), None, CreateUserRequest(**values))


def test_duplicate_username_is_refused_case_insensitively(store: Engine) -> None:
    seed_user(store, "alice")
    with pytest.raises(ServiceError, match="already exists"):
        create_user(core_for(store), None, CreateUserRequest("Alice", PASSWORD, "analyst", "SLMPD"))


def test_authenticate_success_resets_failures(store: Engine) -> None:
    seed_user(store, "alice")
    assert _authenticate(store, "alice", "wrong password!", T0).outcome is AuthOutcome.INVALID
    result = _authenticate(store, "alice", PASSWORD, T0)
    assert result.ok and result.user is not None
    assert result.user.username == "alice"
    assert result.user.last_login_at == T0
    with session_scope(store) as session:
        assert session.scalars(select(User.failed_logins)).one() == 0


def test_unknown_user_is_invalid_not_an_error(store: Engine) -> None:
    assert _authenticate(store, "nobody", PASSWORD).outcome is AuthOutcome.INVALID


def test_lockout_after_max_failures_then_expiry(store: Engine) -> None:
    seed_user(store, "alice")
    outcomes = []
    for attempt in range(MAX_FAILED_LOGINS):
        outcomes.append(_authenticate(store, "alice", "wrong password!", T0 + dt.timedelta(seconds=attempt)))
    assert [o.outcome for o in outcomes] == [AuthOutcome.INVALID] * (MAX_FAILED_LOGINS - 1) + [AuthOutcome.LOCKED]
    locked_until = outcomes[-1].locked_until
    assert locked_until == T0 + dt.timedelta(seconds=MAX_FAILED_LOGINS - 1, minutes=LOCKOUT_MINUTES)
    # While locked, even the right password is refused.
    assert _authenticate(store, "alice", PASSWORD, locked_until - dt.timedelta(seconds=1)).outcome is (
        AuthOutcome.LOCKED
    )
    # After the lock expires, the right password works and the counters reset.
    assert _authenticate(store, "alice", PASSWORD, locked_until).ok
    with session_scope(store) as session:
        user = session.scalars(select(User)).one()
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_inactive_user_cannot_sign_in(store: Engine) -> None:
    seed_user(store, "alice")
    with session_scope(store) as session:
        session.execute(update(User).values(is_active=False))
    assert _authenticate(store, "alice", PASSWORD).outcome is AuthOutcome.INACTIVE


def test_outdated_hash_is_upgraded_at_sign_in(store: Engine) -> None:
    from argon2 import PasswordHasher

    seed_user(store, "alice")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with session_scope(store) as session:
        session.execute(update(User).values(password_hash=weak))
    assert _authenticate(store, "alice", PASSWORD).ok
    with session_scope(store) as session:
        assert session.scalars(select(User.password_hash)).one() != weak


def test_list_users_never_carries_hashes(store: Engine) -> None:
    seed_user(store, "bob", role="officer")
    seed_user(store, "alice")
    users = list_users(core_for(store), None, ListUsersRequest()).users
    assert [u.username for u in users] == ["alice", "bob"]
    assert "argon2" not in json.dumps([u.as_dict() for u in users], default=str)


def test_cli_users_create_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openilp.cli import common
    from openilp.cli.main import app
    from openilp.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("OPENILP_DATABASE_URL", url)
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    common.settings.cache_clear()
    common.engine.cache_clear()
    try:
        store = make_engine(url)
        migrate(store)
        seed_agency(store)
        runner = CliRunner()
        created = runner.invoke(
            app,
            ["users", "create", "carol", "--role", "supervisor", "--agency", "SLMPD", "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert created.exit_code == 0, created.output
        refused = runner.invoke(
            app, ["users", "create", "dave", "--role", "analyst", "--agency", "SLMPD", "--password", "short"]
        )
        assert refused.exit_code == 1
        assert "at least 12 characters" in refused.output
        listed = runner.invoke(app, ["users", "list", "--json"])
        assert listed.exit_code == 0, listed.output
        users = json.loads(listed.stdout)
        assert [(u["username"], u["role"]) for u in users] == [("carol", "supervisor")]
        assert "argon2" not in listed.stdout
        store.dispose()
    finally:
        common.settings.cache_clear()
        common.engine.cache_clear()
