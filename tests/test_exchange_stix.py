"""STIX 2.1 export: released through the dissemination rules and log, valid STIX, read back without loss."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from intel_support import T0, Cast, cast, make_core, make_user, submission
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_string

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry, IntelDissemination
from openilp.errors import InvalidRequest, NotPermitted
from openilp.exchange.stix import CFR_EXTENSION_ID, read_intelligence_bundle, received_reports
from openilp.intel.markings import MarkingWidened
from openilp.services.exchange import StixExportRequest, export_stix
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.reading import ViewRecordRequest, view_record
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

DAY = T0.date()
PURPOSE = "Joint investigation 24-117 with the fusion centre"
NEED = "Their task force is investigating the same cocaine supply chain."


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


def _approved(core: OpenILP, people: Cast, **overrides: object) -> int:
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **overrides)))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    return record.id


def _agreement(engine: Engine, core: OpenILP) -> None:
    with session_scope(engine) as session:
        admin = make_user(session, "admin", "administrator")
    request = AgreementRequest("OTHER", reference="MOU 2024/7", version="1.0", valid_from=T0 - dt.timedelta(days=30))
    add_agreement(core, admin, request)


def _request(**overrides: object) -> StixExportRequest:
    values: dict[str, object] = {
        "agency": "SLMPD",
        "date_from": DAY,
        "date_to": DAY,
        "recipient_agency": "OTHER",
        "recipient_username": "other-ana",
        "purpose": PURPOSE,
        "need_to_know": NEED,
    }
    values.update(overrides)
    return StixExportRequest(**values)  # type: ignore[arg-type]


def test_bundle_is_valid_stix_and_reads_back_as_the_recipient_sees_it(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    first = _approved(core, people)
    second = _approved(
        core, people, sensitivity="restricted", handling_code="C", handling_conditions="No onward release"
    )
    _agreement(engine, core)
    result = export_stix(core, people.analyst, _request())
    assert result.released == (first, second) and result.refused == {}

    report = validate_string(result.bundle, ValidationOptions(version="2.1"))
    assert report.is_valid, [str(e) for e in report.errors]
    assert [str(w) for w in report.warnings] == []

    bundle = json.loads(result.bundle)
    reports = [o for o in bundle["objects"] if o["type"] == "report"]
    markings = {o["id"]: o["name"] for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert [markings[r["object_marking_refs"][0]] for r in reports] == ["TLP:AMBER", "TLP:RED"]  # restricted -> RED
    # The official OASIS TLP 2.0 marking definitions, not the TLP 1.0 ones of STIX 2.1 itself.
    assert markings == {
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "TLP:AMBER",
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "TLP:RED",
    }
    assert all(CFR_EXTENSION_ID in r["extensions"] for r in reports)
    assert any(o["type"] == "extension-definition" and o["id"] == CFR_EXTENSION_ID for o in bundle["objects"])

    # Round trip: the bundle read back is exactly what the recipient reads in OpenILP, no more, no less.
    read_back = read_intelligence_bundle(result.bundle)
    seen = [
        view_record(core, people.other_analyst, ViewRecordRequest(record_id, purpose=PURPOSE)).document
        for record_id in (first, second)
    ]
    assert read_back == [dict(document) for document in seen]
    assert read_back[1]["handling_conditions"] == "No onward release"
    assert all("factual_basis" not in record and "identifying_information" not in record for record in read_back)
    assert "Mary Innocent" not in result.bundle  # a non-criminal identifier never leaves

    # Every record went out through the dissemination log, and the export is audited.
    with Session(engine) as session:
        logged = session.scalars(select(IntelDissemination.record_id).order_by(IntelDissemination.id)).all()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_stix")).one()
    assert logged == [first, second] and list(result.disseminations) == json.loads(entry.details)["disseminations"]


def test_only_released_items_travel(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    _agreement(engine, core)
    result = export_stix(core, people.analyst, _request(items=("labels",)))
    (record,) = read_intelligence_bundle(result.bundle)
    assert record["id"] == record_id and "title" not in record and "subjects" not in record
    assert record["grading"]["source"] == "B" and "Johnny Suspect" not in result.bundle
    assert validate_string(result.bundle, ValidationOptions(version="2.1")).is_valid


def test_nothing_leaves_without_a_rule_and_a_log(engine: Engine, core: OpenILP, people: Cast) -> None:
    _approved(core, people)
    # No sharing agreement with the recipient's agency: every release is refused, nothing is bundled.
    with pytest.raises(InvalidRequest, match="nothing released.*agreement"):
        export_stix(core, people.analyst, _request())
    _agreement(engine, core)
    with pytest.raises(InvalidRequest, match="nothing released.*purpose"):
        export_stix(core, people.analyst, _request(purpose=" "))
    with pytest.raises(NotPermitted):
        export_stix(core, people.officer, _request())
    with pytest.raises(InvalidRequest, match="items"):
        export_stix(core, people.analyst, _request(items=("factual_basis",)))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelDissemination)) == 0
        refusals = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("export_stix%"))).all()
    assert refusals == ["export_stix_refused"] * 3


AMBER_STRICT_ID = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"


def test_an_export_narrows_every_record_to_the_level_asked_for(engine: Engine, core: OpenILP, people: Cast) -> None:
    green = _approved(core, people, tlp="TLP:GREEN")
    amber = _approved(core, people, tlp="TLP:AMBER")
    _agreement(engine, core)
    result = export_stix(core, people.analyst, _request(tlp="amber+strict"))
    assert result.released == (green, amber) and result.tlp == "TLP:AMBER+STRICT"

    report = validate_string(result.bundle, ValidationOptions(version="2.1"))
    assert report.is_valid and [str(w) for w in report.warnings] == []
    objects = json.loads(result.bundle)["objects"]
    assert [o["id"] for o in objects if o["type"] == "marking-definition"] == [AMBER_STRICT_ID]
    assert {ref for o in objects if o["type"] != "marking-definition" for ref in o.get("object_marking_refs", [])} == {
        AMBER_STRICT_ID
    }
    # The record states the level it was released at, and the partner reads it so.
    assert [record["tlp"] for record in read_intelligence_bundle(result.bundle)] == ["TLP:AMBER+STRICT"] * 2
    assert [r.tlp for r in received_reports(result.bundle)] == ["TLP:AMBER+STRICT"] * 2
    with Session(engine) as session:
        assert session.scalars(select(IntelDissemination.tlp)).all() == ["TLP:AMBER+STRICT"] * 2
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_stix")).one()
    assert json.loads(entry.details)["tlp"] == "TLP:AMBER+STRICT"


def test_an_export_never_widens_and_names_each_record_marked_stricter(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    _approved(core, people, tlp="TLP:GREEN")
    amber = _approved(core, people, tlp="TLP:AMBER")
    red = _approved(core, people, sensitivity="restricted", tlp="TLP:RED")
    _agreement(engine, core)
    with pytest.raises(MarkingWidened) as refused:
        export_stix(core, people.analyst, _request(tlp="TLP:GREEN"))
    message = str(refused.value)
    assert f"record #{amber} is marked TLP:AMBER" in message and f"record #{red} is marked TLP:RED" in message
    assert message.startswith("refused: exporting at TLP:GREEN would widen the marking of 2 record(s)")
    assert "choose TLP:RED" in message
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelDissemination)) == 0  # nothing left
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_stix_refused")).one()
    assert json.loads(entry.details)["stricter"] == {str(amber): "TLP:AMBER", str(red): "TLP:RED"}
    with pytest.raises(InvalidRequest, match="not a TLP 2.0 level"):
        export_stix(core, people.analyst, _request(tlp="orange"))


def test_the_command_line_exports_at_a_narrower_level(
    engine: Engine, core: OpenILP, people: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from openilp.cli import app, common
    from openilp.cli import export as export_cli

    green = _approved(core, people, tlp="TLP:GREEN")
    _agreement(engine, core)
    for module in (common, export_cli):
        monkeypatch.setattr(module, "core", lambda: core)
    output = tmp_path / "narrowed.stix.json"
    base = ["export", "stix", "--agency", "SLMPD", "--from", DAY.isoformat(), "--to", DAY.isoformat(), "-o"]
    who = ["--user", "ana", "--to-agency", "OTHER", "--recipient", "other-ana"]
    why = ["--purpose", PURPOSE, "--need-to-know", NEED]
    result = CliRunner().invoke(app, [*base, str(output), *who, *why, "--tlp", "RED"])
    assert result.exit_code == 0, result.output
    assert "1 record(s) released to other-ana (OTHER) at TLP:RED" in result.output
    assert [r.tlp for r in received_reports(output.read_text())] == ["TLP:RED"]

    wider = CliRunner().invoke(app, [*base, str(tmp_path / "wider.json"), *who, *why, "--tlp", "CLEAR"])
    assert wider.exit_code != 0 and f"record #{green} is marked TLP:GREEN" in wider.output
    assert not (tmp_path / "wider.json").exists()
