"""Choices offered on intelligence forms: grading vocabulary, offence categories, control officials.

Forms show only what the services will accept: the grades of the agency's own scheme
(:func:`openilp.services.intel.common.agency_grading_scheme`), the offence categories in the
store and the active staff of the agency who can be named control official (23.20(g)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from openilp.core import OpenILP, Result
from openilp.db.models import Agency, User
from openilp.intel.grading import HANDLING_CODES, SCHEMES, GradingScheme
from openilp.intel.markings import TLP_MEANINGS
from openilp.intel.rules import (
    COLLECTION_METHODS,
    FILE_TYPES,
    PROTECTED_CATEGORIES,
    SENSITIVITIES,
    SUBJECT_KINDS,
    SUBJECT_ROLES,
)
from openilp.security.actors import UserInfo
from openilp.security.roles import INTERNAL_ROLES
from openilp.services.analysis.incidents import category_options
from openilp.services.intel.agreements import has_current_agreement
from openilp.services.intel.common import RECIPIENT_ROLES, agency_grading_scheme

__all__ = [
    "SubmissionOptions",
    "AgencyChoices",
    "RecipientChoices",
    "submission_options",
    "partner_agencies",
    "release_recipients",
    "tip_agencies",
]


@dataclass(frozen=True)
class SubmissionOptions(Result):
    """Everything a submission form offers, in display order."""

    scheme: GradingScheme
    offence_categories: list[tuple[str, str]]
    control_officials: list[tuple[int, str]]
    handling_codes: dict[str, str]
    sensitivities: dict[str, str]
    file_types: dict[str, str]
    collection_methods: dict[str, str]
    protected_categories: dict[str, str]
    subject_kinds: dict[str, str]
    subject_roles: dict[str, str]
    #: TLP 2.0 levels, widest first, with what each allows.
    tlp_levels: dict[str, str] = field(default_factory=lambda: dict(TLP_MEANINGS))


@dataclass(frozen=True)
class AgencyChoices(Result):
    """``(code, name)`` of agencies a form offers, by name."""

    agencies: tuple[tuple[str, str], ...] = ()


def submission_options(core: OpenILP, user: UserInfo) -> SubmissionOptions:
    """The choices for ``user``'s agency."""
    with core.unit_of_work(user) as uow:
        session = uow.session
        officials = session.execute(
            select(User.id, User.full_name, User.username)
            .where(User.agency_id == user.agency_id, User.is_active.is_(True), User.role.in_(sorted(INTERNAL_ROLES)))
            .order_by(User.full_name, User.username)
        ).all()
        return SubmissionOptions(
            scheme=SCHEMES[agency_grading_scheme(session, user.agency_id)],
            offence_categories=[(o.code, o.label) for o in category_options(session)],
            control_officials=[
                (int(i), f"{name} ({username})" if name else str(username)) for i, name, username in officials
            ],
            handling_codes=HANDLING_CODES,
            sensitivities=SENSITIVITIES,
            file_types=FILE_TYPES,
            collection_methods=COLLECTION_METHODS,
            protected_categories=PROTECTED_CATEGORIES,
            subject_kinds=SUBJECT_KINDS,
            subject_roles=SUBJECT_ROLES,
        )


def partner_agencies(core: OpenILP, user: UserInfo) -> AgencyChoices:
    """Every agency other than the user's (dissemination recipients and agreement partners)."""
    with core.unit_of_work(user) as uow:
        rows = uow.session.execute(
            select(Agency.code, Agency.name).where(Agency.id != user.agency_id).order_by(Agency.name)
        )
        return AgencyChoices(tuple((str(code), str(name)) for code, name in rows))


@dataclass(frozen=True)
class RecipientChoices(Result):
    """Who a release can go to: ``(agency code, agency name, username, label)`` of every active user
    with a recipient role at an agency with a current sharing agreement, by agency and name."""

    recipients: tuple[tuple[str, str, str, str], ...] = ()


def release_recipients(core: OpenILP, user: UserInfo) -> RecipientChoices:
    """The users a release of ``user``'s agency can be sent to, for the dissemination form's picker."""
    with core.unit_of_work(user) as uow:
        session, now = uow.session, uow.now
        rows = session.execute(
            select(Agency.id, Agency.code, Agency.name, User.username, User.full_name, User.role)
            .join(User, User.agency_id == Agency.id)
            .where(Agency.id != user.agency_id, User.is_active.is_(True), User.role.in_(sorted(RECIPIENT_ROLES)))
            .order_by(Agency.name, User.full_name, User.username)
        ).all()
        current = {
            agency_id
            for agency_id in {row[0] for row in rows}
            if has_current_agreement(session, user.agency_id, agency_id, now)
        }
        return RecipientChoices(
            tuple(
                (str(code), str(name), str(username), f"{full_name or username} ({username}, {role})")
                for agency_id, code, name, username, full_name, role in rows
                if agency_id in current
            )
        )


def tip_agencies(core: OpenILP) -> AgencyChoices:
    """Every agency, for the public tip form (the tipster chooses where the tip goes)."""
    with core.unit_of_work(None) as uow:
        rows = uow.session.execute(select(Agency.code, Agency.name).order_by(Agency.name))
        return AgencyChoices(tuple((str(code), str(name)) for code, name in rows))
