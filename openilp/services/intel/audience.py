""" "Who will see this": the exact audience of a release, computed once for the preview and the release.

Before anything leaves, the releaser sees which agencies, which of their users (and roles) would
receive the record, who is left out and why, and how far the TLP marking lets the recipients pass it
on. :func:`preview_release` shows it; :func:`openilp.services.intel.dissemination.disseminate`
releases to exactly the recipients :func:`resolve_audience` returns for the same request, so the
preview and the release cannot disagree.

The audience follows from four things:

* **the target**: one named user of an agency, or a :mod:`sharing group <openilp.services.intel.groups>`
  (every law-enforcement user of each member agency other than your own);
* **the agreement**: an agency receives only with a current sharing agreement on file (23.20(f)(1));
* **the marking**: the release's TLP level may equal or narrow the record's, never widen it;
  ``TLP:RED`` goes to one named person, never to a group. A record received from a partner keeps
  the marking, handling code and audience it arrived with as a ceiling, and ``TLP:RED`` or
  ``TLP:AMBER+STRICT`` items received are not passed outside the agency at all;
* **the handling code**: travels with the release (code ``C`` with its conditions) and cannot be
  dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, IntelRecord, User
from openilp.intel.errors import IntelNotFound
from openilp.intel.markings import (
    TLP_MEANINGS,
    TLP_ONWARD,
    Marking,
    MarkingWidened,
    check_narrowing,
    onward_allowed,
    parse_tlp,
)
from openilp.intel.rules import SubmissionError
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import has_current_agreement
from openilp.services.intel.common import RECIPIENT_ROLES, load_record, require_permission
from openilp.services.intel.groups import group_member_ids, load_group

__all__ = [
    "NOBODY",
    "AudienceRequest",
    "AudienceAgency",
    "Audience",
    "Recipient",
    "preview_release",
    "resolve_audience",
]


#: How a refusal starts when the marking allows the release but no agency may receive it.
NOBODY = "refused: nobody would receive it: "


@dataclass(frozen=True)
class AudienceRequest(Request):
    """Whom a release would reach: a named user of an agency **or** a sharing group, under a TLP level.

    An empty ``tlp`` keeps the record's own marking.
    """

    record_id: int
    recipient_agency: str = ""
    recipient_username: str = ""
    sharing_group_id: int | None = None
    tlp: str = ""

    def validate(self) -> AudienceRequest:
        named = bool(str(self.recipient_agency or "").strip() or str(self.recipient_username or "").strip())
        if named == (self.sharing_group_id is not None):
            raise SubmissionError("address the release to one named recipient or to one sharing group (not both)")
        if self.tlp:
            parse_tlp(self.tlp)
        return self


@dataclass(frozen=True)
class AudienceAgency(Result):
    """One agency of the audience: whether it receives, who exactly, and why not when it does not."""

    code: str
    name: str
    included: bool
    #: Why the agency is left out (empty when included).
    reason: str
    #: ``"Full Name (username, role)"`` of each user who would receive the release.
    recipients: tuple[str, ...]
    #: The roles among them.
    roles: tuple[str, ...]
    #: Who else the TLP marking lets see it there.
    onward: str


@dataclass(frozen=True)
class Audience(Result):
    """The whole audience of a release; ``refusal`` says why nothing would go out (None: it may)."""

    record_id: int
    tlp: str
    tlp_meaning: str
    handling_code: str
    handling_conditions: str
    #: "user" or "group".
    target: str
    group_id: int | None
    group_name: str
    agencies: tuple[AudienceAgency, ...]
    refusal: str | None

    @property
    def recipient_count(self) -> int:
        """How many users would receive the release."""
        return sum(len(a.recipients) for a in self.agencies if a.included)


@dataclass(frozen=True)
class Recipient:
    """A user a release goes to (internal: the release writes one log row per recipient)."""

    agency: Agency
    user: User


def _label(user: User) -> str:
    return f"{user.full_name or user.username} ({user.username}, {user.role})"


def _received(record: IntelRecord) -> Marking | None:
    if record.received_tlp is None:
        return None
    audience = json.loads(record.received_audience) if record.received_audience else None
    return Marking(
        record.received_tlp,
        record.received_handling_code or record.handling_code,
        frozenset(audience) if audience is not None else None,
    )


def _refusal_by_marking(
    record: IntelRecord, tlp: str, agency_codes: list[str], addressed: list[str], own_code: str, is_group: bool
) -> str | None:
    """Why the marking refuses the release: ``agency_codes`` would receive, ``addressed`` were named."""
    item = f"record #{record.id}"
    try:
        check_narrowing(Marking(record.tlp, record.handling_code), Marking(tlp, record.handling_code), item=item)
        received = _received(record)
        if received is not None:
            check_narrowing(
                received, Marking(tlp, record.handling_code, frozenset(agency_codes)), item=f"{item} (received)"
            )
            reason = onward_allowed(received.tlp, addressed, own_code)
            if reason is not None:
                return f"{reason} ({item}, received from {record.received_from or 'a partner'})"
    except MarkingWidened as exc:
        return str(exc)
    if is_group and tlp == "TLP:RED":
        return "refused: TLP:RED is for named individual recipients only; release to one person, not a group"
    return None


def _users(session: Session, agency_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.agency_id == agency_id, User.is_active.is_(True), User.role.in_(sorted(RECIPIENT_ROLES)))
            .order_by(User.full_name, User.username)
        )
    )


def resolve_audience(
    session: Session, actor: UserInfo, record: IntelRecord, request: AudienceRequest, now: dt.datetime
) -> tuple[Audience, list[Recipient]]:
    """The audience of a release of ``record`` and the exact recipients (for the release to write).

    Raises :class:`SubmissionError` for an unknown agency, user or own agency named as recipient, and
    :class:`IntelNotFound` for a group the actor's agency neither owns nor belongs to.
    """
    request = request.validate()
    tlp = parse_tlp(request.tlp) if request.tlp else record.tlp
    onward = TLP_ONWARD[tlp]
    agencies: list[AudienceAgency] = []
    recipients: list[Recipient] = []
    group_name = ""
    if request.sharing_group_id is not None:
        group = load_group(session, request.sharing_group_id, actor.agency_id)
        group_name = group.name
        members = [session.get(Agency, agency_id) for agency_id in group_member_ids(session, group.id)]
        candidates = sorted((m for m in members if m is not None), key=lambda a: a.code)
    else:
        code = str(request.recipient_agency or "").strip()
        agency = session.scalars(select(Agency).where(func.upper(Agency.code) == code.upper())).one_or_none()
        if agency is None:
            raise SubmissionError(f"unknown recipient agency {code!r}")
        if agency.id == actor.agency_id:
            raise SubmissionError("that is your own agency: colleagues read the record directly, no release is needed")
        candidates = [agency]
    received = _received(record)
    for agency in candidates:
        if agency.id == actor.agency_id:
            agencies.append(
                AudienceAgency(
                    agency.code, agency.name, False, "your own agency: colleagues read the record directly", (), (), ""
                )
            )
            continue
        if request.sharing_group_id is not None:
            users = _users(session, agency.id)
        else:
            username = str(request.recipient_username or "").strip().lower()
            user = session.scalars(
                select(User).where(User.username == username, User.agency_id == agency.id)
            ).one_or_none()
            if user is None or not user.is_active:
                raise SubmissionError(f"no active user {request.recipient_username!r} in {agency.code}")
            users = [user]
        reason = ""
        if not has_current_agreement(session, actor.agency_id, agency.id, now):
            reason = f"no current sharing agreement with {agency.code} is on file (23.20(f)(1))"
        elif received is not None and received.audience is not None and agency.code not in received.audience:
            reason = f"{agency.code} is outside the audience the record was received for"
        elif not users:
            reason = f"no active law-enforcement user at {agency.code} may receive releases"
        elif request.sharing_group_id is None and users[0].role not in RECIPIENT_ROLES:
            reason = (
                f"{users[0].username} is not a law-enforcement user (role {users[0].role}): no right to know (23.20(e))"
            )
        if reason:
            agencies.append(AudienceAgency(agency.code, agency.name, False, reason, (), (), ""))
            continue
        agencies.append(
            AudienceAgency(
                agency.code,
                agency.name,
                True,
                "",
                tuple(_label(u) for u in users),
                tuple(sorted({u.role for u in users})),
                onward,
            )
        )
        recipients.extend(Recipient(agency, u) for u in users)
    own = session.get(Agency, actor.agency_id)
    refusal = _refusal_by_marking(
        record,
        tlp,
        [a.code for a in agencies if a.included],
        [a.code for a in agencies if a.code != (own.code if own else actor.agency_code)],
        own.code if own else actor.agency_code,
        request.sharing_group_id is not None,
    )
    if refusal is None and not recipients:
        refusal = NOBODY + "; ".join(a.reason for a in agencies if not a.included)
    audience = Audience(
        record_id=record.id,
        tlp=tlp,
        tlp_meaning=TLP_MEANINGS[tlp],
        handling_code=record.handling_code,
        handling_conditions=record.handling_conditions if record.handling_code == "C" else "",
        target="group" if request.sharing_group_id is not None else "user",
        group_id=request.sharing_group_id,
        group_name=group_name,
        agencies=tuple(agencies),
        refusal=refusal,
    )
    return audience, ([] if refusal else recipients)


def preview_release(core: OpenILP, actor: UserInfo, request: AudienceRequest) -> Audience:
    """Who would receive a release of one of the actor's agency's records, and who would not (read-only).

    Raises
    ------
    IntelForbidden
        The actor may not release (``intel:disseminate``).
    IntelNotFound
        No such record in the actor's agency, or no such group for it.
    SubmissionError
        No target or two targets, an unknown agency or user, a bad TLP level.
    """
    require_permission(actor, "intel:disseminate")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        record = load_record(uow.session, request.record_id)
        if record.agency_id != actor.agency_id:
            raise IntelNotFound("no such record")
        audience, _ = resolve_audience(uow.session, actor, record, request, uow.now)
        return audience
