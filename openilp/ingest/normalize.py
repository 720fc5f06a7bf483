"""Turning a source file's rows into normalised incident rows, vectorised.

Pure functions over data frames: no database. A row that cannot be read is rejected with a
:class:`RowProblem` naming the line, field, value and what was expected; nothing is guessed.
Offence codes that the source's mapping does not know are kept without a category and
reported, so that the mapping can be completed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj

from openilp.ingest.categories import category_attention
from openilp.ingest.messages import ECHO_LIMIT, excerpt
from openilp.ingest.reading import RawTable
from openilp.ingest.spec import DateField, SourceSpec

__all__ = ["RowProblem", "NormalizedBatch", "normalize", "prepare", "INCIDENT_COLUMNS", "HASHED_COLUMNS"]

#: Columns of the normalised frame, in the order the writers use.
INCIDENT_COLUMNS = [
    "source_key",
    "source_record_id",
    "offence_code",
    "offence_description",
    "category_code",
    "occurred_from",
    "occurred_to",
    "time_precision",
    "reported_at",
    "lon",
    "lat",
    "x_m",
    "y_m",
    "location_status",
    "block_address",
    "district",
    "beat",
    "neighbourhood",
    "flag_unfounded",
    "flag_administrative",
    "source_updated_at",
    "attention",
    "patrol_propensity",
    "source_line",
    "content_hash",
    "raw",
]
#: The fields whose change makes a re-imported record "updated" rather than "unchanged" (how it came
#: to attention follows from the source's mapping and category, not from the record's content).
HASHED_COLUMNS = INCIDENT_COLUMNS[1:21]

_PERIOD = {"hour": pd.DateOffset(hours=1), "day": pd.DateOffset(days=1), "month": pd.DateOffset(months=1)}


@dataclass(frozen=True)
class RowProblem:
    """Why one row was rejected."""

    file_name: str
    line: int
    field: str
    value: str
    expected: str

    def __post_init__(self) -> None:
        if len(self.value) > ECHO_LIMIT:  # a 5 MB field is quoted as an excerpt
            object.__setattr__(self, "value", excerpt(self.value))

    def __str__(self) -> str:
        return f"{self.file_name}, line {self.line}: field {self.field} = {self.value!r}: {self.expected}"


@dataclass
class NormalizedBatch:
    """The accepted rows of one file, normalised, plus what was rejected and what was noticed."""

    frame: pd.DataFrame
    #: +1/-1 per accepted row (all +1 for sources without reversals).
    count_delta: np.ndarray
    rows_read: int
    problems: list[RowProblem] = field(default_factory=list)
    #: Offence code -> number of rows whose code the mapping does not know.
    unknown_codes: Counter[str] = field(default_factory=Counter)
    #: Rows located outside the agency's extent (kept, status "outside").
    outside_extent: int = 0
    #: The rows folded per record, attached by the importer in the worker that normalised them.
    folded: Any = None


class _Rejections:
    """Collects the first problem of each row."""

    def __init__(self, raw: RawTable) -> None:
        self.raw = raw
        self.rejected = np.zeros(len(raw.frame), dtype=bool)
        self.problems: list[RowProblem] = []

    def add(
        self,
        mask: np.ndarray | pd.Series,
        field_name: str,
        values: pd.Series,
        expected: str | Callable[[int], str],
    ) -> None:
        """Reject the rows of ``mask`` not rejected yet; ``expected`` may depend on the row's position."""
        mask = np.asarray(mask, dtype=bool) & ~self.rejected
        if not mask.any():
            return
        for index in np.flatnonzero(mask).tolist():
            value = excerpt(str(values.iloc[index]))
            said = expected if isinstance(expected, str) else expected(index)
            self.problems.append(
                RowProblem(self.raw.file_name, int(self.raw.line_numbers[index]), field_name, value, said)
            )
        self.rejected |= mask


def _to_float(text: pd.Series) -> np.ndarray:
    """``pd.to_numeric(text, errors="coerce")`` as float64, NaN where not a number.

    Arrow casts the column in C (about twenty times faster) when every non-empty value is a number;
    otherwise pandas decides, so that the result is the same either way.
    """
    try:
        values = pa.array(text.array) if _arrow_backed(text) else pa.array(text, type=pa.string(), from_pandas=True)
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
        numbers: np.ndarray = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
        return numbers
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


def _arrow_backed(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow"


def _clean(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip()


def _parse_datetime(frame: pd.DataFrame, date: DateField, label: str, rej: _Rejections, required: bool) -> pd.Series:
    """Parse a local date/time column (or parts columns) to naive local datetimes; reject bad values."""
    if date.parts:
        parts = {key: pd.to_numeric(_clean(frame[col]), errors="coerce") for key, col in date.parts.items()}
        values = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
        text = _clean(frame[date.parts["year"]])
        for key, col in date.parts.items():
            if key != "year":
                text = text + "-" + _clean(frame[col])
        empty = pd.concat([_clean(frame[c]) == "" for c in date.parts.values()], axis=1).any(axis=1)
        expected = "a valid date from columns " + ", ".join(date.parts.values())
        column_name = "+".join(date.parts.values())
    else:
        assert date.column is not None
        text = _clean(frame[date.column])
        empty = text == ""
        values = pd.to_datetime(text.where(~empty), format=date.format, errors="coerce")
        expected = f"a date/time in the format {date.format}" if date.format else "a date/time (ISO 8601)"
        column_name = date.column
    bad = values.isna() & ~empty
    rej.add(bad.to_numpy(), column_name, text, expected)
    if required:
        rej.add(empty.to_numpy(), column_name, text, f"{label} is required: {expected}")
    return values


def _to_utc(local: pd.Series, timezone: str) -> pd.Series:
    """Local wall-clock times -> naive UTC. Ambiguous times (DST fall-back) take the first occurrence;
    times that do not exist (spring-forward gap) move forward to the first valid time."""
    if local.empty:
        return local.astype("datetime64[ns]")
    localized = local.dt.tz_localize(timezone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward")
    return localized.dt.tz_convert("UTC").dt.tz_localize(None)


#: Runs of two or more blanks (a character class that pyarrow's regex engine runs in C; pandas
#: falls back to Python's ``re`` one value at a time for ``\s``).
_WHITESPACE_RUN = "[ \t\n\r\f\v\xa0]{2,}"


_FLOAT_WRITTEN_CODE = re.compile(r"^(-?\d+)\.0+$")


def whole_number_codes(values: pd.Series) -> pd.Series:
    """Beat and district codes written as floats by a spreadsheet or data frame export (``832.0``)
    as the codes the agency uses (``832``); other codes (``1A``, ``0832``) are kept as they are.

    >>> whole_number_codes(pd.Series(["832.0", "1A", None, "0832", "12.50"], dtype=object)).tolist()
    ['832', '1A', None, '0832', '12.50']
    """
    codes = [_FLOAT_WRITTEN_CODE.sub(r"\1", v) if isinstance(v, str) else v for v in values.tolist()]
    return pd.Series(codes, index=values.index, dtype=object)


def _text_field(frame: pd.DataFrame, columns: tuple[str, ...], empty_values: tuple[str, ...] = ()) -> pd.Series:
    """The columns' values joined by single spaces; ``empty_values`` count as empty; "" -> None."""
    present = [c for c in columns if c in frame.columns]
    if not present:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)

    def cleaned(col: str) -> pd.Series:
        values = _clean(frame[col])
        return values.where(~values.isin(empty_values), "") if empty_values else values

    joined = cleaned(present[0])
    for col in present[1:]:
        joined = joined + " " + cleaned(col)
    if len(present) > 1:
        joined = joined.str.strip().str.replace(_WHITESPACE_RUN, " ", regex=True)
    return joined.where(joined != "", None).astype(object)


def _categories(codes: pd.Series, spec: SourceSpec) -> pd.Series:
    exact = codes.map(spec.offence.codes) if spec.offence.codes else pd.Series(None, index=codes.index)
    if spec.offence.ranges:
        lows = np.array([r[0] for r in spec.offence.ranges], dtype=np.int64)
        highs = np.array([r[1] for r in spec.offence.ranges], dtype=np.int64)
        names = np.array([r[2] for r in spec.offence.ranges], dtype=object)
        numeric = _to_float(codes)
        finite = np.isfinite(numeric)
        slot = np.searchsorted(lows, np.where(finite, numeric, -1), side="right") - 1
        inside = finite & (slot >= 0) & (numeric <= highs[np.clip(slot, 0, None)])
        matched = names[np.clip(slot, 0, None)].copy()
        matched[~inside] = None
        by_range = pd.Series(matched, index=codes.index, dtype=object)
        exact = exact.where(exact.notna(), by_range)
    return exact.astype(object).where(exact.notna(), None)


@lru_cache(maxsize=64)
def _transformer(source_crs: str, target_crs: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source_crs, target_crs, always_xy=True)


def prepare(spec: SourceSpec) -> None:
    """Build what normalising ``spec``'s rows needs once (coordinate transformers take ~0.1 s
    each), so that worker processes forked afterwards inherit it instead of each building it."""
    if spec.location is not None and not pyproj.CRS.from_user_input(spec.location.crs).is_geographic:
        _transformer(spec.location.crs, "EPSG:4326")
    if spec.location is not None:
        _transformer("EPSG:4326", spec.agency.crs)


def _locations(frame: pd.DataFrame, spec: SourceSpec, rej: _Rejections) -> tuple[pd.DataFrame, int]:
    n = len(frame)
    out = pd.DataFrame(
        {
            "lon": np.full(n, np.nan),
            "lat": np.full(n, np.nan),
            "x_m": np.full(n, np.nan),
            "y_m": np.full(n, np.nan),
            "location_status": np.full(n, "missing", dtype=object),
        },
        index=frame.index,
    )
    loc = spec.location
    if loc is None:
        return out, 0
    x_text, y_text = _clean(frame[loc.x]), _clean(frame[loc.y])
    x, y = _to_float(x_text), _to_float(y_text)
    rej.add(np.isnan(x) & (x_text != "").to_numpy(), loc.x, x_text, "a number (coordinate) or empty")
    rej.add(np.isnan(y) & (y_text != "").to_numpy(), loc.y, y_text, "a number (coordinate) or empty")
    has = np.isfinite(x) & np.isfinite(y)
    if loc.zero_means_missing:
        has &= ~((x == 0) & (y == 0))
    withheld = np.zeros(n, dtype=bool)
    for col, values in loc.withheld_when.items():
        withheld |= _clean(frame[col]).isin(values).to_numpy()
    has &= ~withheld
    source_crs = pyproj.CRS.from_user_input(loc.crs)
    if source_crs.is_geographic:
        bad = has & ((np.abs(x) > 180) | (np.abs(y) > 90))
        rej.add(bad, loc.x, x_text, "a longitude in -180..180 with a latitude in -90..90 (EPSG:4326 x=lon, y=lat)")
        has &= ~bad
        lon, lat = x, y
    else:
        to_wgs84 = _transformer(loc.crs, "EPSG:4326")
        lon, lat = to_wgs84.transform(np.where(has, x, np.nan), np.where(has, y, np.nan))
    to_local = _transformer("EPSG:4326", spec.agency.crs)
    x_m, y_m = to_local.transform(np.where(has, lon, np.nan), np.where(has, lat, np.nan))
    unprojectable = has & ~(np.isfinite(x_m) & np.isfinite(y_m))
    rej.add(unprojectable, loc.x, x_text, f"a coordinate that can be projected from {loc.crs} to {spec.agency.crs}")
    has &= ~unprojectable
    status = np.where(has, "located", np.where(withheld, "withheld", "missing")).astype(object)
    outside = 0
    if spec.agency.extent is not None:
        min_lon, min_lat, max_lon, max_lat = spec.agency.extent
        out_mask = has & ~((lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat))
        status[out_mask] = "outside"
        outside = int(out_mask.sum())
    out["lon"] = np.where(has, lon, np.nan)
    out["lat"] = np.where(has, lat, np.nan)
    out["x_m"] = np.where(has, x_m, np.nan)
    out["y_m"] = np.where(has, y_m, np.nan)
    out["location_status"] = status
    return out, outside


def _keys(frame: pd.DataFrame, raw: RawTable, spec: SourceSpec) -> pd.Series:
    """Record keys: the id columns joined by ':'; rows without an id get a content key
    (hash of the published line + its occurrence number, so exact duplicates stay distinct)."""

    def content_keys() -> pd.Series:
        content_hash = pd.util.hash_pandas_object(pd.Series(raw.raw_lines, index=frame.index), index=False)
        occurrence = content_hash.groupby(content_hash.to_numpy()).cumcount()
        return "c" + content_hash.map("{:016x}".format).astype(str) + "." + occurrence.astype(str)

    if not spec.record.id_columns:
        return content_keys()
    parts = [_clean(frame[c]) for c in spec.record.id_columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + ":" + part
    no_id = pd.concat([p == "" for p in parts], axis=1).all(axis=1)
    return key.where(~no_id, content_keys()) if no_id.any() else key


def _text_lengths(values: pd.Series) -> np.ndarray:
    """Length in characters of each value (0 for None), computed by Arrow in C."""
    array = pa.array(values, type=pa.string(), from_pandas=True)
    lengths: np.ndarray = pc.fill_null(pc.utf8_length(array), 0).to_numpy(zero_copy_only=False)
    return lengths


def _source_fields(spec: SourceSpec) -> dict[str, str]:
    """The source column(s) each normalised text column is read from, as a user would name them."""
    fields = {"source_key": "+".join(spec.record.id_columns) or "source_key"}
    if spec.record.record_id_column:
        fields["source_record_id"] = spec.record.record_id_column
    fields["offence_code"] = spec.offence.code_column or "[offence] constant"
    if spec.offence.description_column:
        fields["offence_description"] = spec.offence.description_column
    for name, columns in spec.text_fields.items():
        fields[name] = "+".join(columns)
    return fields


def _check_lengths(
    out: pd.DataFrame, raw_lines: list[str], spec: SourceSpec, max_lengths: Mapping[str, int], rej: _Rejections
) -> None:
    """Reject rows with a text value longer than the store keeps for its column.

    One rule for every backend: PostgreSQL refuses a value longer than its ``VARCHAR(n)`` (and
    with it the whole file), SQLite would store it whole. Truncating would store a value the
    source never published, so the row is rejected and named instead.
    """
    fields = _source_fields(spec)
    # A value read from a line is never longer than the line: most files need no per-column pass.
    longest_line = int(_text_lengths(pd.Series(raw_lines, dtype=object)).max()) if raw_lines else 0
    for column, limit in max_lengths.items():
        if column not in fields or column not in out.columns:
            continue  # values the importer or the mapping makes (category, precision, status)
        from_line = column != "offence_code" or spec.offence.code_column is not None
        if from_line and longest_line <= limit:
            continue
        lengths = _text_lengths(out[column])
        too_long = lengths > limit
        if too_long.any():
            rej.add(
                too_long,
                fields.get(column, column),
                out[column],
                _too_long(column, limit, lengths),
            )


def _too_long(column: str, limit: int, lengths: np.ndarray) -> Callable[[int], str]:
    """What a row whose ``column`` value is too long is told (its own length included)."""

    def expected(index: int) -> str:
        return (
            f"at most {limit:,} characters, the store's limit for {column} (this value has "
            f"{int(lengths[index]):,}): shorten it in the export, or map another column"
        )

    return expected


def _attention(
    frame: pd.DataFrame, categories: pd.Series, spec: SourceSpec, rej: _Rejections
) -> tuple[pd.Series, pd.Series]:
    """How each incident came to police attention, and the logged patrol propensity if any.

    The source's ``[attention]`` rule first (values of its column listed as discovered, reported or
    unknown), else its ``other`` answer, which by default is the category's default
    (:func:`openilp.ingest.categories.category_attention`); ``unknown`` without a category.
    """
    rule = spec.attention
    defaults = {code: attention for code, (attention, _) in category_attention().items()}
    by_category = categories.map(defaults).fillna("unknown").astype(object)
    attention = by_category if rule.other == "category" else pd.Series(rule.other, index=frame.index, dtype=object)
    if rule.column is not None:
        values = _clean(frame[rule.column])
        for answer, listed in (("discovered", rule.discovered), ("reported", rule.reported), ("unknown", rule.unknown)):
            if listed:
                attention = attention.where(~values.isin(listed).to_numpy(), answer)
    propensity = np.full(len(frame), np.nan, dtype=np.float64)
    if rule.propensity is not None:
        text = _clean(frame[rule.propensity])
        numbers = _to_float(text)
        given = (text != "").to_numpy()
        bad = given & ~((numbers > 0) & (numbers <= 1))
        rej.add(bad, rule.propensity, text, "a patrol propensity in (0, 1] or nothing")
        propensity = np.where(given & ~bad, numbers, np.nan)
    return attention, pd.Series(propensity, index=frame.index, dtype=np.float64)


def normalize(raw: RawTable, spec: SourceSpec, max_lengths: Mapping[str, int] | None = None) -> NormalizedBatch:
    """Normalise one file's rows; rejected rows are left out and reported.

    ``max_lengths`` (normalised column -> characters, from the store's schema) rejects rows whose
    text is longer than the store keeps; without it lengths are not checked.
    """
    frame = raw.frame
    rej = _Rejections(raw)
    tz = spec.agency.timezone
    out = pd.DataFrame(index=frame.index)

    out["source_key"] = _keys(frame, raw, spec)
    rid = spec.record.record_id_column
    out["source_record_id"] = _text_field(frame, (rid,)) if rid else None

    if spec.offence.code_column is not None:
        codes = _clean(frame[spec.offence.code_column])
        rej.add((codes == "").to_numpy(), spec.offence.code_column, codes, "an offence code (empty)")
    else:  # a single-offence export: every row has the declared code
        codes = pd.Series(spec.offence.constant, index=frame.index, dtype=object)
    out["offence_code"] = codes
    desc_col = spec.offence.description_column
    out["offence_description"] = _text_field(frame, (desc_col,)) if desc_col else None
    out["category_code"] = _categories(codes, spec)

    start_local = _parse_datetime(frame, spec.occurred.start, "the occurrence time", rej, required=True)
    if spec.occurred.end is not None:
        end_local = _parse_datetime(frame, spec.occurred.end, "the end of the occurrence window", rej, required=False)
        end_local = end_local.where(end_local.notna(), start_local)
        backwards = (end_local < start_local).to_numpy()
        rej.add(
            backwards,
            "+".join(spec.occurred.end.columns()),
            end_local.astype(str),
            "an end of the occurrence window at or after its start",
        )
        precision = np.where(end_local > start_local, "window", spec.occurred.precision).astype(object)
        if spec.occurred.precision in _PERIOD:
            point = (end_local == start_local).to_numpy()
            end_local = end_local.where(~point, start_local + _PERIOD[spec.occurred.precision])
    else:
        precision = np.full(len(frame), spec.occurred.precision, dtype=object)
        period = _PERIOD.get(spec.occurred.precision)
        end_local = start_local + period if period is not None else start_local
    valid_time = ~rej.rejected
    out["occurred_from"] = _to_utc(start_local.where(valid_time), tz)
    out["occurred_to"] = _to_utc(end_local.where(valid_time), tz)
    out["time_precision"] = precision
    if spec.reported is not None:
        out["reported_at"] = _to_utc(_parse_datetime(frame, spec.reported, "the reported time", rej, False), tz)
    else:
        out["reported_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")

    locations, outside = _locations(frame, spec, rej)
    out = pd.concat([out, locations], axis=1)

    for name in ("block_address", "district", "beat", "neighbourhood"):
        out[name] = _text_field(frame, spec.text_fields.get(name, ()), spec.text_empty_values)
    for name in ("district", "beat"):
        out[name] = whole_number_codes(out[name])
    for name in ("unfounded", "administrative"):
        flag = spec.flags.get(name)
        out[f"flag_{name}"] = (
            _clean(frame[flag.column]).isin(flag.true_values).to_numpy()
            if flag and flag.column in frame.columns
            else False
        )

    if spec.record.updated_at is not None:
        updated_local = _parse_datetime(frame, spec.record.updated_at, "the update time", rej, required=False)
        out["source_updated_at"] = _to_utc(updated_local, tz)
    else:
        out["source_updated_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")

    if spec.record.count_column:
        count_text = _clean(frame[spec.record.count_column])
        counts = _to_float(count_text)
        bad = ~np.isfinite(counts) | (counts != np.round(counts))
        rej.add(bad, spec.record.count_column, count_text, "a whole number such as 1 or -1")
        count_delta = np.where(bad, 0, counts).astype(np.int64)
    else:
        count_delta = np.ones(len(frame), dtype=np.int64)

    out["attention"], out["patrol_propensity"] = _attention(frame, out["category_code"], spec, rej)

    if max_lengths:
        _check_lengths(out, raw.raw_lines, spec, max_lengths, rej)

    out["source_line"] = raw.line_numbers
    out["raw"] = raw.raw_lines
    out["content_hash"] = pd.util.hash_pandas_object(out[HASHED_COLUMNS], index=False).to_numpy().view(np.int64)

    keep = ~rej.rejected
    accepted = out.loc[keep, INCIDENT_COLUMNS].reset_index(drop=True)
    unknown = Counter(accepted.loc[accepted["category_code"].isna(), "offence_code"].astype(str))
    problems = [
        RowProblem(raw.file_name, line, "(row)", excerpt(text), problem) for line, text, problem in raw.malformed
    ] + rej.problems
    problems.sort(key=lambda p: p.line)
    return NormalizedBatch(
        frame=accepted,
        count_delta=count_delta[keep],
        rows_read=len(frame) + len(raw.malformed),
        problems=problems,
        unknown_codes=unknown,
        outside_extent=int((accepted["location_status"] == "outside").sum()),
    )
