"""Intelligence subjects as mentions: the fields an ``IntelSubject`` gives, split for matching.

A subject is free text (``display_name`` and ``identifiers``). For a person the last word of the
name is taken as the surname and the rest as the given names; a location becomes an address; the
identifiers are kept as written. ``non_criminal_identifier`` subjects become mentions that are
never searchable (28 CFR Part 23: identifying information only, never a subject).

>>> fields = mention_fields_from_subject("person", "criminal_subject", "John  Paul Smith", "DL S123")
>>> fields["kind"], fields["first_name"], fields["middle_name"], fields["surname"], fields["searchable"]
('person', 'John', 'Paul', 'Smith', True)
>>> mention_fields_from_subject("location", "non_criminal_identifier", "12 High St", "")["searchable"]
False
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["SUBJECT_KIND_TO_ENTITY_KIND", "mention_fields_from_subject", "content_hash"]

#: Intelligence subject kinds -> entity kinds.
SUBJECT_KIND_TO_ENTITY_KIND = {
    "person": "person",
    "organisation": "organisation",
    "vehicle": "vehicle",
    "location": "address",
}


def content_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of a mention's fields (sorted keys; None as empty), to tell a changed row from an unchanged one."""
    text = "\x1f".join(f"{key}={'' if fields[key] is None else fields[key]}" for key in sorted(fields))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mention_fields_from_subject(kind: str, role: str, display_name: str, identifiers: str) -> dict[str, Any]:
    """The mention columns of one intelligence subject (without provenance)."""
    entity_kind = SUBJECT_KIND_TO_ENTITY_KIND.get(kind, kind)
    name = " ".join(display_name.split())
    fields: dict[str, Any] = {
        "kind": entity_kind,
        "role": role,
        "searchable": role != "non_criminal_identifier",
        "display_name": name[:200],
        "raw_identifiers": identifiers[:200],
        "first_name": None,
        "middle_name": None,
        "surname": None,
        "street": None,
        "organisation": None,
    }
    if entity_kind == "person":
        words = name.split(" ")
        if len(words) == 1:
            fields["surname"] = words[0][:100] or None
        else:
            fields["first_name"] = words[0][:100]
            fields["middle_name"] = " ".join(words[1:-1])[:100] or None
            fields["surname"] = words[-1][:100]
    elif entity_kind == "address":
        fields["street"] = name[:200] or None
    elif entity_kind == "organisation":
        fields["organisation"] = name[:200] or None
    return fields
