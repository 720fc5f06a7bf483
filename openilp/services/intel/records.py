"""Intelligence records: submit (predicate gate), review and approve, read, search, correct.

Every step writes the audit log (:mod:`openilp.security.audit`) with the stated purpose. A record
stays **pending** until a reviewer with current 28 CFR Part 23 training (not its submitter)
approves it; pending records are invisible to search and dissemination. Records with protected
activity (23.20(b)) need the reviewer to approve the written nexus as a second person.

Search is access-aware (28 CFR Part 23 FAQ sensitivity levels): results from the user's own
agency are full; another agency's **open** records come back in full only when a sharing
agreement is on file (each such hit is a dissemination), otherwise as a pointer (owning agency
and contact); **agency name only** records always come back as a pointer; **restricted**
records give no hit at all and notify their owner. Only criminal subjects, titles and summaries
are matched: non-criminal identifying information is never searched or returned as a subject.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from openilp.db.models import (
    Agency,
    IntelDissemination,
    IntelRecord,
    IntelReviewDecision,
    IntelReviewTask,
    IntelSubject,
    OffenceCategory,
    User,
    utcnow,
)
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.grading import check_grading, check_handling, describe_grading
from openilp.intel.retention import retention_end, review_due_at
from openilp.intel.rules import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    SENSITIVITIES,
    Submission,
    SubmissionError,
    clean_text,
    validate_submission,
)
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.services.intel.agreements import has_current_agreement
from openilp.services.intel.common import (
    agency_grading_scheme,
    agency_name,
    checked_purpose,
    load_record,
    notify,
    notify_past_recipients,
    require_permission,
    reviewer_training_current,
    user_label,
)

__all__ = [
    "MIN_REASON_CHARS",
    "SearchHit",
    "SearchResult",
    "submit_record",
    "approve_record",
    "reject_record",
    "view_record",
    "search_records",
    "correct_record",
    "update_identifiers",
    "has_current_agreement",
    "purge_content",
]

#: Shortest written reason for a review decision, in characters.
MIN_REASON_CHARS = 10
#: Shortest and longest search text, in characters.
MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 200
#: Most hits one search returns.
MAX_SEARCH_HITS = 100


def _reason(value: object, name: str = "reason") -> str:
    text = clean_text(value, name, MAX_TEXT_CHARS)
    if len(text) < MIN_REASON_CHARS:
        raise SubmissionError(f"{name} must explain the decision (at least {MIN_REASON_CHARS} characters)")
    return text


def submit_record(
    session: Session,
    actor: UserInfo,
    submission: Submission,
    *,
    source_tip_id: int | None = None,
    now: dt.datetime | None = None,
) -> IntelRecord:
    """Save a submission as a **pending** record after the predicate gate; return it.

    Raises
    ------
    SubmissionError
        When a rule of :func:`openilp.intel.rules.validate_submission` fails, the offence category
        is unknown, the grades are not in the agency's scheme or the control official is not an
        active user of the agency. Nothing is stored.
    IntelForbidden
        When the actor's role may not submit.
    """
    require_permission(actor, "intel:submit")
    validate_submission(submission)
    scheme = agency_grading_scheme(session, actor.agency_id)
    if submission.grading_scheme != scheme:
        raise SubmissionError(f"your agency grades with the {scheme} scheme, not {submission.grading_scheme!r}")
    if session.get(OffenceCategory, submission.offence_category.strip()) is None:
        raise SubmissionError(f"unknown offence category {submission.offence_category!r}")
    official = session.get(User, submission.control_official_id)
    if official is None or official.agency_id != actor.agency_id or not official.is_active:
        raise SubmissionError("the control official must be an active user of your agency")
    now = now or utcnow()
    record = IntelRecord(
        agency_id=actor.agency_id,
        status="pending",
        file_type=submission.file_type,
        title=clean_text(submission.title, "title", MAX_TITLE_CHARS),
        summary=clean_text(submission.summary, "summary", MAX_TEXT_CHARS),
        offence_category=submission.offence_category.strip(),
        factual_basis=clean_text(submission.factual_basis, "factual_basis", MAX_TEXT_CHARS),
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
    record_event(
        session,
        action="create",
        object_type="intel_record",
        object_id=str(record.id),
        actor=actor,
        purpose=f"submission {record.source_reference}"[:500],
        details={"status": "pending", "protected_activity": bool(record.protected_categories)},
    )
    return record


def _review_checks(session: Session, reviewer: UserInfo, record: IntelRecord, now: dt.datetime) -> None:
    require_permission(reviewer, "intel:review")
    if record.agency_id != reviewer.agency_id:
        raise IntelNotFound("no such record")
    if not reviewer_training_current(session, reviewer, now.date()):
        raise IntelForbidden("your 28 CFR Part 23 reviewer training is missing or expired: you cannot review records")


def approve_record(
    session: Session,
    reviewer: UserInfo,
    record_id: int,
    *,
    reason: str,
    approve_nexus: bool = False,
    retention_days: int | None = None,
    now: dt.datetime | None = None,
) -> IntelRecord:
    """Approve a pending record: it becomes criminal intelligence with a retention end ≤ 5 years.

    The reviewer must hold ``intel:review``, belong to the owning agency, have current training
    and not be the submitter. A record with protected activity also needs ``approve_nexus``: the
    reviewer, a second person, approves the written nexus to criminal conduct (23.20(b)).
    """
    now = now or utcnow()
    record = load_record(session, record_id)
    _review_checks(session, reviewer, record, now)
    if record.status != "pending":
        raise SubmissionError(f"only pending records can be approved (this one is {record.status})")
    if record.submitter_id == reviewer.id:
        raise IntelForbidden("a submitter cannot approve their own record: a second person must review it")
    text = _reason(reason)
    if record.protected_categories:
        if not approve_nexus:
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
        record.retention_expires_at = retention_end(now, record.file_type, retention_days)
    except ValueError as exc:
        raise SubmissionError(str(exc)) from exc
    record.updated_at = now
    session.add(
        IntelReviewDecision(
            record_id=record.id,
            reviewer_id=reviewer.id,
            decision="approved",
            decided_at=now,
            reason=text,
            predicate_checked=True,
            retention_expires_at=record.retention_expires_at,
        )
    )
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
    record_event(
        session,
        action="approve",
        object_type="intel_record",
        object_id=str(record.id),
        actor=reviewer,
        purpose="review of submission",
        details={
            "retention_expires_at": record.retention_expires_at.isoformat(),
            "protected_activity": bool(record.protected_categories),
        },
    )
    return record


def purge_content(session: Session, record: IntelRecord, status: str, now: dt.datetime) -> None:
    """Erase a record's content, keeping a content-free entry (ids, dates, status, labels' axes)."""
    record.title = ""
    record.summary = ""
    record.factual_basis = ""
    record.source_reference = ""
    record.offence_category = None
    record.handling_conditions = ""
    record.protected_categories = ""
    record.nexus_justification = ""
    record.subjects = []
    for decision in session.scalars(select(IntelReviewDecision).where(IntelReviewDecision.record_id == record.id)):
        decision.reason = ""
    for task in session.scalars(
        select(IntelReviewTask).where(IntelReviewTask.record_id == record.id, IntelReviewTask.status == "open")
    ):
        task.status = "purged"
        task.closed_at = now
    record.status = status
    record.purged_at = now
    record.updated_at = now
    session.flush()


def reject_record(
    session: Session, reviewer: UserInfo, record_id: int, *, reason: str, now: dt.datetime | None = None
) -> IntelRecord:
    """Reject a pending record: it never becomes intelligence and its content is erased at once."""
    now = now or utcnow()
    record = load_record(session, record_id)
    _review_checks(session, reviewer, record, now)
    if record.status != "pending":
        raise SubmissionError(f"only pending records can be rejected (this one is {record.status})")
    text = _reason(reason)
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
    record_event(
        session,
        action="reject",
        object_type="intel_record",
        object_id=str(record.id),
        actor=reviewer,
        purpose="review of submission",
        details={"reason_chars": len(text)},
    )
    return record


# --- reading ------------------------------------------------------------------------------------


def _subject_dict(subject: IntelSubject) -> dict[str, Any]:
    return {"id": subject.id, "kind": subject.kind, "name": subject.display_name, "identifiers": subject.identifiers}


def record_dict(session: Session, record: IntelRecord, *, full: bool) -> dict[str, Any]:
    """A record as JSON. ``subjects`` holds criminal subjects only; identifying information is apart."""
    base: dict[str, Any] = {
        "id": record.id,
        "status": record.status,
        "file_type": record.file_type,
        "agency": {"id": record.agency_id, "name": agency_name(session, record.agency_id)},
        "control_official": user_label(session, record.control_official_id),
        "submitted_at": record.submitted_at.isoformat(),
        "approved_at": record.approved_at.isoformat() if record.approved_at else None,
        "retention_expires_at": record.retention_expires_at.isoformat() if record.retention_expires_at else None,
        "purged_at": record.purged_at.isoformat() if record.purged_at else None,
        "sensitivity": record.sensitivity,
        "grading": {
            "scheme": record.grading_scheme,
            "source": record.source_grade,
            "information": record.information_grade,
            "label": describe_grading(record.grading_scheme, record.source_grade, record.information_grade),
        },
        "handling_code": record.handling_code,
        "handling_conditions": record.handling_conditions,
    }
    if record.status in ("purged", "rejected"):
        return base
    base.update(
        {
            "title": record.title,
            "summary": record.summary,
            "offence_category": record.offence_category,
            "subjects": [_subject_dict(s) for s in record.subjects if s.role == "criminal_subject"],
        }
    )
    if full:
        base.update(
            {
                "factual_basis": record.factual_basis,
                "source_reference": record.source_reference,
                "collection_method": record.collection_method,
                "submitter": user_label(session, record.submitter_id),
                "approved_by": user_label(session, record.approved_by_id),
                "protected_categories": [c for c in record.protected_categories.split(",") if c],
                "nexus_justification": record.nexus_justification,
                "nexus_approved_by": user_label(session, record.nexus_approved_by_id),
                "identifying_information": [
                    _subject_dict(s) for s in record.subjects if s.role == "non_criminal_identifier"
                ],
                "reviews": [
                    {
                        "decision": d.decision,
                        "reviewer": user_label(session, d.reviewer_id),
                        "decided_at": d.decided_at.isoformat(),
                        "reason": d.reason,
                        "predicate_checked": d.predicate_checked,
                    }
                    for d in session.scalars(
                        select(IntelReviewDecision)
                        .where(IntelReviewDecision.record_id == record.id)
                        .order_by(IntelReviewDecision.id)
                    )
                ],
            }
        )
    return base


def view_record(
    session: Session, user: UserInfo, record_id: int, *, purpose: str | None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Read one record with a stated purpose (audited).

    Users of the owning agency with ``intel:search`` see approved records; pending ones only their
    submitter and reviewers. Another agency sees a record only when it was disseminated to it, and
    then only the released items. Everything else is "not found" (no existence oracle).
    """
    require_permission(user, "intel:read")
    record = load_record(session, record_id)
    text = checked_purpose(session, user, purpose, action="read", object_type="intel_record", object_id=str(record_id))
    if record.agency_id == user.agency_id:
        if record.status == "pending" and not (user.id == record.submitter_id or user.can("intel:review")):
            raise IntelNotFound("no such record")
        if not user.can("intel:search") and not user.can("intel:review"):
            raise IntelNotFound("no such record")
        view = record_dict(session, record, full=True)
    else:
        released = session.scalars(
            select(IntelDissemination)
            .where(IntelDissemination.record_id == record.id, IntelDissemination.recipient_agency_id == user.agency_id)
            .order_by(IntelDissemination.id.desc())
        ).first()
        if released is None or record.status not in ("approved", "purged"):
            raise IntelNotFound("no such record")
        view = record_dict(session, record, full=False)
        items = set(json.loads(released.items))
        if "subjects" not in items:
            view.pop("subjects", None)
        if "summary" not in items:
            view.pop("summary", None)
    record_event(
        session,
        action="read",
        object_type="intel_record",
        object_id=str(record.id),
        actor=user,
        purpose=text,
        agency_id=user.agency_id,
    )
    return view


@dataclass(frozen=True)
class SearchHit:
    """One search result: ``kind`` "full" (record content) or "pointer" (owning agency and contact)."""

    kind: str
    record_id: int
    agency_name: str
    contact: str
    record: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "record_id": self.record_id,
            "agency": self.agency_name,
            "contact": self.contact,
            "record": self.record,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    purpose: str
    hits: Sequence[SearchHit] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "purpose": self.purpose, "hits": [h.as_dict() for h in self.hits]}


def search_records(
    session: Session, user: UserInfo, query: str | None, *, purpose: str | None, now: dt.datetime | None = None
) -> SearchResult:
    """Search approved, unexpired records by criminal subject, title or summary (see module notes)."""
    require_permission(user, "intel:search")
    text = checked_purpose(session, user, purpose, action="search", object_type="intel_records")
    needle = clean_text(query, "query", MAX_QUERY_CHARS)
    if len(needle) < MIN_QUERY_CHARS:
        raise SubmissionError(f"search for at least {MIN_QUERY_CHARS} characters")
    now = now or utcnow()
    pattern = needle.lower()
    subject_match = exists().where(
        IntelSubject.record_id == IntelRecord.id,
        IntelSubject.role == "criminal_subject",
        or_(
            func.lower(IntelSubject.display_name).contains(pattern, autoescape=True),
            func.lower(IntelSubject.identifiers).contains(pattern, autoescape=True),
        ),
    )
    records = session.scalars(
        select(IntelRecord)
        .where(
            IntelRecord.status == "approved",
            IntelRecord.retention_expires_at > now,
            or_(
                subject_match,
                func.lower(IntelRecord.title).contains(pattern, autoescape=True),
                func.lower(IntelRecord.summary).contains(pattern, autoescape=True),
            ),
        )
        .order_by(IntelRecord.id.desc())
        .limit(MAX_SEARCH_HITS * 5)
    ).all()
    hits: list[SearchHit] = []
    for record in records:
        owner = agency_name(session, record.agency_id)
        contact = user_label(session, record.control_official_id)
        if record.agency_id == user.agency_id:
            hits.append(SearchHit("full", record.id, owner, contact, record_dict(session, record, full=False)))
            continue
        if record.sensitivity == "restricted" or record.file_type == "temporary":
            if record.sensitivity == "restricted":
                notify(
                    session,
                    agency_id=record.agency_id,
                    user_id=record.control_official_id,
                    kind="restricted_hit",
                    message=(
                        f"A search by {user.username} ({user.agency_name}) matched restricted record #{record.id}; "
                        f"no hit was shown to them. Their stated purpose: {text}"
                    ),
                    record_id=record.id,
                    now=now,
                )
                record_event(
                    session,
                    action="restricted_hit",
                    object_type="intel_record",
                    object_id=str(record.id),
                    actor=user,
                    purpose=text,
                    agency_id=record.agency_id,
                )
            continue
        if record.sensitivity == "open" and has_current_agreement(
            session, record.agency_id, user.agency_id, now, for_search=True
        ):
            session.add(
                IntelDissemination(
                    record_id=record.id,
                    kind="search_hit",
                    released_by_id=None,
                    recipient_agency_id=user.agency_id,
                    recipient_user_id=user.id,
                    recipient_name=user.full_name or user.username,
                    reason=text,
                    need_to_know=f"search: {needle}",
                    items=json.dumps(["title", "summary", "subjects", "labels"]),
                    handling_conditions=record.handling_conditions,
                    released_at=now,
                )
            )
            hits.append(SearchHit("full", record.id, owner, contact, record_dict(session, record, full=False)))
        else:
            hits.append(SearchHit("pointer", record.id, owner, contact, None))
        if len(hits) >= MAX_SEARCH_HITS:
            break
    session.flush()
    record_event(
        session,
        action="search",
        object_type="intel_records",
        actor=user,
        purpose=text,
        details={"query": needle, "hits": len(hits)},
    )
    return SearchResult(needle, text, hits[:MAX_SEARCH_HITS])


# --- changes ------------------------------------------------------------------------------------

#: Fields a correction may change.
CORRECTABLE_FIELDS = (
    "title",
    "summary",
    "source_grade",
    "information_grade",
    "sensitivity",
    "handling_code",
    "handling_conditions",
)


def correct_record(
    session: Session,
    actor: UserInfo,
    record_id: int,
    changes: dict[str, Any],
    *,
    purpose: str | None,
    now: dt.datetime | None = None,
) -> int:
    """Correct a record's content or labels and notify every past recipient; return how many.

    A correction does **not** extend retention (only a validation does).
    """
    require_permission(actor, "intel:submit")
    record = load_record(session, record_id)
    if record.agency_id != actor.agency_id or record.status not in ("pending", "approved"):
        raise IntelNotFound("no such record")
    text = checked_purpose(
        session, actor, purpose, action="update", object_type="intel_record", object_id=str(record.id)
    )
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise SubmissionError(f"these fields cannot be corrected: {', '.join(sorted(unknown))}")
    if not changes:
        raise SubmissionError("nothing to correct")
    values = {k: clean_text(v, k, MAX_TITLE_CHARS if k == "title" else MAX_TEXT_CHARS) for k, v in changes.items()}
    merged = {k: values.get(k, getattr(record, k)) for k in CORRECTABLE_FIELDS}
    if not merged["title"] or not merged["summary"]:
        raise SubmissionError("title and summary cannot be empty")
    check_grading(record.grading_scheme, merged["source_grade"], merged["information_grade"])
    check_handling(merged["handling_code"], merged["handling_conditions"])
    if merged["sensitivity"] not in SENSITIVITIES:
        raise SubmissionError(f"sensitivity {merged['sensitivity']!r} is not one of: {', '.join(SENSITIVITIES)}")
    now = now or utcnow()
    for key, value in values.items():
        setattr(record, key, value)
    record.updated_at = now
    notified = notify_past_recipients(
        session,
        record,
        kind="correction",
        message=f"Intelligence record #{record.id} that was disseminated to you has been corrected "
        f"({', '.join(sorted(values))}). Re-read it and update your copies.",
        now=now,
    )
    record_event(
        session,
        action="update",
        object_type="intel_record",
        object_id=str(record.id),
        actor=actor,
        purpose=text,
        details={"fields": sorted(values), "recipients_notified": notified},
    )
    return notified


def update_identifiers(
    session: Session,
    actor: UserInfo,
    record_id: int,
    subject_id: int,
    identifiers: str,
    *,
    purpose: str | None,
    now: dt.datetime | None = None,
) -> int:
    """Update a subject's identifying details; return how many past recipients were notified.

    A criminal subject's change is notified to every past recipient (they received the subjects);
    non-criminal identifying information is never released, so its changes notify nobody.

    This is **not** validation: retention is unchanged.
    """
    require_permission(actor, "intel:submit")
    record = load_record(session, record_id)
    if record.agency_id != actor.agency_id or record.status not in ("pending", "approved"):
        raise IntelNotFound("no such record")
    text = checked_purpose(
        session, actor, purpose, action="update", object_type="intel_record", object_id=str(record.id)
    )
    subject = next((s for s in record.subjects if s.id == subject_id), None)
    if subject is None:
        raise IntelNotFound("no such subject on this record")
    subject.identifiers = clean_text(identifiers, "identifiers", 200)
    now = now or utcnow()
    record.updated_at = now
    session.flush()
    # Recipients only ever saw criminal subjects; identifying information is never released.
    notified = (
        notify_past_recipients(
            session,
            record,
            kind="correction",
            message=f"Intelligence record #{record.id} that was disseminated to you has been corrected "
            "(a subject's identifiers). Re-read it and update your copies.",
            now=now,
        )
        if subject.role == "criminal_subject"
        else 0
    )
    record_event(
        session,
        action="update",
        object_type="intel_record",
        object_id=str(record.id),
        actor=actor,
        purpose=text,
        details={"subject_id": subject_id, "field": "identifiers", "recipients_notified": notified},
    )
    return notified


def agency_by_code(session: Session, code: str) -> Agency | None:
    return session.scalars(select(Agency).where(Agency.code == code)).one_or_none()
