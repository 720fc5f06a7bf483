"""Intelligence for signed-in staff: the JSON API under ``/api/v1/intel`` (pages: ``pages``, ``tip_pages``).

Thin adapters over :mod:`openilp.services.intel`: each route calls one service, which owns its
transaction and audit. Refusals are :class:`openilp.errors.ServiceError` subclasses, answered by
the app's handler: 400 rule broken or purpose missing (the refusal is already in the audit log),
403 not permitted, 404 not found.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.intel.rules import SubjectInput, Submission
from openilp.security.actors import UserInfo
from openilp.services.intel.audience import AudienceRequest, preview_release
from openilp.services.intel.compliance import compliance_report
from openilp.services.intel.corrections import CorrectionRequest, correct_record
from openilp.services.intel.dissemination import DisseminationRequest, disseminate, notifications_for
from openilp.services.intel.emergency import EmergencyReleaseRequest, emergency_release
from openilp.services.intel.reading import SearchRequest, ViewRecordRequest, search_records, view_record
from openilp.services.intel.records import (
    ReviewRequest,
    SubmitRecordRequest,
    approve_record,
    reject_record,
    submit_record,
)
from openilp.services.intel.retention import ValidationRequest, review_queue, validate_record
from openilp.services.intel.tip_triage import ReplyRequest, list_tips, staff_reply, staff_view
from openilp.web.auth import current_user, require
from openilp.web.context import get_core
from openilp.web.params import Id

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["intelligence"])
_CORE = Depends(get_core)


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
    tlp: str = Field(default="", max_length=20, description="TLP 2.0 marking; empty: RED if restricted, else AMBER.")
    control_official_id: Id
    file_type: str = Field(default="permanent", max_length=12)
    subjects: list[SubjectIn] = Field(max_length=50)
    protected_categories: list[str] = Field(default=[], max_length=5)
    nexus_justification: str = Field(default="", max_length=10_000)
    predicate_who: str = Field(default="", max_length=200, description="Who is reasonably suspected (required).")
    predicate_what: str = Field(default="", max_length=200, description="What criminal conduct (required).")
    predicate_when: str = Field(default="", max_length=200, description="When: a date or period (required).")
    predicate_where: str = Field(default="", max_length=200, description="Where: place, area or online (required).")

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


class SearchIn(BaseModel):
    q: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=1000)


class ReadIn(BaseModel):
    purpose: str = Field(default="", max_length=1000)


class CorrectionIn(BaseModel):
    purpose: str = Field(max_length=500)
    changes: dict[str, str]


class AudienceIn(BaseModel):
    recipient_agency: str = Field(default="", max_length=32)
    recipient_username: str = Field(default="", max_length=80)
    sharing_group_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    tlp: str = Field(default="", max_length=20, description="TLP 2.0 level; empty keeps the record's.")


class DisseminationIn(AudienceIn):
    purpose: str = Field(default="", max_length=1000)
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
    payload: RecordIn, user: UserInfo = Depends(require("intel:submit")), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Submit a record (predicate gate); it stays pending until a trained reviewer approves it."""
    record = submit_record(core, user, SubmitRecordRequest(payload.submission()))
    return {"id": record.id, "status": record.status}


@router.post("/intel/records/search")
def api_search(
    payload: SearchIn, user: UserInfo = Depends(require("intel:search")), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Access-aware search of approved records; needs ``purpose``.

    A POST with a JSON body, not a GET: a read that needs a purpose is recorded in the reader's
    name, so a link from another site must not be able to make one.
    """
    return search_records(core, user, SearchRequest(payload.q, payload.purpose)).as_dict()


@router.post("/intel/records/{record_id}/read")
def api_record(
    record_id: Id, payload: ReadIn, user: UserInfo = Depends(require("intel:read")), core: OpenILP = _CORE
) -> dict[str, Any]:
    """One record (audited read with ``purpose``, posted as JSON like every read that needs one)."""
    return view_record(core, user, ViewRecordRequest(record_id, payload.purpose)).as_dict()


@router.post("/intel/records/{record_id}/approve")
def api_approve(
    record_id: Id, payload: DecisionIn, user: UserInfo = Depends(require("intel:review")), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Approve a pending record (trained reviewer, not the submitter)."""
    request = ReviewRequest(record_id, payload.reason, payload.approve_nexus, payload.retention_days)
    record = approve_record(core, user, request)
    return {"id": record.id, "status": record.status, "retention_expires_at": str(record.retention_expires_at)}


@router.post("/intel/records/{record_id}/reject")
def api_reject(
    record_id: Id, payload: DecisionIn, user: UserInfo = Depends(require("intel:review")), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Reject a pending record; its content is erased."""
    record = reject_record(core, user, ReviewRequest(record_id, payload.reason))
    return {"id": record.id, "status": record.status}


@router.post("/intel/records/{record_id}/validate")
def api_validate(
    record_id: Id, payload: ValidationIn, user: UserInfo = Depends(require("intel:review")), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Validate before expiry with a fresh predicate check (new period ≤ 5 years)."""
    request = ValidationRequest(
        record_id, payload.reason, payload.still_suspected, payload.factual_basis, payload.retention_days
    )
    record = validate_record(core, user, request)
    return {"id": record.id, "retention_expires_at": str(record.retention_expires_at)}


@router.post("/intel/records/{record_id}/correct")
def api_correct(
    record_id: Id, payload: CorrectionIn, user: UserInfo = Depends(require("intel:submit")), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Correct a record; every past recipient is notified."""
    done = correct_record(core, user, CorrectionRequest(record_id, payload.changes, payload.purpose))
    return {"id": record_id, "recipients_notified": done.recipients_notified}


@router.post("/intel/records/{record_id}/disseminate", status_code=201)
def api_disseminate(
    record_id: Id,
    payload: DisseminationIn,
    user: UserInfo = Depends(require("intel:disseminate")),
    core: OpenILP = _CORE,
) -> dict[str, Any]:
    """Release outside the agency after need/right-to-know and agreement checks; logged."""
    request = DisseminationRequest(
        record_id,
        recipient_agency=payload.recipient_agency,
        recipient_username=payload.recipient_username,
        purpose=payload.purpose,
        need_to_know=payload.need_to_know,
        items=tuple(payload.items),
        sharing_group_id=payload.sharing_group_id,
        tlp=payload.tlp,
    )
    release = disseminate(core, user, request)
    return {
        "dissemination_id": release.dissemination_id,
        "released_at": release.released_at.isoformat(),
        "tlp": release.tlp,
        "dissemination_ids": list(release.dissemination_ids),
        "recipients": list(release.recipients),
    }


@router.post("/intel/records/{record_id}/preview")
def api_preview_release(
    record_id: Id,
    payload: AudienceIn,
    user: UserInfo = Depends(require("intel:disseminate")),
    core: OpenILP = _CORE,
) -> dict[str, Any]:
    """Who will see this: the agencies, users and roles a release would reach, and who not and why."""
    request = AudienceRequest(
        record_id, payload.recipient_agency, payload.recipient_username, payload.sharing_group_id, payload.tlp
    )
    audience = preview_release(core, user, request)
    return audience.as_dict() | {"recipient_count": audience.recipient_count}


@router.post("/intel/records/{record_id}/emergency-release", status_code=201)
def api_emergency_release(
    record_id: Id,
    payload: EmergencyReleaseIn,
    user: UserInfo = Depends(require("intel:emergency_release")),
    core: OpenILP = _CORE,
) -> dict[str, Any]:
    """Release an assessment to anyone to avoid imminent danger (23.20(f)(2)); flagged, audited, owner told."""
    request = EmergencyReleaseRequest(
        record_id,
        justification=payload.justification,
        recipient_name=payload.recipient_name,
        recipient_organisation=payload.recipient_organisation,
        assessment=payload.assessment,
    )
    release = emergency_release(core, user, request)
    return {
        "dissemination_id": release.dissemination_id,
        "kind": release.kind,
        "imminent_danger": release.imminent_danger,
        "released_at": release.released_at.isoformat(),
    }


@router.get("/intel/review-queue")
def api_review_queue(user: UserInfo = Depends(require("intel:review")), core: OpenILP = _CORE) -> dict[str, Any]:
    """Pending submissions and reviews coming due in your agency."""
    return review_queue(core, user).as_dict()


@router.get("/intel/compliance")
def api_compliance(user: UserInfo = Depends(require("intel:compliance")), core: OpenILP = _CORE) -> dict[str, Any]:
    """The compliance report (protected activity, retention, releases, refusals)."""
    return compliance_report(core, user).as_dict()


@router.get("/intel/tips")
def api_tips(user: UserInfo = Depends(require("tips:triage")), core: OpenILP = _CORE) -> dict[str, Any]:
    """The tip inbox."""
    return list_tips(core, user).as_dict()


@router.get("/intel/tips/{tip_id}")
def api_tip(tip_id: str, user: UserInfo = Depends(require("tips:triage")), core: OpenILP = _CORE) -> dict[str, Any]:
    """One tip with its dialogue."""
    return staff_view(core, user, tip_id).as_dict()


@router.post("/intel/tips/{tip_id}/reply", status_code=201)
def api_tip_reply(
    tip_id: str, payload: ReplyIn, user: UserInfo = Depends(require("tips:triage")), core: OpenILP = _CORE
) -> dict[str, str]:
    """Reply to the tipster."""
    staff_reply(core, user, ReplyRequest(tip_id, payload.body))
    return {"status": "sent"}


@router.get("/notifications")
def api_notifications(user: UserInfo = Depends(current_user), core: OpenILP = _CORE) -> dict[str, Any]:
    """Your notices: corrections, purges, restricted hits, releases received, tips."""
    return {"notifications": notifications_for(core, user).rows()}
