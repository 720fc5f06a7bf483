"""Reading published CSV exports as they are: encodings, byte-order marks, gzip, renamed columns.

The result keeps every row's physical line number and the line exactly as published, so that
a rejected row can be named precisely and the raw record is kept without re-serialising it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from openilp.ingest.messages import excerpt
from openilp.ingest.spec import SourceSpec

__all__ = ["FileFormatError", "RawTable", "decode_bytes", "read_source_file", "find_source_files", "sniff_bytes"]

BOM = b"\xef\xbb\xbf"
#: Bytes looked at to tell a text export from a binary or UTF-16 file.
SNIFF_BYTES = 64 * 1024
#: Files that are not CSV text, by their first bytes (what users save under a ``.csv`` name).
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "gzip-compressed data (name it .csv.gz)"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
#: Control bytes that never occur in UTF-8 or cp1252 text (NUL, tab, line breaks and escape aside).
_BINARY_CONTROL = bytes(sorted(set(range(1, 32)) - {9, 10, 11, 12, 13, 27}))


class FileFormatError(ValueError):
    """A whole file cannot be read (missing, wrong format, undecodable, lacking columns)."""


@dataclass
class RawTable:
    """One file's rows as text, with provenance."""

    file_name: str
    sha256: str
    encoding: str
    header: str
    #: Rows as published: string columns named canonically (aliases applied).
    frame: pd.DataFrame
    #: 1-based physical line number of each row's first line.
    line_numbers: np.ndarray
    #: Each row's text exactly as published (without the line break).
    raw_lines: list[str]
    #: Rows the CSV parser could not split into the header's number of fields: (line, text, problem).
    malformed: list[tuple[int, str, str]]


def decode_bytes(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Decode ``data``; with ``"auto"`` strip a UTF-8 BOM and fall back from UTF-8 to cp1252.

    Returns the text and the name of the encoding used.

    >>> decode_bytes(b"\\xef\\xbb\\xbfCaf\\xc3\\xa9")
    ('Café', 'utf-8-sig')
    >>> decode_bytes(b"Caf\\xe9")
    ('Café', 'cp1252')
    """
    had_bom = data.startswith(BOM)
    if had_bom:
        data = data[len(BOM) :]
    if encoding != "auto":
        return data.decode(encoding), encoding
    try:
        return data.decode("utf-8"), "utf-8-sig" if had_bom else "utf-8"
    except UnicodeDecodeError:
        # cp1252 maps every byte but five; those are reported by the strict decode below.
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                f"the file is neither UTF-8 nor cp1252 (byte {exc.start}); name its encoding "
                "in the mapping's [source] encoding"
            ) from exc


def find_source_files(paths: list[Path], spec: SourceSpec) -> list[Path]:
    """Expand folders into the files matching the source's pattern; fail on anything missing."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            matches = sorted(p for p in path.rglob(spec.file_pattern) if p.is_file())
            if not matches:
                raise FileFormatError(f"{path}: no files matching {spec.file_pattern!r} in this folder")
            found.extend(matches)
        elif path.is_file():
            found.append(path)
        else:
            raise FileFormatError(f"{path}: no such file or folder")
    return found


def _rename_aliases(columns: list[str], spec: SourceSpec) -> dict[str, str]:
    reverse = {alias: canonical for canonical, aliases in spec.aliases.items() for alias in aliases}
    return {col: reverse[col] for col in columns if col in reverse and reverse[col] not in columns}


def read_source_file(path: Path, spec: SourceSpec) -> RawTable:
    """Read one export file of ``spec``'s source (``.csv`` or ``.csv.gz``)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read the file: {exc.strerror}") from exc
    sha256 = hashlib.sha256(data).hexdigest()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise FileFormatError(f"{path}: not a valid gzip file ({exc})") from exc
    sniff_bytes(data, path, spec.encoding)
    try:
        text, encoding = decode_bytes(data, spec.encoding)
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{path}: cannot decode as {spec.encoding}: {exc}") from exc
    except FileFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from exc
    if not text.strip():
        raise FileFormatError(f"{path}: the file is empty")

    lines = text.splitlines()
    header = lines[0]
    if "\x00" in header:
        raise FileFormatError(f"{path}: {_nul_problem(header, 1)} (in the header)")
    frame, line_numbers, raw_lines, malformed = _parse(text, lines, spec.delimiter, path)
    if "\x00" in text:
        frame, line_numbers, raw_lines, malformed = _reject_nul_rows(frame, line_numbers, raw_lines, malformed)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.rename(columns=_rename_aliases(list(frame.columns), spec))
    missing = [c for c in spec.required_columns() if c not in frame.columns]
    if missing:
        hints = []
        for col in missing:
            alts = spec.aliases.get(col, ())
            hints.append(f"{col!r}" + (f" (also accepted: {', '.join(map(repr, alts))})" if alts else ""))
        found = excerpt(", ".join(excerpt(str(c), 40) for c in frame.columns[:30]))
        raise FileFormatError(
            f"{path}: missing column(s) {excerpt(', '.join(hints), 400)} required by source {spec.name!r}; "
            f"the header has: {found}. Is this the right source or mapping?"
        )
    return RawTable(
        file_name=path.name,
        sha256=sha256,
        encoding=encoding,
        header=header,
        frame=frame,
        line_numbers=line_numbers,
        raw_lines=raw_lines,
        malformed=malformed,
    )


def _parse(
    text: str, lines: list[str], delimiter: str, path: Path
) -> tuple[pd.DataFrame, np.ndarray, list[str], list[tuple[int, str, str]]]:
    """Fast path: Arrow's CSV reader (or pandas' C parser) when every record is one physical line;
    else the csv module, which reports each malformed row."""
    frame = _parse_with_arrow(text, lines[0], delimiter)
    if frame is None:
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                sep=delimiter,
                skip_blank_lines=False,
                engine="c",
            )
        except pd.errors.ParserError:
            frame = None
        except pd.errors.EmptyDataError as exc:
            raise FileFormatError(f"{path}: the file has no header row") from exc
    if frame is not None and len(frame) == len(lines) - 1 and _all_rows_complete(lines[1:], delimiter, frame.shape[1]):
        return frame, np.arange(2, len(lines) + 1), lines[1:], []
    return _parse_with_csv_module(text, delimiter, path)


def _parse_with_arrow(text: str, header: str, delimiter: str) -> pd.DataFrame | None:
    """Every field as text with pyarrow's CSV reader (about twice as fast as pandas' C parser); None
    when it cannot read the file as one record per line or the header has repeated or empty names
    (then the caller falls back)."""
    names = next(csv.reader([header], delimiter=delimiter), [])
    if not names or len(set(names)) != len(names) or any(not name.strip() for name in names):
        return None
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if table.column_names != names:
        return None
    frame: pd.DataFrame = table.to_pandas()
    return frame


#: A quoted field within one line (quotes are removed before delimiters are counted).
_QUOTED_FIELD = re.compile(r'"[^"\n]*"')


def _all_rows_complete(rows: list[str], delimiter: str, width: int) -> bool:
    """True when every line has exactly ``width`` fields (pandas silently pads short rows).

    Delimiters inside quoted fields are not counted. Vectorised: the lines are joined, quoted
    fields removed with one regular-expression pass, and the delimiters of each line counted with
    numpy (a Python loop over 250,000 lines took most of the parse time).

    >>> _all_rows_complete(['1,"a,b",3', "4,5,6"], ",", 3), _all_rows_complete(["1,2,3", "4,5"], ",", 3)
    (True, False)
    """
    if not rows:
        return True
    body = "\n".join(rows)
    if '"' in body:
        body = _QUOTED_FIELD.sub("", body)
    if len(delimiter) != 1 or ord(delimiter) > 127:
        counts = np.array([line.count(delimiter) for line in body.split("\n")], dtype=np.int64)
        return bool((counts == width - 1).all())
    data = np.frombuffer(body.encode("utf-8"), dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    line_of_delimiter = np.searchsorted(newlines, np.flatnonzero(data == ord(delimiter)))
    counts = np.bincount(line_of_delimiter, minlength=len(rows))
    return len(counts) == len(rows) and bool((counts == width - 1).all())


def _parse_with_csv_module(
    text: str, delimiter: str, path: Path
) -> tuple[pd.DataFrame, np.ndarray, list[str], list[tuple[int, str, str]]]:
    """Slow, exact path: tracks multi-line quoted fields, blank lines and ragged rows."""
    physical = text.splitlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise FileFormatError(f"{path}: the file has no header row") from exc
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    raws: list[str] = []
    malformed: list[tuple[int, str, str]] = []
    start = reader.line_num + 1
    try:
        for record in reader:
            end = reader.line_num
            raw = "\n".join(physical[start - 1 : end])
            if not record or all(not field.strip() for field in record):
                pass  # blank line: nothing to import
            elif len(record) != width:
                malformed.append((start, raw, f"has {len(record)} fields where the header has {width}"))
            else:
                rows.append(record)
                numbers.append(start)
                raws.append(raw)
            start = end + 1
    except csv.Error as exc:
        raise FileFormatError(f"{path}, line {reader.line_num}: cannot parse CSV: {excerpt(str(exc))}") from exc
    frame = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame(columns=header, dtype=str)
    return frame, np.asarray(numbers, dtype=np.int64), raws, malformed


def sniff_bytes(data: bytes, path: Path, encoding: str = "auto") -> None:
    """Refuse a file that is not CSV text, saying what it is and what to do.

    Looks at the first :data:`SNIFF_BYTES`: a known binary signature (zip/xlsx, xls, PDF, gzip,
    SQLite), UTF-16/UTF-32 text (by its byte-order mark, or by every other byte being NUL), or
    control bytes that text never has. A few stray NUL bytes in text are not a binary file: the
    rows holding them are rejected one by one (see :func:`read_source_file`). A declared UTF-16 or
    UTF-32 ``encoding`` skips the checks that such text would fail.
    """
    sample = data[:SNIFF_BYTES]
    wide_declared = encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32"))
    for signature, what in _SIGNATURES:
        if sample.startswith(signature):
            raise FileFormatError(
                f"{path}: this is a binary file, not a CSV export: {what}; unpack it or save it as CSV first"
            )
    if wide_declared:
        return
    wide = _wide_encoding(sample)
    if wide:
        raise FileFormatError(
            f"{path}: {wide} encoded: save as UTF-8 (or declare the encoding): "
            f'encoding = "{wide.lower()}" in the mapping\'s [source] table'
        )
    control = len(sample) - len(sample.translate(None, _BINARY_CONTROL))
    nul = sample.count(0)
    if control > max(4, len(sample) // 100) or nul > max(16, len(sample) // 10):
        raise FileFormatError(
            f"{path}: this is a binary file, not a CSV export ({control + nul:,} control bytes in its first "
            f"{len(sample):,}); export the data as CSV text"
        )


def _wide_encoding(sample: bytes) -> str | None:
    """The name of the encoding ("UTF-16" or "UTF-32") when ``sample`` looks like such text, else None.

    >>> _wide_encoding("a,b\\n".encode("utf-16")), _wide_encoding("a,b\\n".encode("utf-16-le"))
    ('UTF-16', 'UTF-16')
    >>> _wide_encoding(b"a,b\\n1,2\\n") is None
    True
    """
    if sample.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    share_even, share_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if max(share_even, share_odd) > 0.4 and min(share_even, share_odd) < 0.1:
        return "UTF-16"
    return None


def _nul_problem(record: str, first_line: int) -> str:
    """Where the first NUL byte of ``record`` (starting at physical line ``first_line``) is."""
    at = record.index("\x00")
    line_start = record.rfind("\n", 0, at) + 1
    line = first_line + record.count("\n", 0, at)
    return (
        f"NUL byte at line {line}, character {at - line_start + 1}: the export is corrupt there; "
        "remove the byte or export the file again"
    )


def _reject_nul_rows(
    frame: pd.DataFrame, line_numbers: np.ndarray, raw_lines: list[str], malformed: list[tuple[int, str, str]]
) -> tuple[pd.DataFrame, np.ndarray, list[str], list[tuple[int, str, str]]]:
    """Move the rows holding a NUL byte to the malformed rows (no database stores NUL in text:
    PostgreSQL refuses it, SQLite would keep it, so both reject the row here)."""
    has_nul = pd.Series(raw_lines, dtype=object).str.contains("\x00", regex=False).to_numpy(dtype=bool)
    malformed = [(line, raw, _nul_problem(raw, line) if "\x00" in raw else problem) for line, raw, problem in malformed]
    if not has_nul.any():
        return frame, line_numbers, raw_lines, malformed
    for index in np.flatnonzero(has_nul).tolist():
        line = int(line_numbers[index])
        malformed.append((line, raw_lines[index], _nul_problem(raw_lines[index], line)))
    malformed.sort(key=lambda item: item[0])
    keep = ~has_nul
    kept_lines = [raw for raw, nul in zip(raw_lines, has_nul.tolist(), strict=True) if not nul]
    return frame.loc[keep].reset_index(drop=True), line_numbers[keep], kept_lines, malformed
