"""Co-offending from the store: resolved people named as offenders on the same incident are linked,
with the incident as the link's record and its date as the link's date; victims never are."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_file
from intel_support import make_agency, make_core, make_user
from sqlalchemy import Engine, delete, event, select
from store_support import import_source

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import Entity, EntityMention
from openilp.db.models import Incident
from openilp.errors import InvalidRequest, NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.entities import ImportPersonsRequest, import_persons
from openilp.services.networks import NetworkRequest, network_chart

pytestmark = [pytest.mark.usefixtures("fast_password_hashing"), pytest.mark.realdata]

PARTIES = """\
[source]
name = "arrests"
[columns]
record_id = "booking"
first_name = "first"
surname = "last"
incident = "complaint"
party_role = "role"
"""

ROWS = b"""booking,first,last,complaint,role
b1,Al,Capone,19-015802,offender
b2,Bugs,Moran,19-015802,suspect
b3,Vic,Victim,19-015802,victim
b4,Alphonse,Capone,19-013866,arrestee
b5,Carl,Crew,19-013866,arrestee
b6,Lone,Wolf,,
"""


def test_offenders_on_one_incident_are_linked_through_the_incident(engine: Engine, tmp_path: Path) -> None:
    import_source(engine, "stlouis", [shared_file("stlouis", "monthly", "2019", "april2019.csv")])
    with session_scope(engine) as session:
        make_agency(session, "OTHER")
        analyst = make_user(session, "ana", "analyst")
        officer = make_user(session, "off", "officer")
        auditor = make_user(session, "aud", "auditor")
        stranger = make_user(session, "other-ana", "analyst", agency="OTHER")
    core = make_core(engine, tmp_path)
    result = import_persons(core, None, ImportPersonsRequest(PARTIES, "arrests.csv", ROWS, agency="SLMPD"))
    assert (result.rows_accepted, result.rows_rejected) == (6, 0)
    # The people as resolution would leave them: both Capones one entity.
    with session_scope(engine) as session:
        mentions = {m.source_record_id: m for m in session.scalars(select(EntityMention))}
        assert mentions["b3"].role == "victim" and mentions["b6"].incident_id is None
        entities = {}
        for name in ("capone", "moran", "victim", "crew", "wolf"):
            entity = Entity(agency_id=mentions["b1"].agency_id, kind="person", display_name=name)
            session.add(entity)
            session.flush()
            entities[name] = entity.id
        for record, name in (("b1", "capone"), ("b2", "moran"), ("b3", "victim"), ("b4", "capone"), ("b5", "crew")):
            mentions[record].entity_id = entities[name]
        mentions["b6"].entity_id = entities["wolf"]
        first, second = (
            session.scalar(select(Incident.id).where(Incident.source_record_id == number))
            for number in ("19-015802", "19-013866")
        )
    capone, moran, crew, victim = (f"entity:{entities[n]}" for n in ("capone", "moran", "crew", "victim"))

    for viewer in (analyst, officer):
        chart = network_chart(core, viewer, NetworkRequest(around=(capone,))).as_dict()
        links = {(link["source"], link["target"], link["record"]) for link in chart["links"]}
        pair = tuple(sorted((capone, moran)))
        assert links == {
            (*pair, f"incident:{first}"),
            (*tuple(sorted((capone, crew))), f"incident:{second}"),
        }
        assert {link["link_type"] for link in chart["links"]} == {"co_offending"}
        assert victim not in {n["id"] for n in chart["nodes"]}  # a victim is no one's associate
    # The link's date is the incident's: 19-015802 happened in 2003, 19-013866 in 2014.
    early = network_chart(core, analyst, NetworkRequest(around=(capone,), date_to=dt.date(2010, 1, 1))).as_dict()
    assert [link["record"] for link in early["links"]] == [f"incident:{first}"]
    assert early["links"][0]["date"].startswith("2003-01-01")
    # Another agency sees none of it; an auditor may not open charts.
    assert network_chart(core, stranger, NetworkRequest()).as_dict()["links"] == []
    with pytest.raises(NotPermitted):
        network_chart(core, auditor, NetworkRequest())


PROTECTED_WORDS = re.compile(r"\b(race|ethnicity|ethnic_origin|national_origin|nationality|religion)\b", re.IGNORECASE)
PROTECTED_VALUES = ("Black", "Hispanic", "Somali", "Muslim", "White", "Irish", "Catholic", "Italian")


def _with_protected_columns(rows: bytes) -> bytes:
    """The same person file with race, ethnicity, national origin and religion on every person."""
    lines = rows.decode().splitlines()
    values = ["Black,Hispanic,Somali,Muslim", "White,Not Hispanic,Irish,Catholic", "White,Not Hispanic,Italian,None"]
    out = [lines[0] + ",race,ethnicity,national_origin,religion"]
    out += [line + "," + values[i % len(values)] for i, line in enumerate(lines[1:])]
    return ("\n".join(out) + "\n").encode()


def _chart_by_name(core: OpenILP, viewer: UserInfo, names: dict[str, str]) -> tuple[Any, ...]:
    """The chart around everyone, entity identifiers replaced by the entity's name; and its SQL."""
    chart = network_chart(core, viewer, NetworkRequest(key_players=1)).as_dict()
    rename = lambda v: names.get(v, v)  # noqa: E731
    nodes = sorted((rename(n["id"]), *[(k, v) for k, v in sorted(n.items()) if k != "id"]) for n in chart["nodes"])
    links = sorted(
        (rename(link["source"]), rename(link["target"]), link["link_type"], link["record"], link["date"])
        for link in chart["links"]
    )
    return tuple(nodes), tuple(links), tuple(sorted(map(rename, chart["key_players_negative"])))


def test_protected_attributes_on_the_people_change_no_co_offending_link(engine: Engine, tmp_path: Path) -> None:
    """The person file carries race, ethnicity, national origin and religion on every person: the
    co-offending network is the same with and without them, they are stored nowhere, and no
    statement the chart runs reads a protected field."""
    import_source(engine, "stlouis", [shared_file("stlouis", "monthly", "2019", "april2019.csv")])
    with session_scope(engine) as session:
        analyst = make_user(session, "ana", "analyst")
    core = make_core(engine, tmp_path)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    charts = []
    for rows in (_with_protected_columns(ROWS), ROWS):
        result = import_persons(core, None, ImportPersonsRequest(PARTIES, "arrests.csv", rows, agency="SLMPD"))
        assert (result.rows_accepted, result.rows_rejected) == (6, 0)
        with session_scope(engine) as session:
            mentions = list(session.scalars(select(EntityMention)))
            assert len(mentions) == 6
            stored = [str(getattr(m, c.key)) for m in mentions for c in EntityMention.__table__.columns]
            assert not [v for v in stored if any(p.casefold() in v.casefold() for p in PROTECTED_VALUES)]
            entities: dict[str, int] = {}
            for name in ("capone", "moran", "victim", "crew", "wolf"):
                found = session.scalar(select(Entity.id).where(Entity.display_name == name))
                if found is None:
                    entity = Entity(agency_id=mentions[0].agency_id, kind="person", display_name=name)
                    session.add(entity)
                    session.flush()
                    found = entity.id
                entities[name] = found
            by_record = {"b1": "capone", "b2": "moran", "b3": "victim", "b4": "capone", "b5": "crew", "b6": "wolf"}
            for mention in mentions:
                mention.entity_id = entities[by_record[mention.source_record_id]]
        names = {f"entity:{i}": name for name, i in entities.items()}
        event.listen(engine, "before_cursor_execute", record)
        try:
            charts.append(_chart_by_name(core, analyst, names))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        with session_scope(engine) as session:  # the next file replaces this one
            session.execute(delete(EntityMention))
    with_protected, without = charts
    assert with_protected == without
    assert {link[2] for link in without[1]} == {"co_offending"} and len(without[1]) == 2
    assert statements and not [s for s in statements if PROTECTED_WORDS.search(s)]
    # Nor can a mapping bring one in.
    with pytest.raises(InvalidRequest, match="protected"):
        import_persons(
            core,
            None,
            ImportPersonsRequest(PARTIES + 'race = "race"\n', "arrests.csv", _with_protected_columns(ROWS), "SLMPD"),
        )
