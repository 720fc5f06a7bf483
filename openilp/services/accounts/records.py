"""Account and agency rows as the services read them: building blocks inside a caller's transaction.

These helpers take the caller's SQLAlchemy session (a unit of work's ``uow.session``) and neither
commit nor audit; the public workflows of :mod:`openilp.services.accounts` (and the intelligence
and problem services, which look people up) build on them. Shells never call them.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.models import Agency, User
from openilp.errors import InvalidRequest, NotFound
from openilp.security.actors import UserInfo

__all__ = [
    "AGENCY_CODE",
    "USERNAME",
    "agency_by_code",
    "check_agency_fields",
    "ensure_agency",
    "info_of",
    "normalise_username",
    "require_agency",
    "require_user_row",
    "user_by_username",
    "user_info",
]

#: Usernames: 3–80 characters, lower case letters, digits, ``.``, ``_``, ``@``, ``-``.
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,79}$")
#: Agency codes: 1–32 characters without spaces.
AGENCY_CODE = re.compile(r"^\S{1,32}$")


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case, without spaces around.

    >>> normalise_username("  Alice.Smith ")
    'alice.smith'
    """
    return username.strip().lower()


def info_of(user: User, agency: Agency) -> UserInfo:
    """The public view of ``user`` (everything but the password hash and the TOTP secret)."""
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


def user_info(session: Session, user_id: int) -> UserInfo | None:
    """The public view of user ``user_id``, or None when there is no such user."""
    row = session.execute(
        select(User, Agency).join(Agency, User.agency_id == Agency.id).where(User.id == user_id)
    ).one_or_none()
    return None if row is None else info_of(row[0], row[1])


def user_by_username(session: Session, username: str) -> User | None:
    """The account row for ``username`` (case-insensitive), or None."""
    return session.scalars(select(User).where(User.username == normalise_username(username))).one_or_none()


def require_user_row(session: Session, username: str, *, agency_id: int | None = None) -> User:
    """The account row for ``username``; :class:`NotFound` when missing (or of another agency)."""
    user = user_by_username(session, username)
    if user is None or (agency_id is not None and user.agency_id != agency_id):
        raise NotFound(f"no user named {normalise_username(username)!r}")
    return user


def agency_by_code(session: Session, code: str) -> Agency | None:
    """The agency whose code is ``code`` (exact match), or None."""
    return session.scalars(select(Agency).where(Agency.code == code)).one_or_none()


def require_agency(session: Session, code: str) -> Agency:
    """The agency ``code``; :class:`NotFound` naming the known codes when there is none."""
    agency = agency_by_code(session, code)
    if agency is None:
        known = session.scalars(select(Agency.code).order_by(Agency.code)).all()
        hint = (
            f"known agencies: {', '.join(known)}"
            if known
            else "no agency exists yet (import data or run 'openilp agencies create')"
        )
        raise NotFound(f"unknown agency {code!r}; {hint}")
    return agency


def check_agency_fields(code: str, timezone: str) -> str:
    """The trimmed code; :class:`InvalidRequest` for a malformed code or an unknown time zone.

    >>> check_agency_fields(" SLMPD ", "America/Chicago")
    'SLMPD'
    >>> check_agency_fields("A B", "UTC")
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: code: an agency code must be 1–32 characters without spaces, got 'A B'
    """
    code = code.strip()
    if not AGENCY_CODE.match(code):
        raise InvalidRequest(f"code: an agency code must be 1–32 characters without spaces, got {code!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(
            f"timezone: unknown time zone {timezone!r} (use an IANA name such as America/Chicago)"
        ) from exc
    return code


def ensure_agency(session: Session, code: str, name: str, timezone: str, crs: str) -> Agency:
    """The agency ``code``, created in the caller's transaction when it does not exist yet.

    An existing agency is returned unchanged (its name, time zone and CRS are not overwritten).
    Raises :class:`InvalidRequest` for a malformed code or an unknown time zone.
    """
    code = check_agency_fields(code, timezone)
    existing = agency_by_code(session, code)
    if existing is not None:
        return existing
    agency = Agency(code=code, name=name, timezone=timezone, crs=crs)
    session.add(agency)
    session.flush()
    return agency
