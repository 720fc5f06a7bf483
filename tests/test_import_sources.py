"""Every built-in source description, proven on the real published exports in the shared data.

Each source is imported into a fresh store and checked against numbers measured from the files:
rows read reconcile with the file's data rows, no row is rejected, category counts of known codes,
the located share, the time precision, and one known row's local time converted to UTC. A second
import of the same files must report "already imported" and leave the store byte-for-byte alone.

The small sources and a one-year slice of Vancouver and St. Louis run on every backend; the full
Vancouver (210,049 rows) and St. Louis (60 files) imports run on SQLite only.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import shared_file
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from store_support import import_source

from openilp.db.ledger import ledger_entries
from openilp.db.models import ImportFile, Incident
from openilp.ingest.categories import load_category_definitions
from openilp.ingest.spec import builtin_source_names, load_source_spec
from openilp.services.imports.run import ImportReport

UTC = dt.UTC


def data_rows(path: Path) -> int:
    """Records in a CSV (or .csv.gz) file, counted by the csv module, independently of the importer."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("latin-1"), newline=""))
    return sum(1 for record in reader if any(v.strip() for v in record)) - 1


def store_fingerprint(engine: Engine) -> tuple[int, int, int, str]:
    """Incidents, ledger rows, import files, and a checksum over every incident's identity and content."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, source_key, content_hash, net_count, import_file_id FROM incidents ORDER BY id")
        ).all()
        ledger = len(ledger_entries(conn))
        files = conn.execute(text("SELECT COUNT(*) FROM import_files")).scalar_one()
    digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return len(rows), int(ledger), int(files), digest


def category_counts(engine: Engine) -> dict[str | None, int]:
    with Session(engine) as session:
        return dict(
            session.execute(select(Incident.category_code, func.count()).group_by(Incident.category_code)).all()
        )


def status_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(
            session.execute(select(Incident.location_status, func.count()).group_by(Incident.location_status)).all()
        )


def precision_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(
            session.execute(select(Incident.time_precision, func.count()).group_by(Incident.time_precision)).all()
        )


def incident_at(engine: Engine, file_name: str, line: int) -> Incident:
    """The incident imported from ``line`` of the file named ``file_name``."""
    with Session(engine) as session:
        return session.execute(
            select(Incident)
            .join(ImportFile, ImportFile.id == Incident.import_file_id)
            .where(ImportFile.file_name == file_name, Incident.source_line == line)
        ).scalar_one()


def assert_reconciled(report: ImportReport, files: list[Path]) -> None:
    assert report.ok
    assert [Path(f.file_name).name for f in report.files] == [p.name for p in files]
    for file_report, path in zip(report.files, files, strict=True):
        assert file_report.status == "imported"
        assert file_report.reconciles(), file_report.to_dict()
        assert file_report.rows_read == data_rows(path), path


def assert_reimport_changes_nothing(engine: Engine, source: str, paths: list[Path]) -> None:
    before = store_fingerprint(engine)
    again = import_source(engine, load_source_spec(source), paths)
    assert {f.status for f in again.files} == {"already imported"}
    assert again.total("created") == again.total("updated") == again.total("removed") == 0
    assert store_fingerprint(engine) == before


def t(text_value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_value).replace(tzinfo=UTC)


@dataclass(frozen=True)
class KnownRow:
    """One row of a file, with its occurrence window in UTC as read by hand from the file."""

    file_name: str
    line: int
    occurred_from: dt.datetime
    occurred_to: dt.datetime
    precision: str
    location_status: str = "located"
    expect: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Expected:
    source: str
    paths: tuple[str, ...]
    rows: int
    incidents: int
    categories: dict[str | None, int]
    statuses: dict[str, int]
    precisions: dict[str, int]
    known: KnownRow
    rejected_lines: tuple[int, ...] = ()


SMALL_SOURCES = [
    Expected(
        source="chicago",
        paths=("chicago_sample", "chicago_crimes_sample_25k.csv.gz"),
        rows=25_000,
        incidents=25_000,
        # fbi_code spelled without its leading zero in the sample ("6") maps like "06".
        categories={"larceny": 5_948, "simple_assault": 5_507, "homicide": 48, "burglary": 1_151, "arson": 39},
        statuses={"located": 25_000},
        precisions={"minute": 25_000},
        # 7/19/2017 13:45 CDT (UTC-5)
        known=KnownRow(
            "chicago_crimes_sample_25k.csv.gz",
            2,
            t("2017-07-19 18:45"),
            t("2017-07-19 18:45"),
            "minute",
            expect={
                "source_key": "11023904",
                "source_record_id": "JA354631",
                "category_code": "weapons",
                "block_address": "024XX W LITHUANIAN PLAZA CT",
                "source_updated_at": t("2018-02-10 21:50"),  # 2/10/2018 15:50 CST
            },
        ),
    ),
    Expected(
        source="chicago_burglary",
        paths=("chicago_burglary", "chicago_burglary_2014_2017.csv"),
        rows=45_319,
        incidents=45_319,
        categories={"burglary_residential": 45_319},
        statuses={"located": 45_319},
        precisions={"day": 45_319},
        # 01/01/2014 (a whole day, CST = UTC-6)
        known=KnownRow(
            "chicago_burglary_2014_2017.csv",
            2,
            t("2014-01-01 06:00"),
            t("2014-01-02 06:00"),
            "day",
            expect={"offence_code": "RESIDENTIAL BURGLARY"},
        ),
    ),
    Expected(
        source="portland_nij",
        paths=("portland_nij", "portland_cfs_2016_aug_sep.csv.gz"),
        rows=37_819,
        incidents=37_818,
        categories={"service_call": 13_623, "traffic": 4_265, "burglary": 810, "motor_vehicle_theft": 1_147},
        statuses={"located": 37_818},
        precisions={"day": 37_818},
        # 2016-08-10, PDT (UTC-7); a prowler call, which NIJ counts as BURGLARY
        known=KnownRow(
            "portland_cfs_2016_aug_sep.csv.gz",
            2,
            t("2016-08-10 07:00"),
            t("2016-08-11 07:00"),
            "day",
            expect={"offence_code": "PROWLP", "category_code": "service_call"},
        ),
        # The one entirely empty record (no call type, no date, no location).
        rejected_lines=(19_377,),
    ),
    Expected(
        source="policeuk",
        paths=("policeuk_west_yorkshire", "west_yorkshire_street_2016_07_2017_07_2018_07.csv.gz"),
        rows=87_348,
        incidents=87_348,
        categories={"public_order": 25_400, "violence_other": 23_861, "theft_from_vehicle": 6_041, "larceny": 7_923},
        statuses={"located": 83_566, "missing": 3_771, "outside": 11},
        precisions={"month": 87_348},
        # July 2016 in BST (UTC+1): the month starts at 2016-06-30 23:00 UTC
        known=KnownRow(
            "west_yorkshire_street_2016_07_2017_07_2018_07.csv.gz",
            2,
            t("2016-06-30 23:00"),
            t("2016-07-31 23:00"),
            "month",
            expect={"neighbourhood": "E01007359", "block_address": "On or near Swithen Hill", "source_record_id": None},
        ),
    ),
    Expected(
        source="houston",
        paths=("houston_ggmap", "houston_crime_2010_jan_aug.csv.gz"),
        rows=86_314,
        incidents=86_314,
        categories={"larceny": 46_556, "burglary": 17_802, "motor_vehicle_theft": 7_946, "homicide": 157},
        statuses={"located": 86_098, "missing": 5, "outside": 211},
        precisions={"hour": 86_314},
        # 2010-01-01 00:00 CST (UTC-6), the hour to 01:00
        known=KnownRow(
            "houston_crime_2010_jan_aug.csv.gz",
            2,
            t("2010-01-01 06:00"),
            t("2010-01-01 07:00"),
            "hour",
            expect={"category_code": "homicide", "beat": "15E30", "block_address": "9600-9699 marlive ln"},
        ),
    ),
    Expected(
        source="nyc_mvt",
        paths=("crime_open_database", "nyc_motor_vehicle_thefts_2014_2017.csv.gz"),
        rows=35_746,
        incidents=35_746,
        categories={"motor_vehicle_theft": 35_746},
        statuses={"located": 35_746},
        precisions={"window": 32_382, "minute": 3_364},
        # 2013-12-31 10:00 .. 2014-01-01 16:30 EST (UTC-5)
        known=KnownRow(
            "nyc_motor_vehicle_thefts_2014_2017.csv.gz",
            2,
            t("2013-12-31 15:00"),
            t("2014-01-01 21:30"),
            "window",
            expect={"source_key": "12386084"},
        ),
    ),
    Expected(
        source="vancouver",
        paths=("vancouver", "yearly", "crimedata_csv_AllNeighbourhoods_2020.csv"),
        rows=37_511,
        incidents=37_511,
        categories={"larceny": 8_649, "theft_from_vehicle": 10_431, "violence_other": 3_739, "homicide": 19},
        statuses={"located": 33_752, "withheld": 3_758, "missing": 1},
        precisions={"minute": 37_511},
        # 2020-03-01 00:00 PST (UTC-8); an offence against a person, location withheld
        known=KnownRow(
            "crimedata_csv_AllNeighbourhoods_2020.csv",
            2,
            t("2020-03-01 08:00"),
            t("2020-03-01 08:00"),
            "minute",
            location_status="withheld",
            expect={"lon": None, "x_m": None, "block_address": None, "neighbourhood": "Central Business District"},
        ),
    ),
]


@pytest.mark.realdata
@pytest.mark.parametrize("expected", SMALL_SOURCES, ids=lambda e: e.source)
def test_source_imports_real_file(engine: Engine, expected: Expected) -> None:
    path = shared_file(*expected.paths)
    report = import_source(engine, load_source_spec(expected.source), [path])

    assert_reconciled(report, [path])
    assert report.total("rows_read") == expected.rows
    assert [p.line for p in report.files[0].problems] == list(expected.rejected_lines)
    assert report.total("rejected") == len(expected.rejected_lines)
    assert not report.unknown_codes
    assert sum(status_counts(engine).values()) == expected.incidents
    assert status_counts(engine) == expected.statuses
    assert precision_counts(engine) == expected.precisions
    categories = category_counts(engine)
    assert None not in categories
    for category, count in expected.categories.items():
        assert categories.get(category) == count, category

    known = expected.known
    incident = incident_at(engine, known.file_name, known.line)
    assert incident.occurred_from == known.occurred_from
    assert incident.occurred_to == known.occurred_to
    assert incident.time_precision == known.precision
    assert incident.location_status == known.location_status
    for name, value in known.expect.items():
        assert getattr(incident, name) == value, name

    assert_reimport_changes_nothing(engine, expected.source, [path])


@pytest.mark.realdata
def test_portland_rejects_only_the_empty_record(sqlite_engine: Engine) -> None:
    path = shared_file("portland_nij", "portland_cfs_2016_aug_sep.csv.gz")
    report = import_source(sqlite_engine, load_source_spec("portland_nij"), [path])
    (problem,) = report.files[0].problems
    assert (problem.line, problem.field, problem.value) == (19_377, "final_case_type", "")
    assert "offence code" in problem.expected


@pytest.mark.realdata
def test_vancouver_all_years(sqlite_engine: Engine) -> None:
    folder = shared_file("vancouver", "yearly")
    files = sorted(folder.glob("crimedata_csv_*.csv"))
    report = import_source(sqlite_engine, load_source_spec("vancouver"), [folder])

    assert_reconciled(report, files)
    assert report.total("rows_read") == report.total("created") == 210_049
    assert report.total("rejected") == 0 and not report.unknown_codes
    statuses = status_counts(sqlite_engine)
    assert statuses == {"located": 187_276, "withheld": 22_757, "missing": 16}
    assert 0.885 <= statuses["located"] / 210_049 <= 0.895
    categories = category_counts(sqlite_engine)
    assert categories["burglary_residential"] == 7_964
    assert categories["burglary_commercial"] == 11_388
    assert categories["traffic"] == 6_449 + 110
    with Session(sqlite_engine) as session:
        located_withheld = session.scalar(
            select(func.count()).where(
                Incident.location_status == "withheld",
                Incident.lon.is_not(None) | Incident.lat.is_not(None) | Incident.x_m.is_not(None),
            )
        )
        privacy_rows = session.scalar(select(func.count()).where(Incident.raw.like("%OFFSET TO PROTECT PRIVACY%")))
        # Exact duplicate rows are real (several offences at one block and minute) and kept.
        distinct_lines = session.scalar(select(func.count(func.distinct(Incident.raw))))
    assert located_withheld == 0
    assert privacy_rows == statuses["withheld"]
    assert distinct_lines is not None and distinct_lines < 210_049 - 10_000

    # A summer row (2021-07-21 10:00, PDT = UTC-7), checked against the file's own line.
    line_no = 20_000
    line = (folder / "crimedata_csv_AllNeighbourhoods_2021.csv").read_text().splitlines()[line_no - 1]
    fields = next(csv.reader([line]))
    year, month, day, hour, minute = (int(v) for v in fields[1:6])
    local = dt.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("America/Vancouver"))
    assert local.utcoffset() == dt.timedelta(hours=-7)
    incident = incident_at(sqlite_engine, "crimedata_csv_AllNeighbourhoods_2021.csv", line_no)
    assert incident.occurred_from == local.astimezone(UTC)
    assert incident.raw == line

    assert_reimport_changes_nothing(sqlite_engine, "vancouver", [folder])


STL = ("stlouis", "monthly")


@pytest.mark.realdata
def test_stlouis_one_year(engine: Engine) -> None:
    folder = shared_file(*STL, "2015")
    files = sorted(folder.glob("*.csv"))
    report = import_source(engine, load_source_spec("stlouis"), [folder])
    assert_reconciled(report, files)
    assert report.total("rows_read") == 51_235 and report.total("rejected") == 0
    assert sum(status_counts(engine).values()) == 48_793
    categories = category_counts(engine)
    assert (categories["homicide"], categories["larceny"], categories["motor_vehicle_theft"]) == (174, 12_687, 3_149)

    # october2015.csv is cp1252: "LUMIÈRE" (byte 0xC8) must come through as È.
    incident = incident_at(engine, "october2015.csv", 712)
    assert incident.source_key == "15-050495:67601"
    assert "LUMIÈRE" in incident.raw
    assert incident.occurred_from == t("2015-10-03 03:15")  # 10/2/2015 22:15 CDT
    assert incident.time_precision == "minute"
    with Session(engine) as session:
        encodings = dict(session.execute(select(ImportFile.file_name, ImportFile.encoding)).all())
    assert encodings["october2015.csv"] == "cp1252"
    assert_reimport_changes_nothing(engine, "stlouis", [folder])


@pytest.mark.realdata
def test_stlouis_all_files(sqlite_engine: Engine) -> None:
    folder = shared_file(*STL)
    files = sorted(folder.rglob("*.csv"))
    assert len(files) == 60
    report = import_source(sqlite_engine, load_source_spec("stlouis"), [folder])
    assert_reconciled(report, files)
    assert report.total("rejected") == 0 and not report.unknown_codes

    chicago = ZoneInfo("America/Chicago")
    start = dt.datetime(2015, 1, 1, tzinfo=chicago).astimezone(UTC)
    end = dt.datetime(2020, 1, 1, tzinfo=chicago).astimezone(UTC)
    with Session(sqlite_engine) as session:
        in_period = select(func.count()).where(Incident.occurred_from >= start, Incident.occurred_from < end)
        occurring = session.scalar(in_period)
        located = session.scalar(in_period.where(Incident.location_status == "located"))
        encodings = dict(session.execute(select(ImportFile.file_name, ImportFile.encoding)).all())
        may2017 = session.execute(
            select(Incident)
            .join(ImportFile, ImportFile.id == Incident.import_file_id)
            .where(ImportFile.file_name == "may2017.csv")
            .limit(200)
        ).scalars()
        may2017_rows = list(may2017)
    assert occurring is not None and located is not None
    assert 232_000 <= occurring <= 233_500
    assert located / occurring >= 0.97

    # The May 2017 file renamed its columns ("Date Occur", "X-Coord", …) and added Beat.
    assert may2017_rows
    assert all(i.occurred_from is not None for i in may2017_rows)
    assert sum(i.location_status == "located" for i in may2017_rows) > 150
    assert any(i.beat for i in may2017_rows)

    # january2017.csv starts with a UTF-8 byte-order mark but is cp1252 ("O’BRIEN’S", 0x92);
    # may2018.csv has a BOM and is UTF-8. The BOM must not stick to the first column name.
    assert encodings["january2017.csv"] == "cp1252"
    assert encodings["may2018.csv"] == "utf-8-sig"
    incident = incident_at(sqlite_engine, "january2017.csv", 3_884)
    assert incident.source_key == "17-000886:67601"
    assert "BOMBER O’BRIEN’S" in incident.raw
    first_may2018 = incident_at(sqlite_engine, "may2018.csv", 2)
    assert first_may2018.source_key.startswith("18-")

    assert_reimport_changes_nothing(sqlite_engine, "stlouis", [folder])


def test_every_builtin_source_loads_and_names_real_categories() -> None:
    names = builtin_source_names()
    expected = {
        "stlouis",
        "vancouver",
        "chicago",
        "chicago_burglary",
        "portland_nij",
        "policeuk",
        "houston",
        "nyc_mvt",
    }
    assert expected <= set(names)
    known = load_category_definitions()
    for name in names:
        spec = load_source_spec(name)
        assert spec.name == name
        named = set(spec.offence.codes.values()) | {category for _, _, category in spec.offence.ranges}
        assert named <= set(known), (name, named - set(known))
        assert spec.attribution, name


def test_sources_of_one_agency_share_its_crs() -> None:
    by_agency: dict[str, set[str]] = {}
    for name in builtin_source_names():
        spec = load_source_spec(name)
        by_agency.setdefault(spec.agency.code, set()).add(spec.agency.crs)
    assert all(len(crs) == 1 for crs in by_agency.values()), by_agency


@pytest.mark.realdata
def test_two_sources_of_one_agency_import_side_by_side(sqlite_engine: Engine) -> None:
    """chicago and chicago_burglary both feed agency CPD: one agency row, two sources."""
    import_source(sqlite_engine, load_source_spec("chicago"), [shared_file("chicago_sample")])
    import_source(sqlite_engine, load_source_spec("chicago_burglary"), [shared_file("chicago_burglary")])
    with Session(sqlite_engine) as session:
        sources = dict(session.execute(select(Incident.source, func.count()).group_by(Incident.source)).all())
        agencies = session.scalar(select(func.count(func.distinct(Incident.agency_id))))
    assert sources == {"chicago": 25_000, "chicago_burglary": 45_319}
    assert agencies == 1
