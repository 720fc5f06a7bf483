"""Helpers shared by the intelligence services: purposes, permissions, users, notifications.

A refused read, search or release is itself audited (``*_refused`` actions):
:func:`checked_purpose` records the refusal with :meth:`openilp.core.UnitOfWork.refuse`, so the
unit of work rolls the action back and keeps the refusal in the audit log. No shell commits.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import cast

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from openilp.core import UnitOfWork
from openilp.db.federation_models import FederationDelivery, FederationShare
from openilp.db.models import Agency, IntelAgencySettings, IntelDissemination, IntelRecord, Notification, User
from openilp.intel.errors import IntelForbidden, IntelNotFound, PurposeRequired
from openilp.intel.grading import DEFAULT_SCHEME, SCHEMES
from openilp.security.actors import UserInfo
from openilp.security.audit import require_purpose
from openilp.services.intel.documents import RecordDocument

__all__ = [
    "LAW_ENFORCEMENT_ROLES",
    "RECIPIENT_ROLES",
    "checked_purpose",
    "require_permission",
    "agency_grading_scheme",
    "set_agency_grading_scheme",
    "reviewer_training_current",
    "notify",
    "notify_past_recipients",
    "load_record",
    "user_label",
    "agency_name",
    "ITEM_FIELDS",
    "released_to",
    "released_items",
    "released_view",
]

#: Roles whose holders are law-enforcement users (right-to-know, 23.20(e)).
LAW_ENFORCEMENT_ROLES: frozenset[str] = frozenset({"analyst", "officer", "supervisor", "reviewer"})
#: Roles that may receive a release: law-enforcement staff of the partner agency, and its users with
#: the ``partner`` role (accounts given to partner agencies' staff precisely to receive releases).
RECIPIENT_ROLES: frozenset[str] = LAW_ENFORCEMENT_ROLES | {"partner"}


#: The fields of a record's document that each releasable item opens to its recipient. A release
#: opens only its items; the record's identity, owner, contact, dates and handling conditions are
#: always shown to a recipient (they are what the recipient must follow and whom to ask).
ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "summary": ("title", "summary", "offence_category"),
    "subjects": ("subjects",),
    "labels": ("grading", "handling_code", "sensitivity"),
}
#: Search hits log these items (title and summary, subjects, labels).
_ITEM_ALIASES = {"title": "summary"}


def released_to(user: UserInfo) -> ColumnElement[bool]:
    """SQL condition: a dissemination made to ``user`` by name (need-to-know per recipient, 23.20(e)).

    A release names one person; colleagues in the recipient's agency did not receive it.
    """
    return and_(
        IntelDissemination.recipient_user_id == user.id, IntelDissemination.recipient_agency_id == user.agency_id
    )


def released_items(session: Session, user: UserInfo, record_id: int) -> set[str] | None:
    """The items of ``record_id`` released to ``user`` by name, over all their releases; None when none was."""
    rows = session.scalars(
        select(IntelDissemination.items).where(IntelDissemination.record_id == record_id, released_to(user))
    ).all()
    if not rows:
        return None
    items: set[str] = set()
    for row in rows:
        items |= {_ITEM_ALIASES.get(str(item), str(item)) for item in json.loads(row or "[]")}
    return items


def released_view(document: RecordDocument, items: set[str]) -> RecordDocument:
    """``document`` with the fields of the items not released removed (see :data:`ITEM_FIELDS`).

    The keys keep their order; ``document`` itself is left as it was.

    >>> doc = {"id": 7, "title": "t", "summary": "s", "subjects": [], "grading": {"label": "B2"}}
    >>> released_view(doc, {"subjects"})
    {'id': 7, 'subjects': []}
    """
    withheld = {name for fields in ITEM_FIELDS.values() for name in fields}
    opened = {name for item in items for name in ITEM_FIELDS.get(item, ())}
    kept = {key: value for key, value in document.items() if key not in withheld or key in opened}
    return cast(RecordDocument, kept)  # only keys of ITEM_FIELDS, all NotRequired, are dropped


def checked_purpose(
    uow: UnitOfWork,
    purpose: str | None,
    *,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
) -> str:
    """The trimmed purpose, or an audited refusal (``<action>_refused``) and :class:`PurposeRequired`.

    The refusal is kept by the unit of work (:meth:`~openilp.core.UnitOfWork.refuse`): the action
    rolls back, the audit entry stays.
    """
    try:
        return require_purpose(purpose)
    except ValueError as exc:
        raise uow.refuse(
            PurposeRequired(str(exc)), action=f"{action}_refused"[:32], object_type=object_type, object_id=object_id
        ) from exc


def require_permission(user: UserInfo, permission: str) -> None:
    """Raise :class:`IntelForbidden` unless ``user``'s role holds ``permission``."""
    if not user.can(permission):
        raise IntelForbidden(f"your role ({user.role}) does not permit this ({permission})")


def agency_grading_scheme(session: Session, agency_id: int) -> str:
    """The grading scheme an agency uses (the default, Admiralty, until it chooses one)."""
    row = session.get(IntelAgencySettings, agency_id)
    return row.grading_scheme if row is not None else DEFAULT_SCHEME


def set_agency_grading_scheme(uow: UnitOfWork, actor: UserInfo, scheme: str) -> None:
    """Choose the grading scheme of the actor's agency (administrators; audited)."""
    require_permission(actor, "intel:settings")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown grading scheme {scheme!r} (choose {', '.join(SCHEMES)})")
    session = uow.session
    previous = agency_grading_scheme(session, actor.agency_id)
    row = session.get(IntelAgencySettings, actor.agency_id) or IntelAgencySettings(agency_id=actor.agency_id)
    row.grading_scheme = scheme
    row.updated_at = uow.now
    session.add(row)
    uow.audit(
        action="update",
        object_type="intel_settings",
        actor=actor,
        details={"grading_scheme": scheme, "previous": previous},
    )


def reviewer_training_current(session: Session, user: UserInfo, today: dt.date) -> bool:
    """Whether ``user``'s 28 CFR Part 23 reviewer training is valid on ``today`` (23.20(c))."""
    valid_until = session.scalar(select(User.training_valid_until).where(User.id == user.id))
    return valid_until is not None and valid_until >= today


def notify(
    session: Session,
    *,
    agency_id: int,
    kind: str,
    message: str,
    user_id: int | None = None,
    record_id: int | None = None,
    now: dt.datetime,
) -> Notification:
    """Leave an in-app notice for a user, or for the whole agency when ``user_id`` is None."""
    note = Notification(
        agency_id=agency_id,
        user_id=user_id,
        kind=kind,
        message=message[:1000],
        record_id=record_id,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


def notify_past_recipients(session: Session, record: IntelRecord, *, kind: str, message: str, now: dt.datetime) -> int:
    """Notify every past recipient of ``record`` (each distinct agency/user once); return how many.

    Recipients outside every agency in the store (emergency releases, 23.20(f)(2)) cannot get an
    in-app notice: the record's control official is told to advise each of them by hand, and
    they count among the recipients notified. Partner instances that received the record (an open
    summary in a federated search) get a signed notice: one delivery per partner is put in the
    federation outbox (``federation_deliveries``, sent and retried by
    :func:`openilp.services.federation.propagation.deliver_pending`); each counts as one recipient.
    """
    recipients = session.execute(
        select(IntelDissemination.recipient_agency_id, IntelDissemination.recipient_user_id)
        .where(IntelDissemination.record_id == record.id, IntelDissemination.recipient_agency_id.is_not(None))
        .distinct()
    ).all()
    for agency_id, user_id in recipients:
        if agency_id is None:  # excluded by the query; narrows the type
            continue
        notify(session, agency_id=agency_id, user_id=user_id, kind=kind, message=message, record_id=record.id, now=now)
    outside = session.scalars(
        select(IntelDissemination.recipient_name)
        .where(
            IntelDissemination.record_id == record.id,
            IntelDissemination.recipient_agency_id.is_(None),
            IntelDissemination.kind != "federation",
        )
        .distinct()
    ).all()
    partners = queue_federation_notices(session, record, kind=kind, message=message, now=now)
    if outside:
        notify(
            session,
            agency_id=record.agency_id,
            user_id=record.control_official_id,
            kind=f"{kind}_advise"[:40],
            message=f"{message} Record #{record.id} also went to people outside the system (an emergency "
            f"release or a product sent by e-mail or to a folder): advise each of them by hand: "
            f"{'; '.join(sorted(outside))}.",
            record_id=record.id,
            now=now,
        )
    return len(recipients) + len(outside) + partners


def queue_federation_notices(
    session: Session, record: IntelRecord, *, kind: str, message: str, now: dt.datetime
) -> int:
    """Put a signed notice for every partner instance that received ``record`` in the outbox; how many."""
    partner_ids = session.scalars(
        select(FederationShare.partner_id).where(FederationShare.record_id == record.id).distinct()
    ).all()
    payload = json.dumps({"kind": kind, "record_id": record.id, "message": message[:1000]}, sort_keys=True)
    for partner_id in partner_ids:
        session.add(
            FederationDelivery(
                partner_id=partner_id,
                kind=kind[:20],
                record_id=record.id,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
                created_at=now,
            )
        )
    session.flush()
    return len(partner_ids)


def load_record(session: Session, record_id: object) -> IntelRecord:
    """The record with this id, or :class:`IntelNotFound`."""
    if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id < 1:
        raise IntelNotFound("no such record")
    record = session.get(IntelRecord, record_id)
    if record is None:
        raise IntelNotFound("no such record")
    return record


def user_label(session: Session, user_id: int | None) -> str:
    """``"Full Name (username)"`` for a user id, or ``""``."""
    if user_id is None:
        return ""
    row = session.execute(select(User.full_name, User.username).where(User.id == user_id)).one_or_none()
    if row is None:
        return ""
    return f"{row[0]} ({row[1]})" if row[0] else str(row[1])


def agency_name(session: Session, agency_id: int | None) -> str:
    """The agency's name, or ``""`` (also for None: a recipient outside every agency)."""
    if agency_id is None:
        return ""
    return str(session.scalar(select(Agency.name).where(Agency.id == agency_id)) or "")
