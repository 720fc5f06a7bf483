"""Reading intelligence: one record with a stated purpose, and the access-aware search.

Search is access-aware (28 CFR Part 23 FAQ sensitivity levels): results from the user's own
agency are full; another agency's **open** records come back in full only when a sharing
agreement is on file (each such hit is a dissemination), otherwise as a pointer (owning agency
and contact); **agency name only** records always come back as a pointer; **restricted**
records give no hit at all and notify their owner. Only criminal subjects, titles and summaries
are matched: non-criminal identifying information is never searched or returned as a subject.
Pending records are never found (only approved, unexpired ones are searched).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import IntelDissemination, IntelRecord, IntelReviewDecision, IntelSubject
from openilp.intel.errors import IntelNotFound
from openilp.intel.grading import describe_grading
from openilp.intel.rules import SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import has_current_agreement
from openilp.services.intel.common import (
    agency_name,
    checked_purpose,
    load_record,
    notify,
    released_items,
    released_view,
    require_permission,
    user_label,
)
from openilp.services.intel.documents import RecordDocument, SubjectDocument

__all__ = [
    "MIN_QUERY_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_SEARCH_HITS",
    "ViewRecordRequest",
    "RecordView",
    "SearchRequest",
    "SearchHit",
    "SearchResult",
    "record_dict",
    "view_record",
    "search_records",
]

#: Shortest and longest search text, in characters.
MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 200
#: Most hits one search returns.
MAX_SEARCH_HITS = 100


def _subject_dict(subject: IntelSubject) -> SubjectDocument:
    return {"id": subject.id, "kind": subject.kind, "name": subject.display_name, "identifiers": subject.identifiers}


def record_dict(session: Session, record: IntelRecord, *, full: bool) -> RecordDocument:
    """A record as its JSON document (:class:`~openilp.services.intel.documents.RecordDocument`).

    ``subjects`` holds criminal subjects only; identifying information is apart (``full`` only).
    A purged or rejected record keeps its identity, dates and labels and nothing else.
    """
    base: RecordDocument = {
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
        "tlp": record.tlp,
        "handling_conditions": record.handling_conditions,
    }
    if record.status in ("purged", "rejected"):
        return base
    base["title"] = record.title
    base["summary"] = record.summary
    base["offence_category"] = record.offence_category
    base["subjects"] = [_subject_dict(s) for s in record.subjects if s.role == "criminal_subject"]
    if full:
        base.update(
            {
                "factual_basis": record.factual_basis,
                "predicate": {
                    "who": record.predicate_who,
                    "what": record.predicate_what,
                    "when": record.predicate_when,
                    "where": record.predicate_where,
                },
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


@dataclass(frozen=True)
class ViewRecordRequest(Request):
    """Which record to read and why (the purpose is required; a missing one is an audited refusal)."""

    record_id: int
    purpose: str | None = None


@dataclass(frozen=True)
class RecordView(Result):
    """One record as its reader may see it.

    ``document`` is the record's JSON (:func:`record_dict`): full for the owning agency, only the
    released items for another agency. ``as_dict()`` returns it.
    """

    id: int
    status: str
    agency_id: int
    #: Whether the reader belongs to the owning agency.
    own: bool
    purpose: str
    document: RecordDocument

    @property
    def subjects(self) -> list[SubjectDocument]:
        """Criminal subjects, then non-criminal identifying information (owning agency only)."""
        return [*self.document.get("subjects", []), *self.document.get("identifying_information", [])]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.document)


def view_record(core: OpenILP, user: UserInfo, request: ViewRecordRequest) -> RecordView:
    """Read one record with a stated purpose (audited).

    Users of the owning agency with ``intel:search`` see approved records; pending ones only their
    submitter and reviewers. Another agency sees a record only when it was disseminated to it, and
    then only by the person it was released to (not their colleagues), and only the released items
    (:data:`~openilp.services.intel.common.ITEM_FIELDS`). Everything else is "not found" (no
    existence oracle).
    """
    request = request.validate()
    require_permission(user, "intel:read")
    with core.unit_of_work(user) as uow:
        session = uow.session
        record = load_record(session, request.record_id)
        text = checked_purpose(uow, request.purpose, action="read", object_type="intel_record", object_id=record.id)
        own = record.agency_id == user.agency_id
        if own:
            if record.status == "pending" and not (user.id == record.submitter_id or user.can("intel:review")):
                raise IntelNotFound("no such record")
            if not user.can("intel:search") and not user.can("intel:review"):
                raise IntelNotFound("no such record")
            view = record_dict(session, record, full=True)
        else:
            # Need-to-know per recipient and per item (23.20(e)): only the person a release named
            # reads the record, and only the items released to them.
            items = released_items(session, user, record.id)
            if items is None or record.status not in ("approved", "purged"):
                raise IntelNotFound("no such record")
            view = released_view(record_dict(session, record, full=False), items)
        uow.audit(
            action="read", object_type="intel_record", object_id=record.id, purpose=text, agency_id=user.agency_id
        )
        return RecordView(record.id, record.status, record.agency_id, own, text, view)


@dataclass(frozen=True)
class SearchRequest(Request):
    """Search text (criminal subjects, titles, summaries) and the stated purpose."""

    query: str | None = ""
    purpose: str | None = None

    def validate(self) -> SearchRequest:
        needle = clean_text(self.query, "query", MAX_QUERY_CHARS)
        if len(needle) < MIN_QUERY_CHARS:
            raise SubmissionError(f"search for at least {MIN_QUERY_CHARS} characters")
        return dataclasses.replace(self, query=needle)


@dataclass(frozen=True)
class SearchHit(Result):
    """One search result: ``kind`` "full" (record content) or "pointer" (owning agency and contact)."""

    kind: str
    record_id: int
    agency_name: str
    contact: str
    record: RecordDocument | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "record_id": self.record_id,
            "agency": self.agency_name,
            "contact": self.contact,
            "record": None if self.record is None else dict(self.record),
        }


@dataclass(frozen=True)
class SearchResult(Result):
    """The trimmed query, the stated purpose and the hits (at most :data:`MAX_SEARCH_HITS`)."""

    query: str
    purpose: str
    hits: Sequence[SearchHit] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "purpose": self.purpose, "hits": [h.as_dict() for h in self.hits]}


def search_records(core: OpenILP, user: UserInfo, request: SearchRequest) -> SearchResult:
    """Search approved, unexpired records by criminal subject, title or summary (see module notes).

    A missing purpose is refused and the refusal audited before the query is looked at.
    """
    require_permission(user, "intel:search")
    with core.unit_of_work(user) as uow:
        text = checked_purpose(uow, request.purpose, action="search", object_type="intel_records")
        request = request.validate()
        needle = str(request.query)
        session, now = uow.session, uow.now
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
                            f"A search by {user.username} ({user.agency_name}) matched restricted record "
                            f"#{record.id}; no hit was shown to them. Their stated purpose: {text}"
                        ),
                        record_id=record.id,
                        now=now,
                    )
                    uow.audit(
                        action="restricted_hit",
                        object_type="intel_record",
                        object_id=record.id,
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
        uow.audit(
            action="search",
            object_type="intel_records",
            purpose=text,
            details={"query": needle, "hits": len(hits)},
        )
        return SearchResult(needle, text, tuple(hits[:MAX_SEARCH_HITS]))
