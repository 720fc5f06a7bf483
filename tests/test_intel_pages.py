"""The intelligence and tip triage pages: forms, validation errors, nothing stored on bad input.

Each test drives the real HTML forms through the test client (CSRF tokens read from the pages),
as an analyst, a reviewer (with TOTP), a supervisor, an auditor and a member of the public.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from intel_support import Cast, cast, make_user, submission
from markupsafe import escape
from sqlalchemy import Engine, func, select
from store_support import core_for
from web_support import IncidentSpec, csrf_from, login, make_client, open_record, seed_incidents

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry, IntelDissemination, IntelRecord, Tip, TipReward
from openilp.intel.markings import TLP_COLOURS, TLP_MEANINGS
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.dissemination import DisseminationRequest, disseminate
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record
from openilp.services.intel.tips import TipRequest, submit_tip

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

NEXUS = "The subject used the 3 May protest as cover to place incendiary devices in two shops."


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    """A core over the test store on the wall clock, like the app under test."""
    return core_for(engine, tmp_path)


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


def _client(engine: Engine, tmp_path: Path, username: str) -> TestClient:
    client = make_client(engine, tmp_path)
    assert login(client, username).status_code == 303
    return client


def _form(people: Cast, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Cocaine supply from a north-side garage",
        "summary": "Subject supplies cocaine to street dealers from a garage on Main St.",
        "file_type": "permanent",
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
        "handling_conditions": "",
        "sensitivity": "open",
        "control_official_id": str(people.analyst.id),
        "subject_kind": ["person", "vehicle", "person"],
        "subject_role": ["criminal_subject", "non_criminal_identifier", "criminal_subject"],
        "subject_name": ["Johnny Suspect", "Grey Honda owned by Mary Innocent", ""],
        "subject_identifiers": ["DOB 1980-01-01", "plate ABC123", ""],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _submit(client: TestClient, people: Cast, **overrides: Any) -> Any:
    token = csrf_from(client.get("/intel/records/new").text)
    return client.post(
        "/intel/records", data={"csrf_token": token, **_form(people, **overrides)}, follow_redirects=False
    )


def _records(engine: Engine) -> list[IntelRecord]:
    with session_scope(engine) as session:
        rows = session.scalars(select(IntelRecord).order_by(IntelRecord.id)).all()
        session.expunge_all()
        return list(rows)


def _error(html: str) -> str:
    match = re.search(r'role="alert"[^>]*>([^<]+)<', html)
    assert match, "no error shown"
    return match.group(1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"factual_basis": ""}, "no criminal predicate"),
        ({"factual_basis": "x" * 20}, "no criminal predicate: factual_basis must state the facts in words"),
        ({"predicate_where": ""}, "no criminal predicate: where is required"),
        ({"predicate_who": "xx"}, "no criminal predicate: who must state a fact"),
        ({"lawful_collection_attested": None}, "lawfully collected"),
        ({"source_grade": "1"}, "not in the admiralty scheme"),
        ({"handling_code": "C"}, "conditions"),
        ({"control_official_id": ""}, "control official"),
        ({"subject_name": ["", "Grey Honda owned by Mary Innocent", ""]}, "at least one criminal subject"),
        ({"protected_categories": ["protest"]}, "nexus_justification"),
        ({"offence_category": "' OR 1=1 --"}, "unknown offence category"),
        ({"title": "<script>alert(1)</script>" * 20}, "title is too long"),
    ],
)
def test_bad_submissions_are_shown_again_and_store_nothing(
    engine: Engine, tmp_path: Path, people: Cast, overrides: dict[str, Any], message: str
) -> None:
    client = _client(engine, tmp_path, "ana")
    response = _submit(client, people, **overrides)
    assert response.status_code == 400
    assert message in _error(response.text)
    assert "<script>alert" not in response.text  # re-shown values are escaped
    assert 'value="SLMPD file 24-001234"' in response.text  # the form keeps what was typed
    assert _records(engine) == []


def test_submit_review_search_disseminate_and_validate(
    engine: Engine, tmp_path: Path, core: OpenILP, people: Cast
) -> None:
    analyst = _client(engine, tmp_path, "ana")
    created = _submit(analyst, people, protected_categories=["protest"], nexus_justification=NEXUS)
    assert created.status_code == 200 and "Done: submitted" in created.text
    (record,) = _records(engine)
    assert record.status == "pending" and record.protected_categories == "protest"
    assert "pending" in created.text and "approve-form" not in created.text

    # Pending records are invisible to search.
    search = analyst.get("/intel/search")
    token = csrf_from(search.text)
    hits = analyst.post("/intel/search", data={"csrf_token": token, "q": "Johnny", "purpose": "case 24-1"})
    assert hits.status_code == 200 and "No results." in hits.text

    reviewer = _client(engine, tmp_path, "rev")
    queue = reviewer.get("/intel/review")
    assert "protected activity" in queue.text
    link = re.search(r'href="(/intel/records/\d+\?purpose=[^"]+)"', queue.text).group(1)  # type: ignore[union-attr]
    ask = reviewer.get(link.replace("&amp;", "&"))  # the purpose form, pre-filled; nothing is read yet
    assert "approve-form" not in ask.text and 'value="28 CFR Part 23 review of this record"' in ask.text
    review_page = open_record(reviewer, record.id, "28 CFR Part 23 review of this record")
    assert "approve-form" in review_page.text and NEXUS in review_page.text
    token = csrf_from(review_page.text)
    decision = {"csrf_token": token, "view_purpose": "28 CFR Part 23 review", "reason": "Predicate checked in file."}
    refused = reviewer.post(f"/intel/records/{record.id}/approve", data=decision)
    assert refused.status_code == 400 and "second-person approval" in _error(refused.text)
    assert _records(engine)[0].status == "pending"
    approved = reviewer.post(f"/intel/records/{record.id}/approve", data={**decision, "approve_nexus": "yes"})
    assert approved.status_code == 200 and "Done: approved" in approved.text
    assert _records(engine)[0].status == "approved"

    # Search: purpose required (refusal audited), then a full hit in the own agency.
    token = csrf_from(analyst.get("/intel/search").text)
    no_purpose = analyst.post("/intel/search", data={"csrf_token": token, "q": "Johnny", "purpose": " "})
    assert no_purpose.status_code == 400 and "purpose" in _error(no_purpose.text)
    found = analyst.post("/intel/search", data={"csrf_token": token, "q": "Johnny", "purpose": "case 24-1"})
    assert "Cocaine supply" in found.text and "Mary Innocent" not in found.text
    # Another agency without an agreement gets a pointer only.
    other = _client(engine, tmp_path, "other-ana")
    token_other = csrf_from(other.get("/intel/search").text)
    pointer = other.post("/intel/search", data={"csrf_token": token_other, "q": "Johnny", "purpose": "case X-9"})
    assert "Pointer" in pointer.text and "SLMPD police" in pointer.text and "Cocaine supply" not in pointer.text
    assert open_record(other, record.id, "case X-9").status_code == 404

    # Dissemination: refused without an agreement (nothing logged), then released and logged.
    record_page = open_record(analyst, record.id, "case 24-1")
    assert "disseminate-form" in record_page.text and "Not disseminated" in record_page.text
    release = {
        "csrf_token": csrf_from(record_page.text),
        "view_purpose": "case 24-1",
        "purpose": "joint operation Bluebird",
        "recipient_agency": "OTHER",
        "recipient_username": "other-ana",
        "need_to_know": "Other-ana leads the Bluebird surveillance of the garage.",
        "items": ["summary", "subjects"],
    }
    no_agreement = analyst.post(f"/intel/records/{record.id}/disseminate", data=release)
    assert no_agreement.status_code == 400 and "agreement" in _error(no_agreement.text)
    assert 'value="Other-ana leads' not in no_agreement.text  # textarea, not an attribute
    assert "Other-ana leads the Bluebird" in no_agreement.text
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelDissemination)) == 0
        admin = make_user(session, "admin", "administrator")
    add_agreement(
        core,
        admin,
        AgreementRequest(
            "OTHER", reference="MOU 2024/7", version="1.0", valid_from=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        ),
    )
    log_page = analyst.post(f"/intel/records/{record.id}/disseminate", data=release)
    assert log_page.status_code == 200
    assert "joint operation Bluebird" in log_page.text and "Other-Ana" in log_page.text
    assert "Done: disseminated" in log_page.text

    # The recipient is notified and can read the released items.
    notes = other.get("/notifications")
    assert "released intelligence record" in notes.text
    received = other.get("/intel/received")
    assert f"#{record.id}" in received.text
    shared = open_record(other, record.id, "Bluebird")
    assert shared.status_code == 200 and "Johnny Suspect" in shared.text and "Mary Innocent" not in shared.text
    assert "factual_basis" not in shared.text and "Two controlled buys" not in shared.text

    # Validation: a fresh predicate check is required.
    page = open_record(reviewer, record.id, "periodic review")
    validation = {
        "csrf_token": csrf_from(page.text),
        "view_purpose": "periodic review",
        "reason": "Still active: new buys in June.",
        "factual_basis": "Controlled buy on 2 June 2024 from the subject at the same garage.",
    }
    not_checked = reviewer.post(f"/intel/records/{record.id}/validate", data=validation)
    assert not_checked.status_code == 400 and "fresh predicate check" in _error(not_checked.text)
    validated = reviewer.post(f"/intel/records/{record.id}/validate", data={**validation, "still_suspected": "yes"})
    assert validated.status_code == 200 and "Done: validated" in validated.text

    auditor = _client(engine, tmp_path, "aud")
    report = auditor.get("/intel/compliance")
    assert report.status_code == 200 and NEXUS in report.text and "Rev (rev)" in report.text


def test_record_page_asks_for_a_purpose_and_logs_refusals(engine: Engine, tmp_path: Path, people: Cast) -> None:
    analyst = _client(engine, tmp_path, "ana")
    assert _submit(analyst, people).status_code == 200
    record_id = _records(engine)[0].id
    with session_scope(engine) as session:
        entries_before = session.scalar(select(func.count()).select_from(AuditEntry))
    ask = analyst.get(f"/intel/records/{record_id}")
    assert ask.status_code == 200 and 'name="purpose"' in ask.text and "Cocaine" not in ask.text
    # A link from anywhere (say another site) with a purpose of its choosing only pre-fills the form:
    # nothing is read, nothing is recorded in the viewer's name.
    linked = analyst.get(f"/intel/records/{record_id}", params={"purpose": "attacker's text"})
    assert linked.status_code == 200 and "Cocaine" not in linked.text and "attacker&#39;s text" in linked.text
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries_before
    forged = analyst.post(f"/intel/records/{record_id}/open", data={"purpose": "attacker's text"})
    assert forged.status_code == 403  # no CSRF token: not from this site's form
    refused = open_record(analyst, record_id, "")
    assert refused.status_code == 400 and "Cocaine" not in refused.text
    with session_scope(engine) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "intel_record")).all()
    assert "read_refused" in actions
    assert "Cocaine" in open_record(analyst, record_id, "case 24-1").text


def test_forms_need_the_csrf_token(engine: Engine, tmp_path: Path, people: Cast) -> None:
    analyst = _client(engine, tmp_path, "ana")
    response = analyst.post("/intel/records", data=_form(people))
    assert response.status_code == 403
    assert analyst.post("/intel/search", data={"q": "Johnny", "purpose": "x"}).status_code == 403
    assert _records(engine) == []


def _tip(core: OpenILP, narrative: str = "Guns stored in unit 12 of the Main St storage.") -> tuple[str, str]:
    new = submit_tip(core, None, TipRequest(agency="SLMPD", kind="tip", narrative=narrative))
    return new.tip_id, new.secret


def test_tip_link_convert_and_close(engine: Engine, tmp_path: Path, core: OpenILP, people: Cast) -> None:
    (incident_id,) = seed_incidents(engine, "SLMPD", [IncidentSpec("robbery", None)])
    tip_id, _ = _tip(core)
    analyst = _client(engine, tmp_path, "ana")
    page = analyst.get(f"/intel/tips/{tip_id}")
    token = csrf_from(page.text)
    bad = analyst.post(f"/intel/tips/{tip_id}/link", data={"csrf_token": token, "incident_id": "99999"})
    assert bad.status_code == 400 and "no such incident" in _error(bad.text)
    linked = analyst.post(
        f"/intel/tips/{tip_id}/link",
        data={"csrf_token": token, "incident_id": str(incident_id)},
        follow_redirects=False,
    )
    assert linked.status_code == 303
    # Shown as the agency knows it (complaint number, block address), not by the internal id.
    linked = analyst.get(f"/intel/tips/{tip_id}").text.split('id="tip-link">')[1].split("</p>")[0]
    assert "Linked to complaint" in linked and "100 MARKET ST" in linked and f"#{incident_id}" not in linked

    form = analyst.get(f"/intel/tips/{tip_id}/convert")
    assert form.status_code == 200 and "Guns stored in unit 12" in form.text and f'value="{tip_id}"' in form.text
    token = csrf_from(form.text)
    no_predicate = analyst.post(
        f"/intel/tips/{tip_id}/convert", data={"csrf_token": token, **_form(people, factual_basis="a tip said so")}
    )
    assert no_predicate.status_code == 400 and "no criminal predicate" in _error(no_predicate.text)
    assert _records(engine) == []
    with session_scope(engine) as session:
        assert session.scalars(select(Tip.status)).one() == "linked"
    converted = analyst.post(
        f"/intel/tips/{tip_id}/convert",
        data={"csrf_token": token, **_form(people, collection_method="tip", source_reference=tip_id)},
    )
    assert converted.status_code == 200 and "Done: submitted" in converted.text
    (record,) = _records(engine)
    assert record.status == "pending" and record.source_tip_id is not None

    other_tip, _ = _tip(core, "A second tip about nothing in particular.")
    page = analyst.get(f"/intel/tips/{other_tip}")
    token = csrf_from(page.text)
    empty = analyst.post(f"/intel/tips/{other_tip}/close", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 400 and "reason is required" in _error(empty.text)
    closed = analyst.post(
        f"/intel/tips/{other_tip}/close",
        data={"csrf_token": token, "reason": "No crime described."},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    assert analyst.get(f"/intel/tips/{other_tip}/convert").status_code == 200
    assert analyst.get("/intel/tips/T-0000-0000-0000-0000/convert").status_code == 404


def test_reward_pages_never_show_the_payout_code(engine: Engine, tmp_path: Path, core: OpenILP, people: Cast) -> None:
    with session_scope(engine) as session:
        make_user(session, "sup", "supervisor")
    tip_id, secret = _tip(core)
    supervisor = _client(engine, tmp_path, "sup")
    rewards = supervisor.get("/intel/rewards", params={"tip_id": tip_id.lower()}, follow_redirects=False)
    assert rewards.status_code == 303 and rewards.headers["location"] == f"/intel/tips/{tip_id}/reward"
    page = supervisor.get(f"/intel/tips/{tip_id}/reward")
    token = csrf_from(page.text)
    bad = supervisor.post(f"/intel/tips/{tip_id}/reward", data={"csrf_token": token, "amount": "lots", "reason": "x"})
    assert bad.status_code == 400 and "amount" in _error(bad.text)
    too_much = supervisor.post(
        f"/intel/tips/{tip_id}/reward", data={"csrf_token": token, "amount": "20000", "reason": "Board 5/24"}
    )
    assert too_much.status_code == 400
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(TipReward)) == 0
    approved = supervisor.post(
        f"/intel/tips/{tip_id}/reward",
        data={"csrf_token": token, "amount": "1,250.50", "reason": "Board minute 2024/5: arrest made."},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    assert "1,250.50" in supervisor.get(f"/intel/tips/{tip_id}/reward").text

    public = make_client(engine, tmp_path)
    follow = public.get("/tips/follow-up")
    shown = public.post(
        "/tips/follow-up/payout-code",
        data={"csrf_token": csrf_from(follow.text), "tip_id": tip_id, "secret": secret},
    )
    code = re.search(r'id="payout-code">([^<]+)<', shown.text).group(1)  # type: ignore[union-attr]

    page = supervisor.get(f"/intel/tips/{tip_id}/reward")
    assert code not in page.text and "payout-form" in page.text
    assert code not in supervisor.get("/intel/rewards").text
    token = csrf_from(page.text)
    wrong = supervisor.post(f"/intel/tips/{tip_id}/payout", data={"csrf_token": token, "payout_code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 400 and "does not match" in _error(wrong.text)
    paid = supervisor.post(
        f"/intel/tips/{tip_id}/payout", data={"csrf_token": token, "payout_code": code}, follow_redirects=False
    )
    assert paid.status_code == 303
    with session_scope(engine) as session:
        assert session.scalars(select(TipReward.status)).one() == "paid"
    analyst = _client(engine, tmp_path, "ana")
    assert code not in analyst.get(f"/intel/tips/{tip_id}").text
    assert analyst.get(f"/intel/tips/{tip_id}/reward").status_code == 403


def test_navigation_links_follow_the_role(engine: Engine, tmp_path: Path, people: Cast) -> None:
    analyst_home = _client(engine, tmp_path, "ana").get("/").text
    for link in ("/intel/search", "/intel/records/new", "/intel/tips", "/notifications"):
        assert f'href="{link}"' in analyst_home
    for link in ("/intel/review", "/intel/compliance", "/intel/rewards", "/audit"):
        assert f'href="{link}"' not in analyst_home
    partner_home = _client(engine, tmp_path, "partner").get("/").text
    assert 'href="/intel/received"' in partner_home and 'href="/intel/search"' not in partner_home
    reviewer_home = _client(engine, tmp_path, "rev").get("/").text
    assert 'href="/intel/review"' in reviewer_home


def test_actions_on_unknown_records_and_tips_answer_404(engine: Engine, tmp_path: Path, people: Cast) -> None:
    analyst = _client(engine, tmp_path, "ana")
    token = csrf_from(analyst.get("/intel/search").text)
    release = {"csrf_token": token, "view_purpose": "case 1", "purpose": "case 1", "need_to_know": "x" * 20}
    assert analyst.post("/intel/records/999/disseminate", data=release).status_code == 404
    for action, data in [("reply", {"body": "hello"}), ("link", {"incident_id": "1"}), ("close", {"reason": "no"})]:
        response = analyst.post(f"/intel/tips/T-0000-0000-0000-0000/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 404
    reviewer = _client(engine, tmp_path, "rev")
    token = csrf_from(reviewer.get("/intel/review").text)
    decision = {"csrf_token": token, "view_purpose": "review", "reason": "Predicate checked in file."}
    assert reviewer.post("/intel/records/999/approve", data=decision).status_code == 404


def test_a_tip_is_linked_by_the_agencys_complaint_number(
    engine: Engine, tmp_path: Path, core: OpenILP, people: Cast
) -> None:
    (other,) = seed_incidents(engine, "OTHER", [IncidentSpec("robbery", None, extra={"source_record_id": "19-063496"})])
    first, _ = seed_incidents(
        engine,
        "SLMPD",
        [
            IncidentSpec("robbery", None, address="5011 ALASKA AVE", extra={"source_record_id": "19-063496"}),
            IncidentSpec("larceny", None, address="5011 ALASKA AVE", extra={"source_record_id": "19-063496"}),
        ],
    )
    tip_id, _ = _tip(core)
    analyst = _client(engine, tmp_path, "ana")
    page = analyst.get(f"/intel/tips/{tip_id}")
    assert "complaint number, e.g. 19-063496" in page.text
    token = csrf_from(page.text)
    unknown = analyst.post(f"/intel/tips/{tip_id}/link", data={"csrf_token": token, "incident_id": "19-999999"})
    assert unknown.status_code == 400 and "complaint number (or #record number) 19-999999" in _error(unknown.text)
    linked = analyst.post(
        f"/intel/tips/{tip_id}/link", data={"csrf_token": token, "incident_id": " 19-063496 "}, follow_redirects=False
    )
    assert linked.status_code == 303
    with session_scope(engine) as session:
        # The agency's own record of the complaint (its first), never another agency's with the same number.
        assert session.scalars(select(Tip.linked_incident_id)).one() == first != other
    shown = analyst.get(f"/intel/tips/{tip_id}").text.split('id="tip-link">')[1].split("</p>")[0]
    assert "complaint <strong>19-063496</strong> at 5011 ALASKA AVE" in shown


def _table_rows(page: str, table_id: str) -> list[str]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert table, f"no table {table_id} on the page"
    return re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)


def test_the_log_and_the_received_page_show_each_releases_tlp_beside_its_handling_code(
    engine: Engine, tmp_path: Path, core: OpenILP, people: Cast
) -> None:
    conditions = "Not outside the task force"
    overrides = {"tlp": "TLP:GREEN", "handling_code": "C", "handling_conditions": conditions}
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **overrides)))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    with session_scope(engine) as session:
        admin = make_user(session, "admin", "administrator")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    add_agreement(core, admin, AgreementRequest("OTHER", reference="MOU 2024/7", version="1.0", valid_from=since))
    release = {"recipient_agency": "OTHER", "recipient_username": "other-ana", "items": ("summary",)}
    why = {"purpose": "joint operation Bluebird", "need_to_know": "Other-ana leads the Bluebird surveillance."}
    disseminate(core, people.analyst, DisseminationRequest(record.id, **release, **why))  # the record's own
    disseminate(core, people.analyst, DisseminationRequest(record.id, **release, **why, tlp="TLP:AMBER+STRICT"))

    analyst = _client(engine, tmp_path, "ana")
    log = _table_rows(open_record(analyst, record.id, "case 24-1").text, "dissemination-log")
    assert len(log) == 2
    assert 'class="tlp-badge tlp-green"' in log[0] and ">TLP:GREEN<" in log[0]
    assert 'class="tlp-badge tlp-amber-strict"' in log[1] and ">TLP:AMBER+STRICT<" in log[1]
    # Spelled out with what it allows, for screen readers and as a tooltip: never colour alone.
    strict = str(escape(TLP_MEANINGS["TLP:AMBER+STRICT"]))
    assert f'title="{strict}">TLP:AMBER+STRICT<span class="visually-hidden">: {strict}</span>' in log[1]
    for row in log:  # the TLP cell sits right before the handling code, in the same row
        assert re.search(r'<td class="tlp">.*?</td><td><span class="handling-code"[^>]*>C</span></td>', row, re.S)

    other = _client(engine, tmp_path, "other-ana")
    received = other.get("/intel/received")
    header = re.search(r'<table[^>]*id="received".*?<thead>(.*?)</thead>', received.text, re.S)
    assert header and "<th>TLP</th><th>handling code</th>" in header.group(1)
    rows = _table_rows(received.text, "received")
    assert [">TLP:AMBER+STRICT<" in rows[0], ">TLP:GREEN<" in rows[1]] == [True, True]  # newest first
    assert all(conditions in row and '<span class="handling-code"' in row for row in rows)

    # The badges' colours are the FIRST TLP 2.0 colours of the one list (openilp.intel.markings).
    css = (Path(__file__).parents[1] / "openilp/web/static/css/openilp.css").read_text()
    for level, colour in TLP_COLOURS.items():
        slug = level.removeprefix("TLP:").lower().replace("+", "-")
        assert re.search(rf"\.tlp-{slug} \{{ color: {colour}; \}}", css), level
    assert ".tlp-badge { display: inline-block; background: #000000;" in css
