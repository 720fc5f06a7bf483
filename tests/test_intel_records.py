"""Intelligence records: predicate gate, pending invisibility, subject roles, review, protected
activity, dissemination, restricted hits, corrections, review and purge (frozen clock)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from intel_support import T0, Cast, at, cast, make_core, make_user, submission
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP
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
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.compliance import compliance_report
from openilp.services.intel.corrections import (
    CorrectionRequest,
    IdentifierUpdateRequest,
    RecordCorrectionsRequest,
    apply_record_corrections,
    correct_record,
    update_identifiers,
)
from openilp.services.intel.dissemination import (
    DisseminationRequest,
    Release,
    disseminate,
    notifications_for,
    received_disseminations,
)
from openilp.services.intel.reading import SearchRequest, ViewRecordRequest, search_records, view_record
from openilp.services.intel.records import (
    ReviewRequest,
    SubmitRecordRequest,
    approve_record,
    reject_record,
    submit_record,
)
from openilp.services.intel.retention import (
    JobRequest,
    ValidationRequest,
    open_due_reviews,
    purge_expired,
    review_queue,
    validate_record,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

UTC = dt.UTC
NEXUS = "The subject used the 3 May protest as cover to place incendiary devices in two shops."


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


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


# --- 3. predicate gate, labels, pending invisibility, subject roles --------------------------------


def test_no_predicate_is_rejected_and_nothing_is_stored(engine: Engine, core: OpenILP, people: Cast) -> None:
    for missing in ("factual_basis", "source_reference", "offence_category"):
        with pytest.raises(SubmissionError, match="no criminal predicate"):
            submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **{missing: ""})))
    with pytest.raises(SubmissionError, match="lawfully collected"):
        submit_record(
            core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, lawful_collection_attested=False))
        )
    with pytest.raises(SubmissionError, match="unknown offence category"):
        submit_record(
            core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, offence_category="jaywalking"))
        )
    with pytest.raises(SubmissionError, match="control official"):
        submit_record(core, people.analyst, SubmitRecordRequest(submission(people.other_analyst.id)))
    with pytest.raises(SubmissionError, match="grades with the admiralty"):
        submit_record(
            core,
            people.analyst,
            SubmitRecordRequest(
                submission(people.analyst.id, grading_scheme="uk_3x5x2", source_grade="1", information_grade="A")
            ),
        )
    with session_scope(engine) as session:
        assert _count(session, IntelRecord) == 0
        assert _count(session, IntelSubject) == 0


def test_the_predicate_needs_who_what_when_and_where(engine: Engine, core: OpenILP, people: Cast) -> None:
    # Twenty x's used to pass the gate: the predicate's facts are structured fields now.
    for name, word in (("predicate_who", "who"), ("predicate_what", "what"), ("predicate_when", "when")):
        with pytest.raises(SubmissionError, match=f"no criminal predicate: {word} is required"):
            submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **{name: ""})))
    with pytest.raises(SubmissionError, match="where must state a fact"):
        submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, predicate_where="?")))
    with pytest.raises(SubmissionError, match="state the facts in words"):
        submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, factual_basis="x" * 20)))
    with session_scope(engine) as session:
        assert _count(session, IntelRecord) == 0
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id)))
    view = view_record(core, people.analyst, ViewRecordRequest(record.id, purpose="case 24-1")).as_dict()
    assert view["predicate"] == {
        "who": "Johnny Suspect",
        "what": "Sells cocaine to street dealers (two controlled buys)",
        "when": "3 and 10 May 2024",
        "where": "Garage at 100 Main St.",
    }


def test_roles_without_submit_permission_cannot_submit(engine: Engine, core: OpenILP, people: Cast) -> None:
    with pytest.raises(IntelForbidden):
        submit_record(core, people.auditor, SubmitRecordRequest(submission(people.analyst.id)))
    with pytest.raises(IntelForbidden):
        submit_record(core, people.partner, SubmitRecordRequest(submission(people.analyst.id)))


def test_submission_is_pending_and_invisible_to_search_and_dissemination(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    _agreement(engine, core)
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id)))
    record_id = record.id
    assert record.status == "pending"
    assert record.retention_expires_at is None
    assert search_records(core, people.analyst, SearchRequest("Johnny", purpose="case 24-1")).hits == ()
    assert search_records(core, people.other_analyst, SearchRequest("Johnny", purpose="case 24-1")).hits == ()
    with pytest.raises(IntelForbidden, match="approved"):
        disseminate(
            core,
            people.analyst,
            DisseminationRequest(
                record_id,
                recipient_agency="OTHER",
                recipient_username="other-ana",
                purpose="case 24-1",
                need_to_know="joint drugs operation",
                items=["summary"],
            ),
        )
    with pytest.raises(IntelNotFound):  # a colleague who is neither submitter nor reviewer
        view_record(core, people.officer, ViewRecordRequest(record_id, purpose="case 24-1")).as_dict()
    approve_record(core, people.reviewer, ReviewRequest(record_id, reason="Predicate checked against file."))
    hits = search_records(core, people.analyst, SearchRequest("johnny", purpose="case 24-1")).hits
    assert [h.record_id for h in hits] == [record_id]


def test_non_criminal_identifier_is_never_returned_as_a_subject(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    assert search_records(core, people.analyst, SearchRequest("Mary Innocent", purpose="case 24-1")).hits == ()
    assert search_records(core, people.analyst, SearchRequest("ABC123", purpose="case 24-1")).hits == ()
    hit = search_records(core, people.analyst, SearchRequest("Johnny", purpose="case 24-1")).hits[0]
    assert hit.record is not None
    assert [s["name"] for s in hit.record["subjects"]] == ["Johnny Suspect"]
    assert "Mary" not in str(hit.as_dict())
    view = view_record(core, people.analyst, ViewRecordRequest(record_id, purpose="case 24-1")).as_dict()
    assert [s["name"] for s in view["subjects"]] == ["Johnny Suspect"]
    assert [s["name"] for s in view["identifying_information"]] == ["Grey Honda owned by Mary Innocent"]


def test_every_label_is_on_the_record(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people, handling_code="C", handling_conditions="Not for court use.")
    view = view_record(core, people.analyst, ViewRecordRequest(record_id, purpose="case 24-1")).as_dict()
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


def test_reads_and_searches_need_a_purpose_and_refusals_are_logged(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    for purpose in (None, "", "   ", "x" * 501):
        with pytest.raises(PurposeRequired):
            search_records(core, people.analyst, SearchRequest("Johnny", purpose=purpose))
    with pytest.raises(PurposeRequired):
        view_record(core, people.analyst, ViewRecordRequest(record_id, purpose="")).as_dict()
    with session_scope(engine) as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions.count("search_refused") == 4
        assert actions.count("read_refused") == 1
        assert actions[:2] == ["create", "approve"]
        assert verify_chain(session).ok


# --- review: training, two persons, rejection -----------------------------------------------------


def test_only_a_trained_second_person_can_approve(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id))).id
    mine = submit_record(core, people.reviewer, SubmitRecordRequest(submission(people.reviewer.id))).id
    with pytest.raises(IntelForbidden, match="training"):
        approve_record(core, people.untrained, ReviewRequest(record_id, reason="looks fine to me"))
    with pytest.raises(IntelForbidden, match="does not permit"):
        approve_record(core, people.analyst, ReviewRequest(record_id, reason="looks fine to me"))
    with pytest.raises(IntelForbidden, match="own record"):
        approve_record(core, people.reviewer, ReviewRequest(mine, reason="looks fine to me"))
    with pytest.raises(IntelNotFound):
        approve_record(core, people.other_reviewer, ReviewRequest(record_id, reason="looks fine to me"))
    with pytest.raises(IntelForbidden, match="training"):
        # training valid until 2030-01-01; on 2030-01-02 it has expired
        at(
            core,
            dt.datetime(2030, 1, 2, tzinfo=UTC),
            lambda: approve_record(core, people.reviewer, ReviewRequest(record_id, reason="looks fine to me")),
        )
    record = approve_record(core, people.reviewer, ReviewRequest(record_id, reason="Predicate checked."))
    assert record.status == "approved"
    assert record.retention_expires_at == dt.datetime(2029, 3, 1, 12, tzinfo=UTC)


def test_rejection_erases_the_content(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id))).id
    reject_record(core, people.reviewer, ReviewRequest(record_id, reason="No current criminal activity shown."))
    with session_scope(engine) as session:
        record = session.get(IntelRecord, record_id)
        assert record is not None and record.status == "rejected"
        assert record.title == record.summary == record.factual_basis == ""
        assert _count(session, IntelSubject) == 0


# --- 4. protected activity ------------------------------------------------------------------------


def test_protected_activity_without_nexus_is_rejected(engine: Engine, core: OpenILP, people: Cast) -> None:
    with pytest.raises(SubmissionError, match="23.20"):
        submit_record(
            core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, protected_categories=["political"]))
        )
    with session_scope(engine) as session:
        assert _count(session, IntelRecord) == 0


def test_protected_activity_needs_second_person_approval_and_is_reported(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    record_id = submit_record(
        core,
        people.analyst,
        SubmitRecordRequest(submission(people.analyst.id, protected_categories=["protest"], nexus_justification=NEXUS)),
    ).id
    with pytest.raises(IntelForbidden, match="second-person"):
        approve_record(core, people.reviewer, ReviewRequest(record_id, reason="Predicate checked."))
    with session_scope(engine) as session:
        assert session.get(IntelRecord, record_id).status == "pending"  # type: ignore[union-attr]
    approve_record(core, people.reviewer, ReviewRequest(record_id, reason="Nexus is direct.", approve_nexus=True))
    report = compliance_report(core, people.auditor).as_dict()
    (row,) = report["protected_activity"]
    assert row["record_id"] == record_id
    assert row["categories"] == ["protest"]
    assert row["nexus_approved_by"] == "Rev (rev)"
    assert row["submitter"] == "Ana (ana)"
    with pytest.raises(IntelForbidden):
        compliance_report(core, people.analyst).as_dict()


# --- 5. dissemination ------------------------------------------------------------------------------


def _release(core: OpenILP, people: Cast, record_id: int, **overrides: object) -> Release:
    arguments: dict[str, object] = {
        "recipient_agency": "OTHER",
        "recipient_username": "other-ana",
        "purpose": "joint operation 24-77",
        "need_to_know": "OTHER runs the buy-bust at the same garage",
        "items": ("summary", "subjects"),
    }
    arguments.update(overrides)
    return disseminate(core, people.analyst, DisseminationRequest(record_id, **arguments))  # type: ignore[arg-type]


def test_release_without_purpose_is_refused_and_logged(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    _agreement(engine, core)
    with pytest.raises(PurposeRequired):
        _release(core, people, record_id, purpose="  ")
    with session_scope(engine) as session:
        assert _count(session, IntelDissemination) == 0
        refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "disseminate_refused")).all()
        assert len(refused) == 1 and refused[0].object_id == str(record_id)


def test_release_checks_need_right_to_know_and_agreement(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    with pytest.raises(IntelForbidden, match="agreement"):
        _release(core, people, record_id)
    _agreement(engine, core)
    with pytest.raises(SubmissionError, match="need to know"):
        _release(core, people, record_id, need_to_know="")
    with session_scope(engine) as session:
        make_user(session, "other-admin", "administrator", agency="OTHER")
    with pytest.raises(IntelForbidden, match="right to know"):
        _release(core, people, record_id, recipient_username="other-admin")
    with pytest.raises(SubmissionError, match="items"):
        _release(core, people, record_id, items=["factual_basis"])
    with pytest.raises(SubmissionError, match="own agency"):
        _release(core, people, record_id, recipient_agency="SLMPD", recipient_username="off")
    with session_scope(engine) as session:
        assert _count(session, IntelDissemination) == 0
    release = _release(core, people, record_id)
    assert (release.kind, release.recipient, release.released_at) == ("release", "Other-Ana", T0)
    # A partner agency's user with the partner role receives releases too (they are its accounts for that).
    to_partner = _release(core, people, record_id, recipient_username="partner")
    assert to_partner.kind == "release"
    assert notifications_for(core, people.partner).notices[0].kind == "dissemination_received"
    with session_scope(engine) as session:
        logged = session.get(IntelDissemination, release.dissemination_id)
        assert logged is not None and logged.reason == "joint operation 24-77"
        assert logged.items == '["summary", "subjects"]'
    view = view_record(
        core, people.other_analyst, ViewRecordRequest(record_id, purpose="joint operation 24-77")
    ).as_dict()
    assert view["summary"] and [s["name"] for s in view["subjects"]] == ["Johnny Suspect"]
    assert "factual_basis" not in view and "identifying_information" not in view
    assert notifications_for(core, people.other_analyst).rows()[0]["kind"] == "dissemination_received"


def test_need_to_know_is_per_recipient_and_per_released_item(engine: Engine, core: OpenILP, people: Cast) -> None:
    """28 CFR 23.20(e): a release names one person and some items; nobody else reads it, nothing else shows."""
    record_id = _approved(core, people)
    _agreement(engine, core)
    with session_scope(engine) as session:
        colleague = make_user(session, "other-off", "officer", agency="OTHER")
    purpose = ViewRecordRequest(record_id, purpose="joint operation 24-77")
    _release(core, people, record_id, items=("subjects",))
    _release(core, people, record_id, recipient_username="partner", items=("summary", "labels"))

    to_analyst = view_record(core, people.other_analyst, purpose).as_dict()
    assert [s["name"] for s in to_analyst["subjects"]] == ["Johnny Suspect"]
    for withheld in ("title", "summary", "offence_category", "grading", "handling_code", "sensitivity"):
        assert withheld not in to_analyst, withheld
    assert "handling_conditions" in to_analyst and to_analyst["agency"]["name"]

    to_partner = view_record(core, people.partner, purpose).as_dict()
    assert to_partner["title"] and to_partner["summary"] and to_partner["grading"]["label"]
    assert "subjects" not in to_partner and "identifying_information" not in to_partner

    for outsider in (colleague, people.other_reviewer):  # same agency as the recipients, not named
        with pytest.raises(IntelNotFound):
            view_record(core, outsider, purpose)
    own = view_record(core, people.officer, purpose).as_dict()  # the owning agency keeps it all
    assert own["factual_basis"] and own["subjects"] and own["grading"]

    received = {(e.recipient, e.items) for e in received_disseminations(core, people.other_analyst).entries}
    assert received == {("Other-Ana", ("subjects",))}
    assert received_disseminations(core, colleague).entries == ()


def test_a_colleagues_search_hit_does_not_open_a_record_to_a_partner(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    """A search hit is logged as a release to the searcher alone; a partner of the same agency reads nothing."""
    record_id = _approved(core, people)
    _agreement(engine, core)
    hits = search_records(core, people.other_analyst, SearchRequest("Johnny", purpose="case 24-77")).as_dict()
    assert [h["record_id"] for h in hits["hits"] if h["kind"] == "full"] == [record_id]
    assert view_record(core, people.other_analyst, ViewRecordRequest(record_id, purpose="case 24-77")).as_dict()[
        "subjects"
    ]
    with pytest.raises(IntelNotFound):
        view_record(core, people.partner, ViewRecordRequest(record_id, purpose="case 24-77"))


def test_temporary_files_are_never_disseminated(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people, file_type="temporary")
    _agreement(engine, core)
    with pytest.raises(IntelForbidden, match="temporary"):
        _release(core, people, record_id)


def test_a_correction_notifies_every_past_recipient(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    _agreement(engine, core)
    with session_scope(engine) as session:
        second = make_user(session, "other-off", "officer", agency="OTHER")
    _release(core, people, record_id)
    _release(core, people, record_id, recipient_username="other-off")
    _release(core, people, record_id)  # the same recipient twice: one notice
    notified = correct_record(
        core,
        people.analyst,
        CorrectionRequest(record_id, {"summary": "Corrected: the garage is on 2nd St."}, purpose="error found"),
    ).recipients_notified
    assert notified == 2
    for user in (people.other_analyst, second):
        kinds = [n["kind"] for n in notifications_for(core, user).rows()]
        assert kinds.count("correction") == 1


def test_restricted_record_gives_no_hit_but_notifies_its_owner(engine: Engine, core: OpenILP, people: Cast) -> None:
    restricted = _approved(core, people, sensitivity="restricted")
    name_only = _approved(core, people, sensitivity="agency_name_only", title="Fencing ring")
    _agreement(engine, core)
    result = search_records(core, people.other_analyst, SearchRequest("Johnny Suspect", purpose="case OT-9"))
    assert [(h.kind, h.record_id) for h in result.hits] == [("pointer", name_only)]
    assert result.hits[0].record is None
    assert result.hits[0].agency_name == "SLMPD police" and result.hits[0].contact == "Ana (ana)"
    assert "Fencing" not in str(result.as_dict())
    # a search on the restricted record's own words gives nothing either
    assert (
        search_records(core, people.other_analyst, SearchRequest("garage on Main", purpose="case OT-9")).hits[0].kind
        == "pointer"
    )
    with session_scope(engine) as session:
        owner_notes = notifications_for(core, people.analyst).rows()
        restricted_notes = [n for n in owner_notes if n["kind"] == "restricted_hit"]
        assert len(restricted_notes) == 2 and restricted_notes[0]["record_id"] == restricted
        assert "other-ana" in restricted_notes[0]["message"] and "case OT-9" in restricted_notes[0]["message"]
        assert notifications_for(core, people.other_analyst).rows() == []
        # the searcher's own agency never learns of the restricted record
        assert _count(session, IntelDissemination) == 0


def test_open_record_is_a_full_hit_only_with_an_agreement_and_is_logged(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    record_id = _approved(core, people)
    (hit,) = search_records(core, people.other_analyst, SearchRequest("Johnny", purpose="case OT-9")).hits
    assert hit.kind == "pointer"
    _agreement(engine, core)
    with session_scope(engine) as session:
        (hit,) = search_records(core, people.other_analyst, SearchRequest("Johnny", purpose="case OT-9")).hits
        assert hit.kind == "full" and hit.record_id == record_id
        (logged,) = session.scalars(select(IntelDissemination)).all()
        assert (logged.kind, logged.reason, logged.recipient_user_id) == (
            "search_hit",
            "case OT-9",
            people.other_analyst.id,
        )


# --- 6. review or purge ----------------------------------------------------------------------------


def test_expiry_without_validation_purges_the_content(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    _agreement(engine, core)
    _release(core, people, record_id)
    expiry = dt.datetime(2029, 3, 1, 12, tzinfo=UTC)
    assert list(purge_expired(core, None, JobRequest(as_of=expiry - dt.timedelta(seconds=1))).purged) == []
    due = list(open_due_reviews(core, None, JobRequest(as_of=expiry - dt.timedelta(days=89))).reviews)
    assert [t.record_id for t in due] == [record_id]
    assert (
        at(core, expiry - dt.timedelta(days=89), lambda: review_queue(core, people.reviewer).as_dict())["due"][0][
            "record_id"
        ]
        == record_id
    )
    assert list(open_due_reviews(core, None, JobRequest(as_of=expiry - dt.timedelta(days=91))).reviews) == []
    assert list(purge_expired(core, None, JobRequest(as_of=expiry)).purged) == [record_id]
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
        assert list(purge_expired(core, None, JobRequest(as_of=expiry + dt.timedelta(days=1))).purged) == []
        assert (
            at(core, expiry, lambda: search_records(core, people.analyst, SearchRequest("Johnny", purpose="case"))).hits
            == ()
        )


def test_validation_renews_up_to_five_years_and_identifier_updates_do_not(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    record_id = _approved(core, people)
    first_end = dt.datetime(2029, 3, 1, 12, tzinfo=UTC)
    later = dt.datetime(2028, 12, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        subject_id = session.scalars(select(IntelSubject.id).where(IntelSubject.role == "criminal_subject")).one()
        update = IdentifierUpdateRequest(record_id, subject_id, "DOB 1980-01-01; alias JJ", purpose="update")
        assert update_identifiers(core, people.analyst, update).recipients_notified == 0  # never released
        assert session.get(IntelRecord, record_id).retention_expires_at == first_end  # type: ignore[union-attr]
        with pytest.raises(SubmissionError, match="fresh predicate"):
            at(
                core,
                later,
                lambda: validate_record(
                    core,
                    people.reviewer,
                    ValidationRequest(
                        record_id, reason="Still active.", still_suspected=False, factual_basis="Buys continue"
                    ),
                ),
            )
        with pytest.raises(SubmissionError, match="current facts"):
            at(
                core,
                later,
                lambda: validate_record(
                    core,
                    people.reviewer,
                    ValidationRequest(record_id, reason="Still active.", still_suspected=True, factual_basis=""),
                ),
            )
        with pytest.raises(IntelForbidden, match="training"):
            at(
                core,
                later,
                lambda: validate_record(
                    core,
                    people.untrained,
                    ValidationRequest(
                        record_id,
                        reason="Still active.",
                        still_suspected=True,
                        factual_basis="A controlled buy on 2 Nov 2028 at the same garage.",
                    ),
                ),
            )
    record = at(
        core,
        later,
        lambda: validate_record(
            core,
            people.reviewer,
            ValidationRequest(
                record_id,
                reason="Still dealing: new buy in November.",
                still_suspected=True,
                factual_basis="A controlled buy on 2 Nov 2028 at the same garage.",
            ),
        ),
    )
    assert record.retention_expires_at == dt.datetime(2033, 12, 1, tzinfo=UTC)
    assert list(purge_expired(core, None, JobRequest(as_of=first_end + dt.timedelta(days=1))).purged) == []
    view = view_record(core, people.analyst, ViewRecordRequest(record_id, purpose="case")).as_dict()
    assert [r["decision"] for r in view["reviews"]] == ["approved", "validated"]
    assert view["reviews"][1]["reviewer"] == "Rev (rev)" and view["reviews"][1]["predicate_checked"]


def test_temporary_files_expire_within_a_year_and_stale_pending_is_purged(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    temporary = _approved(core, people, file_type="temporary")
    pending = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id))).id
    assert sorted(
        list(purge_expired(core, None, JobRequest(as_of=dt.datetime(2025, 3, 1, 12, tzinfo=UTC))).purged)
    ) == sorted([temporary, pending])


def test_audit_chain_covers_every_step(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    with session_scope(engine) as session:
        search_records(core, people.analyst, SearchRequest("Johnny", purpose="case 24-1"))
        view_record(core, people.analyst, ViewRecordRequest(record_id, purpose="case 24-1")).as_dict()
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [(e.action, e.purpose) for e in entries][-2:] == [("search", "case 24-1"), ("read", "case 24-1")]
        assert verify_chain(session).ok


def test_dataclass_replace_keeps_submission_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        submission(1).title = "x"  # type: ignore[misc]


def test_correction_form_is_one_transaction_and_a_refusal_is_kept(engine: Engine, core: OpenILP, people: Cast) -> None:
    record_id = _approved(core, people)
    with session_scope(engine) as session:
        subject_id = session.scalars(select(IntelSubject.id).where(IntelSubject.role == "criminal_subject")).one()
    changed = RecordCorrectionsRequest(
        record_id,
        view_purpose="case 24-1",
        purpose="",  # no purpose for the correction: refused after the summary was already changed
        fields={"summary": "Corrected: the garage is on 2nd St."},
        identifiers={subject_id: "DOB 1980-01-01; alias JJ"},
    )
    with pytest.raises(PurposeRequired):
        apply_record_corrections(core, people.analyst, changed)
    with session_scope(engine) as session:
        record = session.get(IntelRecord, record_id)
        assert record is not None and record.summary.startswith("Subject supplies")  # rolled back
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions[-1] == "update_refused" and "read" not in actions[2:]  # the form's read rolled back too
    done = apply_record_corrections(core, people.analyst, dataclasses.replace(changed, purpose="error found"))
    assert done.fields == ("summary", "identifiers") and done.recipients_notified == 0
