"""Community tips and suspicious-activity reports: anonymous intake, dialogue, triage, rewards.

Nothing about the tipster is stored or logged: these functions take no request, IP address or
user agent, and the audit entries they write name no tipster (actor None). The tipster gets a
random tip ID and a secret (stored only as an argon2 hash) to read replies and add information.
A wrong ID or secret gives the same answer as an unknown ID, after the same hashing work.

Analysts triage tips: link to an incident, turn into an intelligence submission (which then
passes the predicate gate and review like any other, :func:`convert_to_submission`), or close.
Suspicious-activity reports (kind ``sar``, with an ISE-SAR behaviour category) follow the same
path and stay in the tip store, apart from intelligence files, until vetted.

Rewards are keyed by tip ID only: a supervisor approves an amount; the tipster collects a payout
code with the tip ID and secret (shown once, stored as a hash); the payer checks the tip ID and
code. Nobody on the agency side ever learns who the tipster is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.models import Agency, Incident, Tip, TipAttachment, TipMessage, TipReward, utcnow
from openilp.intel.errors import IntelForbidden, IntelNotFound, RecordedRefusal
from openilp.intel.images import CleanImage, strip_image
from openilp.intel.rules import MAX_TEXT_CHARS, Submission, SubmissionError, clean_text
from openilp.intel.tipcodes import (
    SAR_CATEGORIES,
    TIP_KINDS,
    is_tip_id,
    new_payout_code,
    new_secret,
    new_tip_id,
    normalise_tip_id,
)
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.security.passwords import dummy_verify, hash_password, verify_password
from openilp.services.intel.common import notify, require_permission, user_label
from openilp.services.intel.records import submit_record

__all__ = [
    "MIN_NARRATIVE_CHARS",
    "MAX_ATTACHMENTS",
    "NewTip",
    "TIP_NOT_FOUND",
    "submit_tip",
    "tipster_view",
    "tipster_add_message",
    "list_tips",
    "staff_view",
    "staff_reply",
    "link_incident",
    "close_tip",
    "convert_to_submission",
    "approve_reward",
    "reward_view",
    "list_rewards",
    "collect_payout_code",
    "record_payout",
    "unlock_reward",
    "MAX_PAYOUT_ATTEMPTS",
]

MIN_NARRATIVE_CHARS = 10
#: Wrong payout codes allowed before a reward is locked (guessing a code must not pay out).
MAX_PAYOUT_ATTEMPTS = 5
MAX_ATTACHMENTS = 3
#: The one answer for an unknown tip ID or a wrong secret.
TIP_NOT_FOUND = "No tip matches this tip ID and secret."


@dataclass(frozen=True)
class NewTip:
    """What the tipster must keep: shown once, never stored in clear."""

    tip_id: str
    secret: str


def _clean_attachments(files: list[bytes]) -> list[CleanImage]:
    """Every attachment re-encoded without metadata, or SubmissionError before anything is stored."""
    if len(files) > MAX_ATTACHMENTS:
        raise SubmissionError(f"at most {MAX_ATTACHMENTS} attachments")
    cleaned = []
    for data in files:
        try:
            cleaned.append(strip_image(data))
        except ValueError as exc:
            raise SubmissionError(str(exc)) from exc
    return cleaned


def _store_attachments(session: Session, tip: Tip, images: list[CleanImage], now: dt.datetime) -> None:
    for image in images:
        session.add(
            TipAttachment(
                tip_id=tip.id,
                content_type=image.content_type,
                size_bytes=len(image.data),
                sha256=hashlib.sha256(image.data).hexdigest(),
                data=image.data,
                created_at=now,
            )
        )


def submit_tip(
    session: Session,
    *,
    agency_code: str,
    kind: str,
    narrative: str,
    behaviour_category: str | None = None,
    attachments: list[bytes] | None = None,
    now: dt.datetime | None = None,
) -> NewTip:
    """Store an anonymous tip or SAR and return its tip ID and secret (nothing stored on error)."""
    if kind not in TIP_KINDS:
        raise SubmissionError(f"kind must be one of: {', '.join(TIP_KINDS)}")
    text = clean_text(narrative, "narrative", MAX_TEXT_CHARS)
    if len(text) < MIN_NARRATIVE_CHARS:
        raise SubmissionError(f"describe what you saw (at least {MIN_NARRATIVE_CHARS} characters)")
    category = (behaviour_category or "").strip() or None
    if kind == "sar":
        if category not in SAR_CATEGORIES:
            raise SubmissionError(f"choose the behaviour you observed: {', '.join(SAR_CATEGORIES)}")
    elif category is not None:
        raise SubmissionError("a behaviour category belongs to suspicious-activity reports only")
    agency = session.scalars(select(Agency).where(Agency.code == str(agency_code))).one_or_none()
    if agency is None:
        raise SubmissionError("unknown agency")
    images = _clean_attachments(attachments or [])
    now = now or utcnow()
    secret = new_secret()
    tip = Tip(
        public_id=new_tip_id(),
        secret_hash=hash_password(secret),
        agency_id=agency.id,
        kind=kind,
        behaviour_category=category,
        narrative=text,
        status="new",
        created_at=now,
        updated_at=now,
        closed_reason="",
    )
    session.add(tip)
    session.flush()
    _store_attachments(session, tip, images, now)
    notify(
        session,
        agency_id=agency.id,
        kind="tip_received",
        message=f"New {TIP_KINDS[kind].lower()} {tip.public_id}.",
        now=now,
    )
    record_event(session, action="create", object_type="tip", object_id=tip.public_id, actor=None, agency_id=agency.id)
    return NewTip(tip.public_id, secret)


def _tip_for_tipster(session: Session, tip_id: str, secret: str) -> Tip:
    normalised = normalise_tip_id(str(tip_id))[:40]
    secret = str(secret)[:200]
    tip = (
        session.scalars(select(Tip).where(Tip.public_id == normalised)).one_or_none() if is_tip_id(normalised) else None
    )
    if tip is None:
        dummy_verify(secret)
        raise IntelNotFound(TIP_NOT_FOUND)
    if not verify_password(tip.secret_hash, secret):
        raise IntelNotFound(TIP_NOT_FOUND)
    return tip


def _messages(session: Session, tip: Tip, *, staff: bool) -> list[dict[str, Any]]:
    rows = session.scalars(select(TipMessage).where(TipMessage.tip_id == tip.id).order_by(TipMessage.id))
    return [
        {
            "author": m.author,
            "body": m.body,
            "created_at": m.created_at.isoformat(),
            **({"by": user_label(session, m.author_user_id)} if staff else {}),
        }
        for m in rows
    ]


def _reward_for_tipster(session: Session, tip: Tip) -> dict[str, Any] | None:
    reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
    if reward is None or reward.status == "declined":
        return None
    return {"status": reward.status, "amount_cents": reward.amount_cents}


def tipster_view(session: Session, tip_id: str, secret: str) -> dict[str, Any]:
    """What the tipster may see: status, their text, the dialogue and any reward."""
    tip = _tip_for_tipster(session, tip_id, secret)
    record_event(
        session, action="read", object_type="tip", object_id=tip.public_id, actor=None, agency_id=tip.agency_id
    )
    return {
        "tip_id": tip.public_id,
        "kind": tip.kind,
        "status": "closed" if tip.status == "closed" else "open",
        "narrative": tip.narrative,
        "messages": _messages(session, tip, staff=False),
        "reward": _reward_for_tipster(session, tip),
    }


def tipster_add_message(
    session: Session,
    tip_id: str,
    secret: str,
    body: str,
    *,
    attachments: list[bytes] | None = None,
    now: dt.datetime | None = None,
) -> None:
    """The tipster adds information (text, optional images) to their tip."""
    tip = _tip_for_tipster(session, tip_id, secret)
    text = clean_text(body, "message", MAX_TEXT_CHARS, required=True)
    images = _clean_attachments(attachments or [])
    now = now or utcnow()
    session.add(TipMessage(tip_id=tip.id, author="tipster", author_user_id=None, body=text, created_at=now))
    _store_attachments(session, tip, images, now)
    tip.updated_at = now
    notify(
        session, agency_id=tip.agency_id, kind="tip_message", message=f"The tipster added to {tip.public_id}.", now=now
    )
    record_event(
        session, action="update", object_type="tip", object_id=tip.public_id, actor=None, agency_id=tip.agency_id
    )


# --- staff side --------------------------------------------------------------------------------


def _staff_tip(session: Session, user: UserInfo, tip_id: str, permission: str = "tips:triage") -> Tip:
    require_permission(user, permission)
    tip = session.scalars(select(Tip).where(Tip.public_id == str(tip_id)[:40])).one_or_none()
    if tip is None or tip.agency_id != user.agency_id:
        raise IntelNotFound("no such tip")
    return tip


def _tip_summary(tip: Tip) -> dict[str, Any]:
    return {
        "tip_id": tip.public_id,
        "kind": tip.kind,
        "behaviour_category": tip.behaviour_category,
        "status": tip.status,
        "created_at": tip.created_at.isoformat(),
        "updated_at": tip.updated_at.isoformat(),
        "excerpt": tip.narrative[:120],
    }


def list_tips(session: Session, user: UserInfo, *, status: str | None = None) -> list[dict[str, Any]]:
    """The agency's tip inbox, most recently active first."""
    require_permission(user, "tips:triage")
    query = select(Tip).where(Tip.agency_id == user.agency_id)
    if status:
        query = query.where(Tip.status == status)
    tips = session.scalars(query.order_by(Tip.updated_at.desc(), Tip.id.desc()).limit(500)).all()
    record_event(
        session, action="search", object_type="tips", actor=user, purpose="tip triage", details={"status": status}
    )
    return [_tip_summary(t) for t in tips]


def staff_view(session: Session, user: UserInfo, tip_id: str) -> dict[str, Any]:
    """A tip with its dialogue, attachments and reward, for triage (audited)."""
    tip = _staff_tip(session, user, tip_id)
    attachments = session.scalars(
        select(TipAttachment).where(TipAttachment.tip_id == tip.id).order_by(TipAttachment.id)
    )
    reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
    record_event(session, action="read", object_type="tip", object_id=tip.public_id, actor=user, purpose="tip triage")
    return {
        **_tip_summary(tip),
        "narrative": tip.narrative,
        "messages": _messages(session, tip, staff=True),
        "attachments": [{"id": a.id, "content_type": a.content_type, "size_bytes": a.size_bytes} for a in attachments],
        "linked_incident_id": tip.linked_incident_id,
        "closed_reason": tip.closed_reason,
        "reward": None
        if reward is None
        else {"status": reward.status, "amount_cents": reward.amount_cents, "reason": reward.reason},
    }


def staff_reply(session: Session, user: UserInfo, tip_id: str, body: str, *, now: dt.datetime | None = None) -> None:
    """Reply to the tipster; they read it with their tip ID and secret."""
    tip = _staff_tip(session, user, tip_id)
    text = clean_text(body, "reply", MAX_TEXT_CHARS, required=True)
    now = now or utcnow()
    session.add(TipMessage(tip_id=tip.id, author="agency", author_user_id=user.id, body=text, created_at=now))
    if tip.status == "new":
        tip.status = "triaged"
        tip.triaged_by_id = user.id
    tip.updated_at = now
    session.flush()
    record_event(
        session, action="update", object_type="tip", object_id=tip.public_id, actor=user, purpose="tip dialogue"
    )


def link_incident(session: Session, user: UserInfo, tip_id: str, incident_id: int) -> None:
    """Link a tip to one of the agency's incidents."""
    tip = _staff_tip(session, user, tip_id)
    incident = session.get(Incident, incident_id)
    if incident is None or incident.agency_id != user.agency_id:
        raise SubmissionError("no such incident in your agency")
    tip.linked_incident_id = incident.id
    tip.status = "linked"
    tip.triaged_by_id = user.id
    tip.updated_at = utcnow()
    record_event(
        session,
        action="update",
        object_type="tip",
        object_id=tip.public_id,
        actor=user,
        purpose="tip triage",
        details={"linked_incident_id": incident.id},
    )


def close_tip(session: Session, user: UserInfo, tip_id: str, reason: str) -> None:
    """Close a tip with a reason (no further action)."""
    tip = _staff_tip(session, user, tip_id)
    tip.closed_reason = clean_text(reason, "reason", 500, required=True)
    tip.status = "closed"
    tip.triaged_by_id = user.id
    tip.updated_at = utcnow()
    record_event(
        session,
        action="update",
        object_type="tip",
        object_id=tip.public_id,
        actor=user,
        purpose="tip triage",
        details={"status": "closed"},
    )


def convert_to_submission(session: Session, user: UserInfo, tip_id: str, submission: Submission) -> int:
    """Turn a tip into a **pending** intelligence submission through the predicate gate; return its id."""
    tip = _staff_tip(session, user, tip_id)
    if tip.status in ("converted", "closed"):
        raise SubmissionError(f"this tip is already {tip.status}")
    record = submit_record(session, user, submission, source_tip_id=tip.id)
    tip.status = "converted"
    tip.triaged_by_id = user.id
    tip.updated_at = utcnow()
    record_event(
        session,
        action="update",
        object_type="tip",
        object_id=tip.public_id,
        actor=user,
        purpose="tip triage",
        details={"intel_record_id": record.id},
    )
    return record.id


def approve_reward(
    session: Session, user: UserInfo, tip_id: str, *, amount_cents: int, reason: str, now: dt.datetime | None = None
) -> TipReward:
    """Approve a reward for a tip (board or supervisor decision); keyed by tip only."""
    tip = _staff_tip(session, user, tip_id, "tips:rewards")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or not 100 <= amount_cents <= 10_000_00:
        raise SubmissionError("the amount must be between 1.00 and 10,000.00")
    if session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none() is not None:
        raise SubmissionError("this tip already has a reward decision")
    now = now or utcnow()
    reward = TipReward(
        tip_id=tip.id,
        status="approved",
        amount_cents=amount_cents,
        reason=clean_text(reason, "reason", 500, required=True),
        decided_by_id=user.id,
        decided_at=now,
    )
    session.add(reward)
    session.add(
        TipMessage(
            tip_id=tip.id,
            author="agency",
            author_user_id=user.id,
            created_at=now,
            body=f"A reward of {amount_cents / 100:,.2f} has been approved. Collect your payout code on this page.",
        )
    )
    session.flush()
    record_event(
        session,
        action="approve",
        object_type="tip_reward",
        object_id=tip.public_id,
        actor=user,
        purpose="reward decision",
        details={"amount_cents": amount_cents},
    )
    return reward


def _reward_dict(session: Session, reward: TipReward) -> dict[str, Any]:
    return {
        "status": reward.status,
        "amount_cents": reward.amount_cents,
        "reason": reward.reason,
        "decided_by": user_label(session, reward.decided_by_id),
        "decided_at": reward.decided_at.isoformat(),
        "code_issued_at": reward.code_issued_at.isoformat() if reward.code_issued_at else None,
        "paid_at": reward.paid_at.isoformat() if reward.paid_at else None,
        "paid_by": user_label(session, reward.paid_by_id),
        "failed_payout_attempts": reward.failed_payout_attempts,
        "locked_at": reward.locked_at.isoformat() if reward.locked_at else None,
    }


def reward_view(session: Session, user: UserInfo, tip_id: str) -> dict[str, Any]:
    """A tip's reward state for whoever decides and pays rewards (``tips:rewards``).

    Shows the tip's triage outcome and the reward decision, never the narrative's author (unknown)
    and never the payout code (only its hash exists).
    """
    tip = _staff_tip(session, user, tip_id, "tips:rewards")
    reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
    record_event(
        session, action="read", object_type="tip_reward", object_id=tip.public_id, actor=user, purpose="reward decision"
    )
    return {
        "tip_id": tip.public_id,
        "kind": tip.kind,
        "status": tip.status,
        "created_at": tip.created_at.isoformat(),
        "linked_incident_id": tip.linked_incident_id,
        "closed_reason": tip.closed_reason,
        "reward": None if reward is None else _reward_dict(session, reward),
    }


def list_rewards(session: Session, user: UserInfo) -> list[dict[str, Any]]:
    """Every reward decision of the agency, newest first (``tips:rewards``)."""
    require_permission(user, "tips:rewards")
    rows = session.execute(
        select(TipReward, Tip.public_id)
        .join(Tip, Tip.id == TipReward.tip_id)
        .where(Tip.agency_id == user.agency_id)
        .order_by(TipReward.decided_at.desc(), TipReward.id.desc())
        .limit(500)
    ).all()
    return [{"tip_id": public_id, **_reward_dict(session, reward)} for reward, public_id in rows]


def collect_payout_code(session: Session, tip_id: str, secret: str, *, now: dt.datetime | None = None) -> str:
    """The tipster collects the payout code (once); only its hash is kept."""
    tip = _tip_for_tipster(session, tip_id, secret)
    reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
    if reward is None or reward.status != "approved":
        raise IntelForbidden("there is no approved reward waiting for a payout code on this tip")
    code = new_payout_code()
    reward.payout_code_hash = hash_password(code)
    reward.code_issued_at = now or utcnow()
    reward.status = "code_issued"
    record_event(
        session, action="update", object_type="tip_reward", object_id=tip.public_id, actor=None, agency_id=tip.agency_id
    )
    return code


def record_payout(
    session: Session, user: UserInfo, tip_id: str, payout_code: str, *, now: dt.datetime | None = None
) -> None:
    """Pay a reward to whoever presents the tip ID and payout code (identity never asked).

    Each wrong code is counted and audited (``payout_refused``); the :data:`MAX_PAYOUT_ATTEMPTS`-th
    locks the reward (``payout_locked``) until an administrator unlocks it (:func:`unlock_reward`).
    A wrong code raises :class:`~openilp.intel.errors.RecordedRefusal`: commit before answering.
    """
    tip = _staff_tip(session, user, tip_id, "tips:rewards")
    reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
    if reward is not None and reward.status == "locked":
        raise IntelForbidden(
            f"this reward is locked after {MAX_PAYOUT_ATTEMPTS} wrong payout codes: an administrator must unlock it"
        )
    if reward is None or reward.status != "code_issued" or reward.payout_code_hash is None:
        raise IntelForbidden("no payout code has been issued for this tip")
    now = now or utcnow()
    if not verify_password(reward.payout_code_hash, str(payout_code).strip().upper()[:40]):
        reward.failed_payout_attempts += 1
        left = MAX_PAYOUT_ATTEMPTS - reward.failed_payout_attempts
        locked = left <= 0
        if locked:
            reward.status = "locked"
            reward.locked_at = now
        record_event(
            session,
            action="payout_locked" if locked else "payout_refused",
            object_type="tip_reward",
            object_id=tip.public_id,
            actor=user,
            purpose="reward payout",
            details={"failed_attempts": reward.failed_payout_attempts},
        )
        session.flush()
        if locked:
            raise RecordedRefusal(
                f"the payout code does not match; after {MAX_PAYOUT_ATTEMPTS} wrong codes the reward is locked "
                "and an administrator must unlock it"
            )
        raise RecordedRefusal(f"the payout code does not match ({left} attempt{'s' if left != 1 else ''} left)")
    reward.status = "paid"
    reward.paid_at = now
    reward.paid_by_id = user.id
    record_event(
        session, action="update", object_type="tip_reward", object_id=tip.public_id, actor=user, purpose="reward payout"
    )


def unlock_reward(session: Session, user: UserInfo, tip_id: str, *, reason: str) -> None:
    """Unlock a reward locked by wrong payout codes (administrators, ``tips:unlock``; audited)."""
    tip = _staff_tip(session, user, tip_id, "tips:unlock")
    reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
    if reward is None or reward.status != "locked":
        raise SubmissionError("this reward is not locked")
    text = clean_text(reason, "reason", 500)
    if len(text) < 10:
        raise SubmissionError("reason: explain why the reward is unlocked (at least 10 characters)")
    was_locked_at = reward.locked_at
    reward.status = "code_issued"
    reward.failed_payout_attempts = 0
    reward.locked_at = None
    record_event(
        session,
        action="payout_unlocked",
        object_type="tip_reward",
        object_id=tip.public_id,
        actor=user,
        purpose="reward payout",
        details={"reason": text, "locked_at": was_locked_at.isoformat() if was_locked_at else None},
    )
