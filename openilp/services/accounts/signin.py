"""Sign-in: a username and password checked with account lockout, every failure audited.

After :data:`MAX_FAILED_LOGINS` consecutive failed sign-ins (wrong passwords or wrong second-factor
codes) an account is locked for :data:`LOCKOUT_MINUTES` minutes; while locked even the right
password is refused. Unknown usernames and locked accounts still cost one argon2 verification, so
response times do not reveal which usernames exist. Every failure and every lockout is written to
the audit log in the same transaction as the failure count, and survives the refusal.

A successful check does not sign anyone in yet: the web app then asks for the second factor when
the role needs one (:mod:`openilp.services.accounts.totp`) and opens the session
(:func:`openilp.services.accounts.sessions.start_session`, audited as ``login``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import User
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.security.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from openilp.services.accounts.records import info_of, normalise_username

__all__ = [
    "MAX_FAILED_LOGINS",
    "LOCKOUT_MINUTES",
    "MAX_PASSWORD_INPUT",
    "AuthOutcome",
    "AuthResult",
    "SignInRequest",
    "authenticate",
    "register_failed_attempt",
]

#: Consecutive failed sign-ins that lock an account.
MAX_FAILED_LOGINS = 5
#: How long a locked account stays locked, in minutes.
LOCKOUT_MINUTES = 15
#: Longest password text checked (bounds the hashing work one request can cause).
MAX_PASSWORD_INPUT = 1024


class AuthOutcome(StrEnum):
    """Why a sign-in succeeded or failed (for logs; show users one generic message)."""

    OK = "ok"
    INVALID = "invalid"  # unknown username or wrong password
    LOCKED = "locked"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class AuthResult(Result):
    """The outcome of :func:`authenticate`; ``user`` is set only when ``outcome`` is OK."""

    outcome: AuthOutcome
    user: UserInfo | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is AuthOutcome.OK


@dataclass(frozen=True)
class SignInRequest(Request):
    username: str = ""
    password: str = ""


def _audit_attempt(
    session: Session, now: dt.datetime, action: str, username: str, agency_id: int | None, details: dict[str, object]
) -> None:
    # The person is not signed in, so there is no actor: the account tried is the object.
    record_event(
        session,
        action=action,
        object_type="user",
        object_id=username[:80] or None,
        agency_id=agency_id,
        details=details,
        occurred_at=now,
    )


def register_failed_attempt(session: Session, user: User, now: dt.datetime, reason: str) -> AuthResult:
    """Count one failed sign-in step (password or second factor) and lock at the limit; audited.

    A building block of :func:`authenticate` and of the second-factor check, inside their unit of work.
    """
    user.failed_logins = (user.failed_logins or 0) + 1
    details: dict[str, object] = {"reason": reason, "failed_logins": user.failed_logins}
    _audit_attempt(session, now, "login_failed", user.username, user.agency_id, details)
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + dt.timedelta(minutes=LOCKOUT_MINUTES)
        _audit_attempt(
            session, now, "lockout", user.username, user.agency_id, {"locked_until": user.locked_until.isoformat()}
        )
        session.flush()
        return AuthResult(AuthOutcome.LOCKED, locked_until=user.locked_until)
    session.flush()
    return AuthResult(AuthOutcome.INVALID)


def authenticate(core: OpenILP, actor: UserInfo | None, request: SignInRequest) -> AuthResult:
    """Check a username and password at the core clock's moment, applying the lockout rule.

    A wrong password increments the user's failure count; the :data:`MAX_FAILED_LOGINS`-th
    consecutive failure locks the account for :data:`LOCKOUT_MINUTES` minutes. A success resets
    the count, records ``last_login_at`` and upgrades an outdated hash. The counts and the audited
    failures are committed before the answer (a failed sign-in is not an error: the outcome says so).
    """
    request = request.validate()
    password = request.password
    with core.unit_of_work(None) as uow:
        session, now = uow.session, uow.now
        name = normalise_username(request.username[:MAX_PASSWORD_INPUT])
        user = session.scalars(select(User).where(User.username == name)).one_or_none()
        if user is None or len(password) > MAX_PASSWORD_INPUT:
            dummy_verify(password[:MAX_PASSWORD_INPUT])
            reason = "unknown_user" if user is None else "oversized_password"
            _audit_attempt(session, now, "login_failed", name, user.agency_id if user else None, {"reason": reason})
            return AuthResult(AuthOutcome.INVALID)
        if user.locked_until is not None:
            if user.locked_until > now:
                dummy_verify(password)
                _audit_attempt(session, now, "login_failed", name, user.agency_id, {"reason": "locked"})
                return AuthResult(AuthOutcome.LOCKED, locked_until=user.locked_until)
            user.locked_until = None
            user.failed_logins = 0
        if not verify_password(user.password_hash, password):
            return register_failed_attempt(session, user, now, "wrong_password")
        if not user.is_active:
            _audit_attempt(session, now, "login_failed", name, user.agency_id, {"reason": "inactive"})
            return AuthResult(AuthOutcome.INACTIVE)
        user.failed_logins = 0
        user.last_login_at = now
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        session.flush()
        return AuthResult(AuthOutcome.OK, user=info_of(user, user.agency))
