"""FEBRL person files as normalised person frames with their true entities (for the entity tests)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
from conftest import REPO_ROOT, shared_file

from openilp.entities import normalise_persons
from openilp.entities.mapping import load_person_mapping

FEBRL_MAPPING = REPO_ROOT / "docs" / "examples" / "febrl.toml"


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
