"""Dissemination of intelligence outside the owning agency (28 CFR 23.20(e), (f), (g)).

Every release is checked before anything leaves: a stated purpose (refusals are audited), a
written need-to-know, right-to-know (the recipient is a law-enforcement user of the recipient
agency) and a current sharing agreement on file with that agency (23.20(f)(1)). Only approved,
unexpired criminal intelligence goes out: pending records and temporary working files never do.
Each release writes a dissemination record (recipient, agency, reason, date, items), an audit
entry, and a notice to the recipient. Corrections and purges later notify every past recipient
(:func:`openilp.services.intel.common.notify_past_recipients`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from openilp.db.models import Agency, IntelDissemination, IntelPartnerAgreement, IntelRecord, Notification, User, utcnow
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.rules import MAX_TEXT_CHARS, SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.services.intel.agreements import add_agreement, has_current_agreement
from openilp.services.intel.common import (
    LAW_ENFORCEMENT_ROLES,
    agency_name,
    checked_purpose,
    load_record,
    notify,
    require_permission,
    user_label,
)

__all__ = [
    "RELEASABLE_ITEMS",
    "MIN_NEED_TO_KNOW_CHARS",
    "record_agreement",
    "disseminate",
    "disseminations_of",
    "received_disseminations",
    "notifications_for",
    "mark_notifications_read",
]

#: What a release may contain.
RELEASABLE_ITEMS: dict[str, str] = {
    "summary": "Title and summary",
    "subjects": "Criminal subjects",
    "labels": "Grading, handling code and sensitivity",
}
MIN_NEED_TO_KNOW_CHARS = 10


def record_agreement(
    session: Session,
    actor: UserInfo,
    partner_agency_code: str,
    *,
    document_reference: str,
    version: str,
    signed_at: dt.datetime,
    expires_at: dt.datetime | None = None,
    scope: str = "releases_and_search",
) -> IntelPartnerAgreement:
    """Put a partner agency's signed agreement on file (:func:`openilp.services.intel.agreements.add_agreement`)."""
    return add_agreement(
        session,
        actor,
        partner_agency_code=partner_agency_code,
        reference=document_reference,
        version=version,
        valid_from=signed_at,
        valid_to=expires_at,
        scope=scope,
    )


def disseminate(
    session: Session,
    actor: UserInfo,
    record_id: int,
    *,
    recipient_agency_code: str,
    recipient_username: str,
    purpose: str | None,
    need_to_know: str,
    items: list[str],
    now: dt.datetime | None = None,
) -> IntelDissemination:
    """Release a record to a named user of another agency, after every check; return the log entry.

    Raises
    ------
    PurposeRequired
        No purpose stated (the refusal is audited: commit before answering).
    IntelForbidden
        Role, right-to-know or agreement missing; the record is not releasable.
    IntelNotFound
        No such record in the actor's agency.
    SubmissionError
        Missing need-to-know, bad items, unknown recipient.
    """
    require_permission(actor, "intel:disseminate")
    record = load_record(session, record_id)
    if record.agency_id != actor.agency_id:
        raise IntelNotFound("no such record")
    text = checked_purpose(
        session, actor, purpose, action="disseminate", object_type="intel_record", object_id=str(record.id)
    )
    now = now or utcnow()
    if record.status != "approved" or record.retention_expires_at is None or record.retention_expires_at <= now:
        raise IntelForbidden("only approved, unexpired intelligence can be disseminated (this record is not)")
    if record.file_type != "permanent":
        raise IntelForbidden("temporary working files are never disseminated")
    need = clean_text(need_to_know, "need_to_know", MAX_TEXT_CHARS)
    if len(need) < MIN_NEED_TO_KNOW_CHARS:
        raise SubmissionError(f"state the recipient's need to know (at least {MIN_NEED_TO_KNOW_CHARS} characters)")
    chosen = [item for item in dict.fromkeys(items)]
    if not chosen or any(item not in RELEASABLE_ITEMS for item in chosen):
        raise SubmissionError(f"choose the items to release from: {', '.join(RELEASABLE_ITEMS)}")
    agency = session.scalars(select(Agency).where(Agency.code == recipient_agency_code)).one_or_none()
    if agency is None:
        raise SubmissionError(f"unknown recipient agency {recipient_agency_code!r}")
    if agency.id == actor.agency_id:
        raise SubmissionError("that is your own agency: colleagues read the record directly, no release is needed")
    recipient = session.scalars(
        select(User).where(User.username == recipient_username.strip().lower(), User.agency_id == agency.id)
    ).one_or_none()
    if recipient is None or not recipient.is_active:
        raise SubmissionError(f"no active user {recipient_username!r} in {agency.code}")
    if recipient.role not in LAW_ENFORCEMENT_ROLES:
        raise IntelForbidden(
            f"{recipient.username} is not a law-enforcement user (role {recipient.role}): no right to know (23.20(e))"
        )
    if not has_current_agreement(session, actor.agency_id, agency.id, now):
        raise IntelForbidden(f"no current sharing agreement with {agency.code} is on file (23.20(f)(1))")
    release = IntelDissemination(
        record_id=record.id,
        kind="release",
        released_by_id=actor.id,
        recipient_agency_id=agency.id,
        recipient_user_id=recipient.id,
        recipient_name=recipient.full_name or recipient.username,
        reason=text,
        need_to_know=need,
        items=json.dumps(chosen),
        handling_conditions=record.handling_conditions,
        released_at=now,
    )
    session.add(release)
    session.flush()
    conditions = f" Handling conditions: {record.handling_conditions}" if record.handling_code == "C" else ""
    notify(
        session,
        agency_id=agency.id,
        user_id=recipient.id,
        kind="dissemination_received",
        message=f"{actor.agency_name} released intelligence record #{record.id} to you.{conditions}",
        record_id=record.id,
        now=now,
    )
    record_event(
        session,
        action="disseminate",
        object_type="intel_record",
        object_id=str(record.id),
        actor=actor,
        purpose=text,
        details={"recipient": recipient.username, "recipient_agency": agency.code, "items": chosen},
    )
    return release


def _dissemination_dict(session: Session, row: IntelDissemination) -> dict[str, Any]:
    return {
        "id": row.id,
        "record_id": row.record_id,
        "kind": row.kind,
        "released_by": user_label(session, row.released_by_id),
        "recipient": row.recipient_name,
        "recipient_agency": agency_name(session, row.recipient_agency_id),
        "reason": row.reason,
        "need_to_know": row.need_to_know,
        "items": json.loads(row.items),
        "handling_conditions": row.handling_conditions,
        "released_at": row.released_at.isoformat(),
        "imminent_danger": row.imminent_danger,
        "assessment": row.assessment,
    }


def disseminations_of(session: Session, user: UserInfo, record_id: int) -> list[dict[str, Any]]:
    """The dissemination log of one of the user's agency's records (who, agency, reason, date, items)."""
    require_permission(user, "intel:disseminate")
    record = load_record(session, record_id)
    if record.agency_id != user.agency_id:
        raise IntelNotFound("no such record")
    rows = session.scalars(
        select(IntelDissemination).where(IntelDissemination.record_id == record.id).order_by(IntelDissemination.id)
    )
    return [_dissemination_dict(session, row) for row in rows]


def received_disseminations(session: Session, user: UserInfo) -> list[dict[str, Any]]:
    """Releases made to the user's agency, newest first."""
    require_permission(user, "intel:received")
    rows = session.scalars(
        select(IntelDissemination)
        .join(IntelRecord, IntelRecord.id == IntelDissemination.record_id)
        .where(IntelDissemination.recipient_agency_id == user.agency_id)
        .order_by(IntelDissemination.id.desc())
        .limit(200)
    )
    return [_dissemination_dict(session, row) for row in rows]


def _mine(user: UserInfo) -> Any:
    return (Notification.agency_id == user.agency_id) & or_(
        Notification.user_id.is_(None), Notification.user_id == user.id
    )


def notifications_for(session: Session, user: UserInfo, *, limit: int = 100) -> list[dict[str, Any]]:
    """The user's notices (personal and agency-wide), newest first."""
    require_permission(user, "notifications:read")
    rows = session.scalars(select(Notification).where(_mine(user)).order_by(Notification.id.desc()).limit(limit))
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "message": n.message,
            "record_id": n.record_id,
            "created_at": n.created_at.isoformat(),
            "read": n.read_at is not None,
        }
        for n in rows
    ]


def mark_notifications_read(session: Session, user: UserInfo, now: dt.datetime | None = None) -> None:
    """Mark the user's personal notices read."""
    session.execute(
        update(Notification)
        .where(
            Notification.agency_id == user.agency_id, Notification.user_id == user.id, Notification.read_at.is_(None)
        )
        .values(read_at=now or utcnow())
    )
