"""Forms report every bad field at once: the intelligence record, the sharing agreement and the public tip.

Each form is posted with several mistakes through the test client; the page comes back with the
values as typed, a summary ("N fields need a correction") and each message next to its control
(``id="err-<field>"``, the control ``aria-invalid`` and described by it). Nothing is stored. The
pure checks behind the forms agree with the rules that refuse a request: the first error a form
marks is the one the request reports.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from intel_support import Cast, cast, make_user, submission
from sqlalchemy import Engine, func, select
from web_support import csrf_from, login, make_client

from openilp.db import session_scope
from openilp.db.models import IntelPartnerAgreement, IntelRecord, Tip
from openilp.intel.rules import SubjectInput, SubmissionError, submission_field_errors, validate_submission
from openilp.services.intel.agreements import AgreementRequest, FieldError
from openilp.services.intel.tips import TipRequest

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


def _client(engine: Engine, tmp_path: Path, username: str | None) -> TestClient:
    client = make_client(engine, tmp_path)
    if username:
        assert login(client, username).status_code == 303
    return client


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _marked(html: str) -> set[str]:
    """The fields marked with a message next to their control."""
    return set(re.findall(r'<p class="field-error" id="err-([a-z_]+)">', html))


def _assert_marked(html: str, fields: set[str]) -> None:
    assert _marked(html) == fields
    assert f"{len(fields)} fields need a correction" in html
    for name in fields - {"subjects", "lawful_collection_attested"}:
        control = re.search(rf'<(?:input|select|textarea) id="{name}"[^>]*>', html)
        assert control, name
        assert 'aria-invalid="true"' in control.group(0) and f"err-{name}" in control.group(0), name


def test_the_intelligence_record_form_marks_every_bad_field(engine: Engine, tmp_path: Path, people: Cast) -> None:
    client = _client(engine, tmp_path, "ana")
    token = csrf_from(client.get("/intel/records/new").text)
    refused = client.post(
        "/intel/records",
        data={
            "csrf_token": token,
            "title": "Cocaine supply from a north-side garage",
            "summary": "",
            "offence_category": "drugs",
            "factual_basis": "too short",
            "predicate_who": "Johnny Suspect",
            "predicate_what": "x",
            "predicate_when": "3 and 10 May 2024",
            "predicate_where": "Garage at 100 Main St.",
            "source_reference": "SLMPD file 24-001234",
            "collection_method": "informant",
            "source_grade": "B",
            "information_grade": "9",
            "handling_code": "C",
            "handling_conditions": "",
            "sensitivity": "open",
            "control_official_id": str(people.analyst.id),
            "subject_kind": ["vehicle"],
            "subject_role": ["non_criminal_identifier"],
            "subject_name": ["Grey Honda owned by Mary Innocent"],
            "subject_identifiers": ["plate ABC123"],
        },
    )
    assert refused.status_code == 400
    _assert_marked(
        refused.text,
        {
            "summary",
            "factual_basis",
            "predicate_what",
            "lawful_collection_attested",
            "information_grade",
            "handling_conditions",
            "subjects",
        },
    )
    # The predicate facts keep their shared hint next to the error.
    assert 'aria-describedby="err-predicate_what facts-hint"' in refused.text
    assert "at least one criminal subject" in refused.text and "handling code C needs the conditions" in refused.text
    # The form keeps what was typed.
    assert 'value="SLMPD file 24-001234"' in refused.text and "Grey Honda owned by Mary Innocent" in refused.text
    assert _count(engine, IntelRecord) == 0


def test_a_database_check_marks_its_field(engine: Engine, tmp_path: Path, people: Cast) -> None:
    with session_scope(engine) as session:
        departed = make_user(session, "departed", "analyst", agency="OTHER")
    client = _client(engine, tmp_path, "ana")
    token = csrf_from(client.get("/intel/records/new").text)
    form = {
        "csrf_token": token,
        "title": "Cocaine supply from a north-side garage",
        "summary": "Subject supplies cocaine to street dealers from a garage on Main St.",
        "offence_category": "drugs",
        "factual_basis": "Two controlled buys on 3 and 10 May 2024 from the subject at 100 Main St.",
        "predicate_who": "Johnny Suspect",
        "predicate_what": "Sells cocaine to street dealers",
        "predicate_when": "3 and 10 May 2024",
        "predicate_where": "Garage at 100 Main St.",
        "source_reference": "SLMPD file 24-001234",
        "collection_method": "informant",
        "lawful_collection_attested": "yes",
        "source_grade": "B",
        "information_grade": "2",
        "handling_code": "P",
        "sensitivity": "open",
        "control_official_id": str(departed.id),
        "subject_kind": ["person"],
        "subject_role": ["criminal_subject"],
        "subject_name": ["Johnny Suspect"],
    }
    refused = client.post("/intel/records", data=form)
    assert refused.status_code == 400 and _marked(refused.text) == {"control_official_id"}
    assert "active user of your agency" in refused.text
    unknown = client.post(
        "/intel/records", data={**form, "control_official_id": str(people.analyst.id), "offence_category": "nope"}
    )
    assert unknown.status_code == 400 and _marked(unknown.text) == {"offence_category"}
    assert _count(engine, IntelRecord) == 0


def test_the_sharing_agreement_form_marks_every_bad_field(engine: Engine, tmp_path: Path, people: Cast) -> None:
    with session_scope(engine) as session:
        make_user(session, "admin", "administrator")
    client = _client(engine, tmp_path, "admin")
    token = csrf_from(client.get("/intel/settings").text)
    refused = client.post(
        "/intel/settings/agreements",
        data={
            "csrf_token": token,
            "partner_agency": "",
            "scope": "releases_and_search",
            "reference": "MOU 2024/7",
            "version": " ",
            "valid_from": "2024-02-30",
            "valid_to": "2023-12-31",
        },
    )
    assert refused.status_code == 400
    _assert_marked(refused.text, {"partner_agency", "version", "valid_from"})
    assert 'value="MOU 2024/7"' in refused.text and 'value="2023-12-31"' in refused.text
    # With a good start, the end before it is marked on the end.
    ordered = client.post(
        "/intel/settings/agreements",
        data={
            "csrf_token": token,
            "partner_agency": "OTHER",
            "scope": "releases_and_search",
            "reference": "MOU 2024/7",
            "version": "1",
            "valid_from": "2024-01-01",
            "valid_to": "2023-12-31",
        },
    )
    assert ordered.status_code == 400 and _marked(ordered.text) == {"valid_to"}
    assert "must be after valid_from" in ordered.text
    assert _count(engine, IntelPartnerAgreement) == 0


def test_the_public_tip_form_marks_every_bad_field(engine: Engine, tmp_path: Path, people: Cast) -> None:
    public = _client(engine, tmp_path, None)
    token = csrf_from(public.get("/tips").text)
    refused = public.post(
        "/tips",
        data={
            "csrf_token": token,
            "agency": "SLMPD",
            "kind": "sar",
            "narrative": "Gate <b>",
            "behaviour_category": "",
        },
    )
    assert refused.status_code == 400
    _assert_marked(refused.text, {"narrative", "behaviour_category"})
    assert "Gate &lt;b&gt;" in refused.text and 'value="sar" checked' in refused.text
    unknown = public.post(
        "/tips", data={"csrf_token": token, "agency": "NOPE", "kind": "tip", "narrative": "Guns stored in unit 12."}
    )
    assert unknown.status_code == 400 and _marked(unknown.text) == {"agency"}
    assert _count(engine, Tip) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "", "factual_basis": "short", "lawful_collection_attested": False},
        {"predicate_who": "", "predicate_where": "x", "source_grade": "Z", "information_grade": "9"},
        {"handling_code": "C", "sensitivity": "loud", "control_official_id": None},
        {"subjects": [SubjectInput("vehicle", "non_criminal_identifier", "Grey Honda")], "file_type": "x"},
        {"protected_categories": ["protest"], "collection_method": "unlawful_search"},
    ],
)
def test_the_form_checks_agree_with_the_rules(changes: dict[str, object]) -> None:
    """The first field a form marks carries the message the request is refused with; a good one has none."""
    good = submission(7)
    assert submission_field_errors(good) == {}
    bad = dataclasses.replace(good, **changes)  # type: ignore[arg-type]
    errors = submission_field_errors(bad)
    assert len(errors) >= 2
    with pytest.raises(SubmissionError) as refused:
        validate_submission(bad)
    assert str(refused.value) == next(iter(errors.values()))


def test_agreement_and_tip_checks_agree_with_their_requests() -> None:
    bad = AgreementRequest(partner_agency="OTHER", reference="", version="", valid_from="2024-01-01", scope="x")
    errors = bad.field_errors()
    assert sorted(errors) == ["reference", "scope", "version"]
    with pytest.raises(FieldError) as refused:
        bad.validate()
    assert refused.value.field == "scope" and str(refused.value) == f"scope: {errors['scope']}"
    assert AgreementRequest(partner_agency="OTHER", reference="MOU", valid_from="2024-01-01").field_errors() == {}
    tip = TipRequest("SLMPD", "note", "short", "photography", (b"1", b"2", b"3", b"4"))
    assert sorted(tip.field_errors()) == ["attachments", "behaviour_category", "kind", "narrative"]
    with pytest.raises(SubmissionError, match="kind must be one of"):
        tip.validate()
    assert TipRequest("SLMPD", "tip", "Guns stored in unit 12.").field_errors() == {}
