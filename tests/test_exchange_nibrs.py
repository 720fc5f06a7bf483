"""NIBRS XML export: the offence mapping never guesses, and the documents pass the FBI's schema.

The schema is the official NIBRS XML IEPD 2019.1, read in place from the shared reference folder
(``conftest.shared_reference``), never copied into the project.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import shared_file, shared_reference
from lxml import etree
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from store_support import add_user, core_for, import_source
from typer.testing import CliRunner

from openilp.cli import app, common
from openilp.db.models import AuditEntry
from openilp.errors import InvalidRequest, NotPermitted
from openilp.exchange.nibrs import NibrsIncident, NibrsSchema, group_a_report
from openilp.ingest.categories import load_category_definitions
from openilp.ingest.nibrs import (
    GAP_REASONS,
    INCIDENT_GAP_REASONS,
    NIBRS_OFFENCES,
    NibrsSourceMapping,
    category_nibrs_offences,
    resolve_offence,
)
from openilp.ingest.spec import SpecError, load_source_spec, parse_source_spec
from openilp.services.exchange import NibrsExportRequest, export_nibrs

IEPD = ("nibrs-iepd-2019.1",)
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


@pytest.fixture(scope="module")
def schema() -> NibrsSchema:
    return NibrsSchema(shared_reference(*IEPD))


# --- the mapping ----------------------------------------------------------------------------------


def test_offence_table_is_the_schema_code_list() -> None:
    codes_xsd = etree.parse(str(shared_reference(*IEPD, "base-xsd", "nibrs", "2019", "nibrs-codes.xsd")))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    offence_type = next(
        node for node in codes_xsd.iter(f"{xs}simpleType") if node.get("name") == "OffenseCodeSimpleType"
    )
    assert {node.get("value") for node in offence_type.iter(f"{xs}enumeration")} == set(NIBRS_OFFENCES)
    assert {o.group for o in NIBRS_OFFENCES.values()} == {"A", "B"}
    assert all(code.startswith("90") for code, o in NIBRS_OFFENCES.items() if o.group == "B")


def test_every_category_states_its_nibrs_offences() -> None:
    mapping = category_nibrs_offences()
    assert set(mapping) == set(load_category_definitions())
    # A category maps on its own only when it holds exactly one offence; larceny does not.
    assert mapping["robbery"] == ("120",) and mapping["motor_vehicle_theft"] == ("240",)
    assert len(mapping["larceny"]) == 8 and mapping["traffic"] == ()


def test_source_mapping_wins_and_gaps_name_their_reason() -> None:
    stl = load_source_spec("stlouis").nibrs
    assert resolve_offence("larceny", "64701", stl).offence == "23F"  # from motor vehicle, by SLMPD's code
    assert resolve_offence("larceny", "66701", stl).reason == "ambiguous_category"  # bicycles: 23D or 23H
    assert resolve_offence("homicide", "10000", stl).reason == "ambiguous_category"  # 09A, 09B or 09C
    assert resolve_offence("public_order", "241100", stl) == resolve_offence("x", "241100", stl)
    assert resolve_offence("public_order", "241100", stl).reason == "group_b_without_arrest"
    assert resolve_offence(None, "1", None).reason == "no_category"
    assert resolve_offence("service_call", "1", None).reason == "not_nibrs"
    assert resolve_offence("other_offence", "265321", stl).reason == "not_nibrs"  # leaving the scene: traffic
    assert {"no_category", "not_nibrs", "ambiguous_category", "group_b_without_arrest"} == set(GAP_REASONS)
    assert NibrsSourceMapping(codes={"A1": "13B"}).offence_of(" A1 ") == "13B"


def test_source_nibrs_table_is_checked(tmp_path: Path) -> None:
    import tomllib

    spec_path = Path(load_source_spec("stlouis").path)
    data = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    data["nibrs"] = {"ranges": [{"from": 1, "to": 9, "offence": "23Z"}]}
    with pytest.raises(SpecError, match="23Z.*not a NIBRS 2019 offence"):
        parse_source_spec(data, spec_path)
    data["nibrs"] = {"ranges": [{"from": 1, "to": 9, "offence": "23F"}, {"from": 5, "to": 12, "offence": "23H"}]}
    with pytest.raises(SpecError, match="overlap at 5"):
        parse_source_spec(data, spec_path)
    data["nibrs"] = {"ranges": [{"from": 1, "to": 9, "offence": "23F"}], "outside": ["7"]}
    with pytest.raises(SpecError, match="lists 7, which"):
        parse_source_spec(data, spec_path)


# --- the documents ----------------------------------------------------------------------------------


def test_official_samples_validate_and_a_wrong_code_does_not(schema: NibrsSchema) -> None:
    samples = sorted(shared_reference(*IEPD, "iep-sample").glob("*.xml"))
    verdicts = {path.name: schema.errors(path.read_bytes()) for path in samples}
    # As published, the Group A replace sample is malformed (an XML declaration after a comment).
    assert verdicts.pop("nibrs_GroupAReplace_Sample.xml")[0].startswith("not well-formed")
    assert len(verdicts) == 6 and all(errors == [] for errors in verdicts.values())

    incident = NibrsIncident("19-000001", dt.datetime(2019, 3, 4, 22, 15), True, ("13A", "290"))
    document = group_a_report(incident, ori="MO0000000", report_month="2019-03", message_time=dt.datetime(2019, 4, 1))
    assert schema.errors(document) == []
    broken = document.replace(b">290<", b">299<")
    assert any("299" in error for error in schema.errors(broken))
    day_only = NibrsIncident("19-000002", dt.date(2019, 3, 4), False, ("23H",), date_is_report_date=True)
    tree = etree.fromstring(
        group_a_report(day_only, ori="MO0000000", report_month="2019-03", message_time=dt.datetime(2019, 4, 1))
    )
    ns = {"nc": "http://release.niem.gov/niem/niem-core/3.0/", "cjis": "http://fbi.gov/cjis/2.0"}
    assert tree.findtext(".//nc:ActivityDate/nc:Date", namespaces=ns) == "2019-03-04"
    assert tree.findtext(".//cjis:IncidentReportDateIndicator", namespaces=ns) == "true"
    with pytest.raises(ValueError, match="once"):
        group_a_report(
            NibrsIncident("1", dt.date(2019, 1, 1), False, ("13A", "13A")),
            ori="MO0000000",
            report_month="2019-01",
            message_time=dt.datetime(2019, 2, 1),
        )


# --- the service on real data ------------------------------------------------------------------------


def _archive(result_bytes: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(result_bytes))


@pytest.mark.realdata
@pytest.mark.slow
def test_st_louis_2019_validates_with_every_gap_reported(sqlite_engine: Engine) -> None:
    files = [shared_file("stlouis", "monthly", "2019", f"{month}2019.csv") for month in MONTHS]
    import_source(sqlite_engine, "stlouis", files)
    core = core_for(sqlite_engine)
    request = NibrsExportRequest(
        agency="SLMPD",
        date_from=dt.date(2019, 1, 1),
        date_to=dt.date(2019, 12, 31),
        ori="MO0000000",
        schema_path=str(shared_reference(*IEPD)),
    )
    result = export_nibrs(core, None, request)

    assert result.schema_errors == 0 and result.validated_against is not None
    # Every incident is either exported or listed with its reason; nothing is dropped silently.
    assert result.incidents_exported + sum(result.incidents_not_exported_by_reason.values()) == result.incidents
    assert (result.incidents, result.incidents_exported) == (45135, 33204)
    assert result.incidents_not_exported_by_reason == {
        "ambiguous_category": 3265,
        "group_b_without_arrest": 3244,
        "not_nibrs": 5422,
    }
    assert (result.offences_by_code["23F"], result.offences_by_code["13A"]) == (4823, 2722)

    archive = _archive(result.archive)
    documents = [name for name in archive.namelist() if name.startswith("nibrs/")]
    assert len(documents) == result.incidents_exported
    # The archive's documents, checked again against a schema compiled independently of the export.
    fresh = etree.XMLSchema(etree.parse(str(shared_reference(*IEPD, "base-xsd", "nibrs", "2019", "nibrs.xsd"))))
    invalid = [name for name in documents if not fresh.validate(etree.fromstring(archive.read(name)))]
    assert invalid == []

    rows = list(csv.DictReader(io.StringIO(archive.read("unmapped.csv").decode("utf-8"))))
    assert len(rows) == sum(result.offences_unmapped_by_reason.values()) == len(result.gaps)
    assert {row["reason"] for row in rows} <= set(GAP_REASONS) | set(INCIDENT_GAP_REASONS)
    leaving_scene = [row for row in rows if row["source_code"] == "265321"]
    assert len(leaving_scene) == 5422 and {row["reason"] for row in leaving_scene} == {"not_nibrs"}
    assert all(row["nibrs_offence"] in NIBRS_OFFENCES for row in rows if row["reason"] == "group_b_without_arrest")
    summary = json.loads(archive.read("summary.json"))
    assert summary["incidents_exported"] == result.incidents_exported and summary["schema_errors"] == 0

    with Session(sqlite_engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_nibrs")).one()
    assert entry.actor_user_id is None and json.loads(entry.details)["incidents_exported"] == 33204


@pytest.mark.realdata
def test_only_an_exporter_of_the_agency_may_export(engine: Engine) -> None:
    import_source(engine, "stlouis", [shared_file("stlouis", "monthly", "2019", "january2019.csv")])
    with Session(engine) as session:
        officer = add_user(session, "officer1", "pw-officer-1", "officer", "SLMPD")
        analyst = add_user(session, "analyst1", "pw-analyst-1", "analyst", "SLMPD")
        session.commit()
    core = core_for(engine)
    request = NibrsExportRequest(
        agency="SLMPD", date_from=dt.date(2019, 1, 1), date_to=dt.date(2019, 1, 31), ori="MO0000000"
    )
    with pytest.raises(NotPermitted, match="exchange:export"):
        export_nibrs(core, officer, request)
    result = export_nibrs(core, analyst, request)
    assert 0 < result.incidents_exported < result.incidents and result.validated_against is None
    with pytest.raises(InvalidRequest, match="ORI"):
        export_nibrs(
            core,
            analyst,
            NibrsExportRequest(
                agency="SLMPD", date_from=dt.date(2019, 1, 1), date_to=dt.date(2019, 1, 31), ori="SLMPD"
            ),
        )
    with pytest.raises(InvalidRequest, match="after"):
        export_nibrs(
            core,
            analyst,
            NibrsExportRequest(
                agency="SLMPD", date_from=dt.date(2019, 2, 1), date_to=dt.date(2019, 1, 31), ori="MO0000000"
            ),
        )
    with Session(engine) as session:
        actions = [(e.action, e.actor_user_id) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert ("export_nibrs_refused", officer.id) in actions
    assert ("export_nibrs", analyst.id) in actions


@pytest.mark.realdata
def test_command_writes_the_archive_and_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    runner = CliRunner()
    month = str(shared_file("stlouis", "monthly", "2019", "march2019.csv"))
    assert runner.invoke(app, ["import", "stlouis", month, "--json"]).exit_code == 0
    target, report = tmp_path / "march.zip", tmp_path / "unmapped.csv"
    result = runner.invoke(
        app,
        [
            "export",
            "nibrs",
            "--agency",
            "SLMPD",
            "--from",
            "2019-03-01",
            "--to",
            "2019-03-31",
            "--ori",
            "MO0000000",
            "--schema",
            str(shared_reference(*IEPD)),
            "-o",
            str(target),
            "--report",
            str(report),
            "--json",
        ],
    )
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["schema_errors"] == 0 and summary["incidents_exported"] > 1000
    with zipfile.ZipFile(target) as archive:
        assert sum(name.startswith("nibrs/") for name in archive.namelist()) == summary["incidents_exported"]
        assert archive.read("unmapped.csv") == report.read_bytes()
    refused = runner.invoke(
        app,
        [
            "export",
            "nibrs",
            "--agency",
            "SLMPD",
            "--from",
            "2019-03-01",
            "--to",
            "2019-03-31",
            "--ori",
            "nope",
            "-o",
            str(target),
        ],
    )
    assert refused.exit_code == 1 and "ORI must be 9 characters" in refused.output
