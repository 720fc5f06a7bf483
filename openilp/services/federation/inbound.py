"""Checking a call from a partner instance: signature, clock window, replay, then the audit.

:func:`authenticate_call` runs inside the unit of work of the service that answers the call. A
call that is unsigned, signed by an unknown or removed partner, tampered with (body or any signed
header), dated outside the window (``federation_clock_skew_s``) or replayed (its key id and nonce,
or its signature, already accepted within the window) is refused with
:class:`FederationRefused` (401) and the refusal is audited (``federation_refused``) with the
path, the key id, the partner if known, the end user it names and the reason. An accepted call's
nonce is stored (even when the service then fails), and the service audits what it answered with
the calling instance and the end user who caused the call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from openilp.core import UnitOfWork
from openilp.db.federation_models import FederationNonce, FederationPartner
from openilp.errors import InvalidRequest, ServiceError
from openilp.security.federation import SignatureRefused, check_date, parse_signed_headers, verify_signature

__all__ = ["FederationRefused", "Caller", "IncomingCall", "authenticate_call", "authenticate"]


class FederationRefused(ServiceError):
    """A partner call refused for its signature, date, key or replay (audited)."""

    status_code = 401


@dataclass(frozen=True)
class Caller:
    """Who called: the partner instance (as registered here) and the end user it names."""

    partner_id: int
    partner_name: str
    agency_codes: tuple[str, ...]
    end_user: str

    def audit_details(self) -> dict[str, object]:
        return {"partner": self.partner_name, "end_user": self.end_user}


def _forget_old_nonces(session: Session, now: dt.datetime) -> None:
    session.execute(delete(FederationNonce).where(FederationNonce.expires_at < now))


def authenticate_call(
    uow: UnitOfWork,
    *,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
    skew_s: int,
) -> Caller:
    """The verified caller of one partner call, or an audited :class:`FederationRefused` (module notes)."""
    session, now = uow.session, uow.now
    lowered = {k.lower(): v for k, v in headers.items()}
    details: dict[str, object] = {
        "path": path_and_query[:200],
        "key_id": lowered.get("x-openilp-key-id", "")[:32],
        "end_user": lowered.get("x-openilp-user", "")[:200],
    }

    def refuse(reason: str) -> FederationRefused:
        return uow.refuse(
            FederationRefused(f"federation call refused: {reason}"),
            action="federation_refused",
            object_type="federation_call",
            details=details,
        )

    try:
        signed = parse_signed_headers(headers)
    except SignatureRefused as exc:
        raise refuse(str(exc)) from exc
    partner = session.scalar(select(FederationPartner).where(FederationPartner.key_id == signed.key_id))
    if partner is None or not partner.active:
        raise refuse("the key id belongs to no active partner of this instance")
    details["partner"] = partner.name
    try:
        moment = check_date(signed.date, now, skew_s)
        verify_signature(partner.public_key, method, path_and_query, body, signed)
    except SignatureRefused as exc:
        raise refuse(str(exc)) from exc
    signature_hash = hashlib.sha256(signed.signature.encode("ascii", "replace")).hexdigest()
    _forget_old_nonces(session, now)
    seen = session.scalar(
        select(FederationNonce.id).where(
            or_(
                (FederationNonce.key_id == signed.key_id) & (FederationNonce.nonce == signed.nonce),
                FederationNonce.signature_hash == signature_hash,
            )
        )
    )
    if seen is not None:
        raise refuse("replayed: this nonce was already used within the clock-skew window")
    expires = max(moment, now) + dt.timedelta(seconds=skew_s)

    def remember(target: Session) -> None:
        target.add(
            FederationNonce(
                key_id=signed.key_id, nonce=signed.nonce, signature_hash=signature_hash, seen_at=now, expires_at=expires
            )
        )
        target.flush()

    uow.keep_on_failure(remember)
    return Caller(
        partner_id=partner.id,
        partner_name=partner.name,
        agency_codes=tuple(c for c in partner.agency_codes.split(",") if c),
        end_user=signed.user,
    )


@dataclass(frozen=True)
class IncomingCall:
    """A partner call as the web shell received it: method, path with query, headers, raw body."""

    method: str
    path_and_query: str
    headers: Mapping[str, str]
    body: bytes

    def payload(self) -> dict[str, object]:
        """The JSON object in the body; :class:`~openilp.errors.InvalidRequest` when it is not one."""
        try:
            value = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise InvalidRequest("the body is not JSON") from exc
        if not isinstance(value, dict):
            raise InvalidRequest("the body is not a JSON object")
        return value


def authenticate(uow: UnitOfWork, call: IncomingCall, skew_s: int) -> Caller:
    """:func:`authenticate_call` over an :class:`IncomingCall`."""
    return authenticate_call(
        uow, method=call.method, path_and_query=call.path_and_query, headers=call.headers, body=call.body, skew_s=skew_s
    )
