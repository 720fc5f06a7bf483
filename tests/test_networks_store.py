"""Networks from the store: the chart around a person, group, series or record, 28 CFR Part 23
visibility for every role (no node or link from a record the viewer may not read), exports, audit,
and co-offending rows from the crimelinkage offender file."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from conftest import shared_file
from intel_support import T0, Cast, at
from network_support import BOB, CARL, DAVE, JOHNNY, VAN, approve_record_as, person, seed_network, submit_record_as
from sqlalchemy import Engine, select

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import Entity, EntityMention
from openilp.db.models import AuditEntry, IntelSubject
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.services.networks import NetworkRequest, network_chart

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, dict[str, int]]:
    return seed_network(engine, tmp_path)


def _seen(chart: object) -> tuple[set[str], set[str], set[tuple[str, str, str]]]:
    data = chart.as_dict()  # type: ignore[attr-defined]
    nodes = {n["id"] for n in data["nodes"]}
    records = {link["record"] for link in data["links"]}
    links = {(link["source"], link["target"], link["link_type"]) for link in data["links"]}
    return nodes, records, links


def test_every_role_sees_only_the_records_it_may_read(world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, ids = world
    a, c, d = (f"intel:{ids[k]}" for k in "ACD")
    home = {JOHNNY, BOB, CARL, VAN}
    for viewer in (people.analyst, people.reviewer, people.officer):
        nodes, records, links = _seen(network_chart(core, viewer, NetworkRequest()))
        assert nodes == home, viewer.role  # not Pam (pending), not Dave (OTHER's, not released), not Mary
        assert records == {a, c}
        assert (BOB, CARL, "association") in links
        assert (CARL, JOHNNY, "shared_vehicle") in links  # the same van in two records
    # OTHER's analyst: its own record D and the released A; never SLMPD's C
    nodes, records, links = _seen(network_chart(core, people.other_analyst, NetworkRequest()))
    assert nodes == {JOHNNY, BOB, VAN, CARL, DAVE}
    assert records == {a, d}
    assert (BOB, CARL, "association") not in links and not any(t == "shared_vehicle" for *_, t in links)
    # a partner of OTHER reads nothing: record A was released to OTHER's analyst by name (23.20(e))
    nodes, records, _ = _seen(network_chart(core, people.partner, NetworkRequest()))
    assert nodes == set() and records == set()
    for viewer in (people.auditor,):
        with pytest.raises(NotPermitted):
            network_chart(core, viewer, NetworkRequest())


def test_hidden_and_absent_people_get_the_same_answer(world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, ids = world
    with pytest.raises(NotFound) as pending:
        network_chart(core, people.analyst, NetworkRequest(around=("Pam Pending",)))
    with pytest.raises(NotFound) as nobody:
        network_chart(core, people.analyst, NetworkRequest(around=("Nobody At All",)))
    assert str(pending.value).replace("Pam Pending", "X") == str(nobody.value).replace("Nobody At All", "X")
    with pytest.raises(NotFound, match="you may read"):
        network_chart(core, people.analyst, NetworkRequest(record_id=ids["D"]))
    with pytest.raises(NotFound, match="you may read"):
        network_chart(core, people.analyst, NetworkRequest(record_id=ids["B"]))


def test_chart_around_a_person_filters_and_metrics(world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, ids = world
    one_hop = network_chart(core, people.analyst, NetworkRequest(around=("johnny  SUSPECT",), hops=1, key_players=1))
    nodes, _, _ = _seen(one_hop)
    assert nodes == {JOHNNY, BOB, VAN, CARL}
    assert one_hop.seeds == (JOHNNY,)
    by_id = {n["id"]: n for n in one_hop.as_dict()["nodes"]}
    assert by_id[JOHNNY]["seed"] and by_id[BOB]["degree"] == 1.0  # Bob is linked to all three others
    assert one_hop.key_players_negative and set(one_hop.key_players_negative) <= {JOHNNY, BOB, CARL}
    only_associations = network_chart(
        core, people.analyst, NetworkRequest(around=(JOHNNY,), hops=1, link_types=("association",))
    )
    assert _seen(only_associations)[0] == {JOHNNY, BOB, VAN}
    record = network_chart(core, people.analyst, NetworkRequest(record_id=ids["C"], hops=1))
    assert set(record.seeds) == {BOB, CARL, VAN}
    later = network_chart(core, people.analyst, NetworkRequest(date_from=T0.date() + dt.timedelta(days=1)))
    assert later.as_dict()["links"] == []  # every approval was on T0
    with pytest.raises(InvalidRequest, match="hops"):
        network_chart(core, people.analyst, NetworkRequest(hops=9))
    with pytest.raises(InvalidRequest, match="link_types"):
        network_chart(core, people.analyst, NetworkRequest(link_types=("same_street",)))


def test_expired_records_leave_the_network(world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, _ = world
    later = at(core, T0 + dt.timedelta(days=6 * 365), lambda: network_chart(core, people.analyst, NetworkRequest()))
    assert later.as_dict()["nodes"] == []


def test_exports_are_audited_and_read_back(engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, _ = world
    chart = network_chart(core, people.analyst, NetworkRequest(format="graphml"))
    graph = nx.read_graphml(io.BytesIO(chart.export.encode()))
    assert set(graph.nodes) == {JOHNNY, BOB, CARL, VAN}
    assert graph.number_of_edges() == len(chart.links)
    assert chart.media_type == "application/graphml+xml"
    anb = network_chart(core, people.analyst, NetworkRequest(format="anb_csv"))
    table = pd.read_csv(io.StringIO(anb.export))
    assert list(table.columns)[:3] == ["Entity 1 Identity", "Entity 1 Type", "Entity 1 Label"]
    assert len(table) == len(anb.links)
    with session_scope(engine) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "network").order_by(AuditEntry.seq)
        ).all()
    assert actions == ["network_export", "network_export"]


@pytest.mark.realdata
def test_co_offending_rows_without_a_viewer_use_no_store_record(world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, _, _ = world
    frame = pd.read_csv(shared_file("crimelinkage", "offenders.csv"), dtype=str)
    rows = tuple((p, c, "") for p, c in zip(frame["offenderID"], frame["crimeID"], strict=True))
    chart = network_chart(core, None, NetworkRequest(co_offending=rows, key_players=5))
    summary = chart.summary
    assert summary["links"] == 149 and summary["people"] == 188 and summary["components"] == 82
    assert summary["link_types"]["association"] == 0  # no intelligence without a signed-in viewer
    assert "O:40" in chart.key_players_negative and "O:40" in chart.key_players_positive
    around = network_chart(core, None, NetworkRequest(co_offending=rows, around=("O:40",), hops=2))
    assert "O:40" in {n["id"] for n in around.nodes} and len(around.nodes) <= 10
    with pytest.raises(NotPermitted, match="signed-in"):
        network_chart(core, None, NetworkRequest(record_id=1))


def test_resolved_entities_become_one_node(engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    """Once entity resolution puts two spellings of one person in an entity, the chart has one node,
    labelled with a name the viewer's records give (never the entity's own name)."""
    core, people, ids = world
    e = submit_record_as(core, people.analyst, [person("Robert Broker"), person("Eve Extra")])
    approve_record_as(core, people.reviewer, e)
    before = _seen(network_chart(core, people.analyst, NetworkRequest()))[0]
    assert {"person:robert broker", BOB} <= before
    with session_scope(engine) as session:
        agency_id = people.analyst.agency_id
        old = Entity(agency_id=agency_id, kind="person", display_name="R. Broker (old)", status="merged")
        kept = Entity(agency_id=agency_id, kind="person", display_name="Robert 'Bob' Broker, DOB 1975-02-03")
        session.add_all([old, kept])
        session.flush()
        old.merged_into_id = kept.id
        subjects = session.scalars(
            select(IntelSubject.id).where(IntelSubject.display_name.in_(["Bob Broker", "Robert Broker"]))
        ).all()
        mentions = session.scalars(select(EntityMention).where(EntityMention.intel_subject_id.in_(subjects))).all()
        assert len(mentions) == 4  # A, B (pending), C and E
        for position, mention in enumerate(mentions):
            mention.entity_id = old.id if position == 0 else kept.id  # one through a merge
        entity = f"entity:{kept.id}"
    chart = network_chart(core, people.analyst, NetworkRequest(around=(entity,), hops=1))
    nodes = {n["id"]: n for n in chart.as_dict()["nodes"]}
    assert entity in nodes and "person:robert broker" not in nodes and BOB not in nodes
    assert nodes[entity]["label"] in {"Bob Broker", "Robert Broker"}  # not the entity's own name
    assert {JOHNNY, CARL, VAN, "person:eve extra"} <= set(nodes)  # Eve now one link from Johnny's partner
    assert "person:pam pending" not in nodes  # the pending record still gives nothing
    with pytest.raises(NotFound):
        network_chart(core, people.other_analyst, NetworkRequest(around=("Eve Extra",)))
