"""TOTP second factor (RFC 6238; CJIS-style advanced authentication) with replay protection.

Reviewers, supervisors, auditors and administrators (:data:`TOTP_ROLES`) must enrol an
authenticator app and give a 6-digit code after their password on every sign-in; any other user
who has enrolled is asked too. Codes are 6 digits, 30-second steps, SHA-1 (what every
authenticator app supports); one step of clock drift either way is accepted. A code is accepted
**once**: the accepted time step is stored, and that step or an earlier one is refused afterwards.
Wrong codes count towards the account lockout like wrong passwords.

The shared secret is stored encrypted (:class:`openilp.security.secretbox.SecretBox`) and is
shown only during enrolment.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum

import pyotp
from sqlalchemy.orm import Session

from openilp.db.models import User, utcnow
from openilp.security.audit import record_event
from openilp.security.roles import Role
from openilp.security.secretbox import SecretBox
from openilp.services.users import (
    UserInfo,
    get_user_by_username,
    normalise_username,
    register_failed_attempt,
)

__all__ = [
    "TOTP_ROLES",
    "ISSUER",
    "STEP_SECONDS",
    "Enrolment",
    "TotpOutcome",
    "totp_required",
    "begin_enrolment",
    "admin_enrol",
    "reset_totp",
    "verify_code",
    "validate_code_format",
]

#: Roles that must use a second factor.
TOTP_ROLES: frozenset[str] = frozenset(
    {Role.REVIEWER.value, Role.SUPERVISOR.value, Role.AUDITOR.value, Role.ADMINISTRATOR.value}
)
#: Issuer shown in authenticator apps.
ISSUER = "OpenILP"
#: Seconds per TOTP step (RFC 6238 default).
STEP_SECONDS = 30
#: Steps of clock drift accepted either side of now.
DRIFT_STEPS = 1

_CODE = re.compile(r"^[0-9]{6}$")


def totp_required(user: UserInfo) -> bool:
    """Whether ``user`` must give a TOTP code at sign-in (their role requires it, or they enrolled)."""
    return user.role in TOTP_ROLES or user.totp_enabled


@dataclass(frozen=True)
class Enrolment:
    """What a user needs to set up an authenticator: the base32 secret and the ``otpauth://`` URI."""

    username: str
    secret: str
    uri: str


class TotpOutcome(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    REPLAYED = "replayed"
    LOCKED = "locked"
    NOT_ENROLLED = "not_enrolled"
    MALFORMED = "malformed"


def validate_code_format(code: str) -> str:
    """The code without spaces; ValueError unless it is exactly 6 digits."""
    cleaned = (code or "").replace(" ", "").strip()
    if not _CODE.match(cleaned):
        raise ValueError("enter the 6-digit code from your authenticator app")
    return cleaned


def _enrolment(user: User, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Enrolment(user.username, secret, uri)


def begin_enrolment(session: Session, user_id: int, box: SecretBox) -> Enrolment:
    """Start (or resume) self-enrolment: a secret that becomes active once a code is confirmed.

    Raises ValueError when the user already has a confirmed authenticator (an administrator must
    reset it first: ``openilp users totp-reset``).
    """
    user = session.get(User, user_id)
    if user is None:
        raise ValueError("no such user")
    if user.totp_enabled:
        raise ValueError("an authenticator is already enrolled; ask an administrator to reset it")
    if user.totp_secret:
        return _enrolment(user, box.decrypt(user.totp_secret))
    secret = pyotp.random_base32()
    user.totp_secret = box.encrypt(secret)
    user.totp_last_step = None
    session.flush()
    return _enrolment(user, secret)


def admin_enrol(session: Session, username: str, box: SecretBox, *, actor: UserInfo | None = None) -> Enrolment:
    """Give ``username`` a new, active secret (administrators hand it over in person); audited.

    Replaces any earlier authenticator. The user signs in with a code from the new secret.
    """
    user = get_user_by_username(session, username)
    if user is None:
        raise ValueError(f"no user named {normalise_username(username)!r}")
    secret = pyotp.random_base32()
    user.totp_secret = box.encrypt(secret)
    user.totp_enabled = True
    user.totp_last_step = None
    session.flush()
    record_event(
        session,
        action="totp_enroll",
        object_type="user",
        object_id=user.username,
        actor=actor,
        agency_id=user.agency_id,
        details={"by": "administrator"},
    )
    return _enrolment(user, secret)


def reset_totp(session: Session, username: str, *, actor: UserInfo | None = None) -> None:
    """Remove a user's authenticator (lost phone); users of :data:`TOTP_ROLES` must enrol again."""
    user = get_user_by_username(session, username)
    if user is None:
        raise ValueError(f"no user named {normalise_username(username)!r}")
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    session.flush()
    record_event(
        session,
        action="update",
        object_type="user",
        object_id=user.username,
        actor=actor,
        agency_id=user.agency_id,
        details={"field": "totp", "to": "reset"},
    )


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def verify_code(
    session: Session, user_id: int, code: str, box: SecretBox, *, now: dt.datetime | None = None
) -> TotpOutcome:
    """Check a sign-in code for ``user_id``; a first correct code also confirms a pending enrolment.

    Wrong and replayed codes count as failed sign-ins (the password lockout counter)
    and are audited (``login_failed`` with reason ``totp_invalid``/``totp_replayed``). The caller
    records the successful ``login``.
    """
    now = now or utcnow()
    user = session.get(User, user_id)
    if user is None or not user.totp_secret:
        return TotpOutcome.NOT_ENROLLED
    if user.locked_until is not None and user.locked_until > now:
        return TotpOutcome.LOCKED
    try:
        cleaned = validate_code_format(code)
    except ValueError:
        return TotpOutcome.MALFORMED
    step = _matching_step(box.decrypt(user.totp_secret), cleaned, now)
    if step is None:
        result = register_failed_attempt(session, user, now, "totp_invalid")
        return TotpOutcome.LOCKED if result.locked_until else TotpOutcome.INVALID
    if user.totp_last_step is not None and step <= user.totp_last_step:
        result = register_failed_attempt(session, user, now, "totp_replayed")
        return TotpOutcome.LOCKED if result.locked_until else TotpOutcome.REPLAYED
    user.totp_last_step = step
    user.failed_logins = 0
    if not user.totp_enabled:
        user.totp_enabled = True
        record_event(
            session,
            action="totp_enroll",
            object_type="user",
            object_id=user.username,
            actor=None,
            agency_id=user.agency_id,
            details={"by": "self"},
        )
    session.flush()
    return TotpOutcome.OK
