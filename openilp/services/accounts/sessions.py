"""Server-side sign-in sessions: started at sign-in, checked on every request, ended on demand.

The browser's session cookie carries only a random token (256 bits). The store keeps its SHA-256
with the user, the start, the last use and whether a second factor was given
(:class:`openilp.db.models.UserSession`). A session is live while it is not ended, has been used
within ``session_max_age_s`` seconds and began less than ``session_absolute_max_s`` seconds ago.
So signing out ends it on the server, and a copied cookie stops working at once:

* **sign-out** ends this session (``logout``); **sign out everywhere** ends every session of the
  user (``logout_everywhere``);
* an **administrator** (``users:manage``) or the command line revokes every session of an
  account (``openilp users revoke-sessions``; audited as ``revoke`` of ``session``);
* a **role change** or **deactivation** ends them too (:mod:`openilp.services.accounts.users`);
* **expiry** (idle or absolute) ends a session at its next use, audited as ``session_expired``.

``last_seen_at`` is written at most once a minute per session (:data:`SEEN_RESOLUTION_S`), so a
busy page does not turn every read into a write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from openilp.core import OpenILP, Request, Result, UnitOfWork
from openilp.db.models import Agency, User, UserSession
from openilp.errors import InvalidRequest, NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import info_of, require_user_row
from openilp.services.accounts.totp import totp_required

__all__ = [
    "SEEN_RESOLUTION_S",
    "CheckSessionRequest",
    "EndSessionRequest",
    "RevokeSessionsRequest",
    "SessionCheck",
    "SessionStarted",
    "SessionsEnded",
    "StartSessionRequest",
    "check_session",
    "end_session",
    "revoke_all_sessions",
    "revoke_sessions",
    "start_session",
    "token_hash",
]

#: ``last_seen_at`` is refreshed when it is older than this many seconds.
SEEN_RESOLUTION_S = 60


def token_hash(token: str) -> str:
    """The stored form of a session token (hex SHA-256).

    >>> token_hash("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def revoke_all_sessions(uow: UnitOfWork, user_id: int, *, reason: str, keep_token: str | None = None) -> int:
    """End every open session of ``user_id`` in the unit's transaction (but ``keep_token``'s); how many."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_token is not None:
        query = query.where(UserSession.token_hash != token_hash(keep_token))
    result = uow.session.execute(query.values(ended_at=uow.now, end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class StartSessionRequest(Request):
    """A completed sign-in by ``actor``: ``second_factor`` when a TOTP code was given."""

    second_factor: bool = False


@dataclass(frozen=True)
class SessionStarted(Result):
    """The new session's token (for the cookie only; never shown, logged or stored as is)."""

    token: str
    user: UserInfo

    def as_dict(self) -> dict[str, object]:
        return {"user": self.user.as_dict()}


def start_session(core: OpenILP, actor: UserInfo | None, request: StartSessionRequest) -> SessionStarted:
    """Open a session for ``actor`` (who just gave their password, and code); audited as ``login``."""
    request = request.validate()
    if actor is None:
        raise InvalidRequest("a session belongs to a user")
    token = secrets.token_urlsafe(32)
    with core.unit_of_work(actor) as uow:
        uow.session.add(
            UserSession(
                token_hash=token_hash(token),
                user_id=actor.id,
                created_at=uow.now,
                last_seen_at=uow.now,
                second_factor=request.second_factor,
            )
        )
        uow.audit(action="login", object_type="session", details={"second_factor": request.second_factor})
    return SessionStarted(token, actor)


@dataclass(frozen=True)
class CheckSessionRequest(Request):
    token: str = ""


@dataclass(frozen=True)
class SessionCheck(Result):
    """``user`` when the token's session is live; else ``ended`` says why (None: no such session)."""

    user: UserInfo | None = None
    second_factor: bool = False
    ended: str | None = None

    @property
    def live(self) -> bool:
        return self.user is not None


def _expiry(core: OpenILP, row: UserSession, now: dt.datetime) -> str | None:
    settings = core.settings
    if (now - row.created_at).total_seconds() > settings.session_absolute_max_s:
        return "absolute"
    if (now - row.last_seen_at).total_seconds() > settings.session_max_age_s:
        return "idle"
    return None


def check_session(core: OpenILP, actor: UserInfo | None, request: CheckSessionRequest) -> SessionCheck:
    """The user of a live session (the web app asks on every request); ends an expired one.

    A session whose user was deactivated, or whose user's role now needs a second factor the
    sign-in did not give, is ended too (``inactive``, ``second_factor``).
    """
    request = request.validate()
    if not request.token or len(request.token) > 200:
        return SessionCheck()
    with core.unit_of_work(None) as uow:
        found = uow.session.execute(
            select(UserSession, User, Agency)
            .join(User, UserSession.user_id == User.id)
            .join(Agency, User.agency_id == Agency.id)
            .where(UserSession.token_hash == token_hash(request.token))
        ).one_or_none()
        if found is None:
            return SessionCheck()
        row, user, agency = found
        if row.ended_at is not None:
            return SessionCheck(ended=row.end_reason or "ended")
        info = info_of(user, agency)
        reason = _expiry(core, row, uow.now)
        if reason is None and not user.is_active:
            reason = "inactive"
        if reason is None and totp_required(info) and not row.second_factor:
            reason = "second_factor"
        if reason is not None:
            row.ended_at, row.end_reason = uow.now, reason
            uow.audit(action="session_expired", object_type="session", actor=info, details={"reason": reason})
            return SessionCheck(ended=reason)
        if (uow.now - row.last_seen_at).total_seconds() >= SEEN_RESOLUTION_S:
            row.last_seen_at = uow.now
        return SessionCheck(user=info, second_factor=row.second_factor)


@dataclass(frozen=True)
class EndSessionRequest(Request):
    """Sign-out: the session's ``token``; ``everywhere`` ends every session of the user."""

    token: str = ""
    everywhere: bool = False


@dataclass(frozen=True)
class SessionsEnded(Result):
    ended: int


def end_session(core: OpenILP, actor: UserInfo | None, request: EndSessionRequest) -> SessionsEnded:
    """Sign ``actor`` out: this session, or every session (``everywhere``); audited as ``logout``."""
    request = request.validate()
    if actor is None:
        return SessionsEnded(0)
    with core.unit_of_work(actor) as uow:
        if request.everywhere:
            ended = revoke_all_sessions(uow, actor.id, reason="logout_everywhere")
        else:
            result = uow.session.execute(
                update(UserSession)
                .where(
                    UserSession.token_hash == token_hash(request.token),
                    UserSession.user_id == actor.id,
                    UserSession.ended_at.is_(None),
                )
                .values(ended_at=uow.now, end_reason="logout")
            )
            ended = int(getattr(result, "rowcount", 0) or 0)
        uow.audit(action="logout", object_type="session", details={"everywhere": request.everywhere, "ended": ended})
    return SessionsEnded(ended)


@dataclass(frozen=True)
class RevokeSessionsRequest(Request):
    """Every open session of ``username`` (a lost device, a departure, a suspicion)."""

    username: str = ""
    reason: str = ""

    def validate(self) -> RevokeSessionsRequest:
        if not self.username.strip():
            raise InvalidRequest("username: name the account whose sessions to end")
        if len(self.reason) > 500:
            raise InvalidRequest("reason: at most 500 characters")
        return self


def revoke_sessions(core: OpenILP, actor: UserInfo | None, request: RevokeSessionsRequest) -> SessionsEnded:
    """End every open session of an account (administrators: their own agency); audited as ``revoke``."""
    request = request.validate()
    if actor is not None and not actor.can("users:manage"):
        raise NotPermitted(f"your role ({actor.role}) may not end other people's sessions")
    with core.unit_of_work(actor) as uow:
        user = require_user_row(uow.session, request.username, agency_id=actor.agency_id if actor else None)
        ended = revoke_all_sessions(uow, user.id, reason="revoked")
        uow.audit(
            action="revoke",
            object_type="session",
            object_id=user.username,
            agency_id=user.agency_id,
            details={"ended": ended, **({"reason": request.reason.strip()} if request.reason.strip() else {})},
        )
    return SessionsEnded(ended)
