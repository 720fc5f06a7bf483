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

__all__ = ["ATTENTION_VALUES", "CATEGORIES_FILE", "category_attention", "load_category_definitions"]

CATEGORIES_FILE = Path(__file__).resolve().parent / "categories.toml"

#: How an incident came to police attention: reported by the public, discovered by police
#: (officer-initiated), or not known.
ATTENTION_VALUES = ("reported", "discovered", "unknown")


@cache
def load_category_definitions() -> dict[str, dict[str, object]]:
    """The category taxonomy from ``ingest/categories.toml``: code -> label, crime_group, ucr_part."""
    with CATEGORIES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return dict(data["categories"])


@cache
def category_attention() -> dict[str, tuple[str, str]]:
    """Each category's default route to police attention and the reason for it, from the taxonomy.

    Used when a source does not say how an incident came to attention (see ``[attention]`` in the
    source descriptions). Categories mostly found by police (drugs, weapons, prostitution) default
    to ``"discovered"``.

    >>> category_attention()["drugs"][0], category_attention()["burglary"][0]
    ('discovered', 'reported')
    """
    out: dict[str, tuple[str, str]] = {}
    for code, spec in load_category_definitions().items():
        attention = str(spec.get("attention", "unknown"))
        if attention not in ATTENTION_VALUES:
            raise ValueError(f"category {code}: attention must be one of {', '.join(ATTENTION_VALUES)}")
        out[code] = (attention, str(spec.get("attention_reason", "")))
    return out
