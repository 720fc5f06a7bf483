"""28 CFR Part 23 on entities, per role: no one learns of an intelligence record through an entity page,
a search or an export that they could not read as a record."""

from __future__ import annotations

from pathlib import Path

import pytest
from entities_support import FEBRL_MAPPING, febrl_path
from intel_support import Cast, cast, make_core, submission
from sqlalchemy import Engine, select

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import EntityMention
from openilp.errors import NotFound, NotPermitted
from openilp.intel.rules import SubjectInput
from openilp.security.actors import UserInfo
from openilp.services.entities import (
    ExportRequest,
    ImportPersonsRequest,
    ResolveRequest,
    SearchEntitiesRequest,
    ShowEntityRequest,
    export_mentions,
    import_persons,
    resolve_entities,
    search_entities,
    show_entity,
)
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

pytestmark = [pytest.mark.usefixtures("fast_password_hashing"), pytest.mark.realdata]


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


def _subjects(name: str) -> list[SubjectInput]:
    return [
        SubjectInput("person", "criminal_subject", name, "SID 99"),
        SubjectInput("person", "non_criminal_identifier", "Mary Innocentwitness", "phone 555"),
    ]


@pytest.fixture
def store(engine: Engine, core: OpenILP, people: Cast) -> dict[str, int]:
    """Person-file mentions, an approved record naming Johnny Approvedsuspect, a pending one naming
    Peter Pendingsuspect (each with a non-criminal identifier), resolved into entities."""
    lines = febrl_path(1).read_bytes().splitlines(keepends=True)[:501]
    mapping = FEBRL_MAPPING.read_text()
    import_persons(core, people.analyst, ImportPersonsRequest(mapping, "dataset1.csv", b"".join(lines)))
    approved = submit_record(
        core,
        people.analyst,
        SubmitRecordRequest(submission(people.analyst.id, subjects=_subjects("Johnny Approvedsuspect"))),
    )
    approve_record(core, people.reviewer, ReviewRequest(approved.id, reason="Predicate checked against the file."))
    pending = submit_record(
        core,
        people.analyst,
        SubmitRecordRequest(
            submission(people.analyst.id, title="Second garage", subjects=_subjects("Peter Pendingsuspect"))
        ),
    )
    resolve_entities(core, people.analyst, ResolveRequest())
    with session_scope(engine) as session:
        rows = session.execute(select(EntityMention.display_name, EntityMention.entity_id)).all()
    entity = {name: entity_id for name, entity_id in rows}
    assert entity["Mary Innocentwitness"] is None  # identifying information is never resolved
    return {
        "approved_entity": entity["Johnny Approvedsuspect"] or 0,
        "pending_entity": entity["Peter Pendingsuspect"] or 0,
        "approved_record": approved.id,
        "pending_record": pending.id,
    }


LAW_ENFORCEMENT = ("analyst", "officer", "supervisor", "reviewer")


def _user(people: Cast, role: str) -> UserInfo:
    return {
        "analyst": people.analyst,
        "officer": people.officer,
        "supervisor": people.reviewer,  # the cast's reviewer stands in for a second law-enforcement role
        "reviewer": people.reviewer,
        "auditor": people.auditor,
        "partner": people.partner,
        "other_agency": people.other_analyst,
    }[role]


def _names(hits: object) -> set[str]:
    return {h["display_name"] for h in hits.hits}  # type: ignore[attr-defined]


def _law_enforcement_sees_approved_subjects_only(core: OpenILP, people: Cast, store: dict[str, int], role: str) -> None:
    user = _user(people, role)
    found = _names(search_entities(core, user, SearchEntitiesRequest(name="jonny approvedsuspect")))
    assert "Johnny Approvedsuspect" in found, role
    assert _names(search_entities(core, user, SearchEntitiesRequest(name="peter pendingsuspect"))) == set(), role
    assert _names(search_entities(core, user, SearchEntitiesRequest(name="mary innocentwitness"))) == set(), role
    shown = show_entity(core, user, ShowEntityRequest(store["approved_entity"]))
    assert [m.intel_record_id for m in shown.mentions] == [store["approved_record"]], role
    with pytest.raises(NotFound):  # the pending record's subject: the same answer as a wrong id
        show_entity(core, user, ShowEntityRequest(store["pending_entity"]))
    exported = {row[5] for row in export_mentions(core, user, ExportRequest()).rows}
    assert "Johnny Approvedsuspect" in exported, role
    assert not exported & {"Peter Pendingsuspect", "Mary Innocentwitness"}, role


def _refused(core: OpenILP, people: Cast, store: dict[str, int], role: str) -> None:
    user = _user(people, role)
    with pytest.raises(NotPermitted):
        search_entities(core, user, SearchEntitiesRequest(name="johnny"))
    with pytest.raises(NotPermitted):
        show_entity(core, user, ShowEntityRequest(store["approved_entity"]))
    with pytest.raises(NotPermitted):
        export_mentions(core, user, ExportRequest())


def test_each_role_sees_only_what_it_may_read_as_a_record(core: OpenILP, people: Cast, store: dict[str, int]) -> None:
    # Law-enforcement roles: approved criminal subjects only; never a pending record's, never identifying info.
    for role in LAW_ENFORCEMENT:
        _law_enforcement_sees_approved_subjects_only(core, people, store, role)
    # Auditors and partners hold no entities:read.
    for role in ("auditor", "partner"):
        _refused(core, people, store, role)
    # Another agency learns nothing of this agency's entities.
    other = _user(people, "other_agency")
    with pytest.raises(NotFound):
        show_entity(core, other, ShowEntityRequest(store["approved_entity"]))
    assert _names(search_entities(core, other, SearchEntitiesRequest(name="johnny approvedsuspect"))) == set()
    assert export_mentions(core, other, ExportRequest()).rows == ()
    # The operator (the command line) never sees identifying information either.
    exported = {row[5] for row in export_mentions(core, None, ExportRequest(agency="SLMPD")).rows}
    assert "Johnny Approvedsuspect" in exported and "Mary Innocentwitness" not in exported


def test_the_json_api_applies_the_same_rules(
    engine: Engine, tmp_path: Path, people: Cast, store: dict[str, int]
) -> None:
    from web_support import login, make_client

    client = make_client(engine, tmp_path / "web")
    login(client, "ana")
    hits = client.get("/api/v1/entities/search", params={"name": "johnny approvedsuspect"})
    assert hits.status_code == 200 and "Johnny Approvedsuspect" in {h["display_name"] for h in hits.json()["hits"]}
    pending = client.get("/api/v1/entities/search", params={"name": "peter pendingsuspect"})
    assert pending.json()["hits"] == []
    assert client.get(f"/api/v1/entities/{store['pending_entity']}").status_code == 404
    shown = client.get(f"/api/v1/entities/{store['approved_entity']}").json()
    assert [m["intel_record_id"] for m in shown["mentions"]] == [store["approved_record"]]
    page = client.get(f"/entities/{store['approved_entity']}")
    assert page.status_code == 200 and "Johnny Approvedsuspect" in page.text and "Innocentwitness" not in page.text
    assert client.get(f"/entities/{store['pending_entity']}").status_code == 404
    search = client.get("/entities", params={"name": "peter pendingsuspect"})
    assert search.status_code == 200 and "No one found" in search.text
    assert client.get("/entities/review").status_code == 200
    partner = make_client(engine, tmp_path / "partner")
    login(partner, "partner")
    assert partner.get(f"/api/v1/entities/{store['approved_entity']}").status_code == 403


def test_waterfall_adds_up_to_the_match_weight() -> None:
    from openilp.web.routes.entities.pages import waterfall

    chart = waterfall({"prior_weight": -10.0, "fields": {"surname": {"weight": 8.0}, "dob": {"weight": -3.0}}})
    bars = chart["bars"]
    assert [b["label"] for b in bars] == ["prior", "surname", "dob", "total"]
    assert bars[-1]["end"] == pytest.approx(-5.0)
    assert bars[1]["start"] == bars[0]["end"] and bars[2]["start"] == bars[1]["end"]
    assert all(0 <= b["x"] <= 600 and b["x"] + b["w"] <= 600.5 for b in bars)
