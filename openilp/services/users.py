"""User accounts: creation with validation, listing, and sign-in with account lockout.

Passwords are stored only as argon2id hashes (:mod:`openilp.security.passwords`). After
:data:`MAX_FAILED_LOGINS` consecutive failed sign-ins an account is locked for
:data:`LOCKOUT_MINUTES` minutes; while locked even the right password is refused. Unknown
usernames and locked accounts still cost one argon2 verification, so response times do not
reveal which usernames exist. Every failed sign-in and every lockout is written to the audit log
(:mod:`openilp.security.audit`) in the same transaction as the failure count.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openilp.db.models import Agency, User, utcnow
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.security.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from openilp.security.roles import PERMISSIONS, ROLES, Role
from openilp.services.agencies import get_agency_by_code

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MAX_FAILED_LOGINS",
    "LOCKOUT_MINUTES",
    "AuthOutcome",
    "AuthResult",
    "UserInfo",
    "create_user",
    "authenticate",
    "get_user_info",
    "list_users",
    "validate_password",
    "register_failed_attempt",
    "reviewer_is_current",
    "set_training_valid_until",
    "get_user_by_username",
]

#: Shortest accepted password, in characters (NIST SP 800-63B allows 8; we ask for more).
MIN_PASSWORD_LENGTH = 12
#: Longest accepted password, in characters (bounds the hashing work one request can cause).
MAX_PASSWORD_LENGTH = 1024
#: Consecutive failed sign-ins that lock an account.
MAX_FAILED_LOGINS = 5
#: How long a locked account stays locked, in minutes.
LOCKOUT_MINUTES = 15

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,79}$")


def _info(user: User, agency: Agency) -> UserInfo:
    return UserInfo(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        agency_id=agency.id,
        agency_code=agency.code,
        agency_name=agency.name,
        is_active=user.is_active,
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
        totp_enabled=bool(user.totp_enabled),
        training_valid_until=user.training_valid_until,
        password_changed_at=user.password_changed_at,
    )


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case, without spaces around."""
    return username.strip().lower()


def validate_password(password: str, username: str = "") -> None:
    """Raise ValueError with a clear message when ``password`` is not acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters long (got {len(password)})")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be at most {MAX_PASSWORD_LENGTH} characters long")
    if username and password.strip().lower() == normalise_username(username):
        raise ValueError("password must not be the username")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    agency_code: str,
    full_name: str = "",
) -> UserInfo:
    """Create an active user and return its public view.

    Raises
    ------
    ValueError
        If the username is malformed or taken, the role unknown, the agency missing,
        or the password too short or too long.
    """
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise ValueError(
            "username must be 3–80 characters: letters, digits, '.', '_', '@' or '-', "
            f"starting with a letter or digit (got {username!r})"
        )
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    agency = get_agency_by_code(session, agency_code)
    if agency is None:
        known = session.scalars(select(Agency.code).order_by(Agency.code)).all()
        hint = f"known agencies: {', '.join(known)}" if known else "no agency exists yet (import data first)"
        raise ValueError(f"unknown agency {agency_code!r}; {hint}")
    validate_password(password, name)
    if session.scalars(select(User.id).where(User.username == name)).first() is not None:
        raise ValueError(f"username {name!r} already exists")
    user = User(
        username=name,
        full_name=full_name.strip(),
        password_hash=hash_password(password),
        role=role,
        agency_id=agency.id,
        is_active=True,
        failed_logins=0,
        totp_enabled=False,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return _info(user, agency)


class AuthOutcome(StrEnum):
    """Why a sign-in succeeded or failed (for logs; show users one generic message)."""

    OK = "ok"
    INVALID = "invalid"  # unknown username or wrong password
    LOCKED = "locked"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class AuthResult:
    """The outcome of :func:`authenticate`; ``user`` is set only when ``outcome`` is OK."""

    outcome: AuthOutcome
    user: UserInfo | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is AuthOutcome.OK


def register_failed_attempt(session: Session, user: User, now: dt.datetime, reason: str) -> AuthResult:
    """Count one failed sign-in step (password or second factor) and lock at the limit; audited."""
    user.failed_logins = (user.failed_logins or 0) + 1
    details: dict[str, object] = {"reason": reason, "failed_logins": user.failed_logins}
    _audit_attempt(session, "login_failed", user.username, user.agency_id, details)
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + dt.timedelta(minutes=LOCKOUT_MINUTES)
        _audit_attempt(
            session, "lockout", user.username, user.agency_id, {"locked_until": user.locked_until.isoformat()}
        )
        session.flush()
        return AuthResult(AuthOutcome.LOCKED, locked_until=user.locked_until)
    session.flush()
    return AuthResult(AuthOutcome.INVALID)


def _audit_attempt(
    session: Session, action: str, username: str, agency_id: int | None, details: dict[str, object]
) -> None:
    # The person is not signed in, so there is no actor: the account tried is the object.
    record_event(
        session,
        action=action,
        object_type="user",
        object_id=username[:80] or None,
        agency_id=agency_id,
        details=details,
    )


def authenticate(session: Session, username: str, password: str, *, now: dt.datetime | None = None) -> AuthResult:
    """Check a username and password, applying the lockout rule.

    A wrong password increments the user's failure count; the :data:`MAX_FAILED_LOGINS`-th
    consecutive failure locks the account for :data:`LOCKOUT_MINUTES` minutes. A success
    resets the count, records ``last_login_at`` and upgrades an outdated hash. The caller
    commits the session (the failure count must be saved even though sign-in failed).
    Failures and lockouts are audited here; the caller audits the completed sign-in (``login``),
    which may still need a second factor.

    Parameters
    ----------
    now
        The current time (aware UTC); for tests. Defaults to the clock.
    """
    now = now or utcnow()
    name = normalise_username(username)
    user = session.scalars(select(User).where(User.username == name)).one_or_none()
    if user is None or len(password) > MAX_PASSWORD_LENGTH:
        dummy_verify(password[:MAX_PASSWORD_LENGTH])
        reason = "unknown_user" if user is None else "oversized_password"
        _audit_attempt(session, "login_failed", name, user.agency_id if user else None, {"reason": reason})
        return AuthResult(AuthOutcome.INVALID)
    if user.locked_until is not None:
        if user.locked_until > now:
            dummy_verify(password)
            _audit_attempt(session, "login_failed", name, user.agency_id, {"reason": "locked"})
            return AuthResult(AuthOutcome.LOCKED, locked_until=user.locked_until)
        user.locked_until = None
        user.failed_logins = 0
    if not verify_password(user.password_hash, password):
        return register_failed_attempt(session, user, now, "wrong_password")
    if not user.is_active:
        _audit_attempt(session, "login_failed", name, user.agency_id, {"reason": "inactive"})
        return AuthResult(AuthOutcome.INACTIVE)
    user.failed_logins = 0
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return AuthResult(AuthOutcome.OK, user=_info(user, user.agency))


def get_user_info(session: Session, user_id: int) -> UserInfo | None:
    """The public view of user ``user_id``, or None when there is no such user."""
    row = session.execute(
        select(User, Agency).join(Agency, User.agency_id == Agency.id).where(User.id == user_id)
    ).one_or_none()
    return None if row is None else _info(row[0], row[1])


def list_users(session: Session, agency_code: str | None = None) -> list[UserInfo]:
    """Every user (optionally of one agency), ordered by username; never includes hashes."""
    query = select(User, Agency).join(Agency, User.agency_id == Agency.id).order_by(User.username)
    if agency_code is not None:
        query = query.where(Agency.code == agency_code)
    return [_info(user, agency) for user, agency in session.execute(query)]


def count_users(session: Session) -> int:
    """How many user accounts exist."""
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def get_user_by_username(session: Session, username: str) -> User | None:
    """The account row for ``username`` (case-insensitive), or None."""
    return session.scalars(select(User).where(User.username == normalise_username(username))).one_or_none()


def set_training_valid_until(
    session: Session, username: str, valid_until: dt.date | None, *, actor: UserInfo | None = None
) -> UserInfo:
    """Record the last day (inclusive) of a user's 28 CFR Part 23 reviewer training; None clears it.

    Audited as an ``update`` of the user. Raises ValueError for an unknown username.
    """
    user = get_user_by_username(session, username)
    if user is None:
        raise ValueError(f"no user named {normalise_username(username)!r}")
    previous = user.training_valid_until
    user.training_valid_until = valid_until
    session.flush()
    record_event(
        session,
        action="update",
        object_type="user",
        object_id=user.username,
        actor=actor,
        agency_id=user.agency_id,
        details={
            "field": "training_valid_until",
            "from": previous.isoformat() if previous else None,
            "to": valid_until.isoformat() if valid_until else None,
        },
    )
    return _info(user, user.agency)


def reviewer_is_current(user: UserInfo, today: dt.date) -> bool:
    """Whether ``user`` may approve intelligence on ``today`` (28 CFR 23.20(c): trained reviewers only).

    True when the user's role may review (``intel:review``; reviewers when that permission is not
    defined) and the training is valid through ``today`` (``training_valid_until`` inclusive).

    >>> import datetime as dt
    >>> base = dict(id=1, username="r", full_name="", agency_id=1, agency_code="A", agency_name="A",
    ...             is_active=True, locked_until=None, last_login_at=None, created_at=dt.datetime(2020, 1, 1))
    >>> reviewer = UserInfo(role="reviewer", training_valid_until=dt.date(2026, 6, 30), **base)
    >>> reviewer_is_current(reviewer, dt.date(2026, 6, 30)), reviewer_is_current(reviewer, dt.date(2026, 7, 1))
    (True, False)
    >>> analyst = UserInfo(role="analyst", training_valid_until=dt.date(2030, 1, 1), **base)
    >>> reviewer_is_current(analyst, dt.date(2026, 1, 1))
    False
    """
    reviewing_roles = PERMISSIONS.get("intel:review", frozenset({Role.REVIEWER.value}))
    if user.role not in reviewing_roles or not user.is_active:
        return False
    return user.training_valid_until is not None and today <= user.training_valid_until
