"""Organisation membership on the entity pages: only an active (approved) designation links a person
to an organisation; a proposal, a rejection, a purge or an expiry leaves no trace in any view; a
viewer who may not read designations learns nothing; network association never makes a member."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from intel_support import T0, Cast, at
from network_support import approve_record_as, person, seed_network, submit_record_as
from sqlalchemy import Engine, func, inspect, select
from test_designations import ADMITS, REVIEW, TATTOO, _second
from typer.testing import CliRunner
from web_support import login, make_client

from openilp.cli import common
from openilp.cli.main import app as cli_app
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.engine import alembic_config, migrate
from openilp.db.entity_models import EntityMembership, EntityMention, EntityReviewPair
from openilp.errors import NotFound
from openilp.intel.rules import SubjectInput
from openilp.security import roles
from openilp.services.entities import (
    DecideRequest,
    ExportRequest,
    ResolveThingsRequest,
    SearchEntitiesRequest,
    ShowEntityRequest,
    decide_pair,
    export_mentions,
    resolve_things,
    search_entities,
    show_entity,
)
from openilp.services.networks import (
    DecideDesignationRequest,
    DesignationRequest,
    NetworkRequest,
    PurgeDesignationsRequest,
    ReviewDesignationRequest,
    decide_designation,
    designate_member,
    list_designations,
    network_chart,
    purge_expired_designations,
    review_designation,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, dict[str, int]]:
    """The network store, plus an approved record naming the organisation "The North Side Crew, Inc."
    and Bob Broker, resolved into an organisation entity."""
    core, people, records = seed_network(engine, tmp_path)
    crew = SubjectInput("organisation", "criminal_subject", "The North Side Crew, Inc.", "")
    records["E"] = submit_record_as(core, people.analyst, [crew, person("Bob Broker")])
    approve_record_as(core, people.reviewer, records["E"])
    resolve_things(core, people.analyst, ResolveThingsRequest(kinds=("organisation",)))
    return core, people, records


def _crew_entity(engine: Engine) -> int:
    """The organisation entity the intelligence record's "The North Side Crew, Inc." resolved into."""
    with session_scope(engine) as session:
        found = session.scalar(
            select(EntityMention.entity_id).where(EntityMention.source == "intel", EntityMention.kind == "organisation")
        )
    assert found is not None
    return int(found)


def _approve(engine: Engine, core: OpenILP, people: Cast, name: str, organisation: str = "North Side Crew") -> int:
    made = designate_member(core, people.reviewer, DesignationRequest(name, organisation, (ADMITS, TATTOO), REVIEW))
    decision = DecideDesignationRequest(made.designation_id, "approve", "Both criteria checked.")
    decide_designation(core, _second(engine), decision)
    return made.designation_id


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _designation_mentions(engine: Engine) -> list[tuple[str, str, bool, int | None]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(EntityMention.kind, EntityMention.display_name, EntityMention.searchable, EntityMention.entity_id)
            .where(EntityMention.source == "designation")
            .order_by(EntityMention.id)
        ).all()
    return [(kind, name, searchable, entity_id) for kind, name, searchable, entity_id in rows]


def test_an_active_designation_shows_membership_both_ways(
    engine: Engine, tmp_path: Path, world: tuple[OpenILP, Cast, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    core, people, _ = world
    crew = _crew_entity(engine)
    designation = _approve(engine, core, people, "Bob  Broker")
    listed = list_designations(core, people.officer).designations[0]
    assert listed["organisation_entity_id"] == crew  # resolved by the normalised name, like the things resolver
    member = listed["person_entity_id"]
    assert member is not None and member != crew

    organisation = show_entity(core, people.officer, ShowEntityRequest(crew))
    assert [(m["designation_id"], m["person"], m["person_entity_id"]) for m in organisation.members] == [
        (designation, "Bob Broker", member)
    ]
    assert organisation.members[0]["review_due_on"] == REVIEW.isoformat() and organisation.member_of == ()
    assert {m.source for m in organisation.mentions} == {"intel", "designation"}
    assert any(f"designation {designation} approved" in e["reason"] for e in organisation.lineage)
    bob = show_entity(core, people.officer, ShowEntityRequest(member))
    assert bob.kind == "person" and bob.members == ()
    (entry,) = bob.member_of
    assert (entry["organisation"], entry["organisation_entity_id"], entry["designation_id"]) == (
        "North Side Crew",
        crew,
        designation,
    )
    assert entry["link"] == f"/networks/designations#designation-{designation}"
    assert any(t["record"] == f"designation:{designation}" for t in bob.timeline)

    # resolving organisations again keeps the entity and the membership
    resolve_things(core, people.analyst, ResolveThingsRequest(kinds=("organisation",)))
    assert [m["person_entity_id"] for m in show_entity(core, people.officer, ShowEntityRequest(crew)).members] == [
        member
    ]

    # the page and the JSON API carry the same
    client = make_client(engine, tmp_path, clock=lambda: T0)
    login(client, "off")
    page = client.get(f"/entities/{crew}")
    assert page.status_code == 200 and 'id="entity-members"' in page.text
    assert f'href="/entities/{member}">Bob Broker</a>' in page.text
    person_page = client.get(f"/entities/{member}").text
    assert 'id="entity-member-of"' in person_page and f"designation {designation}" in person_page
    api = client.get(f"/api/v1/entities/{member}").json()
    assert [m["organisation_entity_id"] for m in api["member_of"]] == [crew]
    designations_page = client.get("/networks/designations").text
    assert f'id="designation-{designation}"' in designations_page and f'href="/entities/{crew}"' in designations_page

    # and so does the command line's JSON
    monkeypatch.setenv("OPENILP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["entities", "show", str(crew), "--json"])
        assert result.exit_code == 0, result.output
        assert [m["person_entity_id"] for m in json.loads(result.output)["members"]] == [member]
        result = CliRunner().invoke(cli_app, ["entities", "show", str(member)])
        assert result.exit_code == 0, result.output
        assert "designated member of:" in result.output and f"designation {designation}" in result.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()


def test_a_proposal_or_a_rejection_makes_no_member(engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, _ = world
    crew = _crew_entity(engine)
    made = designate_member(
        core, people.reviewer, DesignationRequest("Carl Courier", "North Side Crew", (ADMITS, TATTOO), REVIEW)
    )
    assert _count(engine, EntityMembership) == 0 and _designation_mentions(engine) == []
    assert show_entity(core, people.reviewer, ShowEntityRequest(crew)).members == ()
    assert show_entity(core, None, ShowEntityRequest(crew)).members == ()
    decide_designation(
        core, _second(engine), DecideDesignationRequest(made.designation_id, "reject", "Tattoo is a common one.")
    )
    assert _count(engine, EntityMembership) == 0 and _designation_mentions(engine) == []


@pytest.mark.parametrize("ending", ["review", "expiry"])
def test_a_purge_removes_the_membership_from_every_view(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]], ending: str
) -> None:
    core, people, _ = world
    crew = _crew_entity(engine)
    designation = _approve(engine, core, people, "Bob Broker")
    member = list_designations(core, people.officer).designations[0]["person_entity_id"]
    hits = search_entities(core, people.officer, SearchEntitiesRequest(name="Bob Broker")).hits
    assert member in {h["entity_id"] for h in hits}
    with session_scope(engine) as session:  # an open review pair with another Bob, withdrawn by the purge
        bobs = session.scalars(
            select(EntityMention.id).where(EntityMention.display_name == "Bob Broker").order_by(EntityMention.id)
        ).all()
        record_bob, designated_bob = bobs[-2], bobs[-1]
        session.add(
            EntityReviewPair(
                agency_id=people.officer.agency_id,
                mention_low_id=record_bob,
                mention_high_id=designated_bob,
                match_probability=0.8,
                match_weight=2.0,
            )
        )
    if ending == "review":
        review_designation(
            core, people.reviewer, ReviewDesignationRequest(designation, "end", "Informant withdrew the report.")
        )
    else:
        later = dt.datetime(2029, 2, 11, tzinfo=dt.UTC)
        purged = at(core, later, lambda: purge_expired_designations(core, None, PurgeDesignationsRequest()))
        assert purged.purged == (designation,)

    assert _count(engine, EntityMembership) == 0 and _count(engine, EntityReviewPair) == 0
    assert _designation_mentions(engine) == [("person", "", False, None), ("organisation", "", False, None)]
    for viewer in (people.officer, people.reviewer, None):
        organisation = show_entity(core, viewer, ShowEntityRequest(crew))
        assert organisation.members == () and {m.source for m in organisation.mentions} == {"intel"}
        assert not any("designation" in e["reason"] for e in organisation.lineage)
        with pytest.raises(NotFound):
            show_entity(core, viewer, ShowEntityRequest(member))
        hits = search_entities(core, viewer, SearchEntitiesRequest(name="Bob Broker", agency="SLMPD")).hits
        assert member not in {h["entity_id"] for h in hits}
        rows = export_mentions(core, viewer, ExportRequest(agency="SLMPD")).rows
        assert not any(row[0] == "designation" for row in rows)


def test_a_viewer_who_may_not_read_designations_sees_no_membership(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today every role that reads entities reads designations; a role that reads only entities
    (or a narrowed one) must learn nothing of a membership, nor that one exists."""
    core, people, _ = world
    crew = _crew_entity(engine)
    designation = _approve(engine, core, people, "Bob Broker")
    member = list_designations(core, people.officer).designations[0]["person_entity_id"]
    narrowed = roles.PERMISSIONS["designations:read"] - {"officer"}
    monkeypatch.setitem(roles.PERMISSIONS, "designations:read", narrowed)
    officer = people.officer
    assert officer.can("entities:read") and not officer.can("designations:read")

    organisation = show_entity(core, officer, ShowEntityRequest(crew))
    assert organisation.members == () and {m.source for m in organisation.mentions} == {"intel"}
    assert not any("designation" in e["reason"] for e in organisation.lineage)  # not even in the lineage
    with pytest.raises(NotFound):
        show_entity(core, officer, ShowEntityRequest(member))  # known only through the designation
    hits = search_entities(core, officer, SearchEntitiesRequest(name="Bob Broker")).hits
    assert member not in {h["entity_id"] for h in hits}
    assert not any(row[0] == "designation" for row in export_mentions(core, officer, ExportRequest()).rows)
    # the reviewer still sees it; another agency never does
    assert [m["designation_id"] for m in show_entity(core, people.reviewer, ShowEntityRequest(crew)).members] == [
        designation
    ]
    with pytest.raises(NotFound):
        show_entity(core, people.other_analyst, ShowEntityRequest(crew))


def test_network_association_alone_never_creates_a_membership(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]
) -> None:
    """Bob is named with the crew in a record and linked to everyone in the network; no chart, no
    resolution and no colleague's designation makes him a member. Only Carl, designated on
    documented criteria and approved by a second person, is one."""
    core, people, _ = world
    crew = _crew_entity(engine)
    network_chart(core, people.reviewer, NetworkRequest(key_players=1))
    network_chart(core, people.reviewer, NetworkRequest(format="graphml"))
    resolve_things(core, people.analyst, ResolveThingsRequest())
    assert _count(engine, EntityMembership) == 0 and _designation_mentions(engine) == []
    assert show_entity(core, people.reviewer, ShowEntityRequest(crew)).members == ()

    _approve(engine, core, people, "Carl Courier")
    members = show_entity(core, people.reviewer, ShowEntityRequest(crew)).members
    assert [m["person"] for m in members] == ["Carl Courier"]
    with session_scope(engine) as session:
        named = session.scalars(
            select(EntityMention.display_name).join(
                EntityMembership, EntityMembership.person_mention_id == EntityMention.id
            )
        ).all()
    assert named == ["Carl Courier"]
    assert [kind for kind, name, *_ in _designation_mentions(engine) if name == "Bob Broker"] == []
    assert _count(engine, EntityMembership) == 1


def test_a_review_decision_carries_the_membership_to_the_merged_entity(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]
) -> None:
    """Two designations of "Bob Broker" give two person entities (a name alone never joins people);
    a reviewer's match merges them, and both memberships follow the mentions to the survivor."""
    core, people, _ = world
    first = _approve(engine, core, people, "Bob Broker")
    second = _approve(engine, core, people, "Bob Broker", organisation="Southside Holdings LLC")
    entities = {d["id"]: d["person_entity_id"] for d in list_designations(core, people.officer).designations}
    assert entities[first] != entities[second]
    with session_scope(engine) as session:
        low, high = session.scalars(
            select(EntityMembership.person_mention_id).order_by(EntityMembership.person_mention_id)
        ).all()
        pair = EntityReviewPair(
            agency_id=people.reviewer.agency_id,
            mention_low_id=low,
            mention_high_id=high,
            match_probability=0.9,
            match_weight=3.2,
        )
        session.add(pair)
        session.flush()
        pair_id = pair.id
    decided = decide_pair(core, people.reviewer, DecideRequest(pair_id, "match", "Same booking number on both."))
    assert decided.effect == "merged"
    survivor = min(entities.values())
    merged = show_entity(core, people.officer, ShowEntityRequest(survivor))
    assert sorted(m["designation_id"] for m in merged.member_of) == [first, second]
    assert {m["organisation"] for m in merged.member_of} == {"North Side Crew", "Southside Holdings LLC"}


def test_the_membership_migration_downgrades_and_upgrades(engine: Engine) -> None:
    from alembic import command

    def state() -> tuple[bool, bool]:
        inspector = inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("entity_mentions")}
        return "entity_memberships" in inspector.get_table_names(), "designation_id" in columns

    assert state() == (True, True)
    command.downgrade(alembic_config(engine), "0021")
    assert state() == (False, False)
    migrate(engine)
    assert state() == (True, True)
