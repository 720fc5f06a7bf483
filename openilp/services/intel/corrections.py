"""Changing a record after the fact: corrections, identifier updates, and erasing content.

A correction changes content or labels; an identifier update changes a subject's identifying
details. Neither is **validation**: retention is unchanged (only
:func:`openilp.services.intel.retention.validate_record` renews it). Every past recipient of a
corrected record is notified (23.20(h)); non-criminal identifying information is never released,
so its changes notify nobody. :func:`purge_content` is the erasure a purge or rejection leaves:
a content-free entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result, UnitOfWork
from openilp.db.entity_models import EntityMention
from openilp.db.models import IntelRecord, IntelReviewDecision, IntelReviewTask
from openilp.intel.errors import IntelNotFound
from openilp.intel.grading import check_grading, check_handling
from openilp.intel.rules import MAX_TEXT_CHARS, MAX_TITLE_CHARS, SENSITIVITIES, SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.entities.mentions import sync_subject_mentions
from openilp.services.intel.common import checked_purpose, load_record, notify_past_recipients, require_permission
from openilp.services.intel.reading import ViewRecordRequest, view_record

__all__ = [
    "CORRECTABLE_FIELDS",
    "CorrectionRequest",
    "IdentifierUpdateRequest",
    "RecordCorrectionsRequest",
    "CorrectionResult",
    "correct_record",
    "update_identifiers",
    "apply_record_corrections",
    "purge_content",
]

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


@dataclass(frozen=True)
class CorrectionRequest(Request):
    """New values of some :data:`CORRECTABLE_FIELDS`, and the purpose of the correction."""

    record_id: int
    changes: Mapping[str, str] = field(default_factory=dict)
    purpose: str | None = None


@dataclass(frozen=True)
class IdentifierUpdateRequest(Request):
    """A subject's new identifying details, and the purpose of the change."""

    record_id: int
    subject_id: int
    identifiers: str = ""
    purpose: str | None = None


@dataclass(frozen=True)
class RecordCorrectionsRequest(Request):
    """What the correction form posted: every field as shown (only changed ones apply).

    ``view_purpose`` is the purpose the record page was opened with (the form's read is audited
    with it); ``purpose`` is the reason for the correction.
    """

    record_id: int
    view_purpose: str | None = None
    purpose: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    identifiers: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CorrectionResult(Result):
    """The corrected record, what changed and how many past recipients were told."""

    id: int
    fields: tuple[str, ...]
    recipients_notified: int


def _own_correctable(session: Session, actor: UserInfo, record_id: int) -> IntelRecord:
    require_permission(actor, "intel:submit")
    record = load_record(session, record_id)
    if record.agency_id != actor.agency_id or record.status not in ("pending", "approved"):
        raise IntelNotFound("no such record")
    return record


def _correct(uow: UnitOfWork, actor: UserInfo, request: CorrectionRequest) -> CorrectionResult:
    session, now = uow.session, uow.now
    record = _own_correctable(session, actor, request.record_id)
    text = checked_purpose(uow, request.purpose, action="update", object_type="intel_record", object_id=record.id)
    changes = dict(request.changes)
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise SubmissionError(f"these fields cannot be corrected: {', '.join(sorted(unknown))}")
    if not changes:
        raise SubmissionError("nothing to correct")
    values = {k: clean_text(v, k, MAX_TITLE_CHARS if k == "title" else MAX_TEXT_CHARS) for k, v in changes.items()}
    merged = {k: values.get(k, getattr(record, k)) for k in CORRECTABLE_FIELDS}
    if not merged["title"] or not merged["summary"]:
        raise SubmissionError("title and summary cannot be empty")
    try:
        check_grading(record.grading_scheme, merged["source_grade"], merged["information_grade"])
        check_handling(merged["handling_code"], merged["handling_conditions"])
    except ValueError as exc:
        raise SubmissionError(str(exc)) from exc
    if merged["sensitivity"] not in SENSITIVITIES:
        raise SubmissionError(f"sensitivity {merged['sensitivity']!r} is not one of: {', '.join(SENSITIVITIES)}")
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
    uow.audit(
        action="update",
        object_type="intel_record",
        object_id=record.id,
        purpose=text,
        details={"fields": sorted(values), "recipients_notified": notified},
    )
    return CorrectionResult(record.id, tuple(sorted(values)), notified)


def correct_record(core: OpenILP, actor: UserInfo, request: CorrectionRequest) -> CorrectionResult:
    """Correct a record's content or labels and notify every past recipient.

    A correction does **not** extend retention (only a validation does).
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        return _correct(uow, actor, request)


def _update_identifiers(uow: UnitOfWork, actor: UserInfo, request: IdentifierUpdateRequest) -> CorrectionResult:
    session, now = uow.session, uow.now
    record = _own_correctable(session, actor, request.record_id)
    text = checked_purpose(uow, request.purpose, action="update", object_type="intel_record", object_id=record.id)
    subject = next((s for s in record.subjects if s.id == request.subject_id), None)
    if subject is None:
        raise IntelNotFound("no such subject on this record")
    subject.identifiers = clean_text(request.identifiers, "identifiers", 200)
    record.updated_at = now
    session.flush()
    sync_subject_mentions(session, record)
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
    uow.audit(
        action="update",
        object_type="intel_record",
        object_id=record.id,
        purpose=text,
        details={"subject_id": request.subject_id, "field": "identifiers", "recipients_notified": notified},
    )
    return CorrectionResult(record.id, ("identifiers",), notified)


def update_identifiers(core: OpenILP, actor: UserInfo, request: IdentifierUpdateRequest) -> CorrectionResult:
    """Update a subject's identifying details; a criminal subject's change notifies past recipients.

    This is **not** validation: retention is unchanged.
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        return _update_identifiers(uow, actor, request)


def apply_record_corrections(core: OpenILP, actor: UserInfo, request: RecordCorrectionsRequest) -> CorrectionResult:
    """Apply what changed on the correction form, all in one transaction (nothing on any refusal).

    Reads the record as the form showed it (audited with ``view_purpose``), keeps the fields and
    identifiers whose value differs, then corrects and updates identifiers with ``purpose``.
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        view = view_record(core, actor, ViewRecordRequest(request.record_id, request.view_purpose))
        current = current_values(view.document)
        changes = {k: v for k, v in request.fields.items() if k in current and str(v).strip() != current[k].strip()}
        known = {int(s["id"]): str(s["identifiers"]) for s in view.subjects}
        changed = {i: v for i, v in request.identifiers.items() if i in known and v.strip() != known[i].strip()}
        if not changes and not changed:
            raise SubmissionError("nothing to correct: change a field or a subject's identifiers first")
        fields: list[str] = []
        notified = 0
        if changes:
            done = _correct(uow, actor, CorrectionRequest(request.record_id, changes, request.purpose))
            fields += done.fields
            notified += done.recipients_notified
        for subject_id, value in changed.items():
            update = IdentifierUpdateRequest(request.record_id, subject_id, value, request.purpose)
            notified += _update_identifiers(uow, actor, update).recipients_notified
            fields.append("identifiers")
        return CorrectionResult(request.record_id, tuple(dict.fromkeys(fields)), notified)


def current_values(document: Mapping[str, object]) -> dict[str, str]:
    """The correctable fields of a record document (:func:`openilp.services.intel.reading.record_dict`)."""
    grading = document["grading"]
    assert isinstance(grading, Mapping)
    return {
        "title": str(document.get("title", "")),
        "summary": str(document.get("summary", "")),
        "source_grade": str(grading["source"]),
        "information_grade": str(grading["information"]),
        "sensitivity": str(document["sensitivity"]),
        "handling_code": str(document["handling_code"]),
        "handling_conditions": str(document["handling_conditions"]),
    }


def purge_content(session: Session, record: IntelRecord, status: str, now: dt.datetime) -> None:
    """Erase a record's content, keeping a content-free entry (ids, dates, status, labels' axes)."""
    record.title = ""
    record.summary = ""
    record.factual_basis = ""
    record.predicate_who = record.predicate_what = record.predicate_when = record.predicate_where = ""
    record.source_reference = ""
    record.offence_category = None
    record.handling_conditions = ""
    record.protected_categories = ""
    record.nexus_justification = ""
    record.subjects = []
    # Mentions of the subjects and of the phones, handles and vehicles in their identifiers.
    session.execute(delete(EntityMention).where(EntityMention.intel_record_id == record.id))
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
