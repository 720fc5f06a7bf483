"""Markings on releases and "who will see this": the preview and the release compute one audience.

Service, web (page and API), on every configured backend (SQLite; PostgreSQL when
``OPENILP_TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from intel_support import T0, Cast, cast, make_agency, make_core, make_user, submission
from sqlalchemy import Engine, select, update
from web_support import csrf_from, login, make_client, open_record

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry, IntelDissemination, IntelRecord, Notification
from openilp.intel.errors import IntelForbidden
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.audience import AudienceRequest, preview_release
from openilp.services.intel.dissemination import DisseminationRequest, disseminate
from openilp.services.intel.groups import GroupRequest, create_group
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

LEVELS = ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]


class World:
    def __init__(self, people: Cast, admin: UserInfo, group_id: int) -> None:
        self.people, self.admin, self.group_id = people, admin, group_id


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


@pytest.fixture
def world(engine: Engine, core: OpenILP) -> World:
    """SLMPD owns a group of OTHER, COUNTY and STATE; agreements with OTHER and COUNTY only."""
    people = cast(engine)
    with session_scope(engine) as session:
        make_agency(session, "COUNTY")
        make_agency(session, "STATE")
        admin = make_user(session, "admin", "administrator")
        make_user(session, "county-off", "officer", agency="COUNTY")
        make_user(session, "county-aud", "auditor", agency="COUNTY")
        make_user(session, "state-ana", "analyst", agency="STATE")
    for partner in ("OTHER", "COUNTY"):
        add_agreement(
            core, admin, AgreementRequest(partner, "MOU 2024/7", T0 - dt.timedelta(days=30), None, "releases")
        )
    group = create_group(core, admin, GroupRequest("Task force", "", ["OTHER", "COUNTY", "STATE"]))
    return World(people, admin, group.id)


def _record(core: OpenILP, people: Cast, **overrides: Any) -> int:
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **overrides)))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    return record.id


def _release(core: OpenILP, actor: UserInfo, record_id: int, **target: Any) -> Any:
    request = DisseminationRequest(
        record_id,
        purpose="joint operation 24-77",
        need_to_know="The task force works the same supply chain",
        items=("summary", "subjects"),
        **target,
    )
    return disseminate(core, actor, request)


def test_preview_lists_exact_agencies_users_roles_and_the_release_reaches_exactly_them(
    engine: Engine, core: OpenILP, world: World
) -> None:
    people = world.people
    record_id = _record(core, people, handling_code="C", handling_conditions="No onward release to the press.")
    preview = preview_release(core, people.analyst, AudienceRequest(record_id, sharing_group_id=world.group_id))
    rows = {a.code: (a.included, a.reason, a.recipients, a.roles) for a in preview.agencies}
    assert rows == {
        "COUNTY": (True, "", ("County-Off (county-off, officer)",), ("officer",)),
        "OTHER": (
            True,
            "",
            ("Other-Ana (other-ana, analyst)", "Other-Rev (other-rev, reviewer)", "Partner (partner, partner)"),
            ("analyst", "partner", "reviewer"),
        ),
        "SLMPD": (False, "your own agency: colleagues read the record directly", (), ()),
        "STATE": (False, "no current sharing agreement with STATE is on file (23.20(f)(1))", (), ()),
    }
    assert preview.refusal is None and preview.recipient_count == 4
    assert (preview.tlp, preview.handling_code, preview.handling_conditions) == (
        "TLP:AMBER",
        "C",
        "No onward release to the press.",
    )
    assert "with a need to know, and its clients" in next(a.onward for a in preview.agencies if a.code == "OTHER")
    release = _release(core, people.analyst, record_id, sharing_group_id=world.group_id)
    assert sorted(release.recipients) == ["County-Off", "Other-Ana", "Other-Rev", "Partner"]
    with session_scope(engine) as session:
        logged = session.scalars(select(IntelDissemination).where(IntelDissemination.record_id == record_id)).all()
        assert {(r.tlp, r.sharing_group_id) for r in logged} == {("TLP:AMBER", world.group_id)}
        assert len(logged) == 4
        notes = session.scalars(select(Notification).where(Notification.kind == "dissemination_received")).all()
        assert len(notes) == 4 and all("(sharing group Task force), marked TLP:AMBER" in n.message for n in notes)
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "disseminate")).one()
        details = json.loads(audit.details or "{}")
        assert details["sharing_group"] == world.group_id and details["tlp"] == "TLP:AMBER"
        assert sorted(details["recipients"]) == [
            "COUNTY/county-off",
            "OTHER/other-ana",
            "OTHER/other-rev",
            "OTHER/partner",
        ]


def test_every_marking_pair_at_release_narrows_or_is_refused(engine: Engine, core: OpenILP, world: World) -> None:
    people = world.people
    records = {level: _record(core, people, tlp=level) for level in LEVELS}
    for record_level, release_level in itertools.product(LEVELS, LEVELS):
        target = {"recipient_agency": "OTHER", "recipient_username": "other-ana", "tlp": release_level}
        widens = LEVELS.index(release_level) < LEVELS.index(record_level)
        preview = preview_release(core, people.analyst, AudienceRequest(records[record_level], **target))
        if widens:
            assert (
                preview.refusal is not None and f"{release_level} is wider than the {record_level}" in preview.refusal
            )
            with pytest.raises(IntelForbidden, match="wider than"):
                _release(core, people.analyst, records[record_level], **target)
        else:
            assert preview.refusal is None and preview.tlp == release_level
            assert _release(core, people.analyst, records[record_level], **target).tlp == release_level
    with session_scope(engine) as session:
        assert len(session.scalars(select(IntelDissemination)).all()) == 15  # the 15 pairs that do not widen


def test_red_goes_to_named_people_only(core: OpenILP, world: World) -> None:
    record_id = _record(core, world.people, sensitivity="restricted")
    preview = preview_release(core, world.people.analyst, AudienceRequest(record_id, sharing_group_id=world.group_id))
    assert preview.tlp == "TLP:RED" and "not a group" in (preview.refusal or "")
    with pytest.raises(IntelForbidden, match="named individual recipients only"):
        _release(core, world.people.analyst, record_id, sharing_group_id=world.group_id)
    named = _release(core, world.people.analyst, record_id, recipient_agency="OTHER", recipient_username="other-ana")
    assert named.tlp == "TLP:RED" and named.recipients == ("Other-Ana",)


def _received(engine: Engine, record_id: int, tlp: str, audience: list[str] | None, handling: str = "P") -> None:
    with session_scope(engine) as session:
        session.execute(
            update(IntelRecord)
            .where(IntelRecord.id == record_id)
            .values(
                received_from="FUSION",
                received_tlp=tlp,
                received_handling_code=handling,
                received_audience=json.dumps(audience) if audience is not None else None,
            )
        )


def test_received_items_are_never_reshared_wider(engine: Engine, core: OpenILP, world: World) -> None:
    people = world.people
    record_id = _record(core, people, tlp="TLP:AMBER")
    _received(engine, record_id, "TLP:AMBER", ["SLMPD", "OTHER"])
    preview = preview_release(core, people.analyst, AudienceRequest(record_id, sharing_group_id=world.group_id))
    county = next(a for a in preview.agencies if a.code == "COUNTY")
    assert not county.included and county.reason == "COUNTY is outside the audience the record was received for"
    assert preview.refusal is None and preview.recipient_count == 3
    with pytest.raises(IntelForbidden, match="outside the audience"):
        _release(core, people.analyst, record_id, recipient_agency="COUNTY", recipient_username="county-off")
    # Received as AMBER+STRICT: not outside the receiving agency at all.
    _received(engine, record_id, "TLP:AMBER+STRICT", None)
    with pytest.raises(
        IntelForbidden, match=r"AMBER\+STRICT \(the receiving organisation only\).*OTHER is outside SLMPD"
    ):
        _release(
            core, people.analyst, record_id, recipient_agency="OTHER", recipient_username="other-ana", tlp="TLP:RED"
        )
    # Received as RED: no further disclosure, whatever the local marking says.
    _received(engine, record_id, "TLP:RED", None)
    refusal = preview_release(
        core,
        people.analyst,
        AudienceRequest(record_id, recipient_agency="OTHER", recipient_username="other-ana", tlp="TLP:RED"),
    ).refusal
    assert refusal is not None and "received as TLP:RED" in refusal and "received from FUSION" in refusal
    # Received with conditions (code C): a record whose own code was set to P cannot drop them.
    _received(engine, record_id, "TLP:GREEN", None, handling="C")
    with pytest.raises(IntelForbidden, match="drop the conditions"):
        _release(core, people.analyst, record_id, recipient_agency="OTHER", recipient_username="other-ana")


def test_preview_on_the_page_and_api(engine: Engine, tmp_path: Path, core: OpenILP, world: World) -> None:
    record_id = _record(core, world.people)
    client = make_client(engine, tmp_path)
    assert login(client, "ana").status_code == 303
    api = client.post(f"/api/v1/intel/records/{record_id}/preview", json={"sharing_group_id": world.group_id})
    assert api.status_code == 200
    body = api.json()
    assert body["recipient_count"] == 4 and body["refusal"] is None
    assert [a["code"] for a in body["agencies"] if a["included"]] == ["COUNTY", "OTHER"]
    wider = client.post(
        f"/api/v1/intel/records/{record_id}/preview",
        json={"recipient_agency": "OTHER", "recipient_username": "other-ana", "tlp": "TLP:CLEAR"},
    )
    assert wider.status_code == 200 and "TLP:CLEAR is wider than the TLP:AMBER" in wider.json()["refusal"]
    assert client.post(f"/api/v1/intel/records/{record_id}/preview", json={}).status_code == 400
    page = open_record(client, record_id, "joint operation 24-77")
    assert page.status_code == 200 and f'value="group:{world.group_id}"' in page.text
    form = {
        "csrf_token": csrf_from(page.text),
        "view_purpose": "joint operation 24-77",
        "purpose": "joint operation 24-77",
        "recipient": f"group:{world.group_id}",
        "need_to_know": "The task force works the same supply chain",
        "items": ["summary"],
        "tlp": "TLP:AMBER+STRICT",
    }
    shown = client.post(f"/intel/records/{record_id}/disseminate", data={**form, "action": "preview"})
    assert shown.status_code == 200 and 'id="audience-preview"' in shown.text
    assert "4 recipient(s) would receive it." in shown.text and "TLP:AMBER+STRICT" in shown.text
    assert 'data-agency="STATE"' in shown.text and "no current sharing agreement with STATE" in shown.text
    with session_scope(engine) as session:
        assert session.scalars(select(IntelDissemination)).all() == [], "a preview releases nothing"
    released = client.post(f"/intel/records/{record_id}/disseminate", data={**form, "action": "release"})
    assert released.status_code == 200 and "Done: disseminated" in released.text
    with session_scope(engine) as session:
        rows = session.scalars(select(IntelDissemination)).all()
        assert len(rows) == 4 and {r.tlp for r in rows} == {"TLP:AMBER+STRICT"}
