"""Dissemination of intelligence outside the owning agency (28 CFR 23.20(e), (f), (g)), and notices.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import IntelDissemination, IntelRecord, Notification
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.rules import MAX_TEXT_CHARS, SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.intel.audience import NOBODY, AudienceRequest, resolve_audience
from openilp.services.intel.common import (
    agency_name,
    checked_purpose,
    load_record,
    notify,
    released_to,
    require_permission,
    user_label,
)

__all__ = [
    "RELEASABLE_ITEMS",
    "MIN_NEED_TO_KNOW_CHARS",
    "DisseminationRequest",
    "Release",
    "DisseminationEntry",
    "DisseminationLog",
    "Notice",
    "Notices",
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


@dataclass(frozen=True)
class DisseminationRequest(Request):
    """A release: the record, the named recipient and agency, purpose, need to know, items."""

    record_id: int
    recipient_agency: str = ""
    recipient_username: str = ""
    purpose: str | None = None
    need_to_know: str = ""
    items: Sequence[str] = field(default_factory=tuple)
    #: Address the release to a sharing group instead of a named recipient (every member's recipients).
    sharing_group_id: int | None = None
    #: TLP 2.0 level of the release: empty keeps the record's; it may narrow, never widen.
    tlp: str = ""


@dataclass(frozen=True)
class Release(Result):
    """One row of the dissemination log just written (a release or an emergency release)."""

    dissemination_id: int
    record_id: int
    kind: str
    imminent_danger: bool
    recipient: str
    released_at: dt.datetime
    tlp: str = ""
    #: Every log row the release wrote (one per recipient) and who they went to (``AGENCY/username``).
    dissemination_ids: tuple[int, ...] = ()
    recipients: tuple[str, ...] = ()


def _release(row: IntelDissemination, rows: Sequence[IntelDissemination] = ()) -> Release:
    every = tuple(rows) or (row,)
    return Release(
        row.id,
        row.record_id,
        row.kind,
        bool(row.imminent_danger),
        row.recipient_name,
        row.released_at,
        row.tlp,
        tuple(r.id for r in every),
        tuple(r.recipient_name for r in every),
    )


def disseminate(core: OpenILP, actor: UserInfo, request: DisseminationRequest) -> Release:
    """Release a record to a named user of another agency, or to a sharing group, after every check.

    The recipients are exactly those :func:`openilp.services.intel.audience.preview_release` shows
    for the same request (one log row, notice and right to read per recipient).

    Raises
    ------
    PurposeRequired
        No purpose stated (the refusal is audited and kept).
    IntelForbidden
        Role, right-to-know or agreement missing; the record is not releasable.
    IntelNotFound
        No such record in the actor's agency.
    SubmissionError
        Missing need-to-know, bad items, unknown recipient.
    """
    request = request.validate()
    require_permission(actor, "intel:disseminate")
    with core.unit_of_work(actor) as uow:
        session, now = uow.session, uow.now
        record = load_record(session, request.record_id)
        if record.agency_id != actor.agency_id:
            raise IntelNotFound("no such record")
        text = checked_purpose(
            uow, request.purpose, action="disseminate", object_type="intel_record", object_id=record.id
        )
        if record.status != "approved" or record.retention_expires_at is None or record.retention_expires_at <= now:
            raise IntelForbidden("only approved, unexpired intelligence can be disseminated (this record is not)")
        if record.file_type != "permanent":
            raise IntelForbidden("temporary working files are never disseminated")
        need = clean_text(request.need_to_know, "need_to_know", MAX_TEXT_CHARS)
        if len(need) < MIN_NEED_TO_KNOW_CHARS:
            raise SubmissionError(f"state the recipient's need to know (at least {MIN_NEED_TO_KNOW_CHARS} characters)")
        chosen = list(dict.fromkeys(request.items))
        if not chosen or any(item not in RELEASABLE_ITEMS for item in chosen):
            raise SubmissionError(f"choose the items to release from: {', '.join(RELEASABLE_ITEMS)}")
        audience, recipients = resolve_audience(
            session,
            actor,
            record,
            AudienceRequest(
                record.id, request.recipient_agency, request.recipient_username, request.sharing_group_id, request.tlp
            ),
            now,
        )
        if audience.refusal is not None:
            excluded = [a for a in audience.agencies if not a.included]
            nobody = audience.refusal.startswith(NOBODY)
            if nobody and audience.target == "user" and len(excluded) == 1 and excluded[0].reason:
                raise IntelForbidden(excluded[0].reason)
            raise IntelForbidden(audience.refusal)
        rows: list[IntelDissemination] = []
        for recipient in recipients:
            row = IntelDissemination(
                record_id=record.id,
                kind="release",
                released_by_id=actor.id,
                recipient_agency_id=recipient.agency.id,
                recipient_user_id=recipient.user.id,
                recipient_name=recipient.user.full_name or recipient.user.username,
                reason=text,
                need_to_know=need,
                items=json.dumps(chosen),
                handling_conditions=record.handling_conditions,
                released_at=now,
                tlp=audience.tlp,
                sharing_group_id=audience.group_id,
            )
            session.add(row)
            rows.append(row)
        session.flush()
        conditions = f" Handling conditions: {record.handling_conditions}" if record.handling_code == "C" else ""
        via = f" (sharing group {audience.group_name})" if audience.group_name else ""
        for recipient in recipients:
            notify(
                session,
                agency_id=recipient.agency.id,
                user_id=recipient.user.id,
                kind="dissemination_received",
                message=f"{actor.agency_name} released intelligence record #{record.id} to you{via}, "
                f"marked {audience.tlp}.{conditions}",
                record_id=record.id,
                now=now,
            )
        details: dict[str, Any] = {
            "recipient": recipients[0].user.username if len(recipients) == 1 else None,
            "recipient_agency": recipients[0].agency.code if len(recipients) == 1 else None,
            "items": chosen,
            "tlp": audience.tlp,
        }
        if audience.group_id is not None:
            details |= {
                "sharing_group": audience.group_id,
                "recipients": [f"{r.agency.code}/{r.user.username}" for r in recipients],
            }
        uow.audit(action="disseminate", object_type="intel_record", object_id=record.id, purpose=text, details=details)
        return _release(rows[0], rows)


@dataclass(frozen=True)
class DisseminationEntry(Result):
    """One row of a dissemination log: who released what to whom, why and when."""

    id: int
    record_id: int
    kind: str
    released_by: str
    recipient: str
    recipient_agency: str
    reason: str
    need_to_know: str
    items: tuple[str, ...]
    handling_conditions: str
    released_at: dt.datetime
    imminent_danger: bool
    assessment: str | None
    tlp: str = ""
    #: The sharing group the release was addressed to, if any.
    sharing_group_id: int | None = None
    #: The record's 28 CFR handling code (``P`` or ``C``), shown beside the release's TLP level.
    handling_code: str = ""


@dataclass(frozen=True)
class DisseminationLog(Result):
    """Dissemination log rows (of one record, or received by the user's agency)."""

    entries: tuple[DisseminationEntry, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """The entries as JSON-ready dicts (what pages and the API show)."""
        return [e.as_dict() for e in self.entries]


def _entry(session: Session, row: IntelDissemination) -> DisseminationEntry:
    return DisseminationEntry(
        id=row.id,
        record_id=row.record_id,
        kind=row.kind,
        released_by=user_label(session, row.released_by_id),
        recipient=row.recipient_name,
        recipient_agency=agency_name(session, row.recipient_agency_id),
        reason=row.reason,
        need_to_know=row.need_to_know,
        items=tuple(json.loads(row.items)),
        handling_conditions=row.handling_conditions,
        released_at=row.released_at,
        imminent_danger=bool(row.imminent_danger),
        assessment=row.assessment,
        tlp=row.tlp,
        sharing_group_id=row.sharing_group_id,
        handling_code=_handling_code(session, row.record_id),
    )


def _handling_code(session: Session, record_id: int) -> str:
    record = session.get(IntelRecord, record_id)
    return record.handling_code if record is not None else ""


def disseminations_of(core: OpenILP, user: UserInfo, record_id: int) -> DisseminationLog:
    """The dissemination log of one of the user's agency's records (who, agency, reason, date, items)."""
    require_permission(user, "intel:disseminate")
    with core.unit_of_work(user) as uow:
        session = uow.session
        record = load_record(session, record_id)
        if record.agency_id != user.agency_id:
            raise IntelNotFound("no such record")
        rows = session.scalars(
            select(IntelDissemination).where(IntelDissemination.record_id == record.id).order_by(IntelDissemination.id)
        )
        return DisseminationLog(tuple(_entry(session, row) for row in rows))


def received_disseminations(core: OpenILP, user: UserInfo) -> DisseminationLog:
    """Releases made to the user by name, newest first (a colleague's releases are theirs alone)."""
    require_permission(user, "intel:received")
    with core.unit_of_work(user) as uow:
        session = uow.session
        rows = session.scalars(
            select(IntelDissemination)
            .join(IntelRecord, IntelRecord.id == IntelDissemination.record_id)
            .where(released_to(user))
            .order_by(IntelDissemination.id.desc())
            .limit(200)
        )
        return DisseminationLog(tuple(_entry(session, row) for row in rows))


@dataclass(frozen=True)
class Notice(Result):
    """An in-app notice: correction, purge, restricted hit, release received, tip."""

    id: int
    kind: str
    message: str
    record_id: int | None
    created_at: dt.datetime
    read: bool


@dataclass(frozen=True)
class Notices(Result):
    """The user's notices, newest first; ``marked_read`` counts notices just marked read."""

    notices: tuple[Notice, ...] = ()
    marked_read: int = 0

    def rows(self) -> list[dict[str, Any]]:
        """The notices as JSON-ready dicts."""
        return [n.as_dict() for n in self.notices]


def _mine(user: UserInfo) -> Any:
    return (Notification.agency_id == user.agency_id) & or_(
        Notification.user_id.is_(None), Notification.user_id == user.id
    )


def notifications_for(core: OpenILP, user: UserInfo, limit: int = 100) -> Notices:
    """The user's notices (personal and agency-wide), newest first."""
    require_permission(user, "notifications:read")
    with core.unit_of_work(user) as uow:
        rows = uow.session.scalars(
            select(Notification).where(_mine(user)).order_by(Notification.id.desc()).limit(limit)
        )
        return Notices(
            tuple(Notice(n.id, n.kind, n.message, n.record_id, n.created_at, n.read_at is not None) for n in rows)
        )


def mark_notifications_read(core: OpenILP, user: UserInfo) -> Notices:
    """Mark the user's personal notices read; ``marked_read`` says how many."""
    with core.unit_of_work(user) as uow:
        done = uow.session.execute(
            update(Notification)
            .where(
                Notification.agency_id == user.agency_id,
                Notification.user_id == user.id,
                Notification.read_at.is_(None),
            )
            .values(read_at=uow.now)
        )
        return Notices(marked_read=int(getattr(done, "rowcount", 0) or 0))
