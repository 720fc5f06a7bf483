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

from openilp.core import OpenILP, Request, Result
from openilp.db.models import User
from openilp.errors import Conflict, InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo
from openilp.security.roles import Role
from openilp.services.accounts.records import require_user_row
from openilp.services.accounts.signin import register_failed_attempt

__all__ = [
    "TOTP_ROLES",
    "ISSUER",
    "STEP_SECONDS",
    "CodeCheck",
    "CodeRequest",
    "Enrolment",
    "EnrolmentRequest",
    "TotpOutcome",
    "TotpResetRequest",
    "TotpReset",
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
class Enrolment(Result):
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
    """The code without spaces; :class:`InvalidRequest` unless it is exactly 6 digits.

    >>> validate_code_format("123 456")
    '123456'
    """
    cleaned = (code or "").replace(" ", "").strip()
    if not _CODE.match(cleaned):
        raise InvalidRequest("enter the 6-digit code from your authenticator app")
    return cleaned


def _enrolment(user: User, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Enrolment(user.username, secret, uri)


@dataclass(frozen=True)
class EnrolmentRequest(Request):
    """Self-enrolment (``user_id``: the pending sign-in) or an administrator's (``username``)."""

    user_id: int | None = None
    username: str = ""


def begin_enrolment(core: OpenILP, actor: UserInfo | None, request: EnrolmentRequest) -> Enrolment:
    """Start (or resume) self-enrolment of ``request.user_id``: a secret that becomes active once a
    code is confirmed. :class:`Conflict` when the user already has a confirmed authenticator (an
    administrator must reset it first: ``openilp users totp-reset``)."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        user = uow.session.get(User, request.user_id) if request.user_id is not None else None
        if user is None:
            raise NotFound("no such user")
        if user.totp_enabled:
            raise Conflict("an authenticator is already enrolled; ask an administrator to reset it")
        if user.totp_secret:
            return _enrolment(user, core.secret_box.decrypt(user.totp_secret))
        secret = pyotp.random_base32()
        user.totp_secret = core.secret_box.encrypt(secret)
        user.totp_last_step = None
        return _enrolment(user, secret)


def _managed_user(session: Session, actor: UserInfo | None, username: str) -> User:
    if actor is not None and not actor.can("users:manage"):
        raise NotPermitted(f"your role ({actor.role}) may not manage authenticators")
    return require_user_row(session, username, agency_id=actor.agency_id if actor else None)


def admin_enrol(core: OpenILP, actor: UserInfo | None, request: EnrolmentRequest) -> Enrolment:
    """Give ``request.username`` a new, active secret (administrators hand it over in person); audited.

    Replaces any earlier authenticator. The user signs in with a code from the new secret.
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        user = _managed_user(uow.session, actor, request.username)
        secret = pyotp.random_base32()
        user.totp_secret = core.secret_box.encrypt(secret)
        user.totp_enabled = True
        user.totp_last_step = None
        uow.session.flush()
        uow.audit(
            action="totp_enroll",
            object_type="user",
            object_id=user.username,
            agency_id=user.agency_id,
            details={"by": "administrator"},
        )
        return _enrolment(user, secret)


@dataclass(frozen=True)
class TotpResetRequest(Request):
    username: str = ""


@dataclass(frozen=True)
class TotpReset(Result):
    username: str


def reset_totp(core: OpenILP, actor: UserInfo | None, request: TotpResetRequest) -> TotpReset:
    """Remove a user's authenticator (lost phone); users of :data:`TOTP_ROLES` must enrol again."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        user = _managed_user(uow.session, actor, request.username)
        user.totp_secret = None
        user.totp_enabled = False
        user.totp_last_step = None
        uow.session.flush()
        uow.audit(
            action="update",
            object_type="user",
            object_id=user.username,
            agency_id=user.agency_id,
            details={"field": "totp", "to": "reset"},
        )
        return TotpReset(user.username)


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


@dataclass(frozen=True)
class CodeRequest(Request):
    """A sign-in code of the pending user ``user_id``."""

    user_id: int = 0
    code: str = ""


@dataclass(frozen=True)
class CodeCheck(Result):
    outcome: TotpOutcome


def verify_code(core: OpenILP, actor: UserInfo | None, request: CodeRequest) -> CodeCheck:
    """Check a sign-in code at the core clock's moment; a first correct code also confirms a pending
    enrolment (audited ``totp_enroll``).

    Wrong and replayed codes count as failed sign-ins (the password lockout counter) and are
    audited (``login_failed`` with reason ``totp_invalid``/``totp_replayed``). The caller opens the
    session (audited ``login``).
    """
    request = request.validate()
    with core.unit_of_work(None) as uow:
        now = uow.now
        user = uow.session.get(User, request.user_id)
        if user is None or not user.totp_secret:
            return CodeCheck(TotpOutcome.NOT_ENROLLED)
        if user.locked_until is not None and user.locked_until > now:
            return CodeCheck(TotpOutcome.LOCKED)
        try:
            cleaned = validate_code_format(request.code[:64])
        except InvalidRequest:
            return CodeCheck(TotpOutcome.MALFORMED)
        step = _matching_step(core.secret_box.decrypt(user.totp_secret), cleaned, now)
        if step is None:
            result = register_failed_attempt(uow.session, user, now, "totp_invalid")
            return CodeCheck(TotpOutcome.LOCKED if result.locked_until else TotpOutcome.INVALID)
        if user.totp_last_step is not None and step <= user.totp_last_step:
            result = register_failed_attempt(uow.session, user, now, "totp_replayed")
            return CodeCheck(TotpOutcome.LOCKED if result.locked_until else TotpOutcome.REPLAYED)
        user.totp_last_step = step
        user.failed_logins = 0
        if not user.totp_enabled:
            user.totp_enabled = True
            uow.audit(
                action="totp_enroll",
                object_type="user",
                object_id=user.username,
                agency_id=user.agency_id,
                details={"by": "self"},
            )
        return CodeCheck(TotpOutcome.OK)
