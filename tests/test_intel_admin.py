"""Intelligence administration: partner agreements, grading scheme, corrections, emergency releases, payout lockout.

Service, web (pages and API) and CLI, on every configured backend (SQLite; PostgreSQL when
``OPENILP_TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from intel_support import T0, Cast, at, cast, make_core, make_user, submission
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from web_support import csrf_from, login, make_client, open_record

from openilp.cli import common
from openilp.cli.main import app
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry, IntelDissemination, IntelPartnerAgreement, IntelRecord, TipReward
from openilp.intel.errors import IntelForbidden, PurposeRequired
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import (
    Agreement,
    AgreementRequest,
    FieldError,
    GradingSchemeRequest,
    RevocationRequest,
    add_agreement,
    choose_grading_scheme,
    grading_scheme_settings,
    has_current_agreement,
    list_agreements,
    revoke_agreement,
)
from openilp.services.intel.common import agency_grading_scheme
from openilp.services.intel.corrections import CorrectionRequest, correct_record
from openilp.services.intel.dissemination import DisseminationRequest, Release, disseminate, notifications_for
from openilp.services.intel.emergency import EmergencyReleaseRequest, emergency_release
from openilp.services.intel.reading import SearchRequest, search_records
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record
from openilp.services.intel.rewards import (
    MAX_PAYOUT_ATTEMPTS,
    PayoutRequest,
    RewardRequest,
    UnlockRequest,
    approve_reward,
    collect_payout_code,
    record_payout,
    unlock_reward,
)
from openilp.services.intel.tips import TipKey, TipRequest, submit_tip

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

UTC = dt.UTC
JUSTIFICATION = "Subject told a witness he will set fire to the Main St garage tonight with people inside."
ASSESSMENT = "Credible threat of arson tonight at 100 Main St; the subject is known to store petrol there."


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def admin(engine: Engine, people: Cast) -> UserInfo:
    with session_scope(engine) as session:
        return make_user(session, "admin", "administrator")


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


def _approved(core: OpenILP, people: Cast, **overrides: object) -> int:
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **overrides)))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    return record.id


def _add(core: OpenILP, admin: UserInfo, **overrides: Any) -> Agreement:
    arguments: dict[str, Any] = {
        "partner_agency": "OTHER",
        "reference": "MOU 2024/7",
        "valid_from": T0 - dt.timedelta(days=30),
        "valid_to": None,
        "scope": "releases_and_search",
        "version": "1",
    }
    arguments.update(overrides)
    return add_agreement(core, admin, AgreementRequest(**arguments))


def _release(core: OpenILP, people: Cast, record_id: int, username: str = "other-ana") -> Release:
    request = DisseminationRequest(
        record_id,
        recipient_agency="OTHER",
        recipient_username=username,
        purpose="joint operation 24-77",
        need_to_know="OTHER runs the buy-bust at the same garage",
        items=("summary", "subjects"),
    )
    return disseminate(core, people.analyst, request)


def _audit(session: Session, action: str, object_type: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    return list(session.scalars(query.order_by(AuditEntry.id)))


# --- 1. partner agreements and grading scheme (service) ---------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"partner_agency": "NOPE"}, "partner_agency"),
        ({"partner_agency": "SLMPD"}, "partner_agency"),
        ({"partner_agency": ""}, "partner_agency"),
        ({"scope": "everything"}, "scope"),
        ({"reference": "  "}, "reference"),
        ({"reference": "x" * 201}, "reference"),
        ({"version": ""}, "version"),
        ({"valid_to": T0 - dt.timedelta(days=31)}, "valid_to"),
    ],
)
def test_bad_agreements_name_the_field_and_store_nothing(
    engine: Engine, core: OpenILP, people: Cast, admin: UserInfo, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(FieldError) as caught:
        _add(core, admin, **overrides)
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelPartnerAgreement)) == 0


def test_agreements_are_listed_revoked_and_audited(
    engine: Engine, core: OpenILP, people: Cast, admin: UserInfo
) -> None:
    record_id = _approved(core, people)
    with pytest.raises(IntelForbidden):
        _add(core, people.analyst)  # analysts may not put agreements on file
    row = _add(core, admin, valid_to=T0 + dt.timedelta(days=365))
    agreement_id = row.id
    with pytest.raises(FieldError, match="version"):
        _add(core, admin)  # the same version twice
    with session_scope(engine) as session:
        [listed] = list_agreements(core, admin).as_dict()["agreements"]
        assert (listed["partner_agency"], listed["reference"], listed["status"]) == ("OTHER", "MOU 2024/7", "current")
        assert (
            at(core, T0 + dt.timedelta(days=400), lambda: list_agreements(core, admin).as_dict()["agreements"])[0][
                "status"
            ]
            == "expired"
        )
        assert has_current_agreement(session, people.analyst.agency_id, people.other_analyst.agency_id, T0)
        _release(core, people, record_id)
    with pytest.raises(FieldError, match="reason"):
        revoke_agreement(core, admin, RevocationRequest(agreement_id, reason="short"))
    revoke_agreement(core, admin, RevocationRequest(agreement_id, reason="Partner left the task force."))
    with session_scope(engine) as session:
        assert list_agreements(core, admin).as_dict()["agreements"][0]["status"] == "revoked"
        assert not has_current_agreement(session, people.analyst.agency_id, people.other_analyst.agency_id, T0)
        with pytest.raises(IntelForbidden, match="agreement"):
            at(core, T0 + dt.timedelta(hours=1), lambda: _release(core, people, record_id))
    with session_scope(engine) as session:
        [created] = _audit(session, "create", "intel_agreement")
        [revoked] = _audit(session, "revoke", "intel_agreement")
        assert created.object_id == revoked.object_id == str(agreement_id)
        assert created.actor_username == revoked.actor_username == "admin"


def test_release_only_scope_gives_pointers_in_search(
    engine: Engine, core: OpenILP, people: Cast, admin: UserInfo
) -> None:
    _approved(core, people)
    _add(core, admin, scope="releases")
    hits = search_records(core, people.other_analyst, SearchRequest("Johnny", purpose="case 24-9")).hits
    assert [h.kind for h in hits] == ["pointer"]
    _add(core, admin, scope="releases_and_search", version="2")
    hits = search_records(core, people.other_analyst, SearchRequest("Johnny", purpose="case 24-9")).hits
    assert [h.kind for h in hits] == ["full"]


def test_grading_scheme_is_shown_set_and_audited(engine: Engine, core: OpenILP, people: Cast, admin: UserInfo) -> None:
    assert grading_scheme_settings(core, admin).as_dict()["grading_scheme"] == "admiralty"
    with pytest.raises(FieldError) as caught:
        choose_grading_scheme(core, admin, GradingSchemeRequest("5x5x5"))
    assert caught.value.field == "grading_scheme"
    with pytest.raises(IntelForbidden):
        choose_grading_scheme(core, people.analyst, GradingSchemeRequest("uk_3x5x2"))
    assert choose_grading_scheme(core, admin, GradingSchemeRequest("uk_3x5x2")).grading_scheme == "uk_3x5x2"
    with session_scope(engine) as session:
        assert agency_grading_scheme(session, admin.agency_id) == "uk_3x5x2"
        [entry] = _audit(session, "update", "intel_settings")
        assert json.loads(entry.details) == {"grading_scheme": "uk_3x5x2", "previous": "admiralty"}


# --- 3. emergency release (28 CFR 23.20(f)(2)) ------------------------------------------------------


def _emergency(core: OpenILP, actor: UserInfo, record_id: int, **overrides: Any) -> Release:
    arguments: dict[str, Any] = {
        "justification": JUSTIFICATION,
        "recipient_name": "Chief J. Doe",
        "recipient_organisation": "St. Louis Fire Department, by phone",
        "assessment": ASSESSMENT,
    }
    moment = overrides.pop("now", T0 + dt.timedelta(days=1))
    arguments.update(overrides)
    return at(core, moment, lambda: emergency_release(core, actor, EmergencyReleaseRequest(record_id, **arguments)))


def test_emergency_release_needs_role_and_justification_and_notifies_the_owner(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    record_id = _approved(core, people)
    for actor in (people.analyst, people.officer, people.auditor):
        with pytest.raises(IntelForbidden):
            _emergency(core, actor, record_id)
    with pytest.raises(PurposeRequired):
        _emergency(core, people.reviewer, record_id, justification="  ")
    with session_scope(engine) as session:
        [refused] = _audit(session, "emergency_release_refused")
        assert refused.object_id == str(record_id)
    for overrides, field in [
        ({"justification": "danger"}, "justification"),
        ({"recipient_name": ""}, "recipient_name"),
        ({"recipient_organisation": ""}, "recipient_organisation"),
        ({"assessment": "fire"}, "assessment"),
    ]:
        with pytest.raises(FieldError) as caught:
            _emergency(core, people.reviewer, record_id, **overrides)
        assert caught.value.field == field
    with pytest.raises(IntelForbidden, match="approved"):
        _emergency(core, people.reviewer, record_id, now=T0 + dt.timedelta(days=6 * 365))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelDissemination)) == 0
    release = _emergency(core, people.reviewer, record_id)
    with session_scope(engine) as session:
        logged = session.get(IntelDissemination, release.dissemination_id)
        assert logged is not None
        assert (logged.kind, logged.imminent_danger, logged.recipient_agency_id) == ("emergency", True, None)
        assert logged.items == '["assessment"]' and logged.assessment == ASSESSMENT
    with session_scope(engine) as session:
        [entry] = _audit(session, "emergency_release")
        assert entry.actor_username == "rev" and entry.purpose == JUSTIFICATION
        assert not _audit(session, "disseminate")  # a distinct action, not an ordinary release
        notes = notifications_for(core, people.analyst).rows()  # control official and submitter
        assert [n["kind"] for n in notes] == ["emergency_release"] and "Chief J. Doe" in notes[0]["message"]
        # A later correction reaches the emergency recipient through the control official.
        assert (
            correct_record(
                core, people.analyst, CorrectionRequest(record_id, {"summary": "Garage is on 2nd St."}, purpose="fix")
            ).recipients_notified
            == 1
        )
    advice = [n for n in notifications_for(core, people.analyst).rows() if n["kind"] == "correction_advise"]
    assert len(advice) == 1 and "Chief J. Doe" in advice[0]["message"]


# --- 4. payout-code lockout -------------------------------------------------------------------------


def _reward_with_code(core: OpenILP, supervisor: UserInfo) -> tuple[str, str]:
    narrative = "Guns stored in unit 12 of the Main St storage."
    new = submit_tip(core, None, TipRequest(agency="SLMPD", kind="tip", narrative=narrative))
    approve_reward(core, supervisor, RewardRequest(new.tip_id, amount=50_000, reason="Board minute 2024/5"))
    code = collect_payout_code(core, None, TipKey(new.tip_id, new.secret)).code
    return new.tip_id, code


def test_payout_locks_after_five_wrong_codes(engine: Engine, core: OpenILP, people: Cast, admin: UserInfo) -> None:
    with session_scope(engine) as session:
        supervisor = make_user(session, "sup", "supervisor")
    tip_id, code = _reward_with_code(core, supervisor)
    for attempt in range(1, MAX_PAYOUT_ATTEMPTS + 1):
        # The refusal rolls the payout back, but the service keeps the counter and the audit entry.
        with pytest.raises(IntelForbidden, match="does not match"):
            record_payout(core, supervisor, PayoutRequest(tip_id, f"WRONG-{attempt:04d}"))
    with session_scope(engine) as session:
        reward = session.scalars(select(TipReward)).one()
        assert (reward.status, reward.failed_payout_attempts) == ("locked", 5) and reward.locked_at is not None
        assert len(_audit(session, "payout_refused")) == 4 and len(_audit(session, "payout_locked")) == 1
    with pytest.raises(IntelForbidden, match="locked"):
        record_payout(core, supervisor, PayoutRequest(tip_id, code))  # even the right code
    with pytest.raises(IntelForbidden):
        unlock_reward(core, supervisor, UnlockRequest(tip_id, reason="Tipster mistyped the code."))
    unlock_reward(core, admin, UnlockRequest(tip_id, reason="Tipster mistyped the code."))
    record_payout(core, supervisor, PayoutRequest(tip_id, code))
    with session_scope(engine) as session:
        assert session.scalars(select(TipReward.status)).one() == "paid"
        assert len(_audit(session, "payout_unlocked")) == 1


# --- web: pages and API -----------------------------------------------------------------------------


def _client(engine: Engine, tmp_path: Path, username: str) -> TestClient:
    client = make_client(engine, tmp_path)
    assert login(client, username).status_code == 303
    return client


def _error(html: str) -> str:
    match = re.search(r'role="alert"[^>]*>([^<]+)<', html)
    assert match, "no error shown"
    return match.group(1)


def test_settings_pages_and_api_manage_agreements_and_scheme(
    engine: Engine, tmp_path: Path, people: Cast, admin: UserInfo
) -> None:
    client = _client(engine, tmp_path, "admin")
    page = client.get("/intel/settings")
    assert page.status_code == 200 and "No agreements on file" in page.text
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "partner_agency": "OTHER",
        "scope": "releases_and_search",
        "reference": "MOU 2024/7",
        "version": "1",
        "valid_from": "2024-01-01",
        "valid_to": "2023-12-31",
    }
    bad = client.post("/intel/settings/agreements", data=form)
    assert bad.status_code == 400 and _error(bad.text).startswith("valid_to:")
    assert 'id="err-valid_to"' in bad.text and 'value="MOU 2024/7"' in bad.text
    added = client.post("/intel/settings/agreements", data={**form, "valid_to": ""}, follow_redirects=False)
    assert added.status_code == 303
    listed = client.get("/api/v1/intel/agreements").json()["agreements"]
    assert [(a["partner_agency"], a["status"], a["valid_to"]) for a in listed] == [("OTHER", "current", None)]
    api_bad = client.post(
        "/api/v1/intel/agreements", json={"partner_agency": "OTHER", "reference": "", "valid_from": "x"}
    )
    assert api_bad.status_code == 400 and api_bad.json()["detail"].startswith("valid_from:")
    api_added = client.post(
        "/api/v1/intel/agreements",
        json={"partner_agency": "OTHER", "reference": "MOU 2025/1", "version": "2", "valid_from": "2025-01-01"},
    )
    assert api_added.status_code == 201 and api_added.json()["scope"] == "releases_and_search"
    first = listed[0]["id"]
    short = client.post(f"/intel/settings/agreements/{first}/revoke", data={"csrf_token": token, "reason": "no"})
    assert short.status_code == 400 and _error(short.text).startswith("reason:")
    revoked = client.post(
        f"/intel/settings/agreements/{first}/revoke",
        data={"csrf_token": token, "reason": "Partner left the task force."},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert (
        client.post("/api/v1/intel/agreements/999/revoke", json={"reason": "Partner left the force."}).status_code
        == 404
    )
    statuses = {a["id"]: a["status"] for a in client.get("/api/v1/intel/agreements").json()["agreements"]}
    assert statuses[first] == "revoked"
    scheme = client.post("/intel/settings/grading-scheme", data={"csrf_token": token, "grading_scheme": "nope"})
    assert scheme.status_code == 400 and _error(scheme.text).startswith("grading_scheme:")
    saved = client.post(
        "/intel/settings/grading-scheme",
        data={"csrf_token": token, "grading_scheme": "uk_3x5x2"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert client.get("/api/v1/intel/grading-scheme").json()["grading_scheme"] == "uk_3x5x2"
    assert client.post("/api/v1/intel/grading-scheme", json={"grading_scheme": "admiralty"}).status_code == 200
    assert "Intel settings" in client.get("/").text
    analyst = _client(engine, tmp_path, "ana")
    assert analyst.get("/intel/settings").status_code == 403
    assert "Intel settings" not in analyst.get("/").text


def _record_page(client: TestClient, record_id: int, purpose: str = "correction of an error") -> str:
    response = open_record(client, record_id, purpose)
    assert response.status_code == 200
    return response.text


def test_correction_page_notifies_every_past_recipient(
    engine: Engine, tmp_path: Path, core: OpenILP, people: Cast, admin: UserInfo
) -> None:
    record_id = _approved(core, people)
    with session_scope(engine) as session:
        _add(core, admin)
        second = make_user(session, "other-off", "officer", agency="OTHER")
    _release(core, people, record_id)
    _release(core, people, record_id, username="other-off")
    client = _client(engine, tmp_path, "ana")
    page = _record_page(client, record_id)
    assert 'id="correct-link"' in page, "the record page leads to the correction form"
    form_page = client.post(
        f"/intel/records/{record_id}/correct/form",
        data={"csrf_token": csrf_from(page), "view_purpose": "correction of an error"},
    )
    assert form_page.status_code == 200 and "Johnny Suspect" in form_page.text
    token = csrf_from(form_page.text)
    subject_ids = [int(i) for i in re.findall(r'name="identifiers_(\d+)"', form_page.text)]
    base = {
        "csrf_token": token,
        "view_purpose": "correction of an error",
        "correction_purpose": "error found in file 24-001234",
        "title": "Cocaine supply from a north-side garage",
        "summary": "Subject supplies cocaine to street dealers from a garage on Main St.",
        "source_grade": "B",
        "information_grade": "2",
        "sensitivity": "open",
        "handling_code": "P",
        "handling_conditions": "",
    }
    nothing = client.post(f"/intel/records/{record_id}/correct", data=base)
    assert nothing.status_code == 400 and "nothing to correct" in _error(nothing.text)
    bad = client.post(f"/intel/records/{record_id}/correct", data={**base, "summary": "Fixed.", "handling_code": "C"})
    assert bad.status_code == 400 and "conditions" in _error(bad.text)
    no_reason = client.post(
        f"/intel/records/{record_id}/correct", data={**base, "correction_purpose": "", "summary": "Fixed."}
    )
    assert no_reason.status_code == 400 and "purpose" in _error(no_reason.text)
    with session_scope(engine) as session:
        assert session.get(IntelRecord, record_id).summary.startswith("Subject supplies")  # type: ignore[union-attr]
        assert not [n for n in notifications_for(core, people.other_analyst).rows() if n["kind"] == "correction"]
        assert _audit(session, "update_refused")
    done = client.post(
        f"/intel/records/{record_id}/correct",
        data={
            **base,
            "summary": "Corrected: the garage is on 2nd St.",
            f"identifiers_{subject_ids[0]}": "DOB 1980-01-01; alias JJ",
        },
    )
    assert done.status_code == 200 and "Done: corrected" in done.text
    with session_scope(engine) as session:
        record = session.get(IntelRecord, record_id)
        assert record is not None and record.summary == "Corrected: the garage is on 2nd St."
        assert record.subjects[0].identifiers == "DOB 1980-01-01; alias JJ"
        for user in (people.other_analyst, second):
            kinds = [n["kind"] for n in notifications_for(core, user).rows()]
            assert kinds.count("correction") == 2  # the summary, then the subject's identifiers
        updates = _audit(session, "update", "intel_record")
        assert [e.purpose for e in updates] == ["error found in file 24-001234"] * 2
    other = _client(engine, tmp_path, "other-ana")
    token = csrf_from(other.get(f"/intel/records/{record_id}").text)
    refused = other.post(f"/intel/records/{record_id}/correct/form", data={"csrf_token": token, "view_purpose": "x"})
    assert refused.status_code == 404


def test_emergency_release_through_the_page_and_api(
    engine: Engine, tmp_path: Path, core: OpenILP, people: Cast
) -> None:
    record_id = _approved(core, people)
    analyst = _client(engine, tmp_path, "ana")
    assert 'id="emergency-form"' not in _record_page(analyst, record_id)
    reviewer = _client(engine, tmp_path, "rev")
    page = _record_page(reviewer, record_id, "threat to life 24-99")
    assert 'id="emergency-form"' in page
    form = {
        "csrf_token": csrf_from(page),
        "view_purpose": "threat to life 24-99",
        "justification": "",
        "recipient_name": "Chief J. Doe",
        "recipient_organisation": "St. Louis Fire Department, by phone",
        "assessment": ASSESSMENT,
    }
    refused = reviewer.post(f"/intel/records/{record_id}/emergency-release", data=form)
    assert refused.status_code == 400 and "purpose" in _error(refused.text)
    done = reviewer.post(
        f"/intel/records/{record_id}/emergency-release",
        data={**form, "justification": JUSTIFICATION},
    )
    assert done.status_code == 200
    log = _record_page(reviewer, record_id, "threat to life 24-99")
    assert "emergency (imminent danger)" in log and "outside the system" in log and ASSESSMENT in log
    api = reviewer.post(
        f"/api/v1/intel/records/{record_id}/emergency-release",
        json={
            "justification": JUSTIFICATION,
            "recipient_name": "Mayor A. Smith",
            "recipient_organisation": "City of St. Louis, in person",
            "assessment": ASSESSMENT,
        },
    )
    assert api.status_code == 201 and api.json()["imminent_danger"] is True
    with session_scope(engine) as session:
        assert len(_audit(session, "emergency_release")) == 2
        assert len(_audit(session, "emergency_release_refused")) == 1
        flagged = session.scalars(select(IntelDissemination.imminent_danger)).all()
        assert flagged == [True, True]


def test_payout_page_counts_wrong_codes_and_locks(
    engine: Engine, tmp_path: Path, core: OpenILP, people: Cast, admin: UserInfo
) -> None:
    with session_scope(engine) as session:
        supervisor = make_user(session, "sup", "supervisor")
    tip_id, code = _reward_with_code(core, supervisor)
    client = _client(engine, tmp_path, "sup")
    token = csrf_from(client.get(f"/intel/tips/{tip_id}/reward").text)
    for _attempt in range(MAX_PAYOUT_ATTEMPTS):
        wrong = client.post(f"/intel/tips/{tip_id}/payout", data={"csrf_token": token, "payout_code": "AAAA-BBBB"})
        assert wrong.status_code == 400 and "does not match" in _error(wrong.text)
    assert "attempt" not in _error(wrong.text) and "locked" in _error(wrong.text)
    page = client.get(f"/intel/tips/{tip_id}/reward").text
    assert 'id="payout-form"' not in page and "An administrator must unlock it" in page
    right = client.post(f"/intel/tips/{tip_id}/payout", data={"csrf_token": token, "payout_code": code})
    assert right.status_code == 400 and "locked" in _error(right.text)
    administrator = _client(engine, tmp_path, "admin")
    page = administrator.get(f"/intel/tips/{tip_id}/reward").text
    unlocked = administrator.post(
        f"/intel/tips/{tip_id}/unlock",
        data={"csrf_token": csrf_from(page), "reason": "Tipster mistyped the code five times."},
        follow_redirects=False,
    )
    assert unlocked.status_code == 303
    paid = client.post(
        f"/intel/tips/{tip_id}/payout", data={"csrf_token": token, "payout_code": code}, follow_redirects=False
    )
    assert paid.status_code == 303
    with session_scope(engine) as session:
        assert session.scalars(select(TipReward.status)).one() == "paid"


# --- CLI --------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    common.settings.cache_clear()
    common.engine.cache_clear()
    common.core.cache_clear()
    yield
    common.settings.cache_clear()
    common.engine.cache_clear()
    common.core.cache_clear()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_agreements_and_grading_scheme(engine: Engine, people: Cast, admin: UserInfo, cli: None) -> None:
    code, out = _invoke(
        "intel",
        "agreements",
        "add",
        "--user",
        "ana",
        "--partner",
        "OTHER",
        "--reference",
        "M",
        "--valid-from",
        "2024-01-01",
    )
    assert code == 1 and "may not manage" in out
    code, out = _invoke(
        "intel", "agreements", "add", "--user", "admin", "--partner", "OTHER", "--reference", "MOU 2024/7",
        "--valid-from", "2024-01-01", "--valid-to", "2023-01-01",
    )  # fmt: skip
    assert code == 1 and "valid_to" in out
    code, out = _invoke(
        "intel", "agreements", "add", "--user", "admin", "--partner", "OTHER", "--reference", "MOU 2024/7",
        "--valid-from", "2024-01-01", "--valid-to", "2030-12-31", "--scope", "releases", "--json",
    )  # fmt: skip
    assert code == 0, out
    agreement_id = int(re.search(r'"id": (\d+)', out).group(1))  # type: ignore[union-attr]
    code, out = _invoke("intel", "agreements", "list", "--user", "admin", "--json")
    assert code == 0 and '"scope": "releases"' in out and '"valid_to": "2030-12-31T23:59:59.999999+00:00"' in out
    code, out = _invoke(
        "intel", "agreements", "revoke", str(agreement_id), "--user", "admin", "--reason", "Task force ended."
    )
    assert code == 0 and "revoked" in out
    code, out = _invoke("intel", "agreements", "list", "--user", "admin")
    assert code == 0 and "revoked" in out
    code, out = _invoke("intel", "grading-scheme", "set", "nope", "--user", "admin")
    assert code == 1 and "grading_scheme" in out
    assert _invoke("intel", "grading-scheme", "set", "uk_3x5x2", "--user", "admin")[0] == 0
    code, out = _invoke("intel", "grading-scheme", "show", "--user", "admin")
    assert code == 0 and "* uk_3x5x2" in out
    with session_scope(engine) as session:
        assert agency_grading_scheme(session, admin.agency_id) == "uk_3x5x2"
        assert [e.actor_username for e in _audit(session, "revoke", "intel_agreement")] == ["admin"]
