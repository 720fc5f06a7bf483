"""User accounts: creation with validation, listing, and sign-in with account lockout.

Passwords are stored only as argon2id hashes (:mod:`openilp.security.passwords`). After
:data:`MAX_FAILED_LOGINS` consecutive failed sign-ins an account is locked for
:data:`LOCKOUT_MINUTES` minutes; while locked even the right password is refused. Unknown
usernames and locked accounts still cost one argon2 verification, so response times do not
reveal which usernames exist.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openilp.db.models import Agency, User, utcnow
from openilp.security.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from openilp.security.roles import ROLES, permissions_for
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


@dataclass(frozen=True)
class UserInfo:
    """What the application may show about a user: everything except the password hash."""

    id: int
    username: str
    full_name: str
    role: str
    agency_id: int
    agency_code: str
    agency_name: str
    is_active: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    created_at: dt.datetime

    @property
    def permissions(self) -> frozenset[str]:
        """Permissions the user's role grants (see :mod:`openilp.security.roles`)."""
        return permissions_for(self.role)

    def can(self, permission: str) -> bool:
        """Whether the user's role holds ``permission``."""
        return permission in self.permissions

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view (ISO 8601 times, sorted permissions)."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
            "agency": {"id": self.agency_id, "code": self.agency_code, "name": self.agency_name},
            "is_active": self.is_active,
            "locked_until": iso(self.locked_until),
            "last_login_at": iso(self.last_login_at),
            "created_at": iso(self.created_at),
            "permissions": sorted(self.permissions),
        }


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


def authenticate(session: Session, username: str, password: str, *, now: dt.datetime | None = None) -> AuthResult:
    """Check a username and password, applying the lockout rule.

    A wrong password increments the user's failure count; the :data:`MAX_FAILED_LOGINS`-th
    consecutive failure locks the account for :data:`LOCKOUT_MINUTES` minutes. A success
    resets the count, records ``last_login_at`` and upgrades an outdated hash. The caller
    commits the session (the failure count must be saved even though sign-in failed).

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
        return AuthResult(AuthOutcome.INVALID)
    if user.locked_until is not None:
        if user.locked_until > now:
            dummy_verify(password)
            return AuthResult(AuthOutcome.LOCKED, locked_until=user.locked_until)
        user.locked_until = None
        user.failed_logins = 0
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + dt.timedelta(minutes=LOCKOUT_MINUTES)
            session.flush()
            return AuthResult(AuthOutcome.LOCKED, locked_until=user.locked_until)
        session.flush()
        return AuthResult(AuthOutcome.INVALID)
    if not user.is_active:
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
