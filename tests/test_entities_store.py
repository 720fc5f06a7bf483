"""Entities in the store: the migration of intelligence subjects into mentions, subjects kept as
mentions, and the person-file import (idempotent, atomic per file, every rejection named)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from entities_support import FEBRL_MAPPING, febrl_path
from intel_support import T0, Cast, cast, make_core, submission
from sqlalchemy import Engine, func, select

from openilp.core import OpenILP
from openilp.db import migrate, session_scope
from openilp.db.engine import alembic_config
from openilp.db.entity_models import EntityImport, EntityMention
from openilp.db.models import AuditEntry, IntelSubject
from openilp.errors import InvalidRequest, NotPermitted
from openilp.services.entities import ImportPersonsRequest, import_persons
from openilp.services.intel.corrections import IdentifierUpdateRequest, update_identifiers
from openilp.services.intel.records import SubmitRecordRequest, submit_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

MAPPING = """
[source]
name = "arrests"
[columns]
record_id = "id"
first_name = "first"
surname = "last"
date_of_birth = "dob"
identifier = "state_id"
"""


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


def _mentions(engine: Engine, **where: object) -> list[EntityMention]:
    with session_scope(engine) as session:
        query = select(EntityMention).order_by(EntityMention.id)
        for key, value in where.items():
            query = query.where(getattr(EntityMention, key) == value)
        return list(session.scalars(query))


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- intelligence subjects ----------------------------------------------------------------------


def test_subjects_become_mentions_and_identifying_information_stays_unsearchable(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id)))
    mentions = _mentions(engine, intel_record_id=record.id)
    assert [(m.kind, m.role, m.searchable) for m in mentions] == [
        ("person", "criminal_subject", True),
        ("vehicle", "non_criminal_identifier", False),
    ]
    person = mentions[0]
    assert (person.first_name, person.surname, person.raw_identifiers) == ("Johnny", "Suspect", "DOB 1980-01-01")
    assert person.source == "intel" and person.agency_id == mentions[1].agency_id
    # A corrected identifier reaches the mention.
    update_identifiers(
        core,
        people.analyst,
        IdentifierUpdateRequest(record.id, person.intel_subject_id or 0, "DOB 1980-01-02", "Corrected date of birth"),
    )
    assert _mentions(engine, id=person.id)[0].raw_identifiers == "DOB 1980-01-02"


def test_migration_moves_every_existing_subject_into_a_mention(engine: Engine, core: OpenILP, people: Cast) -> None:
    for title in ("First record of the garage", "Second record of the garage"):
        submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, title=title)))
    before = {
        (m.intel_subject_id, m.kind, m.role, m.searchable, m.display_name, m.raw_identifiers, m.agency_id)
        for m in _mentions(engine)
    }
    # Back to the schema before entities (its tables dropped), then forward again: the data migration runs.
    command.downgrade(alembic_config(engine), "0009")
    migrate(engine)
    after = {
        (m.intel_subject_id, m.kind, m.role, m.searchable, m.display_name, m.raw_identifiers, m.agency_id)
        for m in _mentions(engine)
    }
    assert after == before and len(after) == _count(engine, IntelSubject) == 4
    assert sum(1 for row in after if not row[3]) == 2  # the two non-criminal identifiers: unsearchable


# --- person files -------------------------------------------------------------------------------


def _import(core: OpenILP, data: bytes, *, actor=None, mapping: str = MAPPING, name: str = "arrests.csv"):  # type: ignore[no-untyped-def]
    return import_persons(core, actor, ImportPersonsRequest(mapping_toml=mapping, file_name=name, data=data))


@pytest.mark.realdata
def test_febrl_import_reconciles_and_is_idempotent(engine: Engine, core: OpenILP, people: Cast) -> None:
    data = febrl_path(1).read_bytes()
    mapping = FEBRL_MAPPING.read_text()
    first = _import(core, data, mapping=mapping, name="dataset1.csv", actor=people.analyst)
    assert first.rows_read == 1000 == first.rows_accepted + first.rows_rejected
    assert first.mentions_added == first.rows_accepted
    # FEBRL's corrupted dates of birth that name no real day are rejected, each with its line and field.
    assert {r.field for r in first.rejections} <= {"date_of_birth", "first_name"}
    assert all(r.file == "dataset1.csv" and r.line >= 2 for r in first.rejections)
    assert any("19371233" in r.message for r in first.rejections)
    second = _import(core, data, mapping=mapping, name="dataset1.csv", actor=people.analyst)
    assert (second.mentions_added, second.mentions_updated, second.mentions_unchanged) == (0, 0, first.rows_accepted)
    assert len(_mentions(engine, source="febrl")) == first.rows_accepted
    one = _mentions(engine, source="febrl", source_record_id="rec-122-org")[0]
    assert (one.first_name, one.surname, one.date_of_birth, one.line_number) == (
        "lachlan",
        "berry",
        dt.date(1999, 2, 19),
        3,
    )


def test_bad_rows_are_rejected_one_by_one_and_nothing_else_is_written(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    huge = "x" * (10 * 1024 * 1024)
    lines = [
        b"id,first,last,dob,state_id",
        b"1,Ann,Lee,1990-01-02,S1",
        b"2,,,1990-01-02,S2",
        b"3,Bo,Wu,1900-02-30,S3",
        b"4,Cy,Ng,2099-01-01,S4",
        f"5,Di,{huge},1980-01-01,S5".encode(),
        b"6,Ed,M\xfcller,1980-01-01,S6",
        b",Fay,Ho,1980-01-01,S7",
        b"1,Ann,Lee,1990-01-02,S1",
        b"9,Gus,Ito,1980-13-01,S9",
    ]
    result = _import(core, b"\n".join(lines) + b"\n", actor=people.analyst)
    assert result.rows_read == 9 and result.rows_accepted == 1
    found = {(r.line, r.field) for r in result.rejections}
    assert found == {
        (3, "first_name"),
        (4, "date_of_birth"),
        (5, "date_of_birth"),
        (6, "surname"),
        (7, "surname"),
        (8, "record_id"),
        (9, "record_id"),
        (10, "date_of_birth"),
    }
    messages = {r.line: r.message for r in result.rejections}
    assert "not a real date: 1900-02-30" in messages[4]
    assert "in the future" in messages[5]
    assert "10,485,760 characters" in messages[6]
    assert "0xfc" in messages[7] and "encoding" in messages[7]
    assert "repeats an earlier row" in messages[9]
    assert [m.source_record_id for m in _mentions(engine, source="arrests")] == ["1"]


def test_a_file_without_a_mapped_column_is_refused_whole(engine: Engine, core: OpenILP, people: Cast) -> None:
    with pytest.raises(InvalidRequest, match="state_id"):
        _import(core, b"id,first,last,dob\n1,Ann,Lee,1990-01-02\n", actor=people.analyst)
    assert _mentions(engine, source="arrests") == [] and _count(engine, EntityImport) == 0
    with session_scope(engine) as session:
        refusal = session.scalars(select(AuditEntry).where(AuditEntry.action == "entities_import_refused")).one()
    assert refusal.object_id == "arrests.csv"


def test_import_needs_the_write_permission(engine: Engine, core: OpenILP, people: Cast) -> None:
    with pytest.raises(NotPermitted):
        _import(core, b"id,first,last,dob,state_id\n1,Ann,Lee,,\n", actor=people.officer)
    latin1 = MAPPING.replace('name = "arrests"', 'name = "arrests"\nencoding = "latin-1"')
    result = _import(core, b"id,first,last,dob,state_id\n1,Ann,M\xfcller,,\n", actor=people.analyst, mapping=latin1)
    assert result.rows_accepted == 1 and _mentions(engine, source="arrests")[0].surname == "Müller"
    assert T0.tzinfo is not None
