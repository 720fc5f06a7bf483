"""Intelligence records: predicate gate, pending invisibility, subject roles, review, protected
activity, dissemination, restricted hits, corrections, review and purge (frozen clock)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from intel_support import T0, Cast, cast, submission
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openilp.db import session_scope
from openilp.db.models import (
    AuditEntry,
    IntelDissemination,
    IntelRecord,
    IntelReviewTask,
    IntelSubject,
    Notification,
)
from openilp.intel.errors import IntelForbidden, IntelNotFound, PurposeRequired
from openilp.intel.rules import SubmissionError
from openilp.security.audit import verify_chain
from openilp.services.intel.dissemination import disseminate, notifications_for, record_agreement
from openilp.services.intel.records import (
    approve_record,
    correct_record,
    reject_record,
    search_records,
    submit_record,
    update_identifiers,
    view_record,
)
from openilp.services.intel.retention import open_due_reviews, purge_expired, review_queue, validate_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

UTC = dt.UTC
NEXUS = "The subject used the 3 May protest as cover to place incendiary devices in two shops."


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _approved(engine: Engine, people: Cast, **overrides: object) -> int:
    with session_scope(engine) as session:
        record = submit_record(session, people.analyst, submission(people.analyst.id, **overrides), now=T0)
        approve_record(session, people.reviewer, record.id, reason="Predicate checked against file.", now=T0)
        return record.id


def _agreement(engine: Engine, people: Cast, admin_role_user: object | None = None) -> None:
    with session_scope(engine) as session:
        from intel_support import make_user

        admin = make_user(session, "admin", "administrator")
        record_agreement(
            session,
            admin,
            "OTHER",
            document_reference="MOU 2024/7",
            version="1.0",
            signed_at=T0 - dt.timedelta(days=30),
        )


# --- 3. predicate gate, labels, pending invisibility, subject roles --------------------------------


def test_no_predicate_is_rejected_and_nothing_is_stored(engine: Engine, people: Cast) -> None:
    for missing in ("factual_basis", "source_reference", "offence_category"):
        with session_scope(engine) as session, pytest.raises(SubmissionError, match="no criminal predicate"):
            submit_record(session, people.analyst, submission(people.analyst.id, **{missing: ""}))
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="lawfully collected"):
        submit_record(session, people.analyst, submission(people.analyst.id, lawful_collection_attested=False))
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="unknown offence category"):
        submit_record(session, people.analyst, submission(people.analyst.id, offence_category="jaywalking"))
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="control official"):
        submit_record(session, people.analyst, submission(people.other_analyst.id))
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="grades with the admiralty"):
        submit_record(
            session,
            people.analyst,
            submission(people.analyst.id, grading_scheme="uk_3x5x2", source_grade="1", information_grade="A"),
        )
    with session_scope(engine) as session:
        assert _count(session, IntelRecord) == 0
        assert _count(session, IntelSubject) == 0


def test_roles_without_submit_permission_cannot_submit(engine: Engine, people: Cast) -> None:
    with session_scope(engine) as session, pytest.raises(IntelForbidden):
        submit_record(session, people.auditor, submission(people.analyst.id))
    with session_scope(engine) as session, pytest.raises(IntelForbidden):
        submit_record(session, people.partner, submission(people.analyst.id))


def test_submission_is_pending_and_invisible_to_search_and_dissemination(engine: Engine, people: Cast) -> None:
    _agreement(engine, people)
    with session_scope(engine) as session:
        record = submit_record(session, people.analyst, submission(people.analyst.id), now=T0)
        record_id = record.id
        assert record.status == "pending"
        assert record.retention_expires_at is None
    with session_scope(engine) as session:
        assert search_records(session, people.analyst, "Johnny", purpose="case 24-1", now=T0).hits == []
        assert search_records(session, people.other_analyst, "Johnny", purpose="case 24-1", now=T0).hits == []
        with pytest.raises(IntelForbidden, match="approved"):
            disseminate(
                session,
                people.analyst,
                record_id,
                recipient_agency_code="OTHER",
                recipient_username="other-ana",
                purpose="case 24-1",
                need_to_know="joint drugs operation",
                items=["summary"],
                now=T0,
            )
        with pytest.raises(IntelNotFound):  # a colleague who is neither submitter nor reviewer
            view_record(session, people.officer, record_id, purpose="case 24-1")
    with session_scope(engine) as session:
        approve_record(session, people.reviewer, record_id, reason="Predicate checked against file.", now=T0)
    with session_scope(engine) as session:
        hits = search_records(session, people.analyst, "johnny", purpose="case 24-1", now=T0).hits
        assert [h.record_id for h in hits] == [record_id]


def test_non_criminal_identifier_is_never_returned_as_a_subject(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    with session_scope(engine) as session:
        assert search_records(session, people.analyst, "Mary Innocent", purpose="case 24-1", now=T0).hits == []
        assert search_records(session, people.analyst, "ABC123", purpose="case 24-1", now=T0).hits == []
        hit = search_records(session, people.analyst, "Johnny", purpose="case 24-1", now=T0).hits[0]
        assert hit.record is not None
        assert [s["name"] for s in hit.record["subjects"]] == ["Johnny Suspect"]
        assert "Mary" not in str(hit.as_dict())
        view = view_record(session, people.analyst, record_id, purpose="case 24-1")
        assert [s["name"] for s in view["subjects"]] == ["Johnny Suspect"]
        assert [s["name"] for s in view["identifying_information"]] == ["Grey Honda owned by Mary Innocent"]


def test_every_label_is_on_the_record(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people, handling_code="C", handling_conditions="Not for court use.")
    with session_scope(engine) as session:
        view = view_record(session, people.analyst, record_id, purpose="case 24-1")
    assert view["grading"] == {
        "scheme": "admiralty",
        "source": "B",
        "information": "2",
        "label": "B2 (Usually reliable / Probably true)",
    }
    assert view["handling_code"] == "C" and view["handling_conditions"] == "Not for court use."
    assert view["sensitivity"] == "open"
    assert view["agency"]["name"] == "SLMPD police"
    assert view["control_official"] == "Ana (ana)"


def test_reads_and_searches_need_a_purpose_and_refusals_are_logged(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    for purpose in (None, "", "   ", "x" * 501):
        with session_scope(engine) as session, pytest.raises(PurposeRequired):
            search_records(session, people.analyst, "Johnny", purpose=purpose)
    with session_scope(engine) as session, pytest.raises(PurposeRequired):
        view_record(session, people.analyst, record_id, purpose="")
    with session_scope(engine) as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions.count("search_refused") == 4
        assert actions.count("read_refused") == 1
        assert actions[:2] == ["create", "approve"]
        assert verify_chain(session).ok


# --- review: training, two persons, rejection -----------------------------------------------------


def test_only_a_trained_second_person_can_approve(engine: Engine, people: Cast) -> None:
    with session_scope(engine) as session:
        record_id = submit_record(session, people.analyst, submission(people.analyst.id), now=T0).id
        mine = submit_record(session, people.reviewer, submission(people.reviewer.id), now=T0).id
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="training"):
        approve_record(session, people.untrained, record_id, reason="looks fine to me", now=T0)
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="does not permit"):
        approve_record(session, people.analyst, record_id, reason="looks fine to me", now=T0)
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="own record"):
        approve_record(session, people.reviewer, mine, reason="looks fine to me", now=T0)
    with session_scope(engine) as session, pytest.raises(IntelNotFound):
        approve_record(session, people.other_reviewer, record_id, reason="looks fine to me", now=T0)
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="training"):
        # training valid until 2030-01-01; on 2030-01-02 it has expired
        approve_record(
            session, people.reviewer, record_id, reason="looks fine to me", now=dt.datetime(2030, 1, 2, tzinfo=UTC)
        )
    with session_scope(engine) as session:
        record = approve_record(session, people.reviewer, record_id, reason="Predicate checked.", now=T0)
        assert record.status == "approved"
        assert record.retention_expires_at == dt.datetime(2029, 3, 1, 12, tzinfo=UTC)


def test_rejection_erases_the_content(engine: Engine, people: Cast) -> None:
    with session_scope(engine) as session:
        record_id = submit_record(session, people.analyst, submission(people.analyst.id), now=T0).id
    with session_scope(engine) as session:
        reject_record(session, people.reviewer, record_id, reason="No current criminal activity shown.", now=T0)
    with session_scope(engine) as session:
        record = session.get(IntelRecord, record_id)
        assert record is not None and record.status == "rejected"
        assert record.title == record.summary == record.factual_basis == ""
        assert _count(session, IntelSubject) == 0


# --- 4. protected activity ------------------------------------------------------------------------


def test_protected_activity_without_nexus_is_rejected(engine: Engine, people: Cast) -> None:
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="23.20"):
        submit_record(session, people.analyst, submission(people.analyst.id, protected_categories=["political"]))
    with session_scope(engine) as session:
        assert _count(session, IntelRecord) == 0


def test_protected_activity_needs_second_person_approval_and_is_reported(engine: Engine, people: Cast) -> None:
    from openilp.services.intel.compliance import compliance_report

    with session_scope(engine) as session:
        record_id = submit_record(
            session,
            people.analyst,
            submission(people.analyst.id, protected_categories=["protest"], nexus_justification=NEXUS),
            now=T0,
        ).id
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="second-person"):
        approve_record(session, people.reviewer, record_id, reason="Predicate checked.", now=T0)
    with session_scope(engine) as session:
        assert session.get(IntelRecord, record_id).status == "pending"  # type: ignore[union-attr]
    with session_scope(engine) as session:
        approve_record(session, people.reviewer, record_id, reason="Nexus is direct.", approve_nexus=True, now=T0)
    with session_scope(engine) as session:
        report = compliance_report(session, people.auditor, now=T0)
        (row,) = report["protected_activity"]
        assert row["record_id"] == record_id
        assert row["categories"] == ["protest"]
        assert row["nexus_approved_by"] == "Rev (rev)"
        assert row["submitter"] == "Ana (ana)"
        with pytest.raises(IntelForbidden):
            compliance_report(session, people.analyst, now=T0)


# --- 5. dissemination ------------------------------------------------------------------------------


def _release(session: Session, people: Cast, record_id: int, **overrides: object) -> IntelDissemination:
    arguments: dict[str, object] = {
        "recipient_agency_code": "OTHER",
        "recipient_username": "other-ana",
        "purpose": "joint operation 24-77",
        "need_to_know": "OTHER runs the buy-bust at the same garage",
        "items": ["summary", "subjects"],
        "now": T0,
    }
    arguments.update(overrides)
    return disseminate(session, people.analyst, record_id, **arguments)  # type: ignore[arg-type]


def test_release_without_purpose_is_refused_and_logged(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    _agreement(engine, people)
    with session_scope(engine) as session, pytest.raises(PurposeRequired):
        _release(session, people, record_id, purpose="  ")
    with session_scope(engine) as session:
        assert _count(session, IntelDissemination) == 0
        refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "disseminate_refused")).all()
        assert len(refused) == 1 and refused[0].object_id == str(record_id)


def test_release_checks_need_right_to_know_and_agreement(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="agreement"):
        _release(session, people, record_id)
    _agreement(engine, people)
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="need to know"):
        _release(session, people, record_id, need_to_know="")
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="right to know"):
        _release(session, people, record_id, recipient_username="partner")
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="items"):
        _release(session, people, record_id, items=["factual_basis"])
    with session_scope(engine) as session, pytest.raises(SubmissionError, match="own agency"):
        _release(session, people, record_id, recipient_agency_code="SLMPD", recipient_username="off")
    with session_scope(engine) as session:
        assert _count(session, IntelDissemination) == 0
        release = _release(session, people, record_id)
        assert (release.recipient_name, release.reason, release.released_at) == (
            "Other-Ana",
            "joint operation 24-77",
            T0,
        )
        assert release.items == '["summary", "subjects"]'
    with session_scope(engine) as session:
        view = view_record(session, people.other_analyst, record_id, purpose="joint operation 24-77")
        assert view["summary"] and [s["name"] for s in view["subjects"]] == ["Johnny Suspect"]
        assert "factual_basis" not in view and "identifying_information" not in view
        assert notifications_for(session, people.other_analyst)[0]["kind"] == "dissemination_received"


def test_temporary_files_are_never_disseminated(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people, file_type="temporary")
    _agreement(engine, people)
    with session_scope(engine) as session, pytest.raises(IntelForbidden, match="temporary"):
        _release(session, people, record_id)


def test_a_correction_notifies_every_past_recipient(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    _agreement(engine, people)
    with session_scope(engine) as session:
        from intel_support import make_user

        second = make_user(session, "other-off", "officer", agency="OTHER")
        _release(session, people, record_id)
        _release(session, people, record_id, recipient_username="other-off")
        _release(session, people, record_id)  # the same recipient twice: one notice
    with session_scope(engine) as session:
        notified = correct_record(
            session,
            people.analyst,
            record_id,
            {"summary": "Corrected: the garage is on 2nd St."},
            purpose="error found",
        )
        assert notified == 2
    with session_scope(engine) as session:
        for user in (people.other_analyst, second):
            kinds = [n["kind"] for n in notifications_for(session, user)]
            assert kinds.count("correction") == 1


def test_restricted_record_gives_no_hit_but_notifies_its_owner(engine: Engine, people: Cast) -> None:
    restricted = _approved(engine, people, sensitivity="restricted")
    name_only = _approved(engine, people, sensitivity="agency_name_only", title="Fencing ring")
    _agreement(engine, people)
    with session_scope(engine) as session:
        result = search_records(session, people.other_analyst, "Johnny Suspect", purpose="case OT-9", now=T0)
        assert [(h.kind, h.record_id) for h in result.hits] == [("pointer", name_only)]
        assert result.hits[0].record is None
        assert result.hits[0].agency_name == "SLMPD police" and result.hits[0].contact == "Ana (ana)"
        assert "Fencing" not in str(result.as_dict())
        # a search on the restricted record's own words gives nothing either
        assert (
            search_records(session, people.other_analyst, "garage on Main", purpose="case OT-9", now=T0).hits[0].kind
            == "pointer"
        )
    with session_scope(engine) as session:
        owner_notes = notifications_for(session, people.analyst)
        restricted_notes = [n for n in owner_notes if n["kind"] == "restricted_hit"]
        assert len(restricted_notes) == 2 and restricted_notes[0]["record_id"] == restricted
        assert "other-ana" in restricted_notes[0]["message"] and "case OT-9" in restricted_notes[0]["message"]
        assert notifications_for(session, people.other_analyst) == []
        # the searcher's own agency never learns of the restricted record
        assert _count(session, IntelDissemination) == 0


def test_open_record_is_a_full_hit_only_with_an_agreement_and_is_logged(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    with session_scope(engine) as session:
        (hit,) = search_records(session, people.other_analyst, "Johnny", purpose="case OT-9", now=T0).hits
        assert hit.kind == "pointer"
    _agreement(engine, people)
    with session_scope(engine) as session:
        (hit,) = search_records(session, people.other_analyst, "Johnny", purpose="case OT-9", now=T0).hits
        assert hit.kind == "full" and hit.record_id == record_id
        (logged,) = session.scalars(select(IntelDissemination)).all()
        assert (logged.kind, logged.reason, logged.recipient_user_id) == (
            "search_hit",
            "case OT-9",
            people.other_analyst.id,
        )


# --- 6. review or purge ----------------------------------------------------------------------------


def test_expiry_without_validation_purges_the_content(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    _agreement(engine, people)
    with session_scope(engine) as session:
        _release(session, people, record_id)
    expiry = dt.datetime(2029, 3, 1, 12, tzinfo=UTC)
    with session_scope(engine) as session:
        assert purge_expired(session, now=expiry - dt.timedelta(seconds=1)) == []
        due = open_due_reviews(session, now=expiry - dt.timedelta(days=89))
        assert [t.record_id for t in due] == [record_id]
        assert (
            review_queue(session, people.reviewer, now=expiry - dt.timedelta(days=89))["due"][0]["record_id"]
            == record_id
        )
        assert open_due_reviews(session, now=expiry - dt.timedelta(days=91)) == []
    with session_scope(engine) as session:
        assert purge_expired(session, now=expiry) == [record_id]
    with session_scope(engine) as session:
        record = session.get(IntelRecord, record_id)
        assert record is not None
        assert (record.status, record.purged_at) == ("purged", expiry)
        assert record.title == record.summary == record.factual_basis == record.source_reference == ""
        assert record.offence_category is None
        assert _count(session, IntelSubject) == 0
        assert session.scalars(select(IntelReviewTask.status)).all() == ["purged"]
        kinds = session.scalars(
            select(Notification.kind).where(Notification.agency_id == people.other_analyst.agency_id)
        ).all()
        assert "purge" in kinds
        purge_entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "purge")).one()
        assert "Johnny" not in purge_entry.details
        assert purge_expired(session, now=expiry + dt.timedelta(days=1)) == []
        assert search_records(session, people.analyst, "Johnny", purpose="case", now=expiry).hits == []


def test_validation_renews_up_to_five_years_and_identifier_updates_do_not(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    first_end = dt.datetime(2029, 3, 1, 12, tzinfo=UTC)
    later = dt.datetime(2028, 12, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        subject_id = session.scalars(select(IntelSubject.id).where(IntelSubject.role == "criminal_subject")).one()
        update_identifiers(session, people.analyst, record_id, subject_id, "DOB 1980-01-01; alias JJ", purpose="update")
        assert session.get(IntelRecord, record_id).retention_expires_at == first_end  # type: ignore[union-attr]
        with pytest.raises(SubmissionError, match="fresh predicate"):
            validate_record(
                session,
                people.reviewer,
                record_id,
                reason="Still active.",
                still_suspected=False,
                factual_basis="Buys continue",
                now=later,
            )
        with pytest.raises(SubmissionError, match="current facts"):
            validate_record(
                session,
                people.reviewer,
                record_id,
                reason="Still active.",
                still_suspected=True,
                factual_basis="",
                now=later,
            )
        with pytest.raises(IntelForbidden, match="training"):
            validate_record(
                session,
                people.untrained,
                record_id,
                reason="Still active.",
                still_suspected=True,
                factual_basis="A controlled buy on 2 Nov 2028 at the same garage.",
                now=later,
            )
    with session_scope(engine) as session:
        record = validate_record(
            session,
            people.reviewer,
            record_id,
            reason="Still dealing: new buy in November.",
            still_suspected=True,
            factual_basis="A controlled buy on 2 Nov 2028 at the same garage.",
            now=later,
        )
        assert record.retention_expires_at == dt.datetime(2033, 12, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        assert purge_expired(session, now=first_end + dt.timedelta(days=1)) == []
        view = view_record(session, people.analyst, record_id, purpose="case")
        assert [r["decision"] for r in view["reviews"]] == ["approved", "validated"]
        assert view["reviews"][1]["reviewer"] == "Rev (rev)" and view["reviews"][1]["predicate_checked"]


def test_temporary_files_expire_within_a_year_and_stale_pending_is_purged(engine: Engine, people: Cast) -> None:
    temporary = _approved(engine, people, file_type="temporary")
    with session_scope(engine) as session:
        pending = submit_record(session, people.analyst, submission(people.analyst.id), now=T0).id
    with session_scope(engine) as session:
        assert sorted(purge_expired(session, now=dt.datetime(2025, 3, 1, 12, tzinfo=UTC))) == sorted(
            [temporary, pending]
        )


def test_audit_chain_covers_every_step(engine: Engine, people: Cast) -> None:
    record_id = _approved(engine, people)
    with session_scope(engine) as session:
        search_records(session, people.analyst, "Johnny", purpose="case 24-1", now=T0)
        view_record(session, people.analyst, record_id, purpose="case 24-1")
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [(e.action, e.purpose) for e in entries][-2:] == [("search", "case 24-1"), ("read", "case 24-1")]
        assert verify_chain(session).ok


def test_dataclass_replace_keeps_submission_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        submission(1).title = "x"  # type: ignore[misc]
