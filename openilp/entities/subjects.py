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

from openilp.entities.identifiers import things_in_identifiers
from openilp.entities.things import match_key, normalise_handle, normalise_phone

__all__ = ["SUBJECT_KIND_TO_ENTITY_KIND", "mention_fields_from_subject", "derived_mentions", "content_hash"]

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
    elif entity_kind == "vehicle":
        vehicles = [f for kind, f in things_in_identifiers(f"{identifiers} {name}") if kind == "vehicle"]
        fields.update({"plate": None, "plate_state": None, "vin": None})
        for found in vehicles:
            for part in ("plate", "plate_state", "vin"):
                fields[part] = fields[part] or found.get(part)
    if entity_kind != "person":
        key = match_key(entity_kind, fields)
        fields["match_key"] = key[:240] if key else None
    return fields


def derived_mentions(kind: str, role: str, display_name: str, identifiers: str) -> list[dict[str, Any]]:
    """Mentions of the phones, handles and vehicles written in a subject's identifiers.

    A vehicle subject's own plate or VIN stays on the subject's mention; everything else found
    becomes a mention of its own, with the subject's role (so a non-criminal identifier's phone is
    never searchable either).

    >>> [(m["kind"], m["display_name"], m["searchable"]) for m in derived_mentions(
    ...     "person", "criminal_subject", "Mike Jones", "cell 314-555-0142, IG @big_mike")]
    [('phone', '+13145550142', True), ('handle', 'ig:big_mike', True)]
    """
    entity_kind = SUBJECT_KIND_TO_ENTITY_KIND.get(kind, kind)
    out: list[dict[str, Any]] = []
    for found_kind, found in things_in_identifiers(identifiers):
        if found_kind == "vehicle" and entity_kind == "vehicle":
            continue
        fields: dict[str, Any] = {
            "kind": found_kind,
            "role": role,
            "searchable": role != "non_criminal_identifier",
            "phone": None,
            "handle": None,
            "plate": None,
            "plate_state": None,
            "vin": None,
            **found,
        }
        key = match_key(found_kind, fields)
        if key is None:
            continue
        fields["match_key"] = key[:240]
        if found_kind == "phone":
            fields["display_name"] = normalise_phone(fields["phone"]) or fields["phone"]
        elif found_kind == "handle":
            fields["display_name"] = normalise_handle(fields["handle"]) or fields["handle"]
        else:
            fields["display_name"] = key.split(":", 1)[1].replace("@", " ")
        fields["display_name"] = str(fields["display_name"])[:200]
        out.append(fields)
    return out
