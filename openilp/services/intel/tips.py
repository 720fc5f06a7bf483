"""Community tips and suspicious-activity reports: the anonymous tipster's side.

Nothing about the tipster is stored or logged: these functions take no request, IP address or
user agent, and the audit entries they write name no tipster (actor None). The tipster gets a
random tip ID and a secret (stored only as a keyed hash, :mod:`openilp.security.tipsecrets`) to
read replies and add information. A wrong ID or secret gives the same answer as an unknown ID,
after the same hashing work, and each request checks the secret once.

Analysts triage tips (:mod:`openilp.services.intel.tip_triage`): link to an incident, turn into
an intelligence submission (which then passes the predicate gate and review like any other), or
close.
Suspicious-activity reports (kind ``sar``, with an ISE-SAR behaviour category) follow the same
path and stay in the tip store, apart from intelligence files, until vetted.

Rewards (:mod:`openilp.services.intel.rewards`) are keyed by tip ID only: the tipster collects
the payout code with the tip ID and secret. Nobody on the agency side ever learns who the
tipster is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, Tip, TipAttachment, TipMessage, TipReward
from openilp.intel.errors import IntelNotFound
from openilp.intel.images import CleanImage, strip_image
from openilp.intel.rules import MAX_TEXT_CHARS, SubmissionError, clean_text
from openilp.intel.tipcodes import SAR_CATEGORIES, TIP_KINDS, is_tip_id, new_secret, new_tip_id, normalise_tip_id
from openilp.security.actors import UserInfo
from openilp.services.intel.common import notify, user_label

__all__ = [
    "MIN_NARRATIVE_CHARS",
    "MAX_ATTACHMENTS",
    "TIP_NOT_FOUND",
    "TipRequest",
    "TipKey",
    "TipMessageRequest",
    "NewTip",
    "MessageView",
    "TipsterReward",
    "TipsterView",
    "TipUpdated",
    "submit_tip",
    "tipster_view",
    "tipster_add_message",
    "tipster_view_of",
    "tip_for_tipster",
    "messages_of",
]

MIN_NARRATIVE_CHARS = 10
MAX_ATTACHMENTS = 3
#: The one answer for an unknown tip ID or a wrong secret.
TIP_NOT_FOUND = "No tip matches this tip ID and secret."


def _check_attachments(files: Sequence[bytes]) -> None:
    if len(files) > MAX_ATTACHMENTS:
        raise SubmissionError(f"at most {MAX_ATTACHMENTS} attachments", field="attachments")


def _clean_attachments(files: Sequence[bytes]) -> list[CleanImage]:
    """Every attachment re-encoded without metadata, or SubmissionError before anything is stored."""
    _check_attachments(files)
    cleaned = []
    for data in files:
        try:
            cleaned.append(strip_image(data))
        except ValueError as exc:
            raise SubmissionError(str(exc), field="attachments") from exc
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


@dataclass(frozen=True)
class TipRequest(Request):
    """An anonymous tip or SAR: the agency's code, the kind, what was seen, optional images."""

    agency: str = ""
    kind: str = "tip"
    narrative: str = ""
    #: ISE-SAR behaviour category (suspicious-activity reports only).
    behaviour_category: str | None = None
    attachments: Sequence[bytes] = field(default_factory=tuple)

    def validate(self) -> TipRequest:
        for _, check in self._checks():
            check()
        category = (self.behaviour_category or "").strip() or None
        text = clean_text(self.narrative, "narrative", MAX_TEXT_CHARS)
        return TipRequest(str(self.agency), self.kind, text, category, tuple(self.attachments))

    def field_errors(self) -> dict[str, str]:
        """Every bad field at once, by form field name (empty when :meth:`validate` would pass).

        Whether the agency exists and the photos decode is checked by :func:`submit_tip`.

        >>> sorted(TipRequest("SLMPD", "sar", "short", None).field_errors())
        ['behaviour_category', 'narrative']
        """
        errors: dict[str, str] = {}
        for name, check in self._checks():
            try:
                check()
            except SubmissionError as exc:
                errors.setdefault(name, str(exc))
        return errors

    def _checks(self) -> tuple[tuple[str, Callable[[], None]], ...]:
        """The rules by form field, in the order :meth:`validate` applies them."""

        def kind() -> None:
            if self.kind not in TIP_KINDS:
                raise SubmissionError(f"kind must be one of: {', '.join(TIP_KINDS)}")

        def narrative() -> None:
            if len(clean_text(self.narrative, "narrative", MAX_TEXT_CHARS)) < MIN_NARRATIVE_CHARS:
                raise SubmissionError(f"describe what you saw (at least {MIN_NARRATIVE_CHARS} characters)")

        def behaviour_category() -> None:
            category = (self.behaviour_category or "").strip() or None
            if self.kind == "sar":
                if category not in SAR_CATEGORIES:
                    raise SubmissionError(f"choose the behaviour you observed: {', '.join(SAR_CATEGORIES)}")
            elif category is not None:
                raise SubmissionError("a behaviour category belongs to suspicious-activity reports only")

        return (
            ("kind", kind),
            ("narrative", narrative),
            ("behaviour_category", behaviour_category),
            ("attachments", lambda: _check_attachments(self.attachments)),
        )


@dataclass(frozen=True)
class TipKey(Request):
    """What the tipster holds: the tip ID and the secret (never stored in clear)."""

    tip_id: str = ""
    secret: str = ""


@dataclass(frozen=True)
class TipMessageRequest(Request):
    """The tipster adds text (and optional images) to their tip."""

    tip_id: str = ""
    secret: str = ""
    body: str = ""
    attachments: Sequence[bytes] = field(default_factory=tuple)

    def validate(self) -> TipMessageRequest:
        _check_attachments(self.attachments)
        return self


@dataclass(frozen=True)
class NewTip(Result):
    """What the tipster must keep: shown once, never stored in clear."""

    tip_id: str
    secret: str


@dataclass(frozen=True)
class MessageView(Result):
    """One message of a tip's dialogue; ``by`` (the staff member) only on staff views."""

    author: str
    body: str
    created_at: dt.datetime
    by: str | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"author": self.author, "body": self.body, "created_at": self.created_at.isoformat()}
        if self.by is not None:
            data["by"] = self.by
        return data


@dataclass(frozen=True)
class TipsterReward(Result):
    """A reward as the tipster sees it (amount in cents)."""

    status: str
    amount_cents: int


@dataclass(frozen=True)
class TipsterView(Result):
    """What the tipster may see: status (open or closed), their text, the dialogue and any reward."""

    tip_id: str
    kind: str
    status: str
    narrative: str
    messages: tuple[MessageView, ...]
    reward: TipsterReward | None


@dataclass(frozen=True)
class TipUpdated(Result):
    """A tip after a step: its public ID and status, and what the tipster now sees (``view``)."""

    tip_id: str
    status: str
    view: TipsterView | None = None


def submit_tip(core: OpenILP, actor: UserInfo | None, request: TipRequest) -> NewTip:
    """Store an anonymous tip or SAR and return its tip ID and secret (nothing stored on error).

    ``actor`` is None (a member of the public); the audit entry names no tipster whatever is passed.
    """
    request = request.validate()
    with core.unit_of_work(None) as uow:
        session, now = uow.session, uow.now
        agency = session.scalars(select(Agency).where(Agency.code == request.agency)).one_or_none()
        if agency is None:
            raise SubmissionError("unknown agency", field="agency")
        images = _clean_attachments(request.attachments)
        secret = new_secret()
        tip = Tip(
            public_id=new_tip_id(),
            secret_hash=core.tip_secrets.hash(secret),
            agency_id=agency.id,
            kind=request.kind,
            behaviour_category=request.behaviour_category,
            narrative=request.narrative,
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
            message=f"New {TIP_KINDS[request.kind].lower()} {tip.public_id}.",
            now=now,
        )
        uow.audit(action="create", object_type="tip", object_id=tip.public_id, agency_id=agency.id)
        return NewTip(tip.public_id, secret)


def tip_for_tipster(core: OpenILP, session: Session, key: TipKey) -> Tip:
    """The tip matching the ID and secret; the same :class:`IntelNotFound` (after the same work) otherwise.

    One keyed-hash check (:class:`~openilp.security.tipsecrets.TipSecretHasher`). A tip stored with
    an argon2 hash before keyed hashes is checked at argon2's cost once and then re-hashed.
    """
    normalised = normalise_tip_id(str(key.tip_id))[:40]
    secret = str(key.secret)[:200]
    tip = (
        session.scalars(select(Tip).where(Tip.public_id == normalised)).one_or_none() if is_tip_id(normalised) else None
    )
    if tip is None:
        core.tip_secrets.dummy_check(secret)
        raise IntelNotFound(TIP_NOT_FOUND)
    check = core.tip_secrets.verify(tip.secret_hash, secret)
    if not check.ok:
        raise IntelNotFound(TIP_NOT_FOUND)
    if check.upgrade:
        tip.secret_hash = core.tip_secrets.hash(secret)
    return tip


def messages_of(session: Session, tip: Tip, *, staff: bool) -> tuple[MessageView, ...]:
    """The tip's dialogue, oldest first (with the staff member's name on staff views)."""
    rows = session.scalars(select(TipMessage).where(TipMessage.tip_id == tip.id).order_by(TipMessage.id))
    return tuple(
        MessageView(m.author, m.body, m.created_at, user_label(session, m.author_user_id) if staff else None)
        for m in rows
    )


def tipster_view_of(session: Session, tip: Tip) -> TipsterView:
    """The tipster's view of ``tip`` (the caller has checked the secret)."""
    reward = session.scalars(select(TipReward).where(TipReward.tip_id == tip.id)).one_or_none()
    return TipsterView(
        tip_id=tip.public_id,
        kind=tip.kind,
        status="closed" if tip.status == "closed" else "open",
        narrative=tip.narrative,
        messages=messages_of(session, tip, staff=False),
        reward=None
        if reward is None or reward.status == "declined"
        else TipsterReward(reward.status, reward.amount_cents),
    )


def tipster_view(core: OpenILP, actor: UserInfo | None, request: TipKey) -> TipsterView:
    """What the tipster may see: status, their text, the dialogue and any reward."""
    request = request.validate()
    with core.unit_of_work(None) as uow:
        session = uow.session
        tip = tip_for_tipster(core, session, request)
        uow.audit(action="read", object_type="tip", object_id=tip.public_id, agency_id=tip.agency_id)
        return tipster_view_of(session, tip)


def tipster_add_message(core: OpenILP, actor: UserInfo | None, request: TipMessageRequest) -> TipUpdated:
    """The tipster adds information (text, optional images) to their tip; the result carries the new view.

    The text and images are checked before the secret, so a refused message costs no check and the
    page that shows the refusal checks the secret once.
    """
    request = request.validate()
    text = clean_text(request.body, "message", MAX_TEXT_CHARS, required=True)
    images = _clean_attachments(request.attachments)
    with core.unit_of_work(None) as uow:
        session, now = uow.session, uow.now
        tip = tip_for_tipster(core, session, TipKey(request.tip_id, request.secret))
        session.add(TipMessage(tip_id=tip.id, author="tipster", author_user_id=None, body=text, created_at=now))
        _store_attachments(session, tip, images, now)
        tip.updated_at = now
        notify(
            session,
            agency_id=tip.agency_id,
            kind="tip_message",
            message=f"The tipster added to {tip.public_id}.",
            now=now,
        )
        uow.audit(action="update", object_type="tip", object_id=tip.public_id, agency_id=tip.agency_id)
        session.flush()
        return TipUpdated(tip.public_id, "closed" if tip.status == "closed" else "open", tipster_view_of(session, tip))
