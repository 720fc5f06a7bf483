"""Intelligence records: submission through the predicate gate, and review (approve or reject).

Every step writes the audit log with its purpose. A record stays **pending** until a reviewer with
current 28 CFR Part 23 training (not its submitter) approves it; pending records are invisible to
search and dissemination (:mod:`openilp.services.intel.reading`). Records with protected activity
(23.20(b)) need the reviewer to approve the written nexus as a second person. A rejected record's
content is erased at once (:func:`openilp.services.intel.corrections.purge_content`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result, UnitOfWork
from openilp.db.models import IntelRecord, IntelReviewDecision, IntelReviewTask, IntelSubject, OffenceCategory, User
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.markings import default_tlp, parse_tlp
from openilp.intel.retention import retention_end, review_due_at
from openilp.intel.rules import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Submission,
    SubmissionError,
    check_predicate_facts,
    clean_text,
    validate_submission,
)
from openilp.security.actors import UserInfo
from openilp.services.entities.mentions import sync_subject_mentions
from openilp.services.intel.common import (
    agency_grading_scheme,
    load_record,
    require_permission,
    reviewer_training_current,
)
from openilp.services.intel.corrections import purge_content

__all__ = [
    "MIN_REASON_CHARS",
    "SubmitRecordRequest",
    "ReviewRequest",
    "RecordOutcome",
    "submit_record",
    "approve_record",
    "reject_record",
    "parse_retention_days",
    "record_review",
]

#: Shortest written reason for a review decision, in characters.
MIN_REASON_CHARS = 10


def parse_retention_days(value: int | str | None) -> int | None:
    """A retention period in days as typed on a form (``""`` means the longest allowed)."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 5:
        raise SubmissionError("retention days must be a whole number of days")
    return int(text)


@dataclass(frozen=True)
class SubmitRecordRequest(Request):
    """A submission; with ``use_agency_scheme`` its grades are read in the agency's own scheme (forms)."""

    submission: Submission
    use_agency_scheme: bool = False

    def validate(self) -> SubmitRecordRequest:
        if not isinstance(self.submission, Submission):
            raise SubmissionError("submission: expected the fields of an intelligence record")
        return self


@dataclass(frozen=True)
class ReviewRequest(Request):
    """A review decision on a pending record: the written reason, nexus approval, retention in days."""

    record_id: int
    reason: str = ""
    approve_nexus: bool = False
    #: Days until the retention ends (``None``: the longest allowed); form text is parsed.
    retention_days: int | str | None = None

    def validate(self) -> ReviewRequest:
        return dataclasses.replace(self, retention_days=parse_retention_days(self.retention_days))


@dataclass(frozen=True)
class RecordOutcome(Result):
    """A record after a workflow step: its id, status, source reference and retention end."""

    id: int
    status: str
    source_reference: str = ""
    retention_expires_at: dt.datetime | None = None


def _outcome(record: IntelRecord) -> RecordOutcome:
    return RecordOutcome(record.id, record.status, record.source_reference, record.retention_expires_at)


def _reason(value: object, name: str = "reason") -> str:
    text = clean_text(value, name, MAX_TEXT_CHARS)
    if len(text) < MIN_REASON_CHARS:
        raise SubmissionError(f"{name} must explain the decision (at least {MIN_REASON_CHARS} characters)")
    return text


def save_submission(
    uow: UnitOfWork, actor: UserInfo, submission: Submission, *, use_agency_scheme: bool, source_tip_id: int | None
) -> IntelRecord:
    """The predicate gate and the pending record (shared with tip conversion); nothing stored on error."""
    require_permission(actor, "intel:submit")
    session = uow.session
    scheme = agency_grading_scheme(session, actor.agency_id)
    if use_agency_scheme:
        submission = dataclasses.replace(submission, grading_scheme=scheme)
    validate_submission(submission)
    facts = check_predicate_facts(submission)
    if submission.grading_scheme != scheme:
        raise SubmissionError(f"your agency grades with the {scheme} scheme, not {submission.grading_scheme!r}")
    if session.get(OffenceCategory, submission.offence_category.strip()) is None:
        raise SubmissionError(f"unknown offence category {submission.offence_category!r}", field="offence_category")
    official = session.get(User, submission.control_official_id)
    if official is None or official.agency_id != actor.agency_id or not official.is_active:
        raise SubmissionError("the control official must be an active user of your agency", field="control_official_id")
    now = uow.now
    record = IntelRecord(
        agency_id=actor.agency_id,
        status="pending",
        file_type=submission.file_type,
        title=clean_text(submission.title, "title", MAX_TITLE_CHARS),
        summary=clean_text(submission.summary, "summary", MAX_TEXT_CHARS),
        offence_category=submission.offence_category.strip(),
        factual_basis=clean_text(submission.factual_basis, "factual_basis", MAX_TEXT_CHARS),
        **facts,
        source_reference=submission.source_reference.strip(),
        collection_method=submission.collection_method,
        lawful_collection_attested=True,
        submitter_id=actor.id,
        submitted_at=now,
        grading_scheme=scheme,
        source_grade=submission.source_grade,
        information_grade=submission.information_grade,
        handling_code=submission.handling_code,
        handling_conditions=submission.handling_conditions.strip(),
        sensitivity=submission.sensitivity,
        tlp=parse_tlp(submission.tlp) if submission.tlp else default_tlp(submission.sensitivity),
        control_official_id=official.id,
        protected_categories=",".join(sorted(set(submission.protected_categories))),
        nexus_justification=submission.nexus_justification.strip(),
        updated_at=now,
        source_tip_id=source_tip_id,
    )
    record.subjects = [
        IntelSubject(kind=s.kind, role=s.role, display_name=s.display_name.strip(), identifiers=s.identifiers.strip())
        for s in submission.subjects
    ]
    session.add(record)
    session.flush()
    sync_subject_mentions(session, record)
    uow.audit(
        action="create",
        object_type="intel_record",
        object_id=record.id,
        purpose=f"submission {record.source_reference}"[:500],
        details={"status": "pending", "protected_activity": bool(record.protected_categories)},
    )
    return record


def submit_record(core: OpenILP, actor: UserInfo, request: SubmitRecordRequest) -> RecordOutcome:
    """Save a submission as a **pending** record after the predicate gate.

    Raises
    ------
    SubmissionError
        When a rule of :func:`openilp.intel.rules.validate_submission` fails, the offence category
        is unknown, the grades are not in the agency's scheme or the control official is not an
        active user of the agency. Nothing is stored.
    IntelForbidden
        When the actor's role may not submit.
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        record = save_submission(
            uow, actor, request.submission, use_agency_scheme=request.use_agency_scheme, source_tip_id=None
        )
        return _outcome(record)


def review_checks(uow: UnitOfWork, reviewer: UserInfo, record: IntelRecord) -> None:
    """Review permission, the owning agency and current reviewer training (23.20(c))."""
    require_permission(reviewer, "intel:review")
    if record.agency_id != reviewer.agency_id:
        raise IntelNotFound("no such record")
    if not reviewer_training_current(uow.session, reviewer, uow.now.date()):
        raise IntelForbidden("your 28 CFR Part 23 reviewer training is missing or expired: you cannot review records")


def approve_record(core: OpenILP, reviewer: UserInfo, request: ReviewRequest) -> RecordOutcome:
    """Approve a pending record: it becomes criminal intelligence with a retention end ≤ 5 years.

    The reviewer must hold ``intel:review``, belong to the owning agency, have current training
    and not be the submitter. A record with protected activity also needs ``approve_nexus``: the
    reviewer, a second person, approves the written nexus to criminal conduct (23.20(b)).
    """
    request = request.validate()
    with core.unit_of_work(reviewer) as uow:
        session, now = uow.session, uow.now
        record = load_record(session, request.record_id)
        review_checks(uow, reviewer, record)
        if record.status != "pending":
            raise SubmissionError(f"only pending records can be approved (this one is {record.status})")
        if record.submitter_id == reviewer.id:
            raise IntelForbidden("a submitter cannot approve their own record: a second person must review it")
        text = _reason(request.reason)
        if record.protected_categories:
            if not request.approve_nexus:
                raise IntelForbidden(
                    "this record records protected activity: approve its nexus to criminal conduct explicitly "
                    "(second-person approval, 28 CFR 23.20(b))"
                )
            if len(record.nexus_justification) < 20:
                raise SubmissionError("this record records protected activity without a nexus justification")
            record.nexus_approved_by_id = reviewer.id
            record.nexus_approved_at = now
            session.add(
                IntelReviewDecision(
                    record_id=record.id,
                    reviewer_id=reviewer.id,
                    decision="nexus_approved",
                    decided_at=now,
                    reason=text,
                    predicate_checked=True,
                )
            )
        record.status = "approved"
        record.approved_by_id = reviewer.id
        record.approved_at = now
        record.last_validated_at = now
        try:
            expires = retention_end(now, record.file_type, request.retention_days)  # type: ignore[arg-type]
        except ValueError as exc:
            raise SubmissionError(str(exc)) from exc
        record.retention_expires_at = expires
        record.updated_at = now
        record_review(session, record, reviewer, "approved", text, expires, now)
        uow.audit(
            action="approve",
            object_type="intel_record",
            object_id=record.id,
            purpose="review of submission",
            details={
                "retention_expires_at": expires.isoformat(),
                "protected_activity": bool(record.protected_categories),
            },
        )
        return _outcome(record)


def reject_record(core: OpenILP, reviewer: UserInfo, request: ReviewRequest) -> RecordOutcome:
    """Reject a pending record: it never becomes intelligence and its content is erased at once."""
    request = request.validate()
    with core.unit_of_work(reviewer) as uow:
        session, now = uow.session, uow.now
        record = load_record(session, request.record_id)
        review_checks(uow, reviewer, record)
        if record.status != "pending":
            raise SubmissionError(f"only pending records can be rejected (this one is {record.status})")
        text = _reason(request.reason)
        session.add(
            IntelReviewDecision(
                record_id=record.id,
                reviewer_id=reviewer.id,
                decision="rejected",
                decided_at=now,
                reason=text,
                predicate_checked=True,
            )
        )
        session.flush()
        purge_content(session, record, "rejected", now)
        uow.audit(
            action="reject",
            object_type="intel_record",
            object_id=record.id,
            purpose="review of submission",
            details={"reason_chars": len(text)},
        )
        return _outcome(record)


def record_review(
    session: Session,
    record: IntelRecord,
    reviewer: UserInfo,
    decision: str,
    reason: str,
    retention_expires_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Keep a reviewer's decision that kept the record (approved, validated) and open its next review.

    The next review falls due before the retention period ends (:func:`openilp.intel.retention.review_due_at`).
    """
    session.add(
        IntelReviewDecision(
            record_id=record.id,
            reviewer_id=reviewer.id,
            decision=decision,
            decided_at=now,
            reason=reason,
            predicate_checked=True,
            retention_expires_at=retention_expires_at,
        )
    )
    session.add(
        IntelReviewTask(
            record_id=record.id,
            due_at=review_due_at(retention_expires_at),
            expires_at=retention_expires_at,
            status="open",
            created_at=now,
        )
    )
    session.flush()
