"""A corpus of bad import files, generated into a temporary folder (nothing big is committed).

Each :class:`BadInput` is one file and what the importer must make of it: refuse it whole (the
store unchanged), keep it whole, or keep its good rows and reject the others, naming the file,
line and field. The files use :data:`MAPPING`, a small source description written as TOML the way
an agency's analyst would write one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HEADER", "MAPPING", "BadInput", "bad_inputs", "good_row", "write_mapping"]

MAPPING = """\
[source]
name = "corpus"
files = "*.csv"

[agency]
code = "TST"
name = "Test Police"
timezone = "America/Chicago"
crs = "EPSG:26971"
extent = [-88.0, 41.6, -87.5, 42.1]

[record]
id = ["case"]
record_id = "case"

[occurred]
from = { column = "when", format = "%Y-%m-%d %H:%M" }
precision = "minute"

[location]
x = "lon"
y = "lat"
crs = "EPSG:4326"

[offence]
code = "code"
description = "description"

[offence.codes]
THEFT = "larceny"
BURG = "burglary_residential"

[fields]
block_address = "block"
"""

HEADER = "case,when,code,description,block,lon,lat"


def good_row(case: str, minute: int = 0, description: str = "theft from a shop", block: str = "100 MAIN ST") -> str:
    """One valid row of :data:`HEADER`."""
    return f"{case},2020-06-01 12:{minute:02d},THEFT,{description},{block},-87.63,41.88"


def write_mapping(folder: Path) -> Path:
    path = folder / "corpus.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


@dataclass(frozen=True)
class BadInput:
    """One bad file and the outcome the importer must reach, the same on every backend."""

    name: str
    content: bytes
    #: "refused" (ImportFailed, nothing written), "partial" (some rows rejected) or "accepted".
    outcome: str
    #: rows read, rejected, folded, created (for files that are not refused).
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    #: Text the refusal must contain, or (line, field, text) each rejected row's problem must show.
    refusal: str = ""
    problems: tuple[tuple[int, str, str], ...] = field(default_factory=tuple)
    #: Published text of stored fields that must come back exactly (description or block).
    stored: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"


def _text(lines: list[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def bad_inputs() -> list[BadInput]:
    """The corpus: what police exports that reach an importer really look like when they go wrong."""
    rng = random.Random(20240601)
    good = [good_row(f"A{i}", i) for i in range(1, 4)]
    injections = ("'; DROP TABLE incidents; --", "<script>alert('x')</script>", "=cmd|' /C calc'!A0")
    five_mb = "x" * (5 * 1024 * 1024)
    printable = bytes(b for b in range(0x20, 0x100) if b not in b",\x7f\x81\x8d\x8f\x90\x9d")
    return [
        BadInput(
            "zip_saved_as_csv",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(rng.randrange(256) for _ in range(4000)),
            "refused",
            refusal="binary file",
        ),
        BadInput("random_bytes", bytes(rng.randrange(256) for _ in range(20_000)), "refused", refusal="binary file"),
        BadInput(
            "garbage_first_line",
            bytes(rng.choice(printable) for _ in range(20_000)) + b"\n1,2\n",
            "refused",
            refusal="missing column(s)",
        ),
        BadInput("empty", b"", "refused", refusal="the file is empty"),
        BadInput(
            "nul_byte",
            _text([HEADER, good_row("A1", 1, "theft\x00 from a shop"), *good[1:]]),
            "partial",
            (3, 1, 0, 2),
            problems=((2, "(row)", "NUL byte at line 2, character 32"),),
        ),
        BadInput(
            "utf16_bom",
            _text([HEADER, *good], "utf-16"),
            "refused",
            refusal="UTF-16 encoded: save as UTF-8 (or declare the encoding)",
        ),
        BadInput(
            "utf16_no_bom",
            _text([HEADER, *good], "utf-16-le"),
            "refused",
            refusal="UTF-16 encoded: save as UTF-8 (or declare the encoding)",
        ),
        BadInput("wrong_columns", _text(["x,y,date_single", "1,2,01/01/2014"]), "refused", refusal="missing column(s)"),
        BadInput("header_only", _text([HEADER]), "accepted", (0, 0, 0, 0)),
        BadInput("duplicated_rows", _text([HEADER, good[0], good[0], good[0], good[1]]), "accepted", (4, 0, 2, 2)),
        BadInput(
            "injection",
            _text([HEADER, *(good_row(f"I{i}", i, text) for i, text in enumerate(injections))]),
            "accepted",
            (3, 0, 0, 3),
            stored=injections,
        ),
        BadInput(
            "five_mb_field",
            _text(
                [HEADER, *(good_row(f"A{i}", i) for i in range(1, 5)), good_row("A9", 9, five_mb)]
                + [good_row(f"A{i}", i) for i in range(5, 9)]
            ),
            "partial",
            (9, 1, 0, 8),
            problems=((6, "description", "at most 300 characters, the store's limit for offence_description"),),
        ),
        BadInput(
            "id_too_long",
            _text([HEADER, good[0], good_row("Z" * 250, 5), good[1]]),
            "partial",
            (3, 1, 0, 2),
            problems=((3, "case", "at most 200 characters"),),
        ),
        BadInput(
            "latin1_undeclared",
            _text([HEADER, good_row("L1", 1, "vol à l'étalage", "12 RUE DE LA GARE, ÉVRY")], "latin-1").replace(
                b"GARE, \xc9VRY", b"GARE \xc9VRY"
            ),
            "accepted",
            (1, 0, 0, 1),
            stored=("vol à l'étalage", "12 RUE DE LA GARE ÉVRY"),
        ),
        BadInput(
            "ragged_rows",
            _text([HEADER, good[0], "A2,2020-06-01 12:02,THEFT", good[2] + ",extra,fields", good_row("A4", 4)]),
            "partial",
            (4, 2, 0, 2),
            problems=((3, "(row)", "has 3 fields where the header has 7"), (4, "(row)", "has 9 fields")),
        ),
        BadInput(
            "impossible_dates",
            _text([HEADER, good[0], good[1].replace("2020-06-01", "2023-02-30"), good[2]]),
            "partial",
            (3, 1, 0, 2),
            problems=((3, "when", "a date/time in the format %Y-%m-%d %H:%M"),),
        ),
        BadInput(
            "coordinates_out_of_range",
            _text([HEADER, good[0].replace("-87.63", "500.0"), *good[1:]]),
            "partial",
            (3, 1, 0, 2),
            problems=((2, "lon", "a longitude in -180..180"),),
        ),
    ]
