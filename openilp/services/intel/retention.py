"""Review and purge (28 CFR 23.20(h); Part 23 FAQ on validation).

Each approved record's retention ends at most 5 years after approval or its latest validation
(temporary working files: 1 year). :func:`open_due_reviews` creates review tasks
:data:`~openilp.intel.retention.REVIEW_NOTICE_DAYS` days ahead. A **validation** needs a trained
reviewer, a written reason and a fresh predicate check (the subject is still reasonably suspected
of current criminal activity, with the facts that show it) and starts a new period of at most
5 years. Updating identifiers or correcting content is not validation. At expiry without
validation, :func:`purge_expired` erases the content and keeps a content-free entry; every past
recipient and the control official are told. Pending submissions nobody approved within a year
are purged the same way.

The two jobs run daily from the scheduler (``openilp intel review-due`` and ``purge-expired``);
their moment is the core's clock unless the request names one (``as_of``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result
from openilp.db.models import IntelRecord, IntelReviewTask
from openilp.intel.errors import IntelForbidden
from openilp.intel.retention import TEMPORARY_RETENTION_YEARS, add_years, retention_end, review_due_at
from openilp.intel.rules import MAX_TEXT_CHARS, MIN_FACTUAL_BASIS_CHARS, SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.intel.common import load_record, notify, notify_past_recipients, user_label
from openilp.services.intel.corrections import purge_content
from openilp.services.intel.records import (
    MIN_REASON_CHARS,
    RecordOutcome,
    parse_retention_days,
    record_review,
    review_checks,
)

__all__ = [
    "JobRequest",
    "DueReview",
    "DueReviews",
    "PurgeResult",
    "QueueItem",
    "ReviewQueue",
    "ValidationRequest",
    "open_due_reviews",
    "review_queue",
    "validate_record",
    "purge_expired",
]


@dataclass(frozen=True)
class JobRequest(Request):
    """A scheduler job's moment: ``as_of`` (aware), or ``None`` for the core's clock."""

    as_of: dt.datetime | None = None

    def validate(self) -> JobRequest:
        if self.as_of is not None and self.as_of.tzinfo is None:
            return dataclasses.replace(self, as_of=self.as_of.replace(tzinfo=dt.UTC))
        return self


@dataclass(frozen=True)
class DueReview(Result):
    """A record whose review is due: owner agency, when the review is due and when retention ends."""

    record_id: int
    agency_id: int
    due_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class DueReviews(Result):
    """Every review due at the job's moment, soonest expiry first."""

    reviews: tuple[DueReview, ...] = ()


@dataclass(frozen=True)
class PurgeResult(Result):
    """The ids of the records purged by one run of the purge job."""

    purged: tuple[int, ...] = ()


def open_due_reviews(core: OpenILP, actor: UserInfo | None, request: JobRequest) -> DueReviews:
    """Make sure every approved record has a review task for its current end; return those now due."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        session = uow.session
        now = request.as_of or uow.now
        for record in session.scalars(select(IntelRecord).where(IntelRecord.status == "approved")):
            assert record.retention_expires_at is not None
            exists = session.scalar(
                select(IntelReviewTask.id).where(
                    IntelReviewTask.record_id == record.id, IntelReviewTask.expires_at == record.retention_expires_at
                )
            )
            if exists is None:
                session.add(
                    IntelReviewTask(
                        record_id=record.id,
                        due_at=review_due_at(record.retention_expires_at),
                        expires_at=record.retention_expires_at,
                        status="open",
                        created_at=now,
                    )
                )
        session.flush()
        rows = session.execute(
            select(IntelReviewTask, IntelRecord.agency_id)
            .join(IntelRecord, IntelRecord.id == IntelReviewTask.record_id)
            .where(IntelReviewTask.status == "open", IntelReviewTask.due_at <= now)
            .order_by(IntelReviewTask.expires_at)
        ).all()
        return DueReviews(tuple(DueReview(t.record_id, int(agency), t.due_at, t.expires_at) for t, agency in rows))


@dataclass(frozen=True)
class QueueItem(Result):
    """A pending submission (``submitted_at``, ``submitter``) or a due review (``due_at``, ``expires_at``)."""

    record_id: int
    title: str
    submitted_at: dt.datetime | None = None
    submitter: str = ""
    protected_activity: bool = False
    due_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class ReviewQueue(Result):
    """Pending submissions and due reviews of the reviewer's agency."""

    pending: tuple[QueueItem, ...] = field(default_factory=tuple)
    due: tuple[QueueItem, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "pending": [
                {
                    "record_id": r.record_id,
                    "title": r.title,
                    "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
                    "submitter": r.submitter,
                    "protected_activity": r.protected_activity,
                }
                for r in self.pending
            ],
            "due": [
                {
                    "record_id": r.record_id,
                    "title": r.title,
                    "due_at": r.due_at.isoformat() if r.due_at else None,
                    "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                }
                for r in self.due
            ],
        }


def review_queue(core: OpenILP, user: UserInfo) -> ReviewQueue:
    """Pending submissions and due reviews of the user's agency (reviewers)."""
    if not user.can("intel:review"):
        raise IntelForbidden(f"your role ({user.role}) does not review intelligence")
    with core.unit_of_work(user) as uow:
        session, now = uow.session, uow.now
        pending = session.scalars(
            select(IntelRecord)
            .where(IntelRecord.agency_id == user.agency_id, IntelRecord.status == "pending")
            .order_by(IntelRecord.submitted_at)
        ).all()
        due = session.execute(
            select(IntelReviewTask, IntelRecord)
            .join(IntelRecord, IntelRecord.id == IntelReviewTask.record_id)
            .where(
                IntelRecord.agency_id == user.agency_id,
                IntelReviewTask.status == "open",
                IntelReviewTask.due_at <= now,
            )
            .order_by(IntelReviewTask.expires_at)
        ).all()
        return ReviewQueue(
            pending=tuple(
                QueueItem(
                    r.id,
                    r.title,
                    submitted_at=r.submitted_at,
                    submitter=user_label(session, r.submitter_id),
                    protected_activity=bool(r.protected_categories),
                )
                for r in pending
            ),
            due=tuple(QueueItem(r.id, r.title, due_at=t.due_at, expires_at=t.expires_at) for t, r in due),
        )


@dataclass(frozen=True)
class ValidationRequest(Request):
    """A validation: written reason, the fresh predicate check, current facts, retention in days."""

    record_id: int
    reason: str = ""
    still_suspected: bool = False
    factual_basis: str = ""
    #: Days until the new retention end (``None``: the longest allowed); form text is parsed.
    retention_days: int | str | None = None

    def validate(self) -> ValidationRequest:
        return dataclasses.replace(self, retention_days=parse_retention_days(self.retention_days))


def validate_record(core: OpenILP, reviewer: UserInfo, request: ValidationRequest) -> RecordOutcome:
    """Validate an approved record before it expires: new retention end ≤ now + 5 years.

    Raises
    ------
    SubmissionError
        Without a written reason, a fresh factual basis, or the confirmation that the subject is
        still reasonably suspected of current criminal activity.
    IntelForbidden
        Reviewer untrained, not a reviewer, or the record is not approved or already expired.
    """
    request = request.validate()
    with core.unit_of_work(reviewer) as uow:
        session, now = uow.session, uow.now
        record = load_record(session, request.record_id)
        review_checks(uow, reviewer, record)
        if record.status != "approved" or record.retention_expires_at is None or record.retention_expires_at <= now:
            raise IntelForbidden("only approved records that have not yet expired can be validated")
        text = clean_text(request.reason, "reason", MAX_TEXT_CHARS)
        if len(text) < MIN_REASON_CHARS:
            raise SubmissionError(f"explain the decision to retain (at least {MIN_REASON_CHARS} characters)")
        if request.still_suspected is not True:
            raise SubmissionError(
                "validation needs a fresh predicate check: confirm the subject is still reasonably suspected of "
                "current criminal activity"
            )
        basis = clean_text(request.factual_basis, "factual_basis", MAX_TEXT_CHARS)
        if len(basis) < MIN_FACTUAL_BASIS_CHARS:
            raise SubmissionError(
                "state the current facts that support reasonable suspicion "
                f"(at least {MIN_FACTUAL_BASIS_CHARS} characters)"
            )
        try:
            new_end = retention_end(now, record.file_type, request.retention_days)  # type: ignore[arg-type]
        except ValueError as exc:
            raise SubmissionError(str(exc)) from exc
        record.factual_basis = basis
        record.retention_expires_at = new_end
        record.last_validated_at = now
        record.updated_at = now
        for task in session.scalars(
            select(IntelReviewTask).where(IntelReviewTask.record_id == record.id, IntelReviewTask.status == "open")
        ):
            task.status = "validated"
            task.closed_at = now
        record_review(session, record, reviewer, "validated", text, new_end, now)
        uow.audit(
            action="validate",
            object_type="intel_record",
            object_id=record.id,
            purpose="periodic review and validation",
            details={"retention_expires_at": new_end.isoformat()},
        )
        return RecordOutcome(record.id, record.status, record.source_reference, new_end)


def purge_expired(core: OpenILP, actor: UserInfo | None, request: JobRequest) -> PurgeResult:
    """Purge every record past its retention end without validation.

    Also purges pending submissions older than one year (never approved). Content is erased,
    a content-free entry stays, past recipients and the control official are notified, and each
    purge is audited (``actor``: None for the system's daily job).
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        session = uow.session
        now = request.as_of or uow.now
        expired = list(
            session.scalars(
                select(IntelRecord).where(IntelRecord.status == "approved", IntelRecord.retention_expires_at <= now)
            )
        )
        stale_pending = [
            r
            for r in session.scalars(select(IntelRecord).where(IntelRecord.status == "pending"))
            if add_years(r.submitted_at, TEMPORARY_RETENTION_YEARS) <= now
        ]
        purged: list[int] = []
        for record in [*expired, *stale_pending]:
            was = record.status
            notified = notify_past_recipients(
                session,
                record,
                kind="purge",
                message=f"Intelligence record #{record.id} that was disseminated to you has been purged at the end "
                "of its retention period. Destroy your copies.",
                now=now,
            )
            notify(
                session,
                agency_id=record.agency_id,
                user_id=record.control_official_id,
                kind="purge",
                message=f"Record #{record.id} was purged: its retention ended without validation.",
                record_id=record.id,
                now=now,
            )
            purge_content(session, record, "purged", now)
            uow.audit(
                action="purge",
                object_type="intel_record",
                object_id=record.id,
                agency_id=record.agency_id,
                purpose="retention period ended without validation (28 CFR 23.20(h))",
                details={"previous_status": was, "recipients_notified": notified},
            )
            purged.append(record.id)
        return PurgeResult(tuple(purged))
