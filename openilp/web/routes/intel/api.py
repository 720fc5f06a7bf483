"""Intelligence for signed-in staff: the JSON API under ``/api/v1/intel`` (pages: ``intel_pages``, ``tip_pages``).

Thin adapters over ``openilp.services.intel_*``. Errors map to: 400 rule broken or purpose missing
(the refusal is committed to the audit log first), 403 not permitted, 404 not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from openilp.intel.errors import IntelForbidden, IntelNotFound, PurposeRequired, RecordedRefusal
from openilp.intel.rules import SubjectInput, Submission, SubmissionError
from openilp.security.actors import UserInfo
from openilp.services.intel import tips as intel_tips
from openilp.services.intel.compliance import compliance_report
from openilp.services.intel.dissemination import disseminate, notifications_for
from openilp.services.intel.emergency import emergency_release
from openilp.services.intel.records import (
    approve_record,
    correct_record,
    reject_record,
    search_records,
    submit_record,
    view_record,
)
from openilp.services.intel.retention import review_queue, validate_record
from openilp.web.auth import current_user, require
from openilp.web.context import db_session

__all__ = ["router", "run"]

router = APIRouter(prefix="/api/v1", tags=["intelligence"])
T = TypeVar("T")


def run(session: Session, action: Callable[[], T]) -> T:
    """Call a service; map its errors to HTTP (committing audited refusals)."""
    try:
        return action()
    except PurposeRequired as exc:
        session.commit()
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except RecordedRefusal as exc:
        session.commit()
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except IntelForbidden as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except (SubmissionError, ValueError) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


class SubjectIn(BaseModel):
    kind: str = Field(max_length=20)
    role: str = Field(max_length=30)
    display_name: str = Field(max_length=200)
    identifiers: str = Field(default="", max_length=200)


class RecordIn(BaseModel):
    title: str = Field(max_length=200)
    summary: str = Field(max_length=10_000)
    offence_category: str = Field(max_length=40)
    factual_basis: str = Field(max_length=10_000)
    source_reference: str = Field(max_length=200)
    collection_method: str = Field(max_length=40)
    lawful_collection_attested: bool
    grading_scheme: str = Field(max_length=16)
    source_grade: str = Field(max_length=2)
    information_grade: str = Field(max_length=2)
    handling_code: str = Field(max_length=2)
    handling_conditions: str = Field(default="", max_length=10_000)
    sensitivity: str = Field(max_length=20)
    control_official_id: int
    file_type: str = Field(default="permanent", max_length=12)
    subjects: list[SubjectIn] = Field(max_length=50)
    protected_categories: list[str] = Field(default=[], max_length=5)
    nexus_justification: str = Field(default="", max_length=10_000)

    def submission(self) -> Submission:
        data = self.model_dump()
        data["subjects"] = [SubjectInput(**s) for s in data["subjects"]]
        return Submission(**data)


class DecisionIn(BaseModel):
    reason: str = Field(max_length=10_000)
    approve_nexus: bool = False
    retention_days: int | None = Field(default=None, ge=1, le=1830)


class ValidationIn(BaseModel):
    reason: str = Field(max_length=10_000)
    still_suspected: bool
    factual_basis: str = Field(max_length=10_000)
    retention_days: int | None = Field(default=None, ge=1, le=1830)


class CorrectionIn(BaseModel):
    purpose: str = Field(max_length=500)
    changes: dict[str, str]


class DisseminationIn(BaseModel):
    purpose: str = Field(default="", max_length=1000)
    recipient_agency: str = Field(max_length=32)
    recipient_username: str = Field(max_length=80)
    need_to_know: str = Field(max_length=10_000)
    items: list[str] = Field(max_length=5)


class EmergencyReleaseIn(BaseModel):
    justification: str = Field(default="", max_length=10_000)
    recipient_name: str = Field(max_length=200)
    recipient_organisation: str = Field(max_length=200)
    assessment: str = Field(max_length=10_000)


class ReplyIn(BaseModel):
    body: str = Field(max_length=10_000)


@router.post("/intel/records", status_code=201)
def api_submit(
    payload: RecordIn, user: UserInfo = Depends(require("intel:submit")), session: Session = db_session
) -> dict[str, Any]:
    """Submit a record (predicate gate); it stays pending until a trained reviewer approves it."""
    record = run(session, lambda: submit_record(session, user, payload.submission()))
    return {"id": record.id, "status": record.status}


@router.get("/intel/records")
def api_search(
    q: str = Query(default="", max_length=200),
    purpose: str = Query(default="", max_length=1000),
    user: UserInfo = Depends(require("intel:search")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Access-aware search of approved records; needs ``purpose``."""
    return run(session, lambda: search_records(session, user, q, purpose=purpose)).as_dict()


@router.get("/intel/records/{record_id}")
def api_record(
    record_id: int,
    purpose: str = Query(default="", max_length=1000),
    user: UserInfo = Depends(require("intel:read")),
    session: Session = db_session,
) -> dict[str, Any]:
    """One record (audited read with ``purpose``)."""
    return run(session, lambda: view_record(session, user, record_id, purpose=purpose))


@router.post("/intel/records/{record_id}/approve")
def api_approve(
    record_id: int,
    payload: DecisionIn,
    user: UserInfo = Depends(require("intel:review")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Approve a pending record (trained reviewer, not the submitter)."""
    record = run(
        session,
        lambda: approve_record(
            session,
            user,
            record_id,
            reason=payload.reason,
            approve_nexus=payload.approve_nexus,
            retention_days=payload.retention_days,
        ),
    )
    return {"id": record.id, "status": record.status, "retention_expires_at": str(record.retention_expires_at)}


@router.post("/intel/records/{record_id}/reject")
def api_reject(
    record_id: int,
    payload: DecisionIn,
    user: UserInfo = Depends(require("intel:review")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Reject a pending record; its content is erased."""
    record = run(session, lambda: reject_record(session, user, record_id, reason=payload.reason))
    return {"id": record.id, "status": record.status}


@router.post("/intel/records/{record_id}/validate")
def api_validate(
    record_id: int,
    payload: ValidationIn,
    user: UserInfo = Depends(require("intel:review")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Validate before expiry with a fresh predicate check (new period ≤ 5 years)."""
    record = run(
        session,
        lambda: validate_record(
            session,
            user,
            record_id,
            reason=payload.reason,
            still_suspected=payload.still_suspected,
            factual_basis=payload.factual_basis,
            retention_days=payload.retention_days,
        ),
    )
    return {"id": record.id, "retention_expires_at": str(record.retention_expires_at)}


@router.post("/intel/records/{record_id}/correct")
def api_correct(
    record_id: int,
    payload: CorrectionIn,
    user: UserInfo = Depends(require("intel:submit")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Correct a record; every past recipient is notified."""
    notified = run(session, lambda: correct_record(session, user, record_id, payload.changes, purpose=payload.purpose))
    return {"id": record_id, "recipients_notified": notified}


@router.post("/intel/records/{record_id}/disseminate", status_code=201)
def api_disseminate(
    record_id: int,
    payload: DisseminationIn,
    user: UserInfo = Depends(require("intel:disseminate")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Release outside the agency after need/right-to-know and agreement checks; logged."""
    release = run(
        session,
        lambda: disseminate(
            session,
            user,
            record_id,
            recipient_agency_code=payload.recipient_agency,
            recipient_username=payload.recipient_username,
            purpose=payload.purpose,
            need_to_know=payload.need_to_know,
            items=payload.items,
        ),
    )
    return {"dissemination_id": release.id, "released_at": release.released_at.isoformat()}


@router.post("/intel/records/{record_id}/emergency-release", status_code=201)
def api_emergency_release(
    record_id: int,
    payload: EmergencyReleaseIn,
    user: UserInfo = Depends(require("intel:emergency_release")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Release an assessment to anyone to avoid imminent danger (23.20(f)(2)); flagged, audited, owner told."""
    release = run(
        session,
        lambda: emergency_release(
            session,
            user,
            record_id,
            justification=payload.justification,
            recipient_name=payload.recipient_name,
            recipient_organisation=payload.recipient_organisation,
            assessment=payload.assessment,
        ),
    )
    return {
        "dissemination_id": release.id,
        "kind": release.kind,
        "imminent_danger": release.imminent_danger,
        "released_at": release.released_at.isoformat(),
    }


@router.get("/intel/review-queue")
def api_review_queue(
    user: UserInfo = Depends(require("intel:review")), session: Session = db_session
) -> dict[str, Any]:
    """Pending submissions and reviews coming due in your agency."""
    return run(session, lambda: review_queue(session, user))


@router.get("/intel/compliance")
def api_compliance(
    user: UserInfo = Depends(require("intel:compliance")), session: Session = db_session
) -> dict[str, Any]:
    """The compliance report (protected activity, retention, releases, refusals)."""
    return run(session, lambda: compliance_report(session, user))


@router.get("/intel/tips")
def api_tips(user: UserInfo = Depends(require("tips:triage")), session: Session = db_session) -> dict[str, Any]:
    """The tip inbox."""
    return {"tips": intel_tips.list_tips(session, user)}


@router.get("/intel/tips/{tip_id}")
def api_tip(
    tip_id: str, user: UserInfo = Depends(require("tips:triage")), session: Session = db_session
) -> dict[str, Any]:
    """One tip with its dialogue."""
    return run(session, lambda: intel_tips.staff_view(session, user, tip_id))


@router.post("/intel/tips/{tip_id}/reply", status_code=201)
def api_tip_reply(
    tip_id: str,
    payload: ReplyIn,
    user: UserInfo = Depends(require("tips:triage")),
    session: Session = db_session,
) -> dict[str, str]:
    """Reply to the tipster."""
    run(session, lambda: intel_tips.staff_reply(session, user, tip_id, payload.body))
    return {"status": "sent"}


@router.get("/notifications")
def api_notifications(user: UserInfo = Depends(current_user), session: Session = db_session) -> dict[str, Any]:
    """Your notices: corrections, purges, restricted hits, releases received, tips."""
    return {"notifications": notifications_for(session, user)}
