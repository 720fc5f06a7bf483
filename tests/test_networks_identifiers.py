"""Links through the phones and vehicles of resolved entities: two people whose records give a
phone or a plate that thing resolution makes one entity are linked (``shared_phone``,
``shared_vehicle``), the first record naming the tie as the link's record and the thing in ``via``;
pending records and non-criminal identifiers never tie anyone."""

from __future__ import annotations

from pathlib import Path

import pytest
from intel_support import Cast
from network_support import approve_record_as, seed_network, submit_record_as
from sqlalchemy import Engine, select

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import EntityMention
from openilp.intel.rules import SubjectInput
from openilp.services.entities import ResolveThingsRequest, resolve_things
from openilp.services.networks import NetworkRequest, network_chart

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

EVE, FRED, GUS, PETE, NINA = (
    "person:eve caller",
    "person:fred phone",
    "person:gus driver",
    "person:pete pending",
    "person:nina keeper",
)


def _subject(name: str, identifiers: str, role: str = "criminal_subject") -> SubjectInput:
    return SubjectInput("person", role, name, identifiers)


def _links(core: OpenILP, viewer: object) -> dict[tuple[str, str, str], dict[str, str]]:
    chart = network_chart(core, viewer, NetworkRequest()).as_dict()  # type: ignore[arg-type]
    return {(link["source"], link["target"], link["link_type"]): link for link in chart["links"]}


def test_people_sharing_a_resolved_phone_or_vehicle_are_linked(engine: Engine, tmp_path: Path) -> None:
    core, people, _ = seed_network(engine, tmp_path)
    records = _shared_world(core, people)
    before = _links(core, people.analyst)
    assert not [key for key in before if key[2] == "shared_phone"]  # the same number, not yet one entity
    resolve_things(core, people.analyst, ResolveThingsRequest(agency="SLMPD"))
    with session_scope(engine) as session:
        phones = session.scalars(
            select(EntityMention).where(EntityMention.kind == "phone", EntityMention.intel_record_id.is_not(None))
        ).all()
        plates = session.scalars(
            select(EntityMention).where(
                EntityMention.kind == "vehicle", EntityMention.source_record_id.like("%-vehicle-%")
            )
        ).all()
        # Eve's, Fred's, Nina's and Pete's numbers are one phone; Fred's and Gus's plates one vehicle.
        assert len({m.entity_id for m in phones if m.searchable}) == 1
        assert len({m.entity_id for m in plates}) == 1
        number = next(m.display_name for m in phones if m.intel_record_id == records["E"])
        plate = next(m.display_name for m in plates if m.intel_record_id == records["F"])

    for viewer in (people.analyst, people.reviewer):
        links = _links(core, viewer)
        phone = links[(*sorted((EVE, FRED)), "shared_phone")]
        assert (phone["record"], phone["via"]) == (f"intel:{records['E']}", number)
        vehicle = links[(*sorted((FRED, GUS)), "shared_vehicle")]
        assert (vehicle["record"], vehicle["via"]) == (f"intel:{records['F']}", plate)
        ends = {end for key in links for end in key[:2]}
        assert PETE not in ends and NINA not in ends  # a pending record, a non-criminal identifier
        assert not [key for key in links if key[2] == "shared_phone" and key != (*sorted((EVE, FRED)), "shared_phone")]
    # Another agency, to which none of these records was released, sees none of it.
    other = _links(core, people.other_analyst)
    assert not [key for key in other if key[2] == "shared_phone" or EVE in key or GUS in key]


def _shared_world(core: OpenILP, people: Cast) -> dict[str, int]:
    """E: Eve with a cell; F: Fred with the same number written otherwise and a plate, and Nina, a
    non-criminal identifier, with the number too; G: Gus with the plate; H (pending): Pete with the number."""
    e = submit_record_as(core, people.analyst, [_subject("Eve Caller", "cell (314) 555-0142")])
    f = submit_record_as(
        core,
        people.analyst,
        [
            _subject("Fred Phone", "phone 314.555.0142; plate ABC123"),
            _subject("Nina Keeper", "cell 314-555-0142", role="non_criminal_identifier"),
        ],
    )
    g = submit_record_as(core, people.analyst, [_subject("Gus Driver", "tag ABC 123")])
    h = submit_record_as(core, people.analyst, [_subject("Pete Pending", "cell 314 555 0142")])
    for record in (e, f, g):
        approve_record_as(core, people.reviewer, record)
    return {"E": e, "F": f, "G": g, "H": h}
