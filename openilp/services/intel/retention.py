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
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.models import IntelRecord, IntelReviewDecision, IntelReviewTask, utcnow
from openilp.intel.errors import IntelForbidden
from openilp.intel.retention import TEMPORARY_RETENTION_YEARS, add_years, retention_end, review_due_at
from openilp.intel.rules import MAX_TEXT_CHARS, MIN_FACTUAL_BASIS_CHARS, SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.services.intel.common import load_record, notify, notify_past_recipients, user_label
from openilp.services.intel.records import MIN_REASON_CHARS, _review_checks, purge_content

__all__ = ["open_due_reviews", "review_queue", "validate_record", "purge_expired"]


def open_due_reviews(session: Session, now: dt.datetime | None = None) -> list[IntelReviewTask]:
    """Make sure every approved record has a review task for its current end; return those now due."""
    now = now or utcnow()
    records = session.scalars(select(IntelRecord).where(IntelRecord.status == "approved"))
    for record in records:
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
    return list(
        session.scalars(
            select(IntelReviewTask)
            .where(IntelReviewTask.status == "open", IntelReviewTask.due_at <= now)
            .order_by(IntelReviewTask.expires_at)
        )
    )


def review_queue(session: Session, user: UserInfo, now: dt.datetime | None = None) -> dict[str, Any]:
    """Pending submissions and due reviews of the user's agency (reviewers)."""
    if not user.can("intel:review"):
        raise IntelForbidden(f"your role ({user.role}) does not review intelligence")
    now = now or utcnow()
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
    return {
        "pending": [
            {
                "record_id": r.id,
                "title": r.title,
                "submitted_at": r.submitted_at.isoformat(),
                "submitter": user_label(session, r.submitter_id),
                "protected_activity": bool(r.protected_categories),
            }
            for r in pending
        ],
        "due": [
            {
                "record_id": r.id,
                "title": r.title,
                "due_at": t.due_at.isoformat(),
                "expires_at": t.expires_at.isoformat(),
            }
            for t, r in due
        ],
    }


def validate_record(
    session: Session,
    reviewer: UserInfo,
    record_id: int,
    *,
    reason: str,
    still_suspected: bool,
    factual_basis: str,
    retention_days: int | None = None,
    now: dt.datetime | None = None,
) -> IntelRecord:
    """Validate an approved record before it expires: new retention end ≤ now + 5 years.

    Raises
    ------
    SubmissionError
        Without a written reason, a fresh factual basis, or the confirmation that the subject is
        still reasonably suspected of current criminal activity.
    IntelForbidden
        Reviewer untrained, not a reviewer, or the record is not approved or already expired.
    """
    now = now or utcnow()
    record = load_record(session, record_id)
    _review_checks(session, reviewer, record, now)
    if record.status != "approved" or record.retention_expires_at is None or record.retention_expires_at <= now:
        raise IntelForbidden("only approved records that have not yet expired can be validated")
    text = clean_text(reason, "reason", MAX_TEXT_CHARS)
    if len(text) < MIN_REASON_CHARS:
        raise SubmissionError(f"explain the decision to retain (at least {MIN_REASON_CHARS} characters)")
    if still_suspected is not True:
        raise SubmissionError(
            "validation needs a fresh predicate check: confirm the subject is still reasonably suspected of current "
            "criminal activity"
        )
    basis = clean_text(factual_basis, "factual_basis", MAX_TEXT_CHARS)
    if len(basis) < MIN_FACTUAL_BASIS_CHARS:
        raise SubmissionError(
            f"state the current facts that support reasonable suspicion (at least {MIN_FACTUAL_BASIS_CHARS} characters)"
        )
    try:
        new_end = retention_end(now, record.file_type, retention_days)
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
    session.add(
        IntelReviewDecision(
            record_id=record.id,
            reviewer_id=reviewer.id,
            decision="validated",
            decided_at=now,
            reason=text,
            predicate_checked=True,
            retention_expires_at=new_end,
        )
    )
    session.add(
        IntelReviewTask(
            record_id=record.id, due_at=review_due_at(new_end), expires_at=new_end, status="open", created_at=now
        )
    )
    session.flush()
    record_event(
        session,
        action="validate",
        object_type="intel_record",
        object_id=str(record.id),
        actor=reviewer,
        purpose="periodic review and validation",
        details={"retention_expires_at": new_end.isoformat()},
    )
    return record


def purge_expired(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Purge every record past its retention end without validation; return their ids.

    Also purges pending submissions older than one year (never approved). Content is erased,
    a content-free entry stays, past recipients and the control official are notified, and each
    purge is audited (actor: the system).
    """
    now = now or utcnow()
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
            message=f"Intelligence record #{record.id} that was disseminated to you has been purged at the end of "
            "its retention period. Destroy your copies.",
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
        record_event(
            session,
            action="purge",
            object_type="intel_record",
            object_id=str(record.id),
            actor=None,
            agency_id=record.agency_id,
            purpose="retention period ended without validation (28 CFR 23.20(h))",
            details={"previous_status": was, "recipients_notified": notified},
        )
        purged.append(record.id)
    return purged
