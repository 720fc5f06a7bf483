"""The offence taxonomy: common categories every source maps its codes onto (``categories.toml``).

Pure data loading, no database: the importer checks a source's mapping against it, and the store
synchronises its ``offence_categories`` table from it on every migration
(:func:`openilp.db.reference_data.sync_offence_categories`).

>>> definitions = load_category_definitions()
>>> definitions["burglary"]["crime_group"]
'property'
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

__all__ = ["CATEGORIES_FILE", "load_category_definitions"]

CATEGORIES_FILE = Path(__file__).resolve().parent / "categories.toml"


@cache
def load_category_definitions() -> dict[str, dict[str, object]]:
    """The category taxonomy from ``ingest/categories.toml``: code -> label, crime_group, ucr_part."""
    with CATEGORIES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return dict(data["categories"])
