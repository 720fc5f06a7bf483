"""Co-offending from the store: resolved people named as offenders on the same incident are linked,
with the incident as the link's record and its date as the link's date; victims never are."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import shared_file
from intel_support import make_agency, make_core, make_user
from sqlalchemy import Engine, select
from store_support import import_source

from openilp.db import session_scope
from openilp.db.entity_models import Entity, EntityMention
from openilp.db.models import Incident
from openilp.errors import NotPermitted
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
