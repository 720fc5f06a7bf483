"""Reading a person (or vehicle, phone, handle, address, organisation) file through its mapping.

Accepted rows, and a rejection for every bad row.

The same guarantees as the incident import: every row read is either accepted or rejected with
the file, the line and the field named, so ``read = accepted + rejected`` always holds. A row is
rejected when

* its record id is empty, or repeats an earlier row of the file;
* it has neither a first name nor a surname (a person), neither a plate nor a VIN (a vehicle), no
  phone number of 7 to 15 digits, no handle, no street, no organisation name; a VIN is not 17
  characters long;
* its ``party_role`` is not a known role, or its ``seen_on`` date is not a real day or in the future;
* its date of birth is no real date (``1900-02-30``), lies in the future, or before 1880;
* a field is longer than the mapping's ``max_field_chars`` (a 10 MB cell);
* it holds bytes that are not text in the mapping's encoding.

A file whose header lacks a mapped column is refused whole (:class:`PersonFileError`), before any
row is read.

>>> from openilp.entities.mapping import parse_person_mapping
>>> mapping = parse_person_mapping('''
... [source]
... name = "arrests"
... [columns]
... record_id = "id"
... first_name = "first"
... surname = "last"
... date_of_birth = "dob"
... ''')
>>> data = b"id,first,last,dob\\n1,Ann,Lee,1990-01-02\\n2,,,1990-01-02\\n3,Bo,Wu,1900-02-30\\n"
>>> result = read_person_file(data, mapping, file_name="arrests.csv", today=dt.date(2024, 1, 1))
>>> len(result.rows)
1
>>> for rejection in result.rejections:
...     print(rejection)
arrests.csv:3: first_name: no name: first name and surname are both empty
arrests.csv:4: date_of_birth: not a real date: 1900-02-30
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import pandas as pd

from openilp.entities.mapping import KIND_COLUMNS, LINK_COLUMNS, PARTY_ROLES, REQUIRED_ANY, PersonMapping
from openilp.entities.normalize import parse_date_of_birth
from openilp.entities.things import normalise_phone, normalise_vin

__all__ = ["Rejection", "PersonFile", "PersonFileError", "read_person_file", "EARLIEST_BIRTH"]

#: Dates of birth before this are refused as implausible.
EARLIEST_BIRTH = dt.date(1880, 1, 1)
#: The csv module's own cap on a cell; larger cells are read, then rejected by ``max_field_chars``.
_CSV_FIELD_LIMIT = 256 * 1024 * 1024


class PersonFileError(ValueError):
    """The file as a whole cannot be read with this mapping (a missing column, not a CSV)."""


@dataclass(frozen=True)
class Rejection:
    file: str
    #: Line number in the file (the header is line 1).
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


@dataclass(frozen=True)
class PersonFile:
    """What :func:`read_person_file` found: accepted rows (``PERSON_COLUMNS`` + ``line``) and rejections."""

    file_name: str
    sha256: str
    rows: pd.DataFrame
    rejections: tuple[Rejection, ...]

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.rejections)


def _bad_bytes(text: str) -> str | None:
    """The first undecodable byte of ``text`` (decoded with surrogateescape), as ``0x..``."""
    for char in text:
        if "\udc80" <= char <= "\udcff":
            return f"0x{ord(char) - 0xDC00:02x}"
    return None


def _thing_problem(kind: str, values: dict[str, str | None]) -> tuple[str, str] | None:
    """The field and reason a vehicle or phone row is unusable, or None."""
    if kind == "phone" and normalise_phone(values.get("phone")) is None:
        return "phone", "not a phone number (7 to 15 digits)"
    if kind == "vehicle" and values.get("vin"):
        vin = normalise_vin(values.get("vin")) or ""
        if len(vin) != 17:
            return "vin", f"a VIN has 17 letters and digits (got {len(vin)})"
    return None


def read_person_file(data: bytes, mapping: PersonMapping, *, file_name: str, today: dt.date) -> PersonFile:
    """Read the bytes of a person file with ``mapping``; ``today`` bounds the dates of birth."""
    digest = hashlib.sha256(data).hexdigest()
    encoding = "utf-8-sig" if mapping.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else mapping.encoding
    text = data.decode(encoding, errors="surrogateescape")
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=mapping.delimiter, skipinitialspace=mapping.skip_initial_space
    )
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise PersonFileError(f"{file_name}: the file is empty (no header line)") from None
    except csv.Error as error:
        raise PersonFileError(f"{file_name}: not a CSV file ({error})") from error
    missing = sorted({column for column in mapping.columns.values() if column not in header})
    if missing:
        raise PersonFileError(
            f"{file_name}: column(s) {', '.join(missing)} named in the mapping are not in the header "
            f"({', '.join(header[:20])})"
        )
    position = {field: header.index(column) for field, column in mapping.columns.items()}
    columns = (*KIND_COLUMNS[mapping.kind], *LINK_COLUMNS)
    rows: list[dict[str, object]] = []
    rejections: list[Rejection] = []
    seen: set[str] = set()
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            line = reader.line_num
            rejections.append(Rejection(file_name, start, "(row)", f"not a CSV row: {error}"))
            continue
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue  # a blank line is no row

        def reject(field: str, message: str, row_line: int = start) -> None:
            rejections.append(Rejection(file_name, row_line, field, message))

        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        values: dict[str, str | None] = {}
        problem = False
        for field, index in position.items():
            value = cells[index].strip()
            if len(value) > mapping.max_field_chars:
                reject(field, f"value of {len(value):,} characters (at most {mapping.max_field_chars:,})")
                problem = True
                break
            bad = _bad_bytes(value)
            if bad is not None:
                reject(field, f"byte {bad} is not {mapping.encoding} text: check the file's encoding")
                problem = True
                break
            values[field] = value or None
        if problem:
            continue
        record_id = values.get("record_id")
        if not record_id:
            reject("record_id", "empty record id")
            continue
        if record_id in seen:
            reject("record_id", f"record id {record_id} repeats an earlier row of the file")
            continue
        required = REQUIRED_ANY[mapping.kind]
        if not any(values.get(f) for f in required):
            if mapping.kind == "person":
                reject("first_name", "no name: first name and surname are both empty")
            else:
                reject(required[0], f"no {' or '.join(required)}: a {mapping.kind} row needs one")
            continue
        thing_problem = _thing_problem(mapping.kind, values)
        if thing_problem is not None:
            reject(*thing_problem)
            continue
        role = (values.get("party_role") or mapping.party_role or "").lower() or None
        if role is not None and role not in PARTY_ROLES:
            reject("party_role", f"unknown party role {role[:40]!r}: one of {', '.join(PARTY_ROLES)}")
            continue
        seen_on, why = parse_date_of_birth(values.get("seen_on"), mapping.date_formats)
        if why:
            reject("seen_on", why)
            continue
        if seen_on is not None and seen_on > today:
            reject("seen_on", f"date {seen_on.isoformat()} is in the future")
            continue
        born, why = parse_date_of_birth(values.get("date_of_birth"), mapping.date_formats)
        if why:
            reject("date_of_birth", why)
            continue
        if born is not None and born > today:
            reject("date_of_birth", f"date of birth {born.isoformat()} is in the future")
            continue
        if born is not None and born < EARLIEST_BIRTH:
            reject("date_of_birth", f"date of birth {born.isoformat()} is before {EARLIEST_BIRTH.isoformat()}")
            continue
        seen.add(record_id)
        row: dict[str, object] = {column: values.get(column) for column in columns}
        if mapping.kind == "person":
            row["date_of_birth"] = born
        row["party_role"] = role
        row["seen_on"] = seen_on
        row["line"] = start
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*columns, "line"]).astype(object)
    return PersonFile(file_name, digest, frame.where(frame.notna(), None), tuple(rejections))
