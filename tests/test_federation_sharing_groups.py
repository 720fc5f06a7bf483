"""Sharing groups narrow a record's reach across instances, between real instances.

The county's instance (B) releases one open record to its sharing group *Metro task force* (members
COUNTY and STATE) and one agency-name-only record to *City liaison* (members COUNTY, STATE and
CITY), and keeps a third open record out of any group. The city's instance (A, over the test's
store, SQLite or PostgreSQL) is registered at B in no group but holds agency CITY; the fusion
centre's (C) is registered at B in *Metro task force* by name. Each partner hears only of the
records of the groups it belongs to, and of the record released to none, by their sensitivity.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from federation_support import Instance, approved_record, instance, link
from intel_support import make_agency, make_user
from sqlalchemy import Engine, select
from web_support import csrf_from, login, make_client

from openilp.db import session_scope
from openilp.db.models import AuditEntry
from openilp.intel.rules import SubjectInput
from openilp.services.federation import FederatedSearchRequest, federated_search
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.dissemination import DisseminationRequest, disseminate
from openilp.services.intel.groups import GroupRequest, create_group

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

JOHNNY = [SubjectInput("person", "criminal_subject", "Johnny Suspect", "cell 314-555-0142")]
WHY = {"purpose": "joint operation Bluebird", "need_to_know": "The task force works the same supply chain."}


def _release_to_group(owner: Instance, record_id: int, name: str, members: tuple[str, ...]) -> None:
    group = create_group(owner.core, owner.admin, GroupRequest(name=name, members=members))
    release = DisseminationRequest(record_id, items=("summary", "subjects"), sharing_group_id=group.id, **WHY)
    assert disseminate(owner.core, owner.analyst, release).recipients == ("State-Ana",)


def _search(inst: Instance) -> dict[int, str]:
    result = federated_search(inst.core, inst.analyst, FederatedSearchRequest("person", "johnny suspect", "case CT-7"))
    assert not result.partial
    return {hit.record_id: hit.kind for hit in result.hits}


def test_a_record_released_to_a_sharing_group_reaches_only_the_partners_in_it(engine: Engine, tmp_path: Path) -> None:
    with (
        instance("city", "CITY", tmp_path / "a", engine) as a,
        instance("county", "COUNTY", tmp_path / "b") as b,
        instance("fusion", "FUSION", tmp_path / "c") as c,
    ):
        link(a, b, groups=())
        link(b, c, groups=("Metro task force",))
        with session_scope(b.core.engine) as session:
            make_agency(session, "STATE")
            make_agency(session, "CITY")  # a member agency of "City liaison" at the county
            make_user(session, "state-ana", "analyst", agency="STATE")
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        add_agreement(b.core, b.admin, AgreementRequest("STATE", reference="MOU 2026/12", valid_from=since))

        task_force = approved_record(b, sensitivity="open", title="Garage cocaine supply", subjects=JOHNNY)
        liaison = approved_record(b, sensitivity="agency_name_only", title="Fencing ring", subjects=JOHNNY)
        everyone = approved_record(b, sensitivity="open", title="Street dealing on Main", subjects=JOHNNY)
        _release_to_group(b, task_force, "Metro task force", ("STATE",))
        _release_to_group(b, liaison, "City liaison", ("STATE", "CITY"))

        # The city is in no group by name, but holds CITY, a member agency of "City liaison".
        assert _search(a) == {liaison: "pointer", everyone: "summary"}
        # The fusion centre is in "Metro task force" by name, and in no way in "City liaison".
        assert _search(c) == {task_force: "summary", everyone: "summary"}

        city_view = federated_search(a.core, a.analyst, FederatedSearchRequest("person", "johnny", "case CT-7"))
        assert "Garage cocaine supply" not in json.dumps(city_view.as_dict())  # no hint of the group's record
        [summary] = [h.summary for h in city_view.hits if h.summary is not None]
        assert summary["tlp"] == "TLP:AMBER" and summary["handling_code"] == "P"

        # The city's analyst sees the summary's marking as a badge beside its handling code.
        page = make_client(engine, tmp_path / "a", federation_name="city", federation_timeout_ms=2000)
        assert login(page, "city-ana").status_code == 303
        form = {"csrf_token": csrf_from(page.get("/federation/search").text), "kind": "person", "q": "johnny"}
        answer = page.post("/federation/search", data=form | {"purpose": "case CT-7"})
        hits = re.search(r'<ol class="hits" id="federated-hits">(.*?)</ol>', answer.text, re.S)
        assert hits and 'class="tlp-badge tlp-amber"' in hits.group(1) and "Street dealing on Main" in hits.group(1)
        assert "Garage cocaine supply" not in answer.text

        # The owner audits each answer with what the groups withheld from the partner.
        with b.core.unit_of_work(None) as uow:
            entries = uow.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "federation_search").order_by(AuditEntry.id)
            )
            withheld = [(json.loads(e.details)["partner"], json.loads(e.details)["group_withheld"]) for e in entries]
        assert withheld == [("city", 1), ("fusion", 1), ("city", 1), ("city", 1)]
