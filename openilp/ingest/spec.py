"""Declarative source descriptions: a TOML file tells the importer how to read an export.

Every built-in source (St. Louis, Vancouver, Chicago, Portland, police.uk, Houston, …) is such a
file in ``openilp/ingest/sources/``; a user describes a new agency's CSV the same way, without
writing code. ``docs/import.md`` documents every key with a worked example.

>>> spec = load_source_spec("stlouis")
>>> spec.name, spec.agency.code, spec.record.count_column
('stlouis', 'SLMPD', 'Count')
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyproj

from openilp.ingest.categories import load_category_definitions
from openilp.ingest.nibrs import NIBRS_OFFENCES, NibrsSourceMapping

__all__ = [
    "SpecError",
    "AgencySpec",
    "DateField",
    "RecordSpec",
    "OccurredSpec",
    "LocationSpec",
    "FlagField",
    "OffenceSpec",
    "AttentionSpec",
    "SourceSpec",
    "BUILTIN_SOURCES_DIR",
    "builtin_source_names",
    "load_source_spec",
    "parse_source_spec",
]

BUILTIN_SOURCES_DIR = Path(__file__).parent / "sources"
PRECISIONS = ("minute", "hour", "day", "month", "window")
TEXT_FIELDS = ("block_address", "district", "beat", "neighbourhood")


class SpecError(ValueError):
    """A source description is invalid; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    timezone: str
    #: Projected CRS in metres used for analysis coordinates (x_m, y_m).
    crs: str
    #: Optional [min_lon, min_lat, max_lon, max_lat]; points outside are flagged "outside".
    extent: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class DateField:
    """A date/time read from one column with a ``strptime`` format, or from parts columns."""

    column: str | None = None
    format: str | None = None
    #: For dates split over columns: keys year, month, day, hour, minute -> column names.
    parts: dict[str, str] = field(default_factory=dict)

    def columns(self) -> list[str]:
        return [self.column] if self.column else list(self.parts.values())


@dataclass(frozen=True)
class RecordSpec:
    #: Columns whose values, joined by ":", identify a record. Empty: content keys.
    id_columns: tuple[str, ...] = ()
    #: The published record identifier shown to users (complaint/case number).
    record_id_column: str | None = None
    #: Column of +1/-1 counts; rows are netted per record (reversals).
    count_column: str | None = None
    #: When the source last changed the record; a newer row wins over an older one.
    updated_at: DateField | None = None


@dataclass(frozen=True)
class OccurredSpec:
    start: DateField
    end: DateField | None
    #: Resolution of ``start`` when there is no ``end``: minute, hour, day or month.
    precision: str


@dataclass(frozen=True)
class LocationSpec:
    x: str
    y: str
    #: CRS of the x/y columns as published (e.g. "ESRI:102696", "EPSG:4326" for lon/lat).
    crs: str
    zero_means_missing: bool = True
    #: Column -> values that mark a location withheld by the source for privacy.
    withheld_when: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class FlagField:
    column: str
    true_values: tuple[str, ...]


@dataclass(frozen=True)
class OffenceSpec:
    #: Column holding the offence code; None when the export has no such column (see ``constant``).
    code_column: str | None
    description_column: str | None
    codes: dict[str, str]
    #: (from, to, category): integer codes from..to inclusive map to category.
    ranges: tuple[tuple[int, int, str], ...]
    #: The offence code of every row, for single-offence exports that have no code column
    #: (e.g. a file of residential burglaries only). Exactly one of ``code_column`` and
    #: ``constant`` is set; the constant must be mapped by ``codes`` or ``ranges``.
    constant: str | None = None


@dataclass(frozen=True)
class AttentionSpec:
    """How the source tells whether an incident was reported by the public or discovered by police.

    Values of ``column`` listed in ``discovered``, ``reported`` or ``unknown`` decide it; any other
    value (or no column) gets ``other``: a fixed answer, or ``"category"`` for the default of the
    incident's category (``attention`` in ``categories.toml``).
    """

    column: str | None = None
    discovered: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    other: str = "category"
    #: Column with the logged probability (0-1] that patrol was where a discovered incident was
    #: found; only discovered incidents with one can enter a forecast (inverse-propensity weights).
    propensity: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    name: str
    title: str
    path: Path
    agency: AgencySpec
    record: RecordSpec
    occurred: OccurredSpec
    offence: OffenceSpec
    location: LocationSpec | None
    reported: DateField | None = None
    encoding: str = "auto"
    delimiter: str = ","
    file_pattern: str = "*.csv*"
    #: Canonical column name -> other header spellings seen in published files.
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Output field -> the column(s) it comes from (several are joined by a space).
    text_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Values that mean "nothing" in the text-field columns (e.g. "-" for a missing street
    #: direction); they are dropped before the columns are joined.
    text_empty_values: tuple[str, ...] = ()
    flags: dict[str, FlagField] = field(default_factory=dict)
    attribution: str = ""
    #: How incidents came to police attention; without it each category's default applies.
    attention: AttentionSpec = field(default_factory=AttentionSpec)
    #: The NIBRS offence of the source's own codes, where they decide it (``[nibrs]``).
    nibrs: NibrsSourceMapping = field(default_factory=NibrsSourceMapping)

    def required_columns(self) -> list[str]:
        """Columns every file of this source must have (after applying aliases)."""
        cols: list[str] = list(self.record.id_columns)
        for extra in (self.record.record_id_column, self.record.count_column, self.offence.code_column):
            if extra:
                cols.append(extra)
        cols += self.occurred.start.columns()
        if self.occurred.end:
            cols += self.occurred.end.columns()
        if self.location:
            cols += [self.location.x, self.location.y, *self.location.withheld_when]
        cols += [c for c in (self.attention.column, self.attention.propensity) if c]
        return list(dict.fromkeys(cols))


def builtin_source_names() -> list[str]:
    """Names of the source descriptions shipped with OpenILP."""
    return sorted(p.stem for p in BUILTIN_SOURCES_DIR.glob("*.toml"))


def load_source_spec(name_or_path: str | Path) -> SourceSpec:
    """Load a built-in source by name (``"stlouis"``) or a user's TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        candidate = BUILTIN_SOURCES_DIR / f"{name_or_path}.toml"
        if not candidate.is_file():
            raise SpecError(
                f"unknown source {name_or_path!r}: built-in sources are "
                f"{', '.join(builtin_source_names())}; or give the path of a mapping .toml file"
            )
        path = candidate
    if not path.is_file():
        raise SpecError(f"mapping file {path} does not exist")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    return parse_source_spec(data, path)


class _Reader:
    """Typed access to a TOML table that names the file and key in every error."""

    def __init__(self, data: dict[str, Any], path: Path, prefix: str = "") -> None:
        self.data, self.path, self.prefix = data, path, prefix

    def where(self, key: str) -> str:
        return f"{self.path.name}: [{self.prefix}] {key}" if self.prefix else f"{self.path.name}: {key}"

    def fail(self, key: str, message: str) -> SpecError:
        return SpecError(f"{self.where(key)} {message}")

    def table(self, key: str, required: bool = True) -> _Reader | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(
                    key, "is missing: add a table [" + (self.prefix + "." if self.prefix else "") + key + "]"
                )
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Reader(value, self.path, f"{self.prefix}.{key}" if self.prefix else key)

    def text(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.data.get(key, default)
        if value is None:
            if required:
                raise self.fail(key, "is missing (a text value is required)")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(key, f"must be a non-empty text value, got {value!r}")
        return value

    def req(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a text value or a list of them, got {value!r}")
        return tuple(value)

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def check_keys(self, allowed: set[str]) -> None:
        unknown = set(self.data) - allowed
        if unknown:
            raise SpecError(
                f"{self.path.name}: unknown key(s) {', '.join(sorted(unknown))} in "
                f"[{self.prefix or 'top level'}]; allowed: {', '.join(sorted(allowed))}"
            )


def _date_field(reader: _Reader | None, key: str) -> DateField | None:
    if reader is None:
        return None
    raw = reader.data.get(key)
    if raw is None:
        return None
    if isinstance(raw, str):
        return DateField(column=raw, format=None)
    sub = reader.table(key)
    assert sub is not None
    sub.check_keys({"column", "format", "parts"})
    parts = sub.data.get("parts", {})
    if parts:
        allowed = {"year", "month", "day", "hour", "minute"}
        if not isinstance(parts, dict) or not set(parts) <= allowed or not {"year", "month", "day"} <= set(parts):
            raise sub.fail(
                "parts", f"needs year, month and day (optionally hour, minute) -> column names, got {parts!r}"
            )
        return DateField(parts={k: str(v) for k, v in parts.items()})
    column = sub.req("column")
    fmt = sub.text("format")
    return DateField(column=column, format=fmt)


def _check_crs(reader: _Reader, key: str, value: str, projected: bool) -> None:
    try:
        crs = pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as exc:
        raise reader.fail(key, f"{value!r} is not a coordinate reference system pyproj knows: {exc}") from exc
    if projected:
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if not crs.is_projected or unit not in ("metre", "meter"):
            raise reader.fail(
                key,
                f"{value!r} must be a projected CRS in metres (analysis needs metres), "
                f"e.g. a UTM zone or a state-plane metre CRS",
            )


def parse_source_spec(data: dict[str, Any], path: Path) -> SourceSpec:
    """Validate a parsed TOML document and build a :class:`SourceSpec` from it."""
    top = _Reader(data, path)
    top.check_keys(
        {
            "source",
            "agency",
            "columns",
            "record",
            "occurred",
            "reported",
            "location",
            "fields",
            "flags",
            "offence",
            "attention",
            "nibrs",
        }
    )

    source = top.table("source")
    assert source is not None
    source.check_keys({"name", "title", "encoding", "delimiter", "files", "attribution"})
    name = source.req("name")
    encoding = source.text("encoding", "auto") or "auto"
    if encoding != "auto":
        try:
            "".encode(encoding)
        except LookupError as exc:
            raise source.fail(
                "encoding", f"{encoding!r} is not an encoding Python knows; use 'auto', 'utf-8' or 'cp1252'"
            ) from exc

    agency_r = top.table("agency")
    assert agency_r is not None
    agency_r.check_keys({"code", "name", "timezone", "crs", "extent"})
    timezone = agency_r.req("timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise agency_r.fail("timezone", f"{timezone!r} is not an IANA time zone such as 'America/Chicago'") from exc
    crs = agency_r.req("crs")
    _check_crs(agency_r, "crs", crs, projected=True)
    extent_raw = agency_r.data.get("extent")
    extent: tuple[float, float, float, float] | None = None
    if extent_raw is not None:
        if not (isinstance(extent_raw, list) and len(extent_raw) == 4):
            raise agency_r.fail("extent", "must be [min_lon, min_lat, max_lon, max_lat]")
        extent = (float(extent_raw[0]), float(extent_raw[1]), float(extent_raw[2]), float(extent_raw[3]))
    agency = AgencySpec(code=agency_r.req("code"), name=agency_r.req("name"), timezone=timezone, crs=crs, extent=extent)

    aliases: dict[str, tuple[str, ...]] = {}
    columns_r = top.table("columns", required=False)
    if columns_r is not None:
        columns_r.check_keys({"aliases"})
        alias_r = columns_r.table("aliases", required=False)
        if alias_r is not None:
            aliases = {canonical: alias_r.str_list(canonical) for canonical in alias_r.data}

    record_r = top.table("record", required=False) or _Reader({}, path, "record")
    record_r.check_keys({"id", "record_id", "count", "updated_at"})
    record = RecordSpec(
        id_columns=record_r.str_list("id"),
        record_id_column=record_r.text("record_id"),
        count_column=record_r.text("count"),
        updated_at=_date_field(record_r, "updated_at"),
    )

    occurred_r = top.table("occurred")
    assert occurred_r is not None
    occurred_r.check_keys({"from", "to", "precision"})
    start = _date_field(occurred_r, "from")
    if start is None:
        raise occurred_r.fail("from", "is missing: name the column (and format) of the occurrence time")
    precision = occurred_r.text("precision", "minute") or "minute"
    if precision not in PRECISIONS[:4]:
        raise occurred_r.fail("precision", f"must be one of minute, hour, day, month; got {precision!r}")
    occurred = OccurredSpec(start=start, end=_date_field(occurred_r, "to"), precision=precision)
    reported_r = top.table("reported", required=False)
    if reported_r is not None:
        reported_r.check_keys({"at"})
    reported = _date_field(reported_r, "at") if reported_r else None

    location: LocationSpec | None = None
    location_r = top.table("location", required=False)
    if location_r is not None:
        location_r.check_keys({"x", "y", "crs", "zero_means_missing", "withheld_when"})
        source_crs = location_r.req("crs")
        _check_crs(location_r, "crs", source_crs, projected=False)
        withheld: dict[str, tuple[str, ...]] = {}
        withheld_r = location_r.table("withheld_when", required=False)
        if withheld_r is not None:
            withheld = {col: withheld_r.str_list(col) for col in withheld_r.data}
        location = LocationSpec(
            x=location_r.req("x"),
            y=location_r.req("y"),
            crs=source_crs,
            zero_means_missing=location_r.bool("zero_means_missing", True),
            withheld_when=withheld,
        )

    text_fields: dict[str, tuple[str, ...]] = {}
    text_empty_values: tuple[str, ...] = ()
    fields_r = top.table("fields", required=False)
    if fields_r is not None:
        fields_r.check_keys({*TEXT_FIELDS, "empty_values"})
        text_empty_values = tuple(v.strip() for v in fields_r.str_list("empty_values"))
        text_fields = {key: fields_r.str_list(key) for key in fields_r.data if key != "empty_values"}

    flags: dict[str, FlagField] = {}
    flags_r = top.table("flags", required=False)
    if flags_r is not None:
        flags_r.check_keys({"unfounded", "administrative"})
        for key in flags_r.data:
            sub = flags_r.table(key)
            assert sub is not None
            sub.check_keys({"column", "true_values"})
            flags[key] = FlagField(column=sub.req("column"), true_values=sub.str_list("true_values") or ("Y",))

    attention = AttentionSpec()
    attention_r = top.table("attention", required=False)
    if attention_r is not None:
        attention_r.check_keys({"column", "discovered", "reported", "unknown", "other", "propensity"})
        other = attention_r.text("other", "category") or "category"
        if other not in ("category", "reported", "discovered", "unknown"):
            raise attention_r.fail("other", f"must be category, reported, discovered or unknown, got {other!r}")
        lists = {
            key: tuple(v.strip() for v in attention_r.str_list(key)) for key in ("discovered", "reported", "unknown")
        }
        column = attention_r.text("column", required=False)
        if any(lists.values()) and not column:
            raise attention_r.fail("column", "must name the column whose values the discovered/reported lists match")
        seen: dict[str, str] = {}
        for key, values in lists.items():
            for value in values:
                if value in seen:
                    raise attention_r.fail(key, f"{value!r} is listed under both {seen[value]} and {key}")
                seen[value] = key
        propensity = attention_r.text("propensity", required=False)
        attention = AttentionSpec(column=column, other=other, propensity=propensity, **lists)

    offence_r = top.table("offence")
    assert offence_r is not None
    offence_r.check_keys({"code", "constant", "description", "codes", "ranges"})
    known = load_category_definitions()
    codes_r = offence_r.table("codes", required=False)
    codes: dict[str, str] = {}
    if codes_r is not None:
        for code, category in codes_r.data.items():
            if not isinstance(category, str) or category not in known:
                raise codes_r.fail(
                    repr(code), f"maps to {category!r}, which is not a category; known: {', '.join(sorted(known))}"
                )
            codes[str(code).strip()] = category
    ranges: list[tuple[int, int, str]] = []
    for i, item in enumerate(offence_r.data.get("ranges", [])):
        if not (isinstance(item, dict) and {"from", "to", "category"} <= set(item)):
            raise offence_r.fail(f"ranges[{i}]", "needs from, to and category")
        if item["category"] not in known:
            raise offence_r.fail(f"ranges[{i}]", f"category {item['category']!r} is not a category")
        low, high = int(item["from"]), int(item["to"])
        if high < low:
            raise offence_r.fail(f"ranges[{i}]", f"'to' ({high}) is below 'from' ({low})")
        ranges.append((low, high, str(item["category"])))
    ranges.sort()
    for (_, high_a, _), (low_b, _, _) in zip(ranges, ranges[1:], strict=False):
        if low_b <= high_a:
            raise offence_r.fail("ranges", f"ranges overlap at {low_b}: each code must map to one category")
    if not codes and not ranges:
        raise offence_r.fail(
            "codes", "is empty: map the source's offence codes to categories with [offence.codes] or [[offence.ranges]]"
        )
    code_column, constant = offence_r.text("code", required=False), offence_r.text("constant", required=False)
    if code_column is not None and not code_column.strip():
        raise offence_r.fail("code", "must name a column, got an empty text")
    if (code_column is None) == (constant is None):
        raise offence_r.fail(
            "code",
            "and constant: give exactly one: code = the column of offence codes, or, for an export of a "
            "single offence without such a column, constant = the code every row gets",
        )
    if constant is not None:
        constant = constant.strip()
        in_range = constant.lstrip("-").isdigit() and any(low <= int(constant) <= high for low, high, _ in ranges)
        if not constant or (constant not in codes and not in_range):
            raise offence_r.fail("constant", f"{constant!r} must be mapped to a category in [offence.codes]")
    offence = OffenceSpec(
        code_column=code_column,
        description_column=offence_r.text("description"),
        codes=codes,
        ranges=tuple(ranges),
        constant=constant,
    )

    return SourceSpec(
        nibrs=_nibrs_mapping(top),
        name=name,
        title=source.text("title", name) or name,
        path=path,
        agency=agency,
        record=record,
        occurred=occurred,
        reported=reported,
        offence=offence,
        location=location,
        encoding=encoding,
        delimiter=source.text("delimiter", ",") or ",",
        file_pattern=source.text("files", "*.csv*") or "*.csv*",
        aliases=aliases,
        text_fields=text_fields,
        text_empty_values=text_empty_values,
        flags=flags,
        attribution=source.text("attribution", "") or "",
        attention=attention,
    )


def _nibrs_mapping(top: _Reader) -> NibrsSourceMapping:
    """``[nibrs]``: the source's codes (``[nibrs.codes]``) and code ranges (``[[nibrs.ranges]]``) -> NIBRS
    offence, and the codes that are no NIBRS offence (``outside``)."""
    reader = top.table("nibrs", required=False)
    if reader is None:
        return NibrsSourceMapping()
    reader.check_keys({"codes", "ranges", "outside"})

    def offence(value: object, where: str) -> str:
        if not isinstance(value, str) or value not in NIBRS_OFFENCES:
            raise reader.fail(where, f"maps to {value!r}, which is not a NIBRS 2019 offence code (e.g. 13A, 23F, 90D)")
        return value

    codes_r = reader.table("codes", required=False)
    codes = {} if codes_r is None else {str(k).strip(): offence(v, repr(k)) for k, v in codes_r.data.items()}
    ranges: list[tuple[int, int, str]] = []
    for i, item in enumerate(reader.data.get("ranges", [])):
        if not (isinstance(item, dict) and set(item) == {"from", "to", "offence"}):
            raise reader.fail(f"ranges[{i}]", "needs exactly from, to and offence")
        low, high = int(item["from"]), int(item["to"])
        if high < low:
            raise reader.fail(f"ranges[{i}]", f"'to' ({high}) is below 'from' ({low})")
        ranges.append((low, high, offence(item["offence"], f"ranges[{i}]")))
    ranges.sort()
    for (_, high_a, _), (low_b, _, _) in zip(ranges, ranges[1:], strict=False):
        if low_b <= high_a:
            raise reader.fail("ranges", f"ranges overlap at {low_b}: each code must map to one NIBRS offence")
    outside = frozenset(str(code).strip() for code in reader.data.get("outside", []))
    mapped = sorted(
        code for code in outside if code in codes or NibrsSourceMapping(ranges=tuple(ranges)).offence_of(code)
    )
    if mapped:
        raise reader.fail("outside", f"lists {', '.join(mapped)}, which [nibrs] also maps to an offence")
    return NibrsSourceMapping(codes=codes, ranges=tuple(ranges), outside=outside)
