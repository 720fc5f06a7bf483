"""The import engine on small synthetic files: rejections, failures, atomicity, reversals, spec errors.

Every file here is written to ``tmp_path`` by the test itself, so each expectation can be read off
the file: which line is malformed, which field, what value, what was expected instead.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from store_support import import_source

import openilp.services.imports.run as imports_module
from openilp.db.ledger import ledger_entries
from openilp.db.models import ImportFile, Incident
from openilp.ingest.spec import SourceSpec, SpecError, load_source_spec, parse_source_spec
from openilp.services.imports.run import ImportFailed

UTC = dt.UTC


def fingerprint(engine: Engine) -> tuple[Any, ...]:
    """Everything an import writes: incidents (identity and content), ledger rows and file records."""
    with engine.connect() as conn:
        incidents = conn.execute(
            text("SELECT id, source_key, content_hash, net_count, import_file_id FROM incidents ORDER BY id")
        ).all()
        ledger = ledger_entries(conn)[["import_file_id", "source_key", "count_delta"]].itertuples(index=False)
        files = conn.execute(text("SELECT id, file_name, superseded FROM import_files ORDER BY id")).all()
    return (
        len(incidents),
        hashlib.sha256(repr([tuple(r) for r in incidents]).encode()).hexdigest(),
        [tuple(r) for r in ledger],
        [tuple(r) for r in files],
    )


def incidents(engine: Engine) -> list[Incident]:
    with Session(engine) as session:
        return list(session.execute(select(Incident).order_by(Incident.source_key)).scalars())


# --- a small generic source -------------------------------------------------------------------

GENERIC_HEADER = "case,when,code,lon,lat"


def generic_spec(tmp_path: Path, **overrides: Any) -> SourceSpec:
    """A minimal source: id column ``case``, local ISO minute ``when``, code, lon/lat."""
    data: dict[str, Any] = {
        "source": {"name": "synthetic", "files": "*.csv*"},
        "agency": {
            "code": "TST",
            "name": "Test Police",
            "timezone": "America/Chicago",
            "crs": "EPSG:26971",
            "extent": [-88.0, 41.6, -87.5, 42.1],
        },
        "record": {"id": ["case"], "record_id": "case"},
        "occurred": {"from": {"column": "when", "format": "%Y-%m-%d %H:%M"}, "precision": "minute"},
        "location": {"x": "lon", "y": "lat", "crs": "EPSG:4326"},
        "offence": {"code": "code", "codes": {"THEFT": "larceny", "BURG": "burglary_residential"}},
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return parse_source_spec(data, tmp_path / "synthetic.toml")


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_malformed_rows_are_rejected_with_line_field_value_and_expectation(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.csv",
        [
            GENERIC_HEADER,
            "A1,2020-06-01 12:30,THEFT,-87.63,41.88",  # line 2: fine
            "A2,2020-06-01 13:00,THEFT,-87.63",  # line 3: four fields
            "A3,2020-13-45 10:00,THEFT,-87.63,41.88",  # line 4: no 13th month
            "A4,2020-06-02 08:00,BURG,east,41.88",  # line 5: coordinate is a word
            "A5,2020-06-02 09:00,,-87.63,41.88",  # line 6: no offence code
            "A6,2020-06-03 10:15,BURG,,",  # line 7: fine, no location
        ],
    )
    report = import_source(engine, generic_spec(tmp_path), [path])
    (file_report,) = report.files
    assert file_report.reconciles()
    assert (file_report.rows_read, file_report.rejected, file_report.created) == (6, 4, 2)
    problems = [(p.line, p.field, p.value, p.expected) for p in file_report.problems]
    assert problems[0][:2] == (3, "(row)")
    assert problems[0][2] == "A2,2020-06-01 13:00,THEFT,-87.63"
    assert problems[0][3] == "has 4 fields where the header has 5"
    assert problems[1:] == [
        (4, "when", "2020-13-45 10:00", "a date/time in the format %Y-%m-%d %H:%M"),
        (5, "lon", "east", "a number (coordinate) or empty"),
        (6, "code", "", "an offence code (empty)"),
    ]
    assert "mixed.csv, line 5: field lon = 'east'" in str(file_report.problems[2])
    stored = incidents(engine)
    assert [i.source_key for i in stored] == ["A1", "A6"]
    assert stored[0].occurred_from == dt.datetime(2020, 6, 1, 17, 30, tzinfo=UTC)  # CDT = UTC-5
    assert stored[0].location_status == "located"
    assert stored[1].location_status == "missing" and stored[1].lon is None


def test_strict_mode_writes_nothing_when_a_row_would_be_rejected(engine: Engine, tmp_path: Path) -> None:
    good = write(tmp_path / "a_good.csv", [GENERIC_HEADER, "A1,2020-06-01 12:30,THEFT,-87.63,41.88"])
    bad = write(tmp_path / "b_bad.csv", [GENERIC_HEADER, "B1,yesterday,THEFT,-87.63,41.88"])
    before = fingerprint(engine)
    with pytest.raises(ImportFailed, match=r"--strict: 1 row\(s\) would be rejected; nothing was imported") as info:
        import_source(engine, generic_spec(tmp_path), [good, bad], strict=True)
    assert "b_bad.csv, line 2: field when = 'yesterday'" in str(info.value)
    assert fingerprint(engine) == before


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("absent.csv", None, r"absent\.csv: no such file or folder"),
        ("random.csv.gz", os.urandom(512), r"not a valid gzip file"),
        ("sheet.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(600), r"binary file.*xlsx"),
        (
            "other.csv",
            b"x,y,date_single\n1,2,01/01/2014\n",
            r"missing column\(s\) 'case', 'code', 'when', 'lon', 'lat'",
        ),
        ("empty.csv", b"", r"the file is empty"),
    ],
    ids=["missing", "gzip-of-random-bytes", "xlsx-like", "other-source", "empty"],
)
def test_unreadable_files_fail_clearly_and_write_nothing(
    engine: Engine, tmp_path: Path, file_name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / file_name
    if content is not None:
        path.write_bytes(content)
    before = fingerprint(engine)
    with pytest.raises(ImportFailed, match=message):
        import_source(engine, generic_spec(tmp_path), [path])
    assert fingerprint(engine) == before


def test_missing_columns_message_names_source_and_header(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "other.csv", ["x,y,date_single", "1,2,01/01/2014"])
    with pytest.raises(ImportFailed) as info:
        import_source(engine, generic_spec(tmp_path), [path])
    message = str(info.value)
    assert "required by source 'synthetic'" in message
    assert "the header has: x, y, date_single" in message
    assert "nothing was imported" in message.lower()


def test_file_not_in_the_declared_encoding_fails_clearly(engine: Engine, tmp_path: Path) -> None:
    spec = generic_spec(tmp_path, source={"name": "synthetic", "encoding": "utf-8"})
    path = tmp_path / "latin.csv"
    path.write_bytes(f"{GENERIC_HEADER}\nA1,2020-06-01 12:30,THÉFT,-87.63,41.88\n".encode("cp1252"))
    before = fingerprint(engine)
    with pytest.raises(ImportFailed, match=r"latin\.csv: cannot decode as utf-8"):
        import_source(engine, spec, [path])
    assert fingerprint(engine) == before


def test_unknown_encoding_name_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"synthetic\.toml: \[source\] encoding 'klingon' is not an encoding"):
        generic_spec(tmp_path, source={"name": "synthetic", "encoding": "klingon"})


def test_cp1252_and_bom_files_are_read_automatically(engine: Engine, tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + f"{GENERIC_HEADER}\nA1,2020-06-01 12:30,THEFT,-87.63,41.88\n".encode())
    cp = tmp_path / "cp.csv"
    cp.write_bytes(f"{GENERIC_HEADER},note\nB1,2020-06-01 12:30,THEFT,-87.63,41.88,Caf\xe9\n".encode("cp1252"))
    report = import_source(engine, generic_spec(tmp_path), [bom, cp])
    assert report.total("created") == 2
    stored = {i.source_key: i for i in incidents(engine)}
    assert set(stored) == {"A1", "B1"}
    assert stored["B1"].raw.endswith("Café")


def test_unknown_offence_codes_are_kept_without_category_and_reported(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "codes.csv",
        [
            GENERIC_HEADER,
            "A1,2020-06-01 12:30,THEFT,-87.63,41.88",
            "A2,2020-06-01 12:40,ZZZ,-87.63,41.88",
            "A3,2020-06-01 12:50,ZZZ,-87.63,41.88",
            "A4,2020-06-01 13:00,QQ,-87.63,41.88",
        ],
    )
    report = import_source(engine, generic_spec(tmp_path), [path])
    assert report.total("rejected") == 0
    assert dict(report.unknown_codes) == {"ZZZ": 2, "QQ": 1}
    categories = {i.source_key: i.category_code for i in incidents(engine)}
    assert categories == {"A1": "larceny", "A2": None, "A3": None, "A4": None}


def test_content_keys_keep_exact_duplicate_rows_distinct(engine: Engine, tmp_path: Path) -> None:
    spec = generic_spec(tmp_path, record={})
    row = "X,2020-06-01 12:30,THEFT,-87.63,41.88"
    path = write(tmp_path / "dups.csv", [GENERIC_HEADER, row, row, row, "Y,2020-06-01 12:30,THEFT,-87.63,41.88"])
    report = import_source(engine, spec, [path])
    assert (report.total("created"), report.total("folded")) == (4, 0)
    keys = [i.source_key for i in incidents(engine)]
    assert len(set(keys)) == 4
    assert sorted(k.rsplit(".", 1)[1] for k in keys) == ["0", "0", "1", "2"]
    before = fingerprint(engine)
    again = import_source(engine, spec, [path])
    assert again.files[0].status == "already imported"
    assert fingerprint(engine) == before


def test_republished_content_keyed_file_replaces_its_records(engine: Engine, tmp_path: Path) -> None:
    spec = generic_spec(tmp_path, record={})
    a, b, c = (f"{k},2020-06-01 12:30,THEFT,-87.63,41.88" for k in "ABC")
    path = write(tmp_path / "2020.csv", [GENERIC_HEADER, a, b])
    import_source(engine, spec, [path])
    write(path, [GENERIC_HEADER, a, c])  # B withdrawn by the publisher, C added
    report = import_source(engine, spec, [path])
    (file_report,) = report.files
    assert (file_report.created, file_report.unchanged, file_report.withdrawn) == (1, 1, 1)
    assert file_report.reconciles()
    assert sorted(i.raw.split(",")[0] for i in incidents(engine)) == ["A", "C"]


def test_a_failure_mid_file_leaves_the_store_exactly_as_before(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_source_spec("stlouis")
    first = write(tmp_path / "january2015.csv", [STL_HEADER, stl_row("15-1", "2015-01")])
    import_source(engine, spec, [first])
    before = fingerprint(engine)

    real_bulk_writer = imports_module.bulk_writer

    class FailingSecondInsert:
        """Lets the first bulk insert (the ledger) through, then fails (the incidents)."""

        def __init__(self, connection: Any) -> None:
            self.inner = real_bulk_writer(connection)
            self.inserts = 0

        def insert(self, table: str, frame: Any) -> None:
            self.inserts += 1
            if self.inserts > 1:
                raise RuntimeError("disk full (simulated)")
            self.inner.insert(table, frame)

        def insert_columns(self, table: str, names: Any, columns: Any, constants: Any = None) -> None:
            self.inserts += 1
            if self.inserts > 1:
                raise RuntimeError("disk full (simulated)")
            self.inner.insert_columns(table, names, columns, constants)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(imports_module, "bulk_writer", FailingSecondInsert)
    second = write(tmp_path / "february2015.csv", [STL_HEADER, stl_row("15-2", "2015-02"), stl_row("15-3", "2015-02")])
    with pytest.raises(ImportFailed, match=r"february2015\.csv: writing failed and was rolled back.*disk full"):
        import_source(engine, spec, [second])
    assert fingerprint(engine) == before

    monkeypatch.setattr(imports_module, "bulk_writer", real_bulk_writer)
    report = import_source(engine, spec, [second])  # the file was not recorded: it imports now
    assert report.total("created") == 2


# --- St. Louis-format reversals -----------------------------------------------------------------

STL_HEADER = (
    "Complaint,CodedMonth,DateOccur,FlagCrime,FlagUnfounded,FlagAdministrative,Count,FlagCleanup,Crime,District,"
    "Description,ILEADSAddress,ILEADSStreet,Neighborhood,LocationName,LocationComment,CADAddress,CADStreet,"
    "XCoord,YCoord"
)


def stl_row(
    complaint: str,
    coded_month: str,
    count: int = 1,
    crime: str = "67601",
    district: str = "4",
    occurred: str = "01/05/2015 10:00",
) -> str:
    return (
        f"{complaint},{coded_month},{occurred},Y, , ,{count}, ,{crime},{district},LARCENY-FROM BUILDING,"
        "999,N 2ND ST,35, , ,999,2ND,910439.8,1019433"
    )


def import_stl(engine: Engine, path: Path) -> Any:
    report = import_source(engine, load_source_spec("stlouis"), [path])
    assert all(f.reconciles() for f in report.files), report.to_dict()
    return report.files[0]


def test_reversal_in_a_later_file_removes_the_incident(engine: Engine, tmp_path: Path) -> None:
    jan = write(tmp_path / "january2015.csv", [STL_HEADER, stl_row("15-1", "2015-01"), stl_row("15-2", "2015-01")])
    assert import_stl(engine, jan).created == 2
    feb = write(tmp_path / "february2015.csv", [STL_HEADER, stl_row("15-1", "2015-02", count=-1)])
    report = import_stl(engine, feb)
    assert (report.removed, report.created) == (1, 0)
    assert [i.source_key for i in incidents(engine)] == ["15-2:67601"]


def test_reversal_arriving_before_its_row_nets_out(engine: Engine, tmp_path: Path) -> None:
    jan = write(tmp_path / "january2015.csv", [STL_HEADER, stl_row("15-1", "2015-01", count=-1)])
    assert import_stl(engine, jan).netted_out == 1
    feb = write(tmp_path / "february2015.csv", [STL_HEADER, stl_row("15-1", "2015-02")])
    report = import_stl(engine, feb)
    assert (report.created, report.netted_out) == (0, 1)
    assert incidents(engine) == []
    with engine.connect() as conn:
        assert ledger_entries(conn)["count_delta"].sum() == 0


def test_reversal_in_the_same_file_nets_out(engine: Engine, tmp_path: Path) -> None:
    jan = write(
        tmp_path / "january2015.csv",
        [STL_HEADER, stl_row("15-1", "2015-01"), stl_row("15-1", "2015-01", count=-1), stl_row("15-2", "2015-01")],
    )
    report = import_stl(engine, jan)
    assert (report.rows_read, report.created, report.folded, report.netted_out) == (3, 1, 1, 1)


def test_republished_file_replaces_its_own_ledger_rows(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "january2015.csv"
    write(path, [STL_HEADER, stl_row("15-1", "2015-01"), stl_row("15-2", "2015-01")])
    import_stl(engine, path)
    write(path, [STL_HEADER, stl_row("15-1", "2015-01", district="5"), stl_row("15-3", "2015-01")])
    report = import_stl(engine, path)
    assert (report.updated, report.created, report.withdrawn) == (1, 1, 1)
    stored = {i.source_key: i for i in incidents(engine)}
    assert set(stored) == {"15-1:67601", "15-3:67601"}
    assert stored["15-1:67601"].district == "5"
    with Session(engine) as session:
        files = session.execute(select(ImportFile.file_name, ImportFile.superseded).order_by(ImportFile.id)).all()
        ledger = (
            ledger_entries(session.connection())
            .sort_values("source_key")[["source_key", "count_delta"]]
            .itertuples(index=False)
        )
    assert [tuple(f) for f in files] == [("january2015.csv", True), ("january2015.csv", False)]
    assert [tuple(r) for r in ledger] == [("15-1:67601", 1), ("15-3:67601", 1)]
    # The same bytes a third time: nothing to do.
    assert import_source(engine, load_source_spec("stlouis"), [path]).files[0].status == "already imported"


def test_newer_coded_month_wins_on_updates(engine: Engine, tmp_path: Path) -> None:
    feb = write(tmp_path / "february2015.csv", [STL_HEADER, stl_row("15-1", "2015-02", district="2")])
    import_stl(engine, feb)
    mar = write(tmp_path / "march2015.csv", [STL_HEADER, stl_row("15-1", "2015-03", district="3")])
    assert import_stl(engine, mar).updated == 1
    # An older coded month arriving late does not overwrite the newer version.
    jan = write(tmp_path / "january2015.csv", [STL_HEADER, stl_row("15-1", "2015-01", district="1")])
    report = import_stl(engine, jan)
    assert (report.updated, report.unchanged) == (0, 1)
    (incident,) = incidents(engine)
    assert incident.district == "3"
    assert incident.source_updated_at == dt.datetime(2015, 3, 1, 6, 0, tzinfo=UTC)  # local midnight, CST
    assert incident.net_count == 3


def test_within_one_file_the_newest_row_of_a_record_wins(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.csv",
        [STL_HEADER, stl_row("15-1", "2015-03", district="3"), stl_row("15-1", "2015-02", district="2")],
    )
    report = import_stl(engine, path)
    assert (report.created, report.folded) == (1, 1)
    assert incidents(engine)[0].district == "3"


# --- generic features: constant offence code, empty values, occurrence windows -----------------


def test_constant_offence_code_for_single_offence_exports(engine: Engine, tmp_path: Path) -> None:
    spec = generic_spec(
        tmp_path,
        record={},
        offence={"constant": "RESIDENTIAL BURGLARY", "codes": {"RESIDENTIAL BURGLARY": "burglary_residential"}},
    )
    assert spec.required_columns() == ["when", "lon", "lat"]
    path = write(tmp_path / "burglaries.csv", ["when,lon,lat", "2020-06-01 12:30,-87.63,41.88"])
    report = import_source(engine, spec, [path])
    assert report.total("created") == 1 and not report.unknown_codes
    (incident,) = incidents(engine)
    assert (incident.offence_code, incident.category_code) == ("RESIDENTIAL BURGLARY", "burglary_residential")


def test_empty_values_are_dropped_from_text_fields(engine: Engine, tmp_path: Path) -> None:
    spec = generic_spec(
        tmp_path,
        fields={"block_address": ["block", "dir", "street"], "beat": "beat", "empty_values": ["-", "PRIVATE"]},
    )
    path = write(
        tmp_path / "addresses.csv",
        [
            f"{GENERIC_HEADER},block,dir,street,beat",
            "A1,2020-06-01 12:30,THEFT,-87.63,41.88,700-799,E,tidwell rd,1A10",
            "A2,2020-06-01 12:30,THEFT,-87.63,41.88,700-799,-,tidwell rd,-",
            "A3,2020-06-01 12:30,THEFT,-87.63,41.88,PRIVATE,-,,",
        ],
    )
    import_source(engine, spec, [path])
    stored = {i.source_key: (i.block_address, i.beat) for i in incidents(engine)}
    assert stored == {"A1": ("700-799 E tidwell rd", "1A10"), "A2": ("700-799 tidwell rd", None), "A3": (None, None)}


def test_occurrence_window_and_its_precision(engine: Engine, tmp_path: Path) -> None:
    fmt = "%Y-%m-%d %H:%M"
    spec = generic_spec(
        tmp_path,
        occurred={"from": {"column": "when", "format": fmt}, "to": {"column": "until", "format": fmt}},
    )
    path = write(
        tmp_path / "windows.csv",
        [
            f"{GENERIC_HEADER},until",
            "A1,2020-03-07 22:00,THEFT,-87.63,41.88,2020-03-08 09:00",  # across the spring-forward change
            "A2,2020-06-01 12:30,THEFT,-87.63,41.88,",
            "A3,2020-06-01 12:30,THEFT,-87.63,41.88,2020-06-01 12:30",
            "A4,2020-06-01 12:30,THEFT,-87.63,41.88,2020-05-31 12:30",  # ends before it starts
        ],
    )
    report = import_source(engine, spec, [path])
    assert [(p.line, p.field) for p in report.files[0].problems] == [(5, "until")]
    stored = {i.source_key: i for i in incidents(engine)}
    assert stored["A1"].time_precision == "window"
    assert stored["A1"].occurred_from == dt.datetime(2020, 3, 8, 4, 0, tzinfo=UTC)  # CST, UTC-6
    assert stored["A1"].occurred_to == dt.datetime(2020, 3, 8, 14, 0, tzinfo=UTC)  # CDT, UTC-5
    for key in ("A2", "A3"):
        assert stored[key].time_precision == "minute"
        assert stored[key].occurred_from == stored[key].occurred_to


def test_points_outside_the_extent_are_kept_and_flagged(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "far.csv",
        [GENERIC_HEADER, "A1,2020-06-01 12:30,THEFT,-87.63,41.88", "A2,2020-06-01 12:30,THEFT,-95.11,31.41"],
    )
    report = import_source(engine, generic_spec(tmp_path), [path])
    assert report.total("outside_extent") == 1
    statuses = {i.source_key: i.location_status for i in incidents(engine)}
    assert statuses == {"A1": "located", "A2": "outside"}


def test_gzipped_files_are_read(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "packed.csv.gz"
    path.write_bytes(gzip.compress(f"{GENERIC_HEADER}\nA1,2020-06-01 12:30,THEFT,-87.63,41.88\n".encode()))
    assert import_source(engine, generic_spec(tmp_path), [path]).total("created") == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1


# --- spec validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"colour": {"x": 1}}, r"synthetic\.toml: unknown key\(s\) colour in \[top level\]"),
        (
            {"agency": {"code": "T", "name": "T", "timezone": "Mars/Olympus", "crs": "EPSG:26971", "unit": 1}},
            r"synthetic\.toml: unknown key\(s\) unit in \[agency\]",
        ),
        (
            {"agency": {"code": "T", "name": "T", "timezone": "Mars/Olympus", "crs": "EPSG:26971"}},
            r"synthetic\.toml: \[agency\] timezone 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            {"agency": {"code": "T", "name": "T", "timezone": "UTC", "crs": "EPSG:4326"}},
            r"synthetic\.toml: \[agency\] crs 'EPSG:4326' must be a projected CRS in metres",
        ),
        (
            {"agency": {"code": "T", "name": "T", "timezone": "UTC", "crs": "EPSG:2913"}},  # Oregon North, feet
            r"synthetic\.toml: \[agency\] crs 'EPSG:2913' must be a projected CRS in metres",
        ),
        (
            {"offence": {"code": "code", "codes": {"THEFT": "thievery"}}},
            r"synthetic\.toml: \[offence\.codes\] 'THEFT' maps to 'thievery', which is not a category",
        ),
        (
            {
                "offence": {
                    "code": "code",
                    "ranges": [
                        {"from": 100, "to": 199, "category": "larceny"},
                        {"from": 150, "to": 250, "category": "burglary"},
                    ],
                }
            },
            r"synthetic\.toml: \[offence\] ranges ranges overlap at 150",
        ),
        (
            {"offence": {"code": "code", "constant": "X", "codes": {"X": "larceny"}}},
            r"synthetic\.toml: \[offence\] code and constant: give exactly one",
        ),
        (
            {"offence": {"codes": {"X": "larceny"}}},
            r"synthetic\.toml: \[offence\] code and constant: give exactly one",
        ),
        (
            {"offence": {"constant": "Y", "codes": {"X": "larceny"}}},
            r"synthetic\.toml: \[offence\] constant 'Y' must be mapped to a category",
        ),
        (
            {"fields": {"block_address": "block", "empty_values": [1]}},
            r"synthetic\.toml: \[fields\] empty_values must be a text value or a list of them",
        ),
        (
            {"occurred": {"from": "when", "precision": "week"}},
            r"synthetic\.toml: \[occurred\] precision must be one of minute, hour, day, month",
        ),
    ],
    ids=[
        "unknown-key",
        "unknown-agency-key",
        "bad-timezone",
        "geographic-crs",
        "feet-crs",
        "unknown-category",
        "overlapping-ranges",
        "code-and-constant",
        "neither-code-nor-constant",
        "unmapped-constant",
        "bad-empty-values",
        "bad-precision",
    ],
)
def test_spec_errors_name_the_file_and_key(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        generic_spec(tmp_path, **overrides)


def test_constant_may_be_mapped_by_a_range(tmp_path: Path) -> None:
    spec = generic_spec(
        tmp_path, offence={"constant": "61000", "ranges": [{"from": 60000, "to": 69999, "category": "larceny"}]}
    )
    assert spec.offence.constant == "61000" and spec.offence.code_column is None


def test_unknown_builtin_source_lists_the_known_ones() -> None:
    with pytest.raises(SpecError, match=r"unknown source 'atlantis'.*chicago, chicago_burglary"):
        load_source_spec("atlantis")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[source\nname = 'x'\n")
    with pytest.raises(SpecError, match=r"broken\.toml: not valid TOML"):
        load_source_spec(path)


# --- first bulk load: secondary indexes built once at the end ------------------------------------


def incident_indexes(engine: Engine) -> set[str]:
    from sqlalchemy import inspect

    return {str(index["name"]) for index in inspect(engine).get_indexes("incidents")}


def test_a_first_bulk_load_rebuilds_the_secondary_indexes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports_module, "BULK_LOAD_MIN_BYTES", 0)  # treat the small files as a bulk load
    dropped: list[set[str]] = []
    real_apply = imports_module._apply_file

    def apply_and_look(*args: Any, **kwargs: Any) -> None:
        dropped.append(set(imports_module.DEFERRABLE_INDEXES) - incident_indexes(engine))
        real_apply(*args, **kwargs)

    monkeypatch.setattr(imports_module, "_apply_file", apply_and_look)
    jan = write(tmp_path / "january2015.csv", [STL_HEADER, stl_row("15-1", "2015-01"), stl_row("15-2", "2015-01")])
    feb = write(tmp_path / "february2015.csv", [STL_HEADER, stl_row("15-1", "2015-02", count=-1)])
    report = import_source(engine, load_source_spec("stlouis"), [jan, feb])
    assert (report.total("created"), report.total("removed")) == (2, 1)
    # Written without the secondary indexes, which exist again afterwards.
    assert dropped == [set(imports_module.DEFERRABLE_INDEXES)] * 2
    assert set(imports_module.DEFERRABLE_INDEXES) <= incident_indexes(engine)

    # A store that already holds incidents keeps its indexes while importing.
    dropped.clear()
    mar = write(tmp_path / "march2015.csv", [STL_HEADER, stl_row("15-3", "2015-03")])
    import_source(engine, load_source_spec("stlouis"), [mar])
    assert dropped == [set()]


def test_indexes_are_rebuilt_after_a_failed_or_interrupted_bulk_load(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports_module, "BULK_LOAD_MIN_BYTES", 0)
    jan = write(tmp_path / "january2015.csv", [STL_HEADER, stl_row("15-1", "2015-01")])

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(imports_module, "_apply_file", fail)
    with pytest.raises(ImportFailed, match="disk full"):
        import_source(engine, load_source_spec("stlouis"), [jan])
    assert set(imports_module.DEFERRABLE_INDEXES) <= incident_indexes(engine)

    # A run killed before it could rebuild them: the next import does.
    with engine.begin() as conn:
        for name in imports_module.DEFERRABLE_INDEXES:
            conn.execute(text(f"DROP INDEX {name}"))
    monkeypatch.undo()
    assert import_stl(engine, jan).created == 1
    assert set(imports_module.DEFERRABLE_INDEXES) <= incident_indexes(engine)


def test_files_are_normalised_in_groups_small_at_both_ends() -> None:
    from openilp.services.imports.parsing import group_sizes

    assert group_sizes(60) == [1, 2, 4, 8, 12, 12, 11, 6, 3, 1]
    assert group_sizes(0) == [] and group_sizes(1) == [1] and group_sizes(5) == [1, 2, 2]
    for n in range(1, 130):
        sizes = group_sizes(n)
        assert sum(sizes) == n and min(sizes) >= 1 and max(sizes) <= 12


# --- reading CSV text: the fast reader and the exact fallback agree ------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter", "rows", "lines", "malformed"),
    [
        ('a,b,c\n1,"x,y",3\n4,"he said ""hi""",6\n', ",", [["1", "x,y", "3"], ["4", 'he said "hi"', "6"]], [2, 3], []),
        ("a,b,c\r\n1,2,3\r\n4,5,6\r\n", ",", [["1", "2", "3"], ["4", "5", "6"]], [2, 3], []),
        ('a,b,c\n1,"x\ny",3\n4,5,6\n', ",", [["1", "x\ny", "3"], ["4", "5", "6"]], [2, 4], []),
        ("a,b,c\n1,2\n4,5,6\n", ",", [["4", "5", "6"]], [3], [2]),
        ("a,b,c\n1,2,3,4\n4,5,6\n", ",", [["4", "5", "6"]], [3], [2]),
        ("a,b,c\n1,2,3\n\n4,5,6\n", ",", [["1", "2", "3"], ["4", "5", "6"]], [2, 4], []),
        ("a,b,c\n", ",", [], [], []),
        ("a;b;c\n1;2,5;3\n", ";", [["1", "2,5", "3"]], [2], []),
        ("a,b\n 1 ,École\n", ",", [[" 1 ", "École"]], [2], []),
        ("a,a,c\n1,2,3\n", ",", [["1", "2", "3"]], [2], []),
    ],
    ids=[
        "quoted",
        "crlf",
        "multi-line",
        "short-row",
        "long-row",
        "blank-line",
        "header-only",
        "semicolon",
        "text",
        "repeated-name",
    ],
)
def test_csv_text_is_read_exactly(
    text: str, delimiter: str, rows: list[list[str]], lines: list[int], malformed: list[int]
) -> None:
    from openilp.ingest.reading import _parse

    frame, numbers, raw_lines, bad = _parse(text, text.splitlines(), delimiter, Path("x.csv"))
    assert frame.astype(object).values.tolist() == rows
    assert numbers.tolist() == lines
    assert [line for line, _, _ in bad] == malformed
    physical = text.splitlines()
    if '\n1,"x\ny"' not in text:  # a record on one line keeps that line as published
        assert raw_lines == [physical[n - 1] for n in lines]


def test_constant_columns_are_written_as_literals(engine: Engine) -> None:
    from openilp.db.bulk import _sql_literal, bulk_writer

    assert _sql_literal(7) == "7" and _sql_literal("o'hare") == "'o''hare'"
    with pytest.raises(TypeError):
        _sql_literal(1.5)  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS constant_check"))  # a pooled connection may still hold it
        conn.execute(text("CREATE TEMPORARY TABLE constant_check (n INTEGER, label TEXT, value TEXT)"))
        bulk_writer(conn).insert_columns(
            "constant_check", ["value"], [["a", None]], constants={"n": 5, "label": "it's"}
        )
        rows = conn.execute(text("SELECT n, label, value FROM constant_check ORDER BY value")).all()
    assert sorted((tuple(r) for r in rows), key=str) == sorted([(5, "it's", "a"), (5, "it's", None)], key=str)


@pytest.mark.parametrize("n", [3, 300], ids=["few rows", "many rows"])
def test_bulk_writer_updates_and_deletes_by_key(engine: Engine, n: int) -> None:
    """Few rows go as plain statements; many go through COPY and a staging table on PostgreSQL."""
    import pandas as pd

    from openilp.db.bulk import bulk_writer

    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bulk_check"))  # a pooled connection may still hold it
        conn.execute(text("CREATE TEMPORARY TABLE bulk_check (k TEXT, grp INTEGER, v INTEGER)"))
        writer = bulk_writer(conn)
        keys = [f"k{i}" for i in range(n)]
        writer.insert("bulk_check", pd.DataFrame({"k": keys, "grp": 1, "v": 0}))
        writer.update("bulk_check", pd.DataFrame({"k": keys[: n - 1], "grp": 1, "v": range(1, n)}), ["k", "grp"])
        writer.delete("bulk_check", pd.DataFrame({"k": keys[:1], "grp": [1]}))
        rows = conn.execute(text("SELECT k, v FROM bulk_check")).all()
    values = {k: v for k, v in rows}
    assert len(values) == n - 1 and "k0" not in values
    assert values["k1"] == 2 and values[f"k{n - 1}"] == 0
