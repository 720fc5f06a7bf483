"""The designation form can name an existing person entity (picked with the entity suggestion): on
approval the membership links that entity instead of a new one. The pick must be an active person
entity of the proposer's agency that they may see, or the proposal is refused naming the field,
in the same words whether the entity is hidden or absent, and the refusal is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from intel_support import T0, Cast
from network_support import seed_network
from sqlalchemy import Engine, func, select
from test_designations import ADMITS, REVIEW, TATTOO, _second
from web_support import csrf_from, login, make_client

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import Entity, EntityEvent, EntityMembership, EntityMention
from openilp.db.models import AuditEntry, Designation
from openilp.errors import InvalidRequest
from openilp.services.entities import ShowEntityRequest, show_entity
from openilp.services.networks import (
    DecideDesignationRequest,
    DesignationRequest,
    decide_designation,
    designate_member,
    list_designations,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _entity_of(engine: Engine, agency_id: int, names: list[str], status: str = "active") -> int:
    """A person entity holding the intelligence mentions of ``names`` in ``agency_id`` (as resolution makes)."""
    with session_scope(engine) as session:
        entity = Entity(agency_id=agency_id, kind="person", display_name=names[0], status=status)
        session.add(entity)
        session.flush()
        for mention in session.scalars(
            select(EntityMention).where(
                EntityMention.source == "intel",
                EntityMention.agency_id == agency_id,
                EntityMention.display_name.in_(names),
            )
        ):
            mention.entity_id = entity.id
        return entity.id


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, dict[str, int]]:
    """The network store with Bob Broker (records A and C, approved) resolved into one entity, Pam
    Pending (only in pending record B) into another, and Dave Distant (OTHER's record D) into OTHER's."""
    core, people, _ = seed_network(engine, tmp_path)
    slmpd, other = people.analyst.agency_id, people.other_analyst.agency_id
    return (
        core,
        people,
        {
            "bob": _entity_of(engine, slmpd, ["Bob Broker"]),
            "pam": _entity_of(engine, slmpd, ["Pam Pending"]),
            "dave": _entity_of(engine, other, ["Dave Distant"]),
        },
    )


def _request(entity_id: int | None, name: str = "Bob Broker") -> DesignationRequest:
    return DesignationRequest(name, "North Side Crew", (ADMITS, TATTOO), REVIEW, "", entity_id)


def _count(engine: Engine, model: type, *where: object) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_an_approved_designation_links_the_picked_entity(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]
) -> None:
    core, people, ids = world
    made = designate_member(core, people.reviewer, _request(ids["bob"]))
    with session_scope(engine) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "designation_proposed")).one()
        assert json.loads(audit.details)["person_entity_id"] == ids["bob"]
        assert session.get(Designation, made.designation_id).person_entity_id == ids["bob"]  # type: ignore[union-attr]
    (proposal,) = list_designations(core, people.reviewer).proposals
    assert proposal["person_entity_id"] == ids["bob"]

    people_before = _count(engine, Entity, Entity.kind == "person")
    decision = DecideDesignationRequest(made.designation_id, "approve", "Both criteria checked.")
    decide_designation(core, _second(engine), decision)
    assert _count(engine, Entity, Entity.kind == "person") == people_before  # no new person entity
    with session_scope(engine) as session:
        member = session.scalar(
            select(EntityMention.entity_id).join(
                EntityMembership, EntityMembership.person_mention_id == EntityMention.id
            )
        )
        moved = session.scalars(
            select(EntityEvent).where(EntityEvent.entity_id == ids["bob"], EntityEvent.event == "mention_moved")
        ).all()
    assert member == ids["bob"]
    assert [e.reason for e in moved] == [
        f"designation {made.designation_id} approved: the person entity picked when it was proposed"
    ]
    bob = show_entity(core, people.officer, ShowEntityRequest(ids["bob"]))
    assert [(m["designation_id"], m["organisation"]) for m in bob.member_of] == [
        (made.designation_id, "North Side Crew")
    ]
    assert {m.source for m in bob.mentions} == {"intel", "designation"}
    listed = list_designations(core, people.officer).designations
    assert [d["person_entity_id"] for d in listed] == [ids["bob"]]


def test_a_picked_entity_merged_before_approval_links_the_survivor(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]
) -> None:
    core, people, ids = world
    made = designate_member(core, people.reviewer, _request(ids["bob"]))
    survivor = _entity_of(engine, people.analyst.agency_id, ["Bob Broker"])
    with session_scope(engine) as session:
        old = session.get(Entity, ids["bob"])
        assert old is not None
        old.status, old.merged_into_id = "merged", survivor
    decide_designation(
        core, _second(engine), DecideDesignationRequest(made.designation_id, "approve", "Both criteria checked.")
    )
    assert list_designations(core, people.officer).designations[0]["person_entity_id"] == survivor


@pytest.mark.parametrize("which", ["absent", "other_agency", "only_in_a_pending_record", "organisation", "merged"])
def test_a_pick_the_proposer_may_not_see_is_refused_naming_the_field(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]], which: str
) -> None:
    core, people, ids = world
    if which == "absent":
        entity_id = 987_654
    elif which == "other_agency":
        entity_id = ids["dave"]
    elif which == "only_in_a_pending_record":
        entity_id = ids["pam"]
    elif which == "merged":
        entity_id = _entity_of(engine, people.analyst.agency_id, ["Johnny Suspect"], status="merged")
    else:
        with session_scope(engine) as session:
            crew = Entity(agency_id=people.analyst.agency_id, kind="organisation", display_name="North Side Crew")
            session.add(crew)
            session.flush()
            entity_id = crew.id
    with pytest.raises(InvalidRequest) as refused:
        designate_member(core, people.reviewer, _request(entity_id))
    assert str(refused.value) == (
        f"person_entity_id: no person entity {entity_id} that you may see; "
        "pick one the suggestions offer, or leave it empty"
    )
    assert _count(engine, Designation) == 0
    with session_scope(engine) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "designation_refused")).one()
    assert json.loads(audit.details)["person_entity_id"] == entity_id
    # a number past the largest id is refused by the request itself
    with pytest.raises(InvalidRequest, match="person_entity_id: an entity number"):
        designate_member(core, people.reviewer, _request(2**63))


def test_the_form_picks_an_entity_and_names_the_field_when_refused(
    engine: Engine, tmp_path: Path, world: tuple[OpenILP, Cast, dict[str, int]]
) -> None:
    _, _, ids = world
    client = make_client(engine, tmp_path, clock=lambda: T0)
    login(client, "rev")
    page = client.get("/networks/designations")
    assert 'name="person_entity_id"' in page.text and 'data-entity-pick="designate-person-entity"' in page.text
    assert "/static/js/entity_suggest.js" in page.text
    assert ADMITS.observed_on is not None and TATTOO.observed_on is not None
    form = {
        "csrf_token": csrf_from(page.text),
        "person": "Bob Broker",
        "organisation": "North Side Crew",
        "review_due_on": REVIEW.isoformat(),
        "criterion_code": ["self_admission", "tattoos", "", ""],
        "criterion_source": [ADMITS.source, TATTOO.source, "", ""],
        "criterion_date": [ADMITS.observed_on.isoformat(), TATTOO.observed_on.isoformat(), "", ""],
    }
    for bad, words in (
        (str(ids["pam"]), f"person_entity_id: no person entity {ids['pam']} that you may see"),
        (str(ids["dave"]), f"person_entity_id: no person entity {ids['dave']} that you may see"),
        ("12a", "person_entity_id: give the number of a known person entity"),
        ("9" * 20, "person_entity_id: an entity number from 1 to"),
        ("0", "person_entity_id: an entity number from 1 to"),
    ):
        refused = client.post("/networks/designations", data={**form, "person_entity_id": bad})
        assert refused.status_code == 400, (bad, refused.status_code)
        assert words in refused.text, bad
        # the form comes back as sent, the picked field marked, so nothing needs retyping
        assert 'value="Bob Broker"' in refused.text and f'value="{TATTOO.source}"' in refused.text
        assert '<option value="tattoos" selected>' in refused.text and f'value="{REVIEW.isoformat()}"' in refused.text
        assert f'value="{bad}" aria-describedby="designate-person-entity-help" aria-invalid="true"' in refused.text
    assert client.get("/api/v1/networks/designations").json()["proposals"] == []

    made = client.post(
        "/networks/designations", data={**form, "person_entity_id": str(ids["bob"])}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    (proposal,) = client.get("/api/v1/networks/designations").json()["proposals"]
    assert proposal["person_entity_id"] == ids["bob"]
    assert f'href="/entities/{ids["bob"]}">entity {ids["bob"]}</a>' in client.get("/networks/designations").text
    # without a pick the form works as before
    plain = client.post("/networks/designations", data={**form, "person": "Carl Courier"}, follow_redirects=False)
    assert plain.status_code == 303
    proposals = client.get("/api/v1/networks/designations").json()["proposals"]
    assert sorted((p["person"], p["person_entity_id"]) for p in proposals) == [
        ("Bob Broker", ids["bob"]),
        ("Carl Courier", None),
    ]


def test_the_pick_migration_downgrades_and_upgrades(engine: Engine) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from openilp.db.engine import alembic_config, migrate

    def has_column() -> bool:
        return "person_entity_id" in {c["name"] for c in inspect(engine).get_columns("designations")}

    assert has_column()
    command.downgrade(alembic_config(engine), "0022")
    assert not has_column()
    migrate(engine)
    assert has_column()
