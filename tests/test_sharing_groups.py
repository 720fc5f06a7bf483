"""Sharing groups: explicit member agencies, managed by the owning agency; service, web and CLI.

On every configured backend (SQLite; PostgreSQL when ``OPENILP_TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from intel_support import Cast, cast, make_agency, make_core, make_user
from sqlalchemy import Engine, select
from typer.testing import CliRunner
from web_support import csrf_from, login, make_client

from openilp.cli import common
from openilp.cli.main import app
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import FieldError
from openilp.services.intel.groups import (
    GroupRequest,
    MembersRequest,
    change_members,
    create_group,
    group_member_ids,
    list_groups,
    show_group,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def people(engine: Engine) -> Cast:
    people = cast(engine)
    with session_scope(engine) as session:
        make_agency(session, "COUNTY")
        make_agency(session, "STATE")
    return people


@pytest.fixture
def admin(engine: Engine, people: Cast) -> UserInfo:
    with session_scope(engine) as session:
        return make_user(session, "admin", "administrator")


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


def test_group_has_explicit_members_and_owner_is_always_one(
    engine: Engine, core: OpenILP, people: Cast, admin: UserInfo
) -> None:
    group = create_group(core, admin, GroupRequest("North task force", "Drug task force", ["other", "COUNTY"]))
    assert group.owner_agency == "SLMPD"
    assert group.member_codes == ("SLMPD", "COUNTY", "OTHER")
    changed = change_members(core, admin, MembersRequest(group.id, add=["STATE"], remove=["OTHER"]))
    assert changed.member_codes == ("SLMPD", "COUNTY", "STATE")
    with pytest.raises(FieldError) as owner:
        change_members(core, admin, MembersRequest(group.id, remove=["SLMPD"]))
    assert owner.value.field == "members" and "owns the group" in str(owner.value)
    with session_scope(engine) as session:
        ids = group_member_ids(session, group.id)
        assert len(ids) == 3
        audit = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "sharing_group")).all()
        assert [(a.action, json.loads(a.details or "{}")) for a in audit] == [
            ("create", {"name": "North task force", "members": ["SLMPD", "COUNTY", "OTHER"]}),
            ("update", {"added": ["STATE"], "removed": ["OTHER"]}),
        ]


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        (GroupRequest("", "", ["OTHER"]), "name", "required"),
        (GroupRequest("x" * 101, "", []), "name", "too long"),
        (GroupRequest("Task force", "", ["NOPE"]), "members", "unknown agency 'NOPE'"),
    ],
)
def test_bad_groups_name_the_field(
    core: OpenILP, admin: UserInfo, request_: GroupRequest, field: str, words: str
) -> None:
    with pytest.raises(FieldError) as refused:
        create_group(core, admin, request_)
    assert refused.value.field == field and words in str(refused.value)
    assert list_groups(core, admin).groups == ()


def test_names_are_unique_per_agency_and_groups_of_others_stay_hidden(
    engine: Engine, core: OpenILP, people: Cast, admin: UserInfo
) -> None:
    group = create_group(core, admin, GroupRequest("Task force", "", ["OTHER"]))
    with pytest.raises(FieldError, match="already has a sharing group"):
        create_group(core, admin, GroupRequest("Task force", "", []))
    with session_scope(engine) as session:
        other_admin = make_user(session, "other-admin", "administrator", agency="OTHER")
        county_admin = make_user(session, "county-admin", "administrator", agency="COUNTY")
    # A member sees the group but may not change it; a non-member does not see it at all.
    assert [g.name for g in list_groups(core, people.other_analyst).groups] == ["Task force"]
    assert show_group(core, people.other_analyst, group.id).member_codes == ("SLMPD", "OTHER")
    with pytest.raises(IntelNotFound):
        change_members(core, other_admin, MembersRequest(group.id, add=["COUNTY"]))
    with pytest.raises(IntelNotFound):
        show_group(core, county_admin, group.id)
    assert list_groups(core, county_admin).groups == ()
    # The same name in another agency is another group.
    assert create_group(core, other_admin, GroupRequest("Task force", "", [])).member_codes == ("OTHER",)
    with pytest.raises(IntelForbidden):
        create_group(core, people.analyst, GroupRequest("Mine", "", []))
    with pytest.raises(IntelForbidden):
        list_groups(core, people.officer)


def test_groups_page_and_api(engine: Engine, tmp_path: Path, people: Cast, admin: UserInfo) -> None:
    client = make_client(engine, tmp_path)
    assert login(client, "admin").status_code == 303
    page = client.get("/intel/groups")
    assert page.status_code == 200 and "No sharing groups yet" in page.text
    token = csrf_from(page.text)
    bad = client.post("/intel/groups", data={"csrf_token": token, "name": "", "members": ["OTHER"]})
    assert bad.status_code == 400 and 'id="err-name"' in bad.text and 'aria-invalid="true"' in bad.text
    # Every bad field at once, the form kept as filled in: an empty name and a too-long description.
    both = client.post(
        "/intel/groups", data={"csrf_token": token, "name": " ", "description": "d" * 2001, "members": ["OTHER"]}
    )
    assert both.status_code == 400
    assert 'id="err-name"' in both.text and 'id="err-description"' in both.text
    assert "2 fields need a correction" in both.text
    assert 'value="OTHER" checked' in both.text
    made = client.post(
        "/intel/groups",
        data={"csrf_token": token, "name": "Fusion partners", "members": ["OTHER", "STATE"]},
        follow_redirects=False,
    )
    assert made.status_code == 303
    groups = client.get("/api/v1/intel/groups").json()["groups"]
    assert [(g["name"], [m["code"] for m in g["members"]]) for g in groups] == [
        ("Fusion partners", ["SLMPD", "OTHER", "STATE"])
    ]
    group_id = groups[0]["id"]
    moved = client.post(
        f"/intel/groups/{group_id}/members",
        data={"csrf_token": token, "add": "COUNTY", "remove": "STATE"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    shown = client.get(f"/api/v1/intel/groups/{group_id}").json()
    assert [m["code"] for m in shown["members"]] == ["SLMPD", "COUNTY", "OTHER"]
    api_made = client.post("/api/v1/intel/groups", json={"name": "Second", "members": ["NOPE"]})
    assert api_made.status_code == 400 and api_made.json()["detail"].startswith("members:")
    api_changed = client.post(f"/api/v1/intel/groups/{group_id}/members", json={"add": ["STATE"]})
    assert api_changed.status_code == 200 and len(api_changed.json()["members"]) == 4
    assert client.get("/api/v1/intel/groups/999").status_code == 404
    listed = client.get("/intel/groups").text
    assert "Fusion partners" in listed and "SLMPD, COUNTY, OTHER, STATE" in listed
    analyst = make_client(engine, tmp_path)
    assert login(analyst, "ana").status_code == 303
    assert analyst.get("/intel/groups").status_code == 403
    assert [g["name"] for g in analyst.get("/api/v1/intel/groups").json()["groups"]] == ["Fusion partners"]


runner = CliRunner()


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    yield
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()


def test_cli_groups(people: Cast, admin: UserInfo, cli: None) -> None:
    made = runner.invoke(
        app, ["intel", "groups", "create", "Task force", "--members", "OTHER,COUNTY", "--user", "admin", "--json"]
    )
    assert made.exit_code == 0, made.output
    group = json.loads(made.output)
    assert [m["code"] for m in group["members"]] == ["SLMPD", "COUNTY", "OTHER"]
    changed = runner.invoke(
        app, ["intel", "groups", "members", str(group["id"]), "--add", "STATE", "--remove", "OTHER", "--user", "admin"]
    )
    assert changed.exit_code == 0 and "SLMPD, COUNTY, STATE" in changed.output
    listed = runner.invoke(app, ["intel", "groups", "list", "--user", "admin"])
    assert listed.exit_code == 0 and "Task force" in listed.output
    refused = runner.invoke(app, ["intel", "groups", "create", "Other", "--members", "NOPE", "--user", "admin"])
    assert refused.exit_code == 1 and "unknown agency 'NOPE'" in refused.output
