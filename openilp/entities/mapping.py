"""Declarative TOML mappings for person files: which column holds which part of a person.

An arrest file, a field-interview export or a master name index each name their columns their own
way; a mapping tells OpenILP how to read one, without code. ``docs/examples/febrl.toml`` is the
worked example and ``docs/entities.md`` documents every key.

.. code-block:: toml

    [source]
    name = "febrl"              # the source name every mention keeps
    encoding = "utf-8"
    delimiter = ","
    skip_initial_space = false

    [columns]                   # person field = column of the file
    record_id = "rec_id"        # required: the file's own identifier of the row
    first_name = "given_name"
    surname = "surname"
    date_of_birth = "date_of_birth"

    [date_of_birth]
    formats = ["%Y%m%d"]        # strptime formats, tried in order

>>> mapping = parse_person_mapping('''
... [source]
... name = "arrests"
... [columns]
... record_id = "booking_no"
... first_name = "first"
... surname = "last"
... ''', origin="example")
>>> mapping.name, mapping.columns["surname"], mapping.date_formats
('arrests', 'last', ('%Y-%m-%d', '%m/%d/%Y'))
"""

from __future__ import annotations

import codecs
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openilp.entities.normalize import PERSON_COLUMNS, PROTECTED_COLUMNS

__all__ = [
    "MappingError",
    "PersonMapping",
    "parse_person_mapping",
    "load_person_mapping",
    "KIND_COLUMNS",
    "LINK_COLUMNS",
    "PARTY_ROLES",
]

DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")

#: The fields a mapping of each kind may read (``[source] kind``; default "person").
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "person": PERSON_COLUMNS,
    "vehicle": ("record_id", "plate", "plate_state", "vin", "make", "model", "colour"),
    "phone": ("record_id", "phone"),
    "handle": ("record_id", "handle"),
    "address": ("record_id", "street_number", "street", "locality", "postcode", "state"),
    "organisation": ("record_id", "organisation"),
}
#: Fields any mapping may add: the incident (complaint number) the row is a party to, the party's
#: role there, and the day the source recorded it.
LINK_COLUMNS = ("incident", "party_role", "seen_on")
#: A party's role on an incident; offenders, suspects and arrestees make co-offending links.
PARTY_ROLES = ("offender", "suspect", "arrestee", "victim", "witness", "other")
#: The fields of each kind of which a row must give at least one.
REQUIRED_ANY: dict[str, tuple[str, ...]] = {
    "person": ("first_name", "surname"),
    "vehicle": ("plate", "vin"),
    "phone": ("phone",),
    "handle": ("handle",),
    "address": ("street",),
    "organisation": ("organisation",),
}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class MappingError(ValueError):
    """A person mapping is invalid; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class PersonMapping:
    """How to read one kind of person file (see the module docstring for the TOML)."""

    name: str
    columns: dict[str, str]
    description: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    skip_initial_space: bool = False
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    #: Longest accepted value of one field (characters); a longer one rejects its row.
    max_field_chars: int = 1000
    extra: dict[str, Any] = field(default_factory=dict)
    #: What each row is: "person", "vehicle", "phone", "handle", "address" or "organisation".
    kind: str = "person"
    #: The party role of rows linked to an incident when the file has no ``party_role`` column.
    party_role: str = ""


def _table(data: dict[str, Any], key: str, origin: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(f"{origin}: [{key}] must be a table")
    return value


def parse_person_mapping(text: str, *, origin: str = "mapping") -> PersonMapping:
    """Parse and validate a person mapping; :class:`MappingError` names the key and the fix."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"{origin}: not valid TOML ({error})") from error
    unknown = sorted(set(data) - {"source", "columns", "date_of_birth"})
    if unknown:
        raise MappingError(f"{origin}: unknown table(s) {', '.join(unknown)}; use [source], [columns], [date_of_birth]")
    kind = _table(data, "source", origin).get("kind", "person")
    if kind not in KIND_COLUMNS:
        raise MappingError(f"{origin}: [source] kind must be one of {', '.join(KIND_COLUMNS)} (got {kind!r})")
    party_role = _table(data, "source", origin).get("party_role", "")
    if party_role not in ("", *PARTY_ROLES):
        raise MappingError(f"{origin}: [source] party_role must be one of {', '.join(PARTY_ROLES)}")
    known = (*KIND_COLUMNS[kind], *LINK_COLUMNS)
    source = _table(data, "source", origin)
    name = source.get("name")
    if not isinstance(name, str) or not name or not set(name) <= _NAME_CHARS:
        raise MappingError(f"{origin}: [source] name must be lower-case letters, digits, '_' or '-' (got {name!r})")
    encoding = source.get("encoding", "utf-8")
    try:
        codecs.lookup(str(encoding))
    except LookupError as error:
        raise MappingError(f"{origin}: [source] encoding {encoding!r} is unknown") from error
    delimiter = source.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingError(f"{origin}: [source] delimiter must be one character (got {delimiter!r})")
    max_chars = source.get("max_field_chars", 1000)
    if not isinstance(max_chars, int) or max_chars < 1:
        raise MappingError(f"{origin}: [source] max_field_chars must be a positive whole number")
    columns = _table(data, "columns", origin)
    bad_fields = sorted(set(columns) - set(known))
    protected = sorted(f for f in bad_fields if f.lower() in PROTECTED_COLUMNS)
    if protected:
        raise MappingError(
            f"{origin}: [columns] {', '.join(protected)}: protected attributes are never read into entity resolution"
        )
    if bad_fields:
        raise MappingError(
            f"{origin}: [columns] unknown {kind} field(s) {', '.join(bad_fields)}; known: {', '.join(known)}"
        )
    if "record_id" not in columns:
        raise MappingError(f"{origin}: [columns] record_id is required (the column that identifies a row)")
    if not (set(REQUIRED_ANY[kind]) & set(columns)):
        raise MappingError(f"{origin}: [columns] map at least one of {' and '.join(REQUIRED_ANY[kind])}")
    for key, column in columns.items():
        if not isinstance(column, str) or not column:
            raise MappingError(f"{origin}: [columns] {key} must name a column of the file")
    formats = _table(data, "date_of_birth", origin).get("formats", list(DEFAULT_DATE_FORMATS))
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) and "%" in f for f in formats):
        raise MappingError(f"{origin}: [date_of_birth] formats must be a list of strptime formats such as '%Y-%m-%d'")
    return PersonMapping(
        name=name,
        columns=dict(columns),
        description=str(source.get("description", "")),
        encoding=str(encoding),
        delimiter=delimiter,
        skip_initial_space=bool(source.get("skip_initial_space", False)),
        date_formats=tuple(formats),
        max_field_chars=max_chars,
        kind=kind,
        party_role=party_role,
    )


def load_person_mapping(path: str | Path) -> PersonMapping:
    """Read and validate the mapping file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(f"{path}: cannot read the mapping ({error})") from error
    return parse_person_mapping(text, origin=str(path.name))
