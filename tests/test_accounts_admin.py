"""Administration of accounts on the web (administrators only), agencies on the command line, and
the default agency of a command-line analysis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from store_support import core_for
from typer.testing import CliRunner
from web_support import PASSWORD, audit_actions, csrf_from, login, make_client, seed_agency, seed_user

from openilp.cli import app as cli_app
from openilp.cli import common
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.security.roles import ROLES
from openilp.services.accounts.agencies import ResolveAgencyRequest, resolve_agency
from openilp.services.accounts.records import user_info
from openilp.services.accounts.users import CreateUserRequest, UpdateUserRequest, create_user, update_user

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    seed_agency(engine)
    seed_agency(engine, "OTHER")
    for role in ROLES:
        seed_user(engine, f"user-{role}", role=role)
    seed_user(engine, "otto", agency_code="OTHER")
    return make_client(engine, tmp_path)


@pytest.mark.parametrize("role", ROLES)
def test_only_administrators_reach_the_account_pages(client: TestClient, role: str) -> None:
    login(client, f"user-{role}")
    expected = 200 if role == "administrator" else 403
    assert client.get("/admin/users").status_code == expected
    assert client.get("/api/v1/users").status_code == expected
    token = csrf_from(client.get("/").text)
    created = client.post(
        "/admin/users",
        data={"username": "newbie", "password": PASSWORD, "role": "analyst", "csrf_token": token},
    )
    assert created.status_code == expected


def test_an_administrator_manages_the_accounts_of_their_agency(client: TestClient, engine: Engine) -> None:
    login(client, "user-administrator")
    page = client.get("/admin/users")
    assert "account-user-analyst" in page.text and "account-otto" not in page.text  # own agency only
    token = csrf_from(page.text)
    made = client.post(
        "/admin/users",
        data={
            "username": "Newbie",
            "full_name": "New Analyst",
            "password": PASSWORD,
            "role": "analyst",
            "csrf_token": token,
        },
    )
    assert made.status_code == 200 and "Account newbie created" in made.text
    short = client.post(
        "/admin/users", data={"username": "x2y", "password": "short", "role": "analyst", "csrf_token": token}
    )
    assert short.status_code == 400 and "at least 12 characters" in short.text
    trained = client.post(
        "/admin/users/user-reviewer", data={"action": "training", "valid_until": "2027-06-30", "csrf_token": token}
    )
    assert trained.status_code == 200 and "2027-06-30" in trained.text
    other = client.post("/admin/users/otto", data={"action": "deactivate", "csrf_token": token})
    assert other.status_code == 404  # another agency's account is not theirs to see
    own = client.post("/admin/users/user-administrator", data={"action": "deactivate", "csrf_token": token})
    assert own.status_code == 403 and "another administrator" in own.text
    users = {u["username"]: u for u in client.get("/api/v1/users").json()["users"]}
    assert users["newbie"]["role"] == "analyst" and users["user-reviewer"]["training_valid_until"] == "2027-06-30"
    actions = audit_actions(engine)
    assert ("create", "user-administrator", "user") in actions
    assert ("update", "user-administrator", "user") in actions
    assert ("search", "user-administrator", "users") in actions


def test_the_account_services_check_permission_and_agency(client: TestClient, engine: Engine) -> None:
    core = core_for(engine)
    with core.unit_of_work(None) as uow:
        analyst = user_info(uow.session, 1)
        admin = next(
            info
            for info in (user_info(uow.session, i) for i in range(1, 10))
            if info is not None and info.role == "administrator"
        )
    assert analyst is not None
    with pytest.raises(NotPermitted):
        create_user(core, analyst, CreateUserRequest("sneaky", PASSWORD, "administrator", "SLMPD"))
    with pytest.raises(NotPermitted):
        create_user(core, admin, CreateUserRequest("abroad", PASSWORD, "analyst", "OTHER"))
    with pytest.raises(NotFound):
        update_user(core, admin, UpdateUserRequest("otto", role="auditor"))
    with pytest.raises(InvalidRequest, match="unknown role"):
        update_user(core, admin, UpdateUserRequest("user-analyst", role="sheriff"))


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENILP_DEFAULT_AGENCY", raising=False)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    yield common.engine()
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()


def test_agencies_create_and_list_on_the_command_line(cli_store: Engine) -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli_app,
        [
            "agencies",
            "create",
            "CPD",
            "--name",
            "Chicago Police",
            "--timezone",
            "America/Chicago",
            "--crs",
            "EPSG:26971",
        ],
    )
    assert made.exit_code == 0, made.output
    assert "created agency CPD" in made.output
    again = runner.invoke(
        cli_app, ["agencies", "create", "CPD", "--name", "x", "--timezone", "America/Chicago", "--crs", "EPSG:26971"]
    )
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(
        cli_app, ["agencies", "create", "X", "--name", "x", "--timezone", "Mars/Base", "--crs", "EPSG:1"]
    )
    assert bad.exit_code == 1 and "unknown time zone 'Mars/Base'" in bad.output
    listed = json.loads(runner.invoke(cli_app, ["agencies", "list", "--json"]).output)
    assert [(a["code"], a["timezone"], a["users"]) for a in listed] == [("CPD", "America/Chicago", 0)]
    user = runner.invoke(
        cli_app, ["users", "create", "carla", "--role", "analyst", "--agency", "CPD", "--password", PASSWORD]
    )
    assert user.exit_code == 0, user.output
    assert ("create", None, "agency") in audit_actions(cli_store)


def test_the_default_agency_of_an_analysis(cli_store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    core = common.core()
    with pytest.raises(NotFound, match="no agency"):
        resolve_agency(core, None, ResolveAgencyRequest())
    seed_agency(cli_store)
    assert resolve_agency(core, None, ResolveAgencyRequest()).code == "SLMPD"  # the only one
    seed_agency(cli_store, "OTHER")
    with pytest.raises(InvalidRequest, match=r"several agencies \(OTHER, SLMPD\); give --agency CODE"):
        resolve_agency(core, None, ResolveAgencyRequest())
    seed_user(cli_store, "otto", agency_code="OTHER")
    assert common.default_agency(None, "otto") == "OTHER"  # the acting user's own agency
    assert common.default_agency("SLMPD") == "SLMPD"
    monkeypatch.setenv("OPENILP_DEFAULT_AGENCY", "SLMPD")
    common.settings.cache_clear()
    common.core.cache_clear()
    assert common.default_agency(None) == "SLMPD"  # the configured default
