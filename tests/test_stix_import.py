"""STIX 2.1 import: exported bundles re-import without loss, as received items that only narrow.

On every configured backend (SQLite; PostgreSQL when ``OPENILP_TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from intel_support import T0, Cast, cast, make_agency, make_core, make_user, submission
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from openilp.cli import common
from openilp.cli.main import app
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry, IntelRecord
from openilp.errors import InvalidRequest
from openilp.exchange.stix import CFR_EXTENSION_ID, read_intelligence_bundle
from openilp.intel.errors import IntelForbidden
from openilp.services.exchange import StixExportRequest, export_stix
from openilp.services.exchange.stix_import import StixImportRequest, import_stix, validator_errors
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.audience import AudienceRequest, preview_release
from openilp.services.intel.dissemination import DisseminationRequest, disseminate
from openilp.services.intel.reading import ViewRecordRequest, view_record
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

#: What a recipient reads of a released record, compared field by field after the import.
KEPT = ("title", "summary", "offence_category", "sensitivity", "handling_code", "handling_conditions", "tlp")


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


@pytest.fixture
def people(engine: Engine, core: OpenILP) -> Cast:
    people = cast(engine)
    with session_scope(engine) as session:
        make_agency(session, "COUNTY")
        admin = make_user(session, "admin", "administrator")
        other_admin = make_user(session, "other-admin", "administrator", agency="OTHER")
        make_user(session, "county-ana", "analyst", agency="COUNTY")
    start = T0 - dt.timedelta(days=30)
    add_agreement(core, admin, AgreementRequest("OTHER", "MOU 2024/7", start))
    add_agreement(core, other_admin, AgreementRequest("COUNTY", "MOU 2024/9", start))
    return people


def _approved(core: OpenILP, people: Cast, **overrides: Any) -> int:
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **overrides)))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    return record.id


def _bundle(core: OpenILP, people: Cast) -> str:
    _approved(core, people, handling_code="C", handling_conditions="No onward release to the press.")
    _approved(core, people, sensitivity="restricted", tlp="TLP:RED")
    _approved(core, people, tlp="TLP:GREEN")
    request = StixExportRequest(
        agency="SLMPD",
        date_from=T0.date(),
        date_to=T0.date(),
        recipient_agency="OTHER",
        recipient_username="other-ana",
        purpose="Joint investigation 24-117",
        need_to_know="Their task force works the same cocaine supply chain.",
    )
    return export_stix(core, people.analyst, request).bundle


def test_exported_bundle_reimports_without_loss_and_only_once(engine: Engine, core: OpenILP, people: Cast) -> None:
    bundle = _bundle(core, people)
    assert validator_errors(bundle) == []
    sent = read_intelligence_bundle(bundle)
    result = import_stix(core, people.other_analyst, StixImportRequest(bundle))
    assert len(result.imported) == 3 and result.unchanged == () and result.validated
    assert result.senders == ("SLMPD police",)
    for original, record_id in zip(sent, result.imported, strict=True):
        record = view_record(core, people.other_analyst, ViewRecordRequest(record_id, "checking the import")).as_dict()
        assert {key: record[key] for key in KEPT} == {key: original[key] for key in KEPT}
        assert record["grading"] == original["grading"]
        assert [(s["kind"], s["name"], s["identifiers"]) for s in record["subjects"]] == [
            (s["kind"], s["name"], s["identifiers"]) for s in original["subjects"]
        ]
        assert (record["approved_at"], record["retention_expires_at"]) == (
            original["approved_at"],
            original["retention_expires_at"],
        )
    with session_scope(engine) as session:
        rows = session.scalars(select(IntelRecord).where(IntelRecord.id.in_(result.imported))).all()
        assert {r.agency.code for r in rows} == {"OTHER"}
        assert [(r.received_from, r.received_tlp, r.received_audience) for r in rows] == [
            ("SLMPD police", "TLP:AMBER", '["OTHER"]'),
            ("SLMPD police", "TLP:RED", '["OTHER"]'),
            ("SLMPD police", "TLP:GREEN", None),
        ]
        assert all(f"their record #{o['id']}" in r.factual_basis for o, r in zip(sent, rows, strict=True))
    again = import_stix(core, people.other_analyst, StixImportRequest(bundle))
    assert again.imported == () and again.unchanged == result.imported
    with session_scope(engine) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "import_stix")).all()
        assert [json.loads(a.details or "{}")["imported"] for a in audit] == [list(result.imported), []]


def test_imported_items_are_reshared_only_narrower(core: OpenILP, people: Cast) -> None:
    result = import_stix(core, people.other_analyst, StixImportRequest(_bundle(core, people)))
    amber, red, green = result.imported
    release = {
        "recipient_agency": "COUNTY",
        "recipient_username": "county-ana",
        "purpose": "County joins the investigation",
        "need_to_know": "County works the same supply chain",
        "items": ("summary",),
    }
    with pytest.raises(IntelForbidden, match="COUNTY is outside the audience the record was received for"):
        disseminate(core, people.other_analyst, DisseminationRequest(amber, **release))
    refusal = preview_release(
        core, people.other_analyst, AudienceRequest(red, "COUNTY", "county-ana", tlp="TLP:RED")
    ).refusal
    assert refusal is not None and "received as TLP:RED" in refusal
    with pytest.raises(IntelForbidden, match="TLP:CLEAR is wider than the TLP:GREEN"):
        disseminate(core, people.other_analyst, DisseminationRequest(green, tlp="TLP:CLEAR", **release))
    narrowed = disseminate(core, people.other_analyst, DisseminationRequest(green, tlp="TLP:AMBER", **release))
    assert narrowed.tlp == "TLP:AMBER" and narrowed.recipients == ("County-Ana",)


def _tampered(bundle: str, change: Any) -> str:
    data = json.loads(bundle)
    change(data)
    return json.dumps(data)


def _first_report(data: dict[str, Any]) -> dict[str, Any]:
    return next(o for o in data["objects"] if o["type"] == "report")


def test_refusals_name_the_object_and_field(engine: Engine, core: OpenILP, people: Cast) -> None:
    bundle = _bundle(core, people)
    report_id = _first_report(json.loads(bundle))["id"]
    extension = f"extensions.{CFR_EXTENSION_ID}"

    def no_identity(data: dict[str, Any]) -> None:
        identity = _first_report(data)["extensions"][CFR_EXTENSION_ID]["subjects"][0]["identity"]
        data["objects"] = [o for o in data["objects"] if o["id"] != identity]
        _first_report(data)["object_refs"] = [data["objects"][0]["id"]]

    def unknown_category(data: dict[str, Any]) -> None:
        _first_report(data)["extensions"][CFR_EXTENSION_ID]["record"]["offence_category"] = "piracy"

    def unmarked(data: dict[str, Any]) -> None:
        del _first_report(data)["object_marking_refs"]

    def wider_marking(data: dict[str, Any]) -> None:
        _first_report(data)["extensions"][CFR_EXTENSION_ID]["record"]["tlp"] = "TLP:CLEAR"

    def no_agency(data: dict[str, Any]) -> None:
        del _first_report(data)["extensions"][CFR_EXTENSION_ID]["record"]["agency"]

    cases = [
        ("{not json", "refused: bundle: json: not JSON"),
        (_tampered(bundle, no_identity), f"refused: {report_id}: {extension}.subjects[0].identity:"),
        (_tampered(bundle, unknown_category), f"refused: {report_id}: record.offence_category: 'piracy'"),
        (_tampered(bundle, unmarked), f"refused: {report_id}: object_marking_refs: no TLP marking"),
        (_tampered(bundle, wider_marking), f"refused: {report_id}: object_marking_refs: marked TLP:AMBER but"),
        (_tampered(bundle, no_agency), f"refused: {report_id}: {extension}.record.agency.name: missing"),
    ]
    for text, start in cases:
        with pytest.raises(InvalidRequest) as refused:
            import_stix(core, people.other_analyst, StixImportRequest(text))
        assert str(refused.value).startswith(start), str(refused.value)
    with session_scope(engine) as session:
        assert session.scalars(select(IntelRecord).where(IntelRecord.received_tlp.is_not(None))).all() == []
        refusals = session.scalars(select(AuditEntry).where(AuditEntry.action == "import_stix_refused")).all()
        assert len(refusals) == len(cases)


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    yield
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()


def test_cli_import_stix(tmp_path: Path, core: OpenILP, people: Cast, cli: None) -> None:
    path = tmp_path / "received.stix.json"
    path.write_text(_bundle(core, people), encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(app, ["import-stix", str(path), "--user", "other-ana"])
    assert first.exit_code == 0, first.output
    assert "3 record(s) imported from SLMPD police (stix2-validator: no error)" in first.output
    again = runner.invoke(app, ["import-stix", str(path), "--user", "other-ana", "--json"])
    assert again.exit_code == 0 and len(json.loads(again.output)["unchanged"]) == 3
    path.write_text("[]", encoding="utf-8")
    bad = runner.invoke(app, ["import-stix", str(path), "--user", "other-ana"])
    assert bad.exit_code == 1 and "refused: bundle: type: not a STIX bundle" in bad.output
