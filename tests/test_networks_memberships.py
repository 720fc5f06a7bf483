"""The membership layer of the link chart: person → organisation edges of approved designations,
drawn only for viewers who may read the designation (its agency, ``designations:read``), never
changing the network itself (metrics, links, key players)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from intel_support import Cast
from network_support import approve_record_as, person, seed_network, submit_record_as
from sqlalchemy import Engine, delete, select
from test_designations import ADMITS, REVIEW, TATTOO, _second
from web_support import login, make_client

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import Entity, EntityMembership, EntityMention
from openilp.db.models import AuditEntry
from openilp.intel.rules import SubjectInput
from openilp.security import roles
from openilp.services.entities import ResolveThingsRequest, resolve_things
from openilp.services.networks import (
    DecideDesignationRequest,
    DesignationRequest,
    NetworkRequest,
    ReviewDesignationRequest,
    decide_designation,
    designate_member,
    network_chart,
    review_designation,
)
from openilp.services.networks.membership_layer import membership_layer

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _approve(engine: Engine, core: OpenILP, people: Cast, name: str, organisation: str) -> int:
    made = designate_member(core, people.reviewer, DesignationRequest(name, organisation, (ADMITS, TATTOO), REVIEW))
    decide_designation(
        core, _second(engine), DecideDesignationRequest(made.designation_id, "approve", "Both criteria checked.")
    )
    return made.designation_id


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, dict[str, object]]:
    return seed_memberships(engine, tmp_path)


def seed_memberships(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, dict[str, object]]:
    """The network store; record E names the crew (an organisation entity) with Bob Broker; Bob is
    designated a member of the North Side Crew and of Southside Holdings LLC, and person resolution
    has put every SLMPD mention of Bob (records A, C, E and both designations) in one entity."""
    core, people, records = seed_network(engine, tmp_path)
    crew = SubjectInput("organisation", "criminal_subject", "The North Side Crew, Inc.", "")
    records["E"] = submit_record_as(core, people.analyst, [crew, person("Bob Broker")])
    approve_record_as(core, people.reviewer, records["E"])
    resolve_things(core, people.analyst, ResolveThingsRequest(kinds=("organisation",)))
    north = _approve(engine, core, people, "Bob Broker", "North Side Crew")
    south = _approve(engine, core, people, "Bob Broker", "Southside Holdings LLC")
    with session_scope(engine) as session:
        designated = session.scalars(
            select(EntityMention.entity_id)
            .join(EntityMembership, EntityMembership.person_mention_id == EntityMention.id)
            .order_by(EntityMembership.designation_id)
        ).all()
        bob, second_bob = designated
        retired = session.get(Entity, second_bob)
        assert retired is not None
        retired.status, retired.merged_into_id = "merged", bob  # the second one reaches Bob through a merge
        for mention in session.scalars(
            select(EntityMention).where(
                EntityMention.source == "intel",
                EntityMention.display_name == "Bob Broker",
                EntityMention.agency_id == people.analyst.agency_id,
            )
        ):
            mention.entity_id = bob
        crew_entity = session.scalar(
            select(EntityMention.entity_id).where(EntityMention.source == "intel", EntityMention.kind == "organisation")
        )
        south_entity = session.scalar(
            select(EntityMention.entity_id).where(
                EntityMention.source == "designation", EntityMention.organisation == "Southside Holdings LLC"
            )
        )
    return (
        core,
        people,
        {
            "north": north,
            "south": south,
            "bob": f"entity:{bob}",
            "crew": f"entity:{crew_entity}",
            "south_entity": f"entity:{south_entity}",
        },
    )


def test_the_layer_links_drawn_people_to_their_organisations(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, object]]
) -> None:
    core, people, ids = world
    chart = network_chart(core, people.analyst, NetworkRequest(around=(str(ids["bob"]),), hops=1))
    data = chart.as_dict()
    node_ids = {n["id"] for n in data["nodes"]}
    assert ids["bob"] in node_ids and ids["crew"] in node_ids
    edges = {(m["designation_id"], m["source"], m["target"]) for m in data["memberships"]}
    assert edges == {(ids["north"], ids["bob"], ids["crew"]), (ids["south"], ids["bob"], ids["south_entity"])}
    assert {m["link_type"] for m in data["memberships"]} == {"designated_member"}
    assert {m["person"] for m in data["memberships"]} == {"Bob Broker"}
    assert [m["link"] for m in data["memberships"] if m["designation_id"] == ids["north"]] == [
        f"/networks/designations#designation-{ids['north']}"
    ]
    # the crew is drawn from record E; Southside only by the layer, labelled with the designation's words
    assert data["membership_nodes"] == [
        {"id": ids["south_entity"], "label": "Southside Holdings LLC", "kind": "organisation", "layer": "membership"}
    ]
    assert ids["south_entity"] not in node_ids
    assert data["summary"]["memberships"] == 2
    # memberships are no links of the network
    assert all(link["link_type"] != "designated_member" for link in data["links"])
    with session_scope(engine) as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "network_chart").order_by(AuditEntry.id.desc()).limit(1)
        ).one()
    assert json.loads(audit.details)["designations"] == [ids["north"], ids["south"]]

    # ending a designation takes its edge away at once
    review_designation(
        core, people.reviewer, ReviewDesignationRequest(int(str(ids["north"])), "end", "Informant withdrew the report.")
    )
    later = network_chart(core, people.analyst, NetworkRequest(around=(str(ids["bob"]),), hops=1))
    assert [m["designation_id"] for m in later.memberships] == [ids["south"]]


def test_the_layer_changes_nothing_in_the_network(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, object]]
) -> None:
    """The chart with the layer and the same chart once the memberships are gone have the same
    nodes, links, metrics and key players: the layer only adds edges beside the network."""
    core, people, ids = world
    request = NetworkRequest(around=(str(ids["bob"]),), hops=2, key_players=1)
    with_layer = network_chart(core, people.analyst, request)
    assert len(with_layer.memberships) == 2
    with session_scope(engine) as session:
        session.execute(delete(EntityMembership))
    without = network_chart(core, people.analyst, request)
    assert without.memberships == () and without.membership_nodes == ()
    assert with_layer.nodes == without.nodes and with_layer.links == without.links
    assert with_layer.key_players_negative == without.key_players_negative
    assert with_layer.key_players_positive == without.key_players_positive
    assert with_layer.summary == {**without.summary, "memberships": 2}


def test_only_viewers_who_may_read_the_designation_see_the_layer(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    core, people, ids = world
    around = NetworkRequest(around=(str(ids["bob"]),), hops=1)
    for viewer in (people.analyst, people.reviewer, people.officer):
        assert len(network_chart(core, viewer, around).memberships) == 2, viewer.role
    # OTHER's analyst draws Bob through record A, released to them, but SLMPD's designations stay SLMPD's
    other = network_chart(core, people.other_analyst, around)
    assert ids["bob"] in {n["id"] for n in other.nodes}
    assert other.memberships == () and other.membership_nodes == () and other.summary["memberships"] == 0
    # the same rule where the layer is built: the agency, then designations:read
    with session_scope(engine) as session:
        nodes = {str(ids["bob"]): "Bob Broker"}
        assert membership_layer(session, people.other_analyst, nodes).edges == ()
        assert len(membership_layer(session, people.analyst, nodes).edges) == 2
        assert len(membership_layer(session, None, nodes).edges) == 2  # the command line's operator
        assert membership_layer(session, people.partner, nodes).edges == ()
    # a role that may read networks but not designations learns nothing of them
    monkeypatch.setitem(roles.PERMISSIONS, "designations:read", roles.PERMISSIONS["designations:read"] - {"officer"})
    narrowed = network_chart(core, people.officer, around)
    assert ids["bob"] in {n["id"] for n in narrowed.nodes}
    assert narrowed.memberships == () and narrowed.membership_nodes == ()
    assert not any("Southside" in str(n) for n in narrowed.nodes)


def test_the_page_and_api_carry_the_layer_per_role(
    engine: Engine, tmp_path: Path, world: tuple[OpenILP, Cast, dict[str, object]]
) -> None:
    _, _, ids = world
    params = {"around": str(ids["bob"]), "hops": "1"}
    client = make_client(engine, tmp_path)
    login(client, "ana")
    body = client.get("/api/v1/networks/chart.json", params=params).json()
    assert sorted(m["designation_id"] for m in body["memberships"]) == [ids["north"], ids["south"]]
    page = client.get("/networks", params=params).text
    assert 'id="show-memberships"' in page and "legend-designated_member" in page
    assert 'id="network-memberships"' in page and "<caption>Designated memberships" in page

    other = make_client(engine, tmp_path)
    login(other, "other-ana")
    body = other.get("/api/v1/networks/chart.json", params=params).json()
    assert body["memberships"] == [] and body["membership_nodes"] == []

    partner = make_client(engine, tmp_path)
    login(partner, "partner")
    page = partner.get("/networks")
    assert page.status_code == 200
    assert 'id="show-memberships"' not in page.text and "legend-designated_member" not in page.text


def test_the_command_line_prints_the_layer_for_whom_it_acts(
    engine: Engine, tmp_path: Path, world: tuple[OpenILP, Cast, dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from openilp.cli import common
    from openilp.cli.main import app as cli_app

    _, _, ids = world
    monkeypatch.setenv("OPENILP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    # Lines whole, as when piped: test runners may export COLUMNS, which Rich reads once when the console is built.
    monkeypatch.delenv("COLUMNS", raising=False)
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "_width", None)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    try:
        args = ["networks", "chart", "--around", str(ids["bob"]), "--hops", "1"]
        shown = CliRunner().invoke(cli_app, [*args, "--user", "ana"])
        assert shown.exit_code == 0, shown.output
        assert (
            f"designated member: Bob Broker ({ids['bob']}) of North Side Crew ({ids['crew']}), "
            f"designation {ids['north']}" in shown.output
        )
        assert f"of Southside Holdings LLC ({ids['south_entity']})" in shown.output
        as_json = CliRunner().invoke(cli_app, [*args, "--user", "other-ana", "--json"])
        assert as_json.exit_code == 0, as_json.output
        assert json.loads(as_json.output)["memberships"] == []
        hidden = CliRunner().invoke(cli_app, [*args, "--user", "other-ana"])
        assert hidden.exit_code == 0 and "designated member:" not in hidden.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
