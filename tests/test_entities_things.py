"""Vehicles, phones, handles, addresses and organisations: normalised, resolved by rules, reviewed,
placed on the map from the agency's own incidents, and limited by 28 CFR Part 23 like people."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from conftest import shared_file
from hypothesis import given
from hypothesis import strategies as st
from intel_support import Cast, cast, make_core, submission
from sqlalchemy import Engine, select

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import EntityMention
from openilp.db.models import IntelRecord
from openilp.entities.identifiers import things_in_identifiers
from openilp.entities.mapping import MappingError, parse_person_mapping
from openilp.entities.thing_matching import candidate_pairs
from openilp.entities.things import (
    block_key,
    match_key,
    normalise_address,
    normalise_phone,
    normalise_plate,
    normalise_vin,
    plate_ocr_key,
    vin_check_digit_ok,
)
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.intel.rules import SubjectInput
from openilp.services.entities import (
    DecideRequest,
    ImportPersonsRequest,
    ResolveThingsRequest,
    ReviewQueueRequest,
    SearchEntitiesRequest,
    ShowEntityRequest,
    decide_pair,
    import_persons,
    resolve_things,
    review_queue,
    search_entities,
    show_entity,
)
from openilp.services.intel.corrections import purge_content
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

VEHICLES = """\
[source]
name = "lpr"
kind = "vehicle"
[columns]
record_id = "read_id"
plate = "plate"
plate_state = "state"
vin = "vin"
make = "make"
colour = "colour"
seen_on = "date"
"""

VEHICLE_ROWS = b"""read_id,plate,state,vin,make,colour,date
r1,ABC 123,MO,,Honda,grey,2024-02-01
r2,abc-123,Missouri,1HGCM82633A004352,Honda,grey,2024-02-02
r3,,,1hgcm82633a004352,,,2024-02-03
r4,A8C123,MO,,Honda,grey,2024-02-04
r5,ZZZ999,IL,,Ford,blue,2024-02-05
r6,,,,Ford,blue,2024-02-06
r7,QQQ111,MO,12345,,,2024-02-07
r8,XYZ777,MO,,,,2099-01-01
"""


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


# --- the library -------------------------------------------------------------------------------


def test_values_are_written_in_one_form() -> None:
    assert normalise_plate(" abc-123 ") == normalise_plate("ABC123") == "ABC123"
    assert plate_ocr_key("8OB1ZS") == plate_ocr_key("BOB12S") == plate_ocr_key("B0B125")
    assert normalise_phone("314-555-0142") == normalise_phone("+1 (314) 555 0142") == "+13145550142"
    assert normalise_phone("1 314 555 0142 ext. 9") == "+13145550142"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert normalise_phone("12-34") is None
    # Published VINs with valid check digits (49 CFR 565.15 worked examples), one digit changed.
    assert vin_check_digit_ok("1HGCM82633A004352") and vin_check_digit_ok("11111111111111111")
    assert not vin_check_digit_ok("1HGCM82633A004353") and not vin_check_digit_ok("1HGCM82633A00435")
    assert normalise_vin("1hgcm82633aOO4352") == "1HGCM82633A004352"  # no VIN holds O: read as 0
    assert normalise_address("10", "South Broadway Street Apt 4", "st. louis", "63102", "missouri") == (
        "10 S BROADWAY ST, ST LOUIS, MO 63102"
    )
    assert block_key("4XX BLOCK OF MAIN STREET") == (400, "MAIN ST")
    assert match_key("handle", {"handle": "Twitter: @SomeOne"}) == "handle:twitter:someone"
    assert match_key("organisation", {"organisation": "The 19th Street Boys, LLC"}) == "organisation:19th street boys"


@given(st.text(max_size=30))
def test_normalising_twice_changes_nothing(text: str) -> None:
    for normalise in (normalise_plate, normalise_vin, normalise_phone):
        once = normalise(text)
        assert once is None or normalise(once) == once


def test_rules_join_equal_keys_and_send_reader_confusions_to_review() -> None:
    frame = pd.DataFrame(
        {
            "record_id": [str(i) for i in range(1, 11)],
            "kind": ["vehicle"] * 4 + ["phone"] * 3 + ["address"] * 2 + ["organisation"],
            "plate": ["ABC123", "ABC123", "A8C123", "ABC123", *[None] * 6],
            "plate_state": ["MO", "IL", "MO", None, *[None] * 6],
            "phone": [None] * 4 + ["314-555-0142", "(314) 555 0142", "555-0142", None, None, None],
            "street_number": [None] * 7 + ["1200", "1200", None],
            "street": [None] * 7 + ["Market Street", "MARKET ST", None],
            "locality": [None] * 7 + ["St Louis", None, None],
            "postcode": [None] * 7 + ["63103", None, None],
            "organisation": [None] * 9 + ["Hillside Crew"],
        }
    )
    pairs = candidate_pairs(frame)
    found = {(r.record_id_l, r.record_id_r): (r.rule, r.match_probability) for r in pairs.itertuples()}
    assert found[("5", "6")] == ("same_key", 1.0)  # the same phone written two ways
    assert found[("5", "7")] == ("phone_local", 0.7)  # the local number: review, never joined alone
    assert found[("1", "3")] == ("plate_ocr", 0.8)
    assert found[("1", "4")] == ("plate_no_state", 0.9)
    assert ("1", "2") not in found  # the same plate in another state is another vehicle
    assert found[("8", "9")] == ("address_partial", 0.9)
    assert all(left < right for left, right in found) and len(pairs) == len(found)
    assert pairs.loc[pairs["rule"] != "same_key", "match_probability"].max() < 0.999


def test_protected_attributes_never_enter_the_rules_or_a_mapping() -> None:
    frame = pd.DataFrame({"record_id": ["1"], "kind": ["vehicle"], "plate": ["A1"], "race": ["x"]})
    with pytest.raises(ValueError, match="protected"):
        candidate_pairs(frame)
    with pytest.raises(MappingError, match="protected"):
        parse_person_mapping(
            '[source]\nname = "x"\nkind = "vehicle"\n[columns]\nrecord_id = "a"\nplate = "b"\nrace = "c"'
        )
    with pytest.raises(MappingError, match="plate and vin"):
        parse_person_mapping('[source]\nname = "x"\nkind = "vehicle"\n[columns]\nrecord_id = "a"\nmake = "b"')


def test_identifiers_typed_by_an_analyst_become_things() -> None:
    found = things_in_identifiers("SID 99; cell 314.555.0142; tag XYZ-789 (IL); snap: slim.j; VIN 1HGCM82633A004352")
    kinds = [(kind, match_key(kind, fields)) for kind, fields in found]
    assert kinds == [
        ("phone", "phone:+13145550142"),
        ("handle", "handle:snap:slim.j"),
        ("vehicle", "vin:1HGCM82633A004352"),
        ("vehicle", "plate:XYZ789@IL"),
    ]
    assert things_in_identifiers("DOB 1980-01-01, SSN withheld") == []


# --- the store ---------------------------------------------------------------------------------


def _import(core: OpenILP, actor: object, mapping: str, name: str, data: bytes) -> object:
    return import_persons(core, actor, ImportPersonsRequest(mapping, name, data))  # type: ignore[arg-type]


def _entity_of(engine: Engine, source_record_id: str) -> int | None:
    with session_scope(engine) as session:
        return session.scalar(select(EntityMention.entity_id).where(EntityMention.source_record_id == source_record_id))


def test_vehicle_file_import_resolve_review_and_stable_ids(engine: Engine, core: OpenILP, people: Cast) -> None:
    result = import_persons(core, people.analyst, ImportPersonsRequest(VEHICLES, "lpr.csv", VEHICLE_ROWS))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (8, 5, 3)
    assert [str(r) for r in result.rejections] == [
        "lpr.csv:7: plate: no plate or vin: a vehicle row needs one",
        "lpr.csv:8: vin: a VIN has 17 letters and digits (got 5)",
        "lpr.csv:9: seen_on: date 2099-01-01 is in the future",
    ]
    again = import_persons(core, people.analyst, ImportPersonsRequest(VEHICLES, "lpr.csv", VEHICLE_ROWS))
    assert (again.mentions_added, again.mentions_unchanged) == (0, 5)

    counts = resolve_things(core, people.analyst, ResolveThingsRequest(kinds=("vehicle",))).kinds["vehicle"]
    assert counts["mentions"] == 5 and counts["review"] == 1
    # r1 and r2 share plate and state (written differently); r2 and r3 the VIN: one vehicle.
    assert _entity_of(engine, "r1") == _entity_of(engine, "r2") == _entity_of(engine, "r3")
    assert _entity_of(engine, "r4") != _entity_of(engine, "r1")  # A8C123: a reader's B/8, for a person to judge
    queue = review_queue(core, people.analyst, ReviewQueueRequest())
    (pair,) = queue.pairs
    assert pair.explanation.rule == "plate_ocr" and "confuse" in str(pair.explanation.reason)

    first = {r: _entity_of(engine, r) for r in ("r1", "r4", "r5")}
    decided = decide_pair(core, people.analyst, DecideRequest(pair.pair_id, "match", "Same car on both cameras."))
    assert decided.effect == "merged" and _entity_of(engine, "r4") == first["r1"]
    # Resolving again, with a new read of a known plate, keeps every id.
    more = VEHICLE_ROWS + b"r9,ZZZ 999,il,,,,2024-02-09\n"
    import_persons(core, people.analyst, ImportPersonsRequest(VEHICLES, "lpr2.csv", more))
    again_counts = resolve_things(core, people.analyst, ResolveThingsRequest()).kinds["vehicle"]
    assert again_counts["created"] == 0 and again_counts["review"] == 0
    assert _entity_of(engine, "r9") == first["r5"] and _entity_of(engine, "r1") == first["r1"]

    hits = search_entities(core, people.officer, SearchEntitiesRequest(plate="A8C 123")).hits
    assert hits[0]["entity_id"] == first["r1"] and hits[0]["score"] == 1.0
    fuzzy = search_entities(core, people.officer, SearchEntitiesRequest(plate="ABCI23")).hits  # I read for 1
    assert [h["entity_id"] for h in fuzzy] == [first["r1"]] and fuzzy[0]["score"] == 0.9
    shown = show_entity(core, people.officer, ShowEntityRequest(first["r1"] or 0))
    assert {m.source_record_id for m in shown.mentions} == {"r1", "r2", "r3", "r4"}
    with pytest.raises(InvalidRequest, match="not both"):
        search_entities(core, people.officer, SearchEntitiesRequest(name="x", plate="y"))


def test_phones_and_handles_from_intelligence_subjects_follow_the_record(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    phones = '[source]\nname = "cdr"\nkind = "phone"\n[columns]\nrecord_id = "id"\nphone = "number"\n'
    import_persons(core, people.analyst, ImportPersonsRequest(phones, "cdr.csv", b"id,number\nc1,314 555 0142\n"))
    subjects = [
        SubjectInput("person", "criminal_subject", "Slim Jones", "cell (314) 555-0142; IG @slim_j"),
        SubjectInput("person", "non_criminal_identifier", "Mary Witness", "phone 314-555-0199"),
    ]
    approved = submit_record(
        core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, subjects=subjects))
    )
    approve_record(core, people.reviewer, ReviewRequest(approved.id, reason="Predicate checked against the file."))
    pending_subjects = [SubjectInput("person", "criminal_subject", "Pete Pending", "cell 314-555-0177")]
    submit_record(
        core,
        people.analyst,
        SubmitRecordRequest(submission(people.analyst.id, title="Second garage", subjects=pending_subjects)),
    )
    counts = resolve_things(core, people.analyst, ResolveThingsRequest()).kinds
    assert counts["phone"]["mentions"] == 3  # the file's, Slim's and Pete's; Mary's is never resolved
    assert _entity_of(engine, "c1") is not None

    def phone_hits(user: object, number: str) -> list[dict[str, object]]:
        return list(search_entities(core, user, SearchEntitiesRequest(phone=number)).hits)  # type: ignore[arg-type]

    # Every law-enforcement role sees the approved record's phone joined to the file's.
    for user in (people.analyst, people.reviewer, people.officer):
        (hit,) = phone_hits(user, "3145550142")
        sources = {m.source for m in show_entity(core, user, ShowEntityRequest(int(hit["entity_id"]))).mentions}
        assert sources == {"cdr", "intel"}
        assert phone_hits(user, "314-555-0177") == []  # a pending record's subject: nothing
        assert phone_hits(user, "314-555-0199") == []  # identifying information: never
    # Another agency nothing at all; auditors and partners may not search.
    assert phone_hits(people.other_analyst, "3145550142") == []
    for user in (people.auditor, people.partner):
        with pytest.raises(NotPermitted):
            phone_hits(user, "3145550142")
    handle = search_entities(core, people.analyst, SearchEntitiesRequest(handle="@SLIM_J")).hits
    assert [h["display_name"] for h in handle] == ["ig:slim_j"]
    # Purging the record erases the phones and handles its subjects named.
    with session_scope(engine) as session:
        record = session.get(IntelRecord, approved.id)
        assert record is not None
        purge_content(session, record, "purged", dt.datetime(2024, 3, 2, tzinfo=dt.UTC))
    with session_scope(engine) as session:
        left = session.scalars(
            select(EntityMention.display_name).where(EntityMention.intel_record_id == approved.id)
        ).all()
    assert left == []
    assert search_entities(core, people.analyst, SearchEntitiesRequest(handle="slim_j")).hits == ()
    (hit,) = phone_hits(people.analyst, "3145550142")
    assert {m.source for m in show_entity(core, people.analyst, ShowEntityRequest(int(hit["entity_id"]))).mentions} == {
        "cdr"
    }
    with pytest.raises(NotFound):
        show_entity(core, people.other_analyst, ShowEntityRequest(int(hit["entity_id"])))


@pytest.mark.realdata
def test_addresses_are_placed_on_the_agencys_own_blocks(engine: Engine, core: OpenILP) -> None:
    from store_support import import_source

    import_source(engine, "stlouis", [shared_file("stlouis", "monthly", "2019", "april2019.csv")])
    addresses = (
        '[source]\nname = "fi"\nkind = "address"\nparty_role = "suspect"\n[columns]\nrecord_id = "id"\n'
        'street_number = "no"\nstreet = "street"\nincident = "complaint"\n'
    )
    rows = b"id,no,street,complaint\na1,7930,Church Road,19-015802\na2,1,Nowhere Lane,\na3,5,Main St,19-999999\n"
    result = import_persons(core, None, ImportPersonsRequest(addresses, "fi.csv", rows, agency="SLMPD"))
    assert result.rows_accepted == 2 and [r.field for r in result.rejections] == ["incident"]
    with session_scope(engine) as session:
        placed = {
            m.source_record_id: m for m in session.scalars(select(EntityMention).where(EntityMention.source == "fi"))
        }
    church = placed["a1"]
    assert church.x_m is not None and church.y_m is not None and church.match_key == "address:7930 CHURCH RD"
    assert church.incident_id is not None and church.role == "suspect"
    assert placed["a2"].x_m is None  # no incident on that block: left unplaced, never guessed
