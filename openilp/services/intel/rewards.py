"""Tip rewards, keyed by tip ID only: approve, collect the payout code, pay, unlock.

A supervisor (``tips:rewards``) approves an amount; the tipster collects a payout code with the
tip ID and secret (shown once, stored as a hash); the payer checks the tip ID and the code the
bearer presents. Nobody on the agency side ever learns who the tipster is. A payout code cannot
be guessed: each wrong code is counted and audited even though the payout is refused (the unit of
work keeps the counter and the refusal while it rolls the payout back), and the
:data:`MAX_PAYOUT_ATTEMPTS`-th locks the reward until an administrator unlocks it.

>>> parse_amount("1,250.5")
125050
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Tip, TipMessage, TipReward
from openilp.intel.errors import IntelForbidden
from openilp.intel.rules import SubmissionError, clean_text
from openilp.intel.tipcodes import new_payout_code
from openilp.security.actors import UserInfo
from openilp.services.intel.common import require_permission, user_label
from openilp.services.intel.tip_triage import staff_tip
from openilp.services.intel.tips import TipKey, TipsterView, tip_for_tipster, tipster_view_of

__all__ = [
    "MAX_PAYOUT_ATTEMPTS",
    "parse_amount",
    "RewardRequest",
    "PayoutRequest",
    "UnlockRequest",
    "RewardDetails",
    "RewardView",
    "RewardList",
    "PayoutCode",
    "approve_reward",
    "reward_view",
    "list_rewards",
    "collect_payout_code",
    "record_payout",
    "unlock_reward",
]

#: Wrong payout codes allowed before a reward is locked (guessing a code must not pay out).
MAX_PAYOUT_ATTEMPTS = 5
_AMOUNT = re.compile(r"^\d{1,7}(\.\d{1,2})?$")


def parse_amount(text: str) -> int:
    """A money amount such as ``"250"``, ``"250.5"`` or ``"1,250.00"`` in cents.

    >>> parse_amount("12.345")
    Traceback (most recent call last):
    ...
    openilp.intel.rules.SubmissionError: enter the amount as a number such as 250 or 250.00
    """
    cleaned = text.strip().replace(",", "")
    if not _AMOUNT.match(cleaned):
        raise SubmissionError("enter the amount as a number such as 250 or 250.00")
    whole, _, cents = cleaned.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


@dataclass(frozen=True)
class RewardRequest(Request):
    """A reward decision: the amount (cents, or form text such as ``"250.00"``) and the reason."""

    tip_id: str
    amount: int | str = 0
    reason: str = ""

    def validate(self) -> RewardRequest:
        amount = self.amount if not isinstance(self.amount, str) else parse_amount(self.amount)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 100 <= amount <= 10_000_00:
            raise SubmissionError("the amount must be between 1.00 and 10,000.00")
        return dataclasses.replace(self, amount=amount)


@dataclass(frozen=True)
class PayoutRequest(Request):
    """The tip ID and the payout code its bearer presents (identity never asked)."""

    tip_id: str
    payout_code: str = ""


@dataclass(frozen=True)
class UnlockRequest(Request):
    """Unlock a reward locked by wrong codes, with a reason (at least 10 characters)."""

    tip_id: str
    reason: str = ""


@dataclass(frozen=True)
class RewardDetails(Result):
    """A reward decision and its payout state (amount in cents; never the code, only its hash exists)."""

    tip_id: str
    status: str
    amount_cents: int
    reason: str
    decided_by: str
    decided_at: dt.datetime
    code_issued_at: dt.datetime | None
    paid_at: dt.datetime | None
    paid_by: str
    failed_payout_attempts: int
    locked_at: dt.datetime | None


@dataclass(frozen=True)
class RewardView(Result):
    """A tip's triage outcome and its reward, for whoever decides and pays rewards."""

    tip_id: str
    kind: str
    status: str
    created_at: dt.datetime
    linked_incident_id: int | None
    closed_reason: str
    reward: RewardDetails | None


@dataclass(frozen=True)
class RewardList(Result):
    """Every reward decision of the agency, newest first (at most 500)."""

    rewards: tuple[RewardDetails, ...] = ()


@dataclass(frozen=True)
class PayoutCode(Result):
    """The payout code, shown once to the tipster (only its hash is kept), and the tipster's view."""

    tip_id: str
    code: str
    view: TipsterView | None = None


def _details(session: Session, tip_id: str, reward: TipReward) -> RewardDetails:
    return RewardDetails(
        tip_id=tip_id,
        status=reward.status,
        amount_cents=reward.amount_cents,
        reason=reward.reason,
        decided_by=user_label(session, reward.decided_by_id),
        decided_at=reward.decided_at,
        code_issued_at=reward.code_issued_at,
        paid_at=reward.paid_at,
        paid_by=user_label(session, reward.paid_by_id),
        failed_payout_attempts=reward.failed_payout_attempts,
        locked_at=reward.locked_at,
    )


def _reward_of(session: Session, tip: Tip) -> TipReward | None:
    return session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()


def approve_reward(core: OpenILP, user: UserInfo, request: RewardRequest) -> RewardDetails:
    """Approve a reward for a tip (board or supervisor decision); keyed by tip only."""
    request = request.validate()
    with core.unit_of_work(user) as uow:
        session, now = uow.session, uow.now
        tip = staff_tip(session, user, request.tip_id, "tips:rewards")
        if _reward_of(session, tip) is not None:
            raise SubmissionError("this tip already has a reward decision")
        amount = int(request.amount)
        reward = TipReward(
            tip_id=tip.id,
            status="approved",
            amount_cents=amount,
            reason=clean_text(request.reason, "reason", 500, required=True),
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
                body=f"A reward of {amount / 100:,.2f} has been approved. Collect your payout code on this page.",
            )
        )
        session.flush()
        uow.audit(
            action="approve",
            object_type="tip_reward",
            object_id=tip.public_id,
            purpose="reward decision",
            details={"amount_cents": amount},
        )
        return _details(session, tip.public_id, reward)


def reward_view(core: OpenILP, user: UserInfo, tip_id: str) -> RewardView:
    """A tip's reward state for whoever decides and pays rewards (``tips:rewards``; audited).

    Shows the tip's triage outcome and the reward decision, never the narrative's author (unknown)
    and never the payout code (only its hash exists).
    """
    with core.unit_of_work(user) as uow:
        session = uow.session
        tip = staff_tip(session, user, tip_id, "tips:rewards")
        reward = _reward_of(session, tip)
        uow.audit(action="read", object_type="tip_reward", object_id=tip.public_id, purpose="reward decision")
        return RewardView(
            tip_id=tip.public_id,
            kind=tip.kind,
            status=tip.status,
            created_at=tip.created_at,
            linked_incident_id=tip.linked_incident_id,
            closed_reason=tip.closed_reason,
            reward=None if reward is None else _details(session, tip.public_id, reward),
        )


def list_rewards(core: OpenILP, user: UserInfo) -> RewardList:
    """Every reward decision of the agency, newest first (``tips:rewards``)."""
    require_permission(user, "tips:rewards")
    with core.unit_of_work(user) as uow:
        rows = uow.session.execute(
            select(TipReward, Tip.public_id)
            .join(Tip, Tip.id == TipReward.tip_id)
            .where(Tip.agency_id == user.agency_id)
            .order_by(TipReward.decided_at.desc(), TipReward.id.desc())
            .limit(500)
        ).all()
        return RewardList(tuple(_details(uow.session, public_id, reward) for reward, public_id in rows))


def collect_payout_code(core: OpenILP, actor: UserInfo | None, request: TipKey) -> PayoutCode:
    """The tipster collects the payout code (once); only its hash is kept. No tipster is recorded."""
    request = request.validate()
    with core.unit_of_work(None) as uow:
        session = uow.session
        tip = tip_for_tipster(core, session, request)
        reward = _reward_of(session, tip)
        if reward is None or reward.status != "approved":
            raise IntelForbidden("there is no approved reward waiting for a payout code on this tip")
        code = new_payout_code()
        reward.payout_code_hash = core.tip_secrets.hash(code)
        reward.code_issued_at = uow.now
        reward.status = "code_issued"
        uow.audit(action="update", object_type="tip_reward", object_id=tip.public_id, agency_id=tip.agency_id)
        session.flush()
        return PayoutCode(tip.public_id, code, tipster_view_of(session, tip))


def record_payout(core: OpenILP, user: UserInfo, request: PayoutRequest) -> RewardDetails:
    """Pay a reward to whoever presents the tip ID and payout code (identity never asked).

    Each wrong code is counted and audited (``payout_refused``) although the payout is refused:
    the count is kept with :meth:`~openilp.core.UnitOfWork.keep_on_failure` and the refusal with
    :meth:`~openilp.core.UnitOfWork.refuse`. The :data:`MAX_PAYOUT_ATTEMPTS`-th wrong code locks
    the reward (``payout_locked``) until an administrator unlocks it (:func:`unlock_reward`).
    """
    request = request.validate()
    with core.unit_of_work(user) as uow:
        session, now = uow.session, uow.now
        tip = staff_tip(session, user, request.tip_id, "tips:rewards")
        reward = _reward_of(session, tip)
        if reward is not None and reward.status == "locked":
            raise IntelForbidden(
                f"this reward is locked after {MAX_PAYOUT_ATTEMPTS} wrong payout codes: an administrator must unlock it"
            )
        if reward is None or reward.status != "code_issued" or reward.payout_code_hash is None:
            raise IntelForbidden("no payout code has been issued for this tip")
        presented = str(request.payout_code).strip().upper()[:40]
        check = core.tip_secrets.verify(reward.payout_code_hash, presented)
        if check.upgrade:
            reward.payout_code_hash = core.tip_secrets.hash(presented)
        if not check.ok:
            attempts = reward.failed_payout_attempts + 1
            left = MAX_PAYOUT_ATTEMPTS - attempts
            locked = left <= 0
            reward_id = reward.id

            def count_attempt(kept: Session) -> None:
                row = kept.get(TipReward, reward_id)
                assert row is not None
                row.failed_payout_attempts = attempts
                if locked:
                    row.status = "locked"
                    row.locked_at = now

            uow.keep_on_failure(count_attempt)
            message = (
                f"the payout code does not match; after {MAX_PAYOUT_ATTEMPTS} wrong codes the reward is locked "
                "and an administrator must unlock it"
                if locked
                else f"the payout code does not match ({left} attempt{'s' if left != 1 else ''} left)"
            )
            raise uow.refuse(
                IntelForbidden(message),
                action="payout_locked" if locked else "payout_refused",
                object_type="tip_reward",
                object_id=tip.public_id,
                purpose="reward payout",
                details={"failed_attempts": attempts},
            )
        reward.status = "paid"
        reward.paid_at = now
        reward.paid_by_id = user.id
        session.flush()
        uow.audit(action="update", object_type="tip_reward", object_id=tip.public_id, purpose="reward payout")
        return _details(session, tip.public_id, reward)


def unlock_reward(core: OpenILP, user: UserInfo, request: UnlockRequest) -> RewardDetails:
    """Unlock a reward locked by wrong payout codes (administrators, ``tips:unlock``; audited)."""
    request = request.validate()
    with core.unit_of_work(user) as uow:
        session = uow.session
        tip = staff_tip(session, user, request.tip_id, "tips:unlock")
        reward = _reward_of(session, tip)
        if reward is None or reward.status != "locked":
            raise SubmissionError("this reward is not locked")
        text = clean_text(request.reason, "reason", 500)
        if len(text) < 10:
            raise SubmissionError("reason: explain why the reward is unlocked (at least 10 characters)")
        was_locked_at = reward.locked_at
        reward.status = "code_issued"
        reward.failed_payout_attempts = 0
        reward.locked_at = None
        session.flush()
        uow.audit(
            action="payout_unlocked",
            object_type="tip_reward",
            object_id=tip.public_id,
            purpose="reward payout",
            details={"reason": text, "locked_at": was_locked_at.isoformat() if was_locked_at else None},
        )
        return _details(session, tip.public_id, reward)
