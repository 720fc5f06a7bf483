"""FEBRL person files as normalised person frames with their true entities (for the entity tests)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pandas as pd
from conftest import REPO_ROOT, shared_file
from sqlalchemy import Engine
from store_support import core_for
from web_support import IncidentSpec, seed_agency, seed_incidents, seed_user

from openilp.core import OpenILP
from openilp.entities import normalise_persons
from openilp.entities.mapping import load_person_mapping
from openilp.services.entities import ImportPersonsRequest, import_persons

FEBRL_MAPPING = REPO_ROOT / "docs" / "examples" / "febrl.toml"

#: Call records naming phones, each maybe a party (suspect) to an incident by its complaint number.
PHONES = """\
[source]
name = "cdr"
kind = "phone"
party_role = "suspect"
[columns]
record_id = "id"
phone = "number"
incident = "complaint"
seen_on = "day"
"""


def seed_phone_case(engine: Engine, core_dir: Path, users: dict[str, str], cdr_rows: bytes) -> OpenILP:
    """SLMPD with ``users`` (name -> role), burglary 24-000123 at 1200 MARKET ST on 5 January 2024,
    and call records ``cdr_rows`` (``id,number,complaint,day``) imported as phone mentions."""
    seed_agency(engine)
    for name, role in users.items():
        seed_user(engine, name, role)
    burglary = IncidentSpec(
        "burglary",
        dt.datetime(2024, 1, 5, 3, 0, tzinfo=dt.UTC),
        description="BURGLARY-RESIDENCE",
        address="1200 MARKET ST",
        extra={"source_record_id": "24-000123"},
    )
    seed_incidents(engine, "SLMPD", [burglary])
    core = core_for(engine, core_dir)
    import_persons(core, None, ImportPersonsRequest(PHONES, "cdr.csv", cdr_rows, agency="SLMPD"))
    return core


def febrl_path(number: int) -> Path:
    return shared_file("febrl", f"dataset{number}.csv")


@cache
def febrl_persons(number: int) -> tuple[pd.DataFrame, pd.Series]:
    """Dataset ``number`` (1-3) through ``docs/examples/febrl.toml``, and each row's true entity."""
    mapping = load_person_mapping(FEBRL_MAPPING)
    raw = pd.read_csv(febrl_path(number), dtype=str, skipinitialspace=True, keep_default_na=False)
    raw = raw.replace({"": None})
    frame = raw.rename(columns={column: field for field, column in mapping.columns.items()})
    persons = normalise_persons(frame, date_formats=mapping.date_formats)
    truth = raw["rec_id"].str.extract(r"^(rec-\d+)")[0]
    return persons, truth
