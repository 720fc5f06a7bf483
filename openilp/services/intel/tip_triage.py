"""Tip triage by staff (``tips:triage``): the inbox, one tip, reply, link, convert, close.

Analysts read the tip and its dialogue, reply to the tipster (who reads the reply with the tip ID
and secret), link the tip to one of the agency's incidents, turn it into an intelligence
submission, or close it with a reason. A conversion passes the same predicate gate as any
submission and stays **pending** until a trained reviewer approves it, so a tip never becomes
intelligence without review. Suspicious-activity reports stay here, apart from intelligence
files, until vetted. Every step is audited under the staff member's name; the tipster is never
known.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Incident, Tip, TipAttachment, TipMessage, TipReward
from openilp.intel.errors import IntelNotFound
from openilp.intel.rules import MAX_TEXT_CHARS, Submission, SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.intel.common import require_permission
from openilp.services.intel.records import RecordOutcome, save_submission
from openilp.services.intel.tips import MessageView, TipUpdated, messages_of

__all__ = [
    "TipListRequest",
    "ReplyRequest",
    "LinkRequest",
    "CloseRequest",
    "ConvertRequest",
    "TipSummary",
    "TipInbox",
    "AttachmentInfo",
    "StaffReward",
    "StaffTipView",
    "list_tips",
    "staff_view",
    "staff_reply",
    "link_incident",
    "close_tip",
    "convert_to_submission",
    "staff_tip",
]


def staff_tip(session: Session, user: UserInfo, tip_id: str, permission: str = "tips:triage") -> Tip:
    """The agency's tip with this public ID, or "not found" (also for another agency's tip)."""
    require_permission(user, permission)
    tip = session.scalars(select(Tip).where(Tip.public_id == str(tip_id)[:40])).one_or_none()
    if tip is None or tip.agency_id != user.agency_id:
        raise IntelNotFound("no such tip")
    return tip


@dataclass(frozen=True)
class TipListRequest(Request):
    """Which tips to list: all, or those with one status (new, triaged, linked, converted, closed)."""

    status: str | None = None


@dataclass(frozen=True)
class ReplyRequest(Request):
    """A reply to the tipster."""

    tip_id: str
    body: str = ""


@dataclass(frozen=True)
class LinkRequest(Request):
    """The incident to link the tip to: its complaint number as the agency writes it (``19-063496``),
    or its record number (``#123``, or an int)."""

    tip_id: str
    incident_id: int | str = ""

    def validate(self) -> LinkRequest:
        if isinstance(self.incident_id, int) and not isinstance(self.incident_id, bool):
            return self
        text = str(self.incident_id).strip()
        if not text:
            raise SubmissionError("enter the incident's complaint number (or #record number)", field="incident_id")
        if len(text) > 100:
            raise SubmissionError("a complaint number has at most 100 characters", field="incident_id")
        return dataclasses.replace(self, incident_id=text)


def _incident_for(session: Session, agency_id: int, reference: int | str) -> Incident | None:
    """The agency's incident with complaint number ``reference`` (the first record of the complaint),
    else with record number ``reference`` (``#123`` or ``123``); None when there is none."""
    if isinstance(reference, str):
        found = session.scalars(
            select(Incident)
            .where(Incident.agency_id == agency_id, Incident.source_record_id == reference)
            .order_by(Incident.id)
            .limit(1)
        ).first()
        if found is not None:
            return found
        number = reference.removeprefix("#")
        if not number.isdigit() or len(number) > 12:
            return None
        reference = int(number)
    incident = session.get(Incident, reference)
    return incident if incident is not None and incident.agency_id == agency_id else None


@dataclass(frozen=True)
class CloseRequest(Request):
    """Close a tip with a reason (no further action)."""

    tip_id: str
    reason: str = ""


@dataclass(frozen=True)
class ConvertRequest(Request):
    """Turn a tip into a submission; ``use_agency_scheme`` grades in the agency's scheme (forms)."""

    tip_id: str
    submission: Submission
    use_agency_scheme: bool = False


@dataclass(frozen=True)
class TipSummary(Result):
    """One line of the tip inbox."""

    tip_id: str
    kind: str
    behaviour_category: str | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    excerpt: str


@dataclass(frozen=True)
class TipInbox(Result):
    """The agency's tips, most recently active first (at most 500)."""

    tips: tuple[TipSummary, ...] = ()


@dataclass(frozen=True)
class AttachmentInfo(Result):
    """An attachment's id, type and size in bytes (the image itself is served apart)."""

    id: int
    content_type: str
    size_bytes: int


@dataclass(frozen=True)
class StaffReward(Result):
    """A tip's reward decision as triage staff see it (amount in cents)."""

    status: str
    amount_cents: int
    reason: str


@dataclass(frozen=True)
class StaffTipView(Result):
    """A tip with its dialogue, attachments, link and reward, for triage."""

    tip_id: str
    kind: str
    behaviour_category: str | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    excerpt: str
    narrative: str
    messages: tuple[MessageView, ...]
    attachments: tuple[AttachmentInfo, ...]
    linked_incident_id: int | None
    closed_reason: str
    reward: StaffReward | None
    #: The linked incident as the agency knows it: complaint number, block address, category, day.
    linked_incident: Mapping[str, str | None] | None = None


def _summary(tip: Tip) -> TipSummary:
    return TipSummary(
        tip.public_id, tip.kind, tip.behaviour_category, tip.status, tip.created_at, tip.updated_at, tip.narrative[:120]
    )


def list_tips(core: OpenILP, user: UserInfo, request: TipListRequest | None = None) -> TipInbox:
    """The agency's tip inbox, most recently active first (the read is audited)."""
    request = (request or TipListRequest()).validate()
    require_permission(user, "tips:triage")
    with core.unit_of_work(user) as uow:
        query = select(Tip).where(Tip.agency_id == user.agency_id)
        if request.status:
            query = query.where(Tip.status == request.status)
        tips = uow.session.scalars(query.order_by(Tip.updated_at.desc(), Tip.id.desc()).limit(500)).all()
        uow.audit(action="search", object_type="tips", purpose="tip triage", details={"status": request.status})
        return TipInbox(tuple(_summary(t) for t in tips))


def staff_view(core: OpenILP, user: UserInfo, tip_id: str) -> StaffTipView:
    """A tip with its dialogue, attachments and reward, for triage (audited)."""
    with core.unit_of_work(user) as uow:
        session = uow.session
        tip = staff_tip(session, user, tip_id)
        attachments = session.scalars(
            select(TipAttachment).where(TipAttachment.tip_id == tip.id).order_by(TipAttachment.id)
        )
        reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
        uow.audit(action="read", object_type="tip", object_id=tip.public_id, purpose="tip triage")
        summary = _summary(tip)
        return StaffTipView(
            **{f.name: getattr(summary, f.name) for f in dataclasses.fields(summary)},
            narrative=tip.narrative,
            messages=messages_of(session, tip, staff=True),
            attachments=tuple(AttachmentInfo(a.id, a.content_type, a.size_bytes) for a in attachments),
            linked_incident_id=tip.linked_incident_id,
            linked_incident=_incident_label(session, tip.linked_incident_id),
            closed_reason=tip.closed_reason,
            reward=None if reward is None else StaffReward(reward.status, reward.amount_cents, reward.reason),
        )


def _incident_label(session: Session, incident_id: int | None) -> dict[str, str | None] | None:
    """How the agency names an incident: its complaint number and block address (ids stay internal)."""
    incident = session.get(Incident, incident_id) if incident_id is not None else None
    if incident is None:
        return None
    return {
        "complaint": incident.source_record_id,
        "block_address": incident.block_address,
        "category": incident.category_code,
        "occurred": incident.occurred_from.date().isoformat() if incident.occurred_from else None,
    }


def staff_reply(core: OpenILP, user: UserInfo, request: ReplyRequest) -> TipUpdated:
    """Reply to the tipster; they read it with their tip ID and secret."""
    request = request.validate()
    with core.unit_of_work(user) as uow:
        session, now = uow.session, uow.now
        tip = staff_tip(session, user, request.tip_id)
        text = clean_text(request.body, "reply", MAX_TEXT_CHARS, required=True)
        session.add(TipMessage(tip_id=tip.id, author="agency", author_user_id=user.id, body=text, created_at=now))
        if tip.status == "new":
            tip.status = "triaged"
            tip.triaged_by_id = user.id
        tip.updated_at = now
        session.flush()
        uow.audit(action="update", object_type="tip", object_id=tip.public_id, purpose="tip dialogue")
        return TipUpdated(tip.public_id, tip.status)


def link_incident(core: OpenILP, user: UserInfo, request: LinkRequest) -> TipUpdated:
    """Link a tip to one of the agency's incidents, found by complaint number (or record number)."""
    request = request.validate()
    with core.unit_of_work(user) as uow:
        session = uow.session
        tip = staff_tip(session, user, request.tip_id)
        incident = _incident_for(session, user.agency_id, request.incident_id)
        if incident is None:
            raise SubmissionError(
                "no such incident in your agency: none has the complaint number (or #record number) "
                f"{request.incident_id}",
                field="incident_id",
            )
        tip.linked_incident_id = incident.id
        tip.status = "linked"
        tip.triaged_by_id = user.id
        tip.updated_at = uow.now
        uow.audit(
            action="update",
            object_type="tip",
            object_id=tip.public_id,
            purpose="tip triage",
            details={"linked_incident_id": incident.id},
        )
        return TipUpdated(tip.public_id, tip.status)


def close_tip(core: OpenILP, user: UserInfo, request: CloseRequest) -> TipUpdated:
    """Close a tip with a reason (no further action)."""
    request = request.validate()
    with core.unit_of_work(user) as uow:
        tip = staff_tip(uow.session, user, request.tip_id)
        tip.closed_reason = clean_text(request.reason, "reason", 500, required=True)
        tip.status = "closed"
        tip.triaged_by_id = user.id
        tip.updated_at = uow.now
        uow.audit(
            action="update",
            object_type="tip",
            object_id=tip.public_id,
            purpose="tip triage",
            details={"status": "closed"},
        )
        return TipUpdated(tip.public_id, tip.status)


def convert_to_submission(core: OpenILP, user: UserInfo, request: ConvertRequest) -> RecordOutcome:
    """Turn a tip into a **pending** intelligence submission through the predicate gate."""
    request = request.validate()
    with core.unit_of_work(user) as uow:
        tip = staff_tip(uow.session, user, request.tip_id)
        if tip.status in ("converted", "closed"):
            raise SubmissionError(f"this tip is already {tip.status}")
        record = save_submission(
            uow, user, request.submission, use_agency_scheme=request.use_agency_scheme, source_tip_id=tip.id
        )
        tip.status = "converted"
        tip.triaged_by_id = user.id
        tip.updated_at = uow.now
        uow.audit(
            action="update",
            object_type="tip",
            object_id=tip.public_id,
            purpose="tip triage",
            details={"intel_record_id": record.id},
        )
        return RecordOutcome(record.id, record.status, record.source_reference, record.retention_expires_at)
