"""Administration of intelligence sharing: partner agreements and the agency's grading scheme.

28 CFR 23.20(f)(1) allows dissemination only to law-enforcement authorities that agree to follow
the project's procedures for receipt, maintenance, security and dissemination. An administrator
(or supervisor: ``intel:settings``) puts each partner agency's signed agreement on file with its
**scope**, its **reference** (the MOU or user-agreement document), a **version** and the period it
is **valid from** and **valid to**; an agreement can be **revoked** at once, with a reason. Only a
current agreement (signed, not expired, not revoked) lets the partner receive releases, and only
one whose scope is ``releases_and_search`` also gives the partner full hits on open records in
search (otherwise a pointer). The grading scheme (Admiralty or UK 3×5×2,
:mod:`openilp.intel.grading`) is chosen per agency; records keep the scheme they were graded in.

Every change is audited in the service's unit of work. Bad input raises
:class:`FieldError`, whose ``field`` names the input at fault, so forms and the CLI can say which.

>>> parse_moment("2024-05-01", "valid_from").isoformat()
'2024-05-01T00:00:00+00:00'
>>> parse_moment("2024-05-01", "valid_to", end_of_day=True).isoformat()
'2024-05-01T23:59:59.999999+00:00'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from openilp.constants import AGREEMENT_SCOPES
from openilp.core import OpenILP, Request, Result
from openilp.core.dates import check_day
from openilp.db.models import Agency, IntelPartnerAgreement
from openilp.errors import InvalidRequest
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.grading import SCHEMES
from openilp.intel.rules import SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.intel.common import (
    agency_grading_scheme,
    agency_name,
    require_permission,
    set_agency_grading_scheme,
    user_label,
)

__all__ = [
    "AGREEMENT_SCOPES",
    "MIN_REVOCATION_REASON_CHARS",
    "FieldError",
    "parse_moment",
    "AgreementRequest",
    "RevocationRequest",
    "GradingSchemeRequest",
    "Agreement",
    "Agreements",
    "GradingSchemes",
    "add_agreement",
    "list_agreements",
    "revoke_agreement",
    "has_current_agreement",
    "grading_scheme_settings",
    "choose_grading_scheme",
    "settings_actor",
]

#: From the start of a day to its last representable moment: an inclusive "valid to" day.
LAST_MOMENT_OF_DAY = dt.timedelta(days=1, microseconds=-1)

#: Shortest reason for revoking an agreement, in characters.
MIN_REVOCATION_REASON_CHARS = 10


class FieldError(SubmissionError):
    """Bad input; ``field`` names it (``partner_agency``, ``valid_to``, …) and starts the message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


def parse_moment(value: object, field: str, *, end_of_day: bool = False) -> dt.datetime:
    """An ISO 8601 date or date-time as an aware UTC moment (no offset means UTC).

    A bare date is the start of that day, or with ``end_of_day`` its last moment (so an agreement
    "valid to 2025-12-31" holds through the 31st and is stored and shown as that day, not as the
    first moment of the next).
    """
    text = str(value or "").strip()
    if not text:
        raise FieldError(field, "a date is required (YYYY-MM-DD)")
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            moment += LAST_MOMENT_OF_DAY if end_of_day else dt.timedelta()
        else:
            parsed = dt.datetime.fromisoformat(text)
            moment = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed
        check_day(moment.date(), field)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, InvalidRequest):
            raise FieldError(field, str(exc).removeprefix(f"{field} ")) from None
        raise FieldError(field, f"{text[:40]!r} is not a date (YYYY-MM-DD) or ISO date-time") from None


def _text(value: object, field: str, max_chars: int) -> str:
    try:
        text = clean_text(value, field, max_chars)
    except SubmissionError as exc:
        raise FieldError(field, str(exc).removeprefix(f"{field} ")) from None
    if not text:
        raise FieldError(field, "is required")
    return text


@dataclass(frozen=True)
class AgreementRequest(Request):
    """A partner agency's signed agreement: partner code, document reference, version, validity, scope.

    ``valid_from`` and ``valid_to`` take aware moments or ISO text (a bare ``valid_to`` date
    holds through that day); an empty ``valid_to`` means open-ended.
    """

    partner_agency: str = ""
    reference: str = ""
    valid_from: dt.datetime | str | None = None
    valid_to: dt.datetime | str | None = None
    scope: str = "releases_and_search"
    version: str = "1"

    def validate(self) -> AgreementRequest:
        values, errors = self._checked()
        for error in errors:
            raise error
        return dataclasses.replace(self, **values)

    def field_errors(self) -> dict[str, str]:
        """Every bad field at once, by form field name, each message without the field's prefix.

        :meth:`validate` stops at the first; the settings form shows them all, each next to its
        control. Whether the partner agency exists is checked by the service, not here.

        >>> sorted(AgreementRequest(valid_from="2025-13-01", reference=" ", scope="all").field_errors())
        ['partner_agency', 'reference', 'scope', 'valid_from']
        """
        errors = {}
        if not str(self.partner_agency or "").strip():
            errors["partner_agency"] = "choose the partner agency"
        for error in self._checked()[1]:
            errors.setdefault(error.field, str(error).removeprefix(f"{error.field}: "))
        return errors

    def _checked(self) -> tuple[dict[str, Any], list[FieldError]]:
        """The cleaned values and every field's error, in the order :meth:`validate` reports them."""
        values: dict[str, Any] = {}
        errors: list[FieldError] = []

        def check(name: str, clean: Callable[[], object]) -> None:
            try:
                values[name] = clean()
            except FieldError as exc:
                errors.append(exc)

        valid_from, valid_to = self.valid_from, self.valid_to
        if not isinstance(valid_from, dt.datetime):
            check("valid_from", lambda: parse_moment(valid_from, "valid_from"))
        if isinstance(valid_to, str):
            to_text = valid_to
            check("valid_to", lambda: parse_moment(to_text, "valid_to", end_of_day=True) if to_text.strip() else None)
        start, end = values.get("valid_from", valid_from), values.get("valid_to", valid_to)
        if isinstance(start, dt.datetime) and not isinstance(end, str):
            if start.tzinfo is None or (end is not None and end.tzinfo is None):
                errors.append(FieldError("valid_from", "dates must carry a time zone"))
            elif end is not None and end <= start:
                errors.append(FieldError("valid_to", "must be after valid_from"))
        if self.scope not in AGREEMENT_SCOPES:
            errors.append(FieldError("scope", f"{str(self.scope)[:40]!r} is not one of: {', '.join(AGREEMENT_SCOPES)}"))
        check("reference", lambda: _text(self.reference, "reference", 200))
        check("version", lambda: _text(self.version, "version", 40))
        return values, errors


@dataclass(frozen=True)
class RevocationRequest(Request):
    """Which agreement to revoke, and why (at least :data:`MIN_REVOCATION_REASON_CHARS` characters)."""

    agreement_id: int
    reason: str = ""


@dataclass(frozen=True)
class GradingSchemeRequest(Request):
    """The grading scheme to use for new submissions (a key of :data:`openilp.intel.grading.SCHEMES`)."""

    grading_scheme: str = ""

    def validate(self) -> GradingSchemeRequest:
        code = str(self.grading_scheme or "").strip()
        if code not in SCHEMES:
            raise FieldError("grading_scheme", f"{code[:40]!r} is not one of: {', '.join(SCHEMES)}")
        return dataclasses.replace(self, grading_scheme=code)


@dataclass(frozen=True)
class Agreement(Result):
    """One agreement on file, with its status at the moment it was read."""

    id: int
    partner_agency: str
    partner_name: str
    scope: str
    reference: str
    version: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    recorded_by: str
    revoked_at: dt.datetime | None
    revoked_by: str
    revocation_reason: str | None
    #: "current", "not yet valid", "expired" or "revoked".
    status: str


@dataclass(frozen=True)
class Agreements(Result):
    """The agency's agreements, newest first, and the scopes an agreement may have."""

    agreements: tuple[Agreement, ...] = ()
    scopes: Mapping[str, str] = field(default_factory=lambda: dict(AGREEMENT_SCOPES))


@dataclass(frozen=True)
class GradingSchemes(Result):
    """The agency's grading scheme and the schemes it may choose (code → label)."""

    grading_scheme: str
    schemes: Mapping[str, str]


def _status(row: IntelPartnerAgreement, now: dt.datetime) -> str:
    if row.revoked_at is not None and row.revoked_at <= now:
        return "revoked"
    if row.signed_at > now:
        return "not yet valid"
    if row.expires_at is not None and row.expires_at < now:
        return "expired"
    return "current"


def _agreement(session: Session, row: IntelPartnerAgreement, now: dt.datetime) -> Agreement:
    partner = session.get(Agency, row.partner_agency_id)
    return Agreement(
        id=row.id,
        partner_agency=partner.code if partner else "",
        partner_name=agency_name(session, row.partner_agency_id),
        scope=row.scope,
        reference=row.document_reference,
        version=row.version,
        valid_from=row.signed_at,
        valid_to=row.expires_at,
        recorded_by=user_label(session, row.recorded_by_id),
        revoked_at=row.revoked_at,
        revoked_by=user_label(session, row.revoked_by_id),
        revocation_reason=row.revocation_reason,
        status=_status(row, now),
    )


def add_agreement(core: OpenILP, actor: UserInfo, request: AgreementRequest) -> Agreement:
    """Put a partner agency's signed sharing agreement on file for the actor's agency (audited).

    Raises
    ------
    FieldError
        Unknown partner (or the actor's own agency), unknown scope, missing reference or version,
        ``valid_to`` not after ``valid_from``, or that version already on file for the partner.
    IntelForbidden
        The actor's role lacks ``intel:settings``.
    """
    require_permission(actor, "intel:settings")
    request = request.validate()
    code = str(request.partner_agency or "").strip()
    with core.unit_of_work(actor) as uow:
        session = uow.session
        partner = session.scalars(select(Agency).where(Agency.code == code)).one_or_none() if code else None
        if partner is None:
            raise FieldError("partner_agency", f"unknown agency {code!r}" if code else "choose the partner agency")
        if partner.id == actor.agency_id:
            raise FieldError(
                "partner_agency", "that is your own agency: no agreement is needed to read your own records"
            )
        valid_from, valid_to = request.valid_from, request.valid_to
        assert isinstance(valid_from, dt.datetime) and not isinstance(valid_to, str)
        duplicate = session.scalar(
            select(
                exists().where(
                    IntelPartnerAgreement.agency_id == actor.agency_id,
                    IntelPartnerAgreement.partner_agency_id == partner.id,
                    IntelPartnerAgreement.version == request.version,
                )
            )
        )
        if duplicate:
            raise FieldError(
                "version", f"version {request.version!r} of an agreement with {partner.code} is already on file"
            )
        agreement = IntelPartnerAgreement(
            agency_id=actor.agency_id,
            partner_agency_id=partner.id,
            document_reference=request.reference,
            version=request.version,
            signed_at=valid_from,
            expires_at=valid_to,
            scope=request.scope,
            recorded_by_id=actor.id,
        )
        session.add(agreement)
        session.flush()
        uow.audit(
            action="create",
            object_type="intel_agreement",
            object_id=agreement.id,
            purpose="sharing agreement (28 CFR 23.20(f)(1))",
            details={
                "partner": partner.code,
                "scope": request.scope,
                "reference": request.reference,
                "version": request.version,
                "valid_from": valid_from.isoformat(),
                "valid_to": valid_to.isoformat() if valid_to else None,
            },
        )
        return _agreement(session, agreement, uow.now)


def list_agreements(core: OpenILP, actor: UserInfo) -> Agreements:
    """Every agreement of the actor's agency, newest first, with its status (current, expired, …)."""
    require_permission(actor, "intel:settings")
    with core.unit_of_work(actor) as uow:
        rows = uow.session.scalars(
            select(IntelPartnerAgreement)
            .where(IntelPartnerAgreement.agency_id == actor.agency_id)
            .order_by(IntelPartnerAgreement.id.desc())
        )
        return Agreements(tuple(_agreement(uow.session, row, uow.now) for row in rows))


def revoke_agreement(core: OpenILP, actor: UserInfo, request: RevocationRequest) -> Agreement:
    """Revoke an agreement from now on: no more releases or full search hits (audited).

    Past releases stay in the dissemination log; their recipients still get corrections and purges.
    """
    request = request.validate()
    require_permission(actor, "intel:settings")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agreement_id = request.agreement_id
        row = session.get(IntelPartnerAgreement, agreement_id) if isinstance(agreement_id, int) else None
        if row is None or row.agency_id != actor.agency_id:
            raise IntelNotFound("no such agreement")
        if row.revoked_at is not None:
            raise FieldError("agreement", f"agreement #{row.id} was already revoked on {row.revoked_at.date()}")
        text = _text(request.reason, "reason", 500)
        if len(text) < MIN_REVOCATION_REASON_CHARS:
            raise FieldError("reason", f"explain the revocation (at least {MIN_REVOCATION_REASON_CHARS} characters)")
        row.revoked_at = uow.now
        row.revoked_by_id = actor.id
        row.revocation_reason = text
        session.flush()
        uow.audit(
            action="revoke",
            object_type="intel_agreement",
            object_id=row.id,
            purpose="sharing agreement (28 CFR 23.20(f)(1))",
            details={"partner_agency_id": row.partner_agency_id, "version": row.version, "reason": text},
        )
        return _agreement(session, row, uow.now)


def has_current_agreement(
    session: Session, owner_agency_id: int, partner_agency_id: int, now: dt.datetime, *, for_search: bool = False
) -> bool:
    """Whether the owner has a signed, unexpired, unrevoked agreement with the partner on file.

    With ``for_search`` the agreement must also cover full search hits (scope ``releases_and_search``).
    """
    conditions = [
        IntelPartnerAgreement.agency_id == owner_agency_id,
        IntelPartnerAgreement.partner_agency_id == partner_agency_id,
        IntelPartnerAgreement.signed_at <= now,
        or_(IntelPartnerAgreement.expires_at.is_(None), IntelPartnerAgreement.expires_at >= now),
        or_(IntelPartnerAgreement.revoked_at.is_(None), IntelPartnerAgreement.revoked_at > now),
    ]
    if for_search:
        conditions.append(IntelPartnerAgreement.scope == "releases_and_search")
    return bool(session.scalar(select(exists().where(*conditions))))


def grading_scheme_settings(core: OpenILP, actor: UserInfo) -> GradingSchemes:
    """The agency's grading scheme and the schemes it may choose (``intel:settings``)."""
    require_permission(actor, "intel:settings")
    with core.unit_of_work(actor) as uow:
        return GradingSchemes(
            agency_grading_scheme(uow.session, actor.agency_id),
            {code: scheme.label for code, scheme in SCHEMES.items()},
        )


def choose_grading_scheme(core: OpenILP, actor: UserInfo, request: GradingSchemeRequest) -> GradingSchemes:
    """Set the agency's grading scheme for new submissions (audited); return the new settings.

    Records already graded keep their scheme (each record stores it), so a change never regrades them.
    """
    require_permission(actor, "intel:settings")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        set_agency_grading_scheme(uow, actor, request.grading_scheme)
        return GradingSchemes(request.grading_scheme, {code: scheme.label for code, scheme in SCHEMES.items()})


def settings_actor(core: OpenILP, username: str) -> UserInfo:
    """The active account ``username`` that may manage intelligence settings (the CLI acts as it).

    Raises :class:`IntelNotFound` for no such active account and :class:`IntelForbidden` for a role
    without ``intel:settings`` (administrators and supervisors have it).
    """
    from openilp.services.accounts.records import user_by_username, user_info

    with core.unit_of_work(None) as uow:
        user = user_by_username(uow.session, username)
        info = user_info(uow.session, user.id) if user is not None else None
    if info is None or not info.is_active:
        raise IntelNotFound(f"no active user {username!r}")
    if not info.can("intel:settings"):
        raise IntelForbidden(
            f"{username} ({info.role}) may not manage intelligence settings (administrators and supervisors may)"
        )
    return info
