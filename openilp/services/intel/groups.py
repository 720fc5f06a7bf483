"""Sharing groups: named audiences of explicit member agencies (MISP's sharing groups).

An administrator or supervisor (``intel:settings``) of the owning agency creates a group with a
name, a description and its member agencies, and later adds or removes members; the owning agency
is always a member. A release can then be addressed to the group instead of one person
(:mod:`openilp.services.intel.dissemination`), and a federated partner can name the groups its
agencies belong to. A group widens nothing: each member agency still needs a current sharing
agreement with the releasing agency and a law-enforcement recipient, checked at every release and
shown by the "who will see this" preview (:mod:`openilp.services.intel.audience`).

Every change is audited in the service's unit of work. Bad input raises
:class:`~openilp.services.intel.agreements.FieldError` naming the field (``name``, ``members``, …).

Other services use :func:`group_member_ids` and :func:`load_group` inside their own session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency
from openilp.db.sharing_models import SharingGroup, SharingGroupMember
from openilp.intel.errors import IntelNotFound
from openilp.intel.rules import SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import FieldError
from openilp.services.intel.common import require_permission, user_label

__all__ = [
    "MAX_GROUP_NAME_CHARS",
    "MAX_GROUP_MEMBERS",
    "GroupRequest",
    "MembersRequest",
    "GroupMember",
    "Group",
    "Groups",
    "create_group",
    "change_members",
    "list_groups",
    "show_group",
    "load_group",
    "group_member_ids",
    "groups_of_agency",
]

MAX_GROUP_NAME_CHARS = 100
MAX_GROUP_MEMBERS = 500


def _codes(values: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.replace("\n", ",").split(",")
    return tuple(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))


@dataclass(frozen=True)
class GroupRequest(Request):
    """A new sharing group: its name (unique in the owning agency), description and member agency codes."""

    name: str = ""
    description: str = ""
    members: Sequence[str] = field(default_factory=tuple)

    def validate(self) -> GroupRequest:
        values, errors = self._checked()
        for error in errors:
            raise error
        return dataclasses.replace(self, **values)

    def field_errors(self) -> dict[str, str]:
        """Every bad field at once, by form field name, each message without the field's prefix.

        :meth:`validate` stops at the first; the page shows them all, each next to its control.

        >>> sorted(GroupRequest(name=" ", description="x" * 2001).field_errors())
        ['description', 'name']
        """
        return {error.field: str(error).removeprefix(f"{error.field}: ") for error in self._checked()[1]}

    def _checked(self) -> tuple[dict[str, Any], list[FieldError]]:
        """The cleaned values and every field's error, in the order :meth:`validate` reports them."""
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        for name, limit in (("name", MAX_GROUP_NAME_CHARS), ("description", 2000)):
            try:
                values[name] = clean_text(getattr(self, name), name, limit)
            except SubmissionError as exc:
                errors.append(FieldError(name, str(exc).partition(" ")[2]))
        if values.get("name") == "":
            errors.insert(0, FieldError("name", "is required"))
        members = _codes(self.members)
        if len(members) > MAX_GROUP_MEMBERS:
            errors.append(FieldError("members", f"at most {MAX_GROUP_MEMBERS} agencies per group"))
        values["members"] = members
        return values, errors


@dataclass(frozen=True)
class MembersRequest(Request):
    """Agencies to add to and remove from a group (codes); the owner cannot be removed."""

    group_id: int
    add: Sequence[str] = field(default_factory=tuple)
    remove: Sequence[str] = field(default_factory=tuple)

    def validate(self) -> MembersRequest:
        add, remove = _codes(self.add), _codes(self.remove)
        if not add and not remove:
            raise FieldError("members", "name at least one agency to add or remove")
        both = {c.upper() for c in add} & {c.upper() for c in remove}
        if both:
            raise FieldError("members", f"{sorted(both)[0]} is both added and removed")
        return dataclasses.replace(self, add=add, remove=remove)


@dataclass(frozen=True)
class GroupMember(Result):
    """One member agency of a group."""

    code: str
    name: str
    added_at: dt.datetime
    added_by: str


@dataclass(frozen=True)
class Group(Result):
    """A sharing group with its members (the owning agency first, then by code)."""

    id: int
    name: str
    description: str
    owner_agency: str
    owner_name: str
    created_by: str
    created_at: dt.datetime
    members: tuple[GroupMember, ...] = ()

    @property
    def member_codes(self) -> tuple[str, ...]:
        """The member agencies' codes."""
        return tuple(m.code for m in self.members)


@dataclass(frozen=True)
class Groups(Result):
    """Groups the actor's agency owns or belongs to, by name."""

    groups: tuple[Group, ...] = ()


def load_group(session: Session, group_id: object, agency_id: int, *, owned: bool = False) -> SharingGroup:
    """The group ``group_id`` as seen by ``agency_id``: one it owns, or (unless ``owned``) belongs to.

    Raises :class:`IntelNotFound` otherwise (a group of others is not disclosed).
    """
    group = session.get(SharingGroup, group_id) if isinstance(group_id, int) else None
    if group is not None and group.owner_agency_id != agency_id:
        member = session.get(SharingGroupMember, (group.id, agency_id))
        if owned or member is None:
            group = None
    if group is None:
        raise IntelNotFound("no such sharing group")
    return group


def group_member_ids(session: Session, group_id: int) -> list[int]:
    """The ids of a group's member agencies (the owner included), ascending."""
    return list(
        session.scalars(
            select(SharingGroupMember.agency_id)
            .where(SharingGroupMember.group_id == group_id)
            .order_by(SharingGroupMember.agency_id)
        )
    )


def groups_of_agency(session: Session, agency_id: int) -> list[SharingGroup]:
    """Every group ``agency_id`` belongs to (its own included), by name."""
    return list(
        session.scalars(
            select(SharingGroup)
            .join(SharingGroupMember, SharingGroupMember.group_id == SharingGroup.id)
            .where(SharingGroupMember.agency_id == agency_id)
            .order_by(SharingGroup.name, SharingGroup.id)
        )
    )


def _group(session: Session, group: SharingGroup) -> Group:
    owner = session.get(Agency, group.owner_agency_id)
    rows = session.execute(
        select(Agency.code, Agency.name, SharingGroupMember.added_at, SharingGroupMember.added_by_id)
        .join(SharingGroupMember, SharingGroupMember.agency_id == Agency.id)
        .where(SharingGroupMember.group_id == group.id)
        .order_by((Agency.id != group.owner_agency_id), Agency.code)
    ).all()
    return Group(
        id=group.id,
        name=group.name,
        description=group.description,
        owner_agency=owner.code if owner else "",
        owner_name=owner.name if owner else "",
        created_by=user_label(session, group.created_by_id),
        created_at=group.created_at,
        members=tuple(GroupMember(code, name, added_at, user_label(session, by)) for code, name, added_at, by in rows),
    )


def _agencies(session: Session, codes: Sequence[str]) -> list[Agency]:
    """The agencies of ``codes`` (compared case-insensitively), in order; FieldError names an unknown one."""
    wanted = [code.upper() for code in codes]
    found = {a.code.upper(): a for a in session.scalars(select(Agency).where(func.upper(Agency.code).in_(wanted)))}
    missing = [code for code in codes if code.upper() not in found]
    if missing:
        raise FieldError("members", f"unknown agency {missing[0]!r}")
    return [found[code] for code in wanted]


def create_group(core: OpenILP, actor: UserInfo, request: GroupRequest) -> Group:
    """Create a sharing group owned by the actor's agency, with its member agencies (audited).

    Raises
    ------
    FieldError
        No name, a name the agency already uses, an unknown member agency.
    IntelForbidden
        The actor's role lacks ``intel:settings``.
    """
    require_permission(actor, "intel:settings")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        session, now = uow.session, uow.now
        taken = session.scalars(
            select(SharingGroup.id).where(
                SharingGroup.owner_agency_id == actor.agency_id, SharingGroup.name == request.name
            )
        ).first()
        if taken is not None:
            raise FieldError("name", f"your agency already has a sharing group named {request.name!r}")
        members = _agencies(session, request.members)
        group = SharingGroup(
            owner_agency_id=actor.agency_id,
            name=request.name,
            description=request.description,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(group)
        session.flush()
        ids = [actor.agency_id] + [a.id for a in members if a.id != actor.agency_id]
        for agency_id in ids:
            session.add(SharingGroupMember(group_id=group.id, agency_id=agency_id, added_by_id=actor.id, added_at=now))
        session.flush()
        result = _group(session, group)
        uow.audit(
            action="create",
            object_type="sharing_group",
            object_id=group.id,
            purpose="sharing group",
            details={"name": group.name, "members": list(result.member_codes)},
        )
        return result


def change_members(core: OpenILP, actor: UserInfo, request: MembersRequest) -> Group:
    """Add and remove member agencies of a group the actor's agency owns (audited).

    Removing a member stops future releases to it through the group; what it already received
    stays in the dissemination log, and corrections and purges still reach it.
    """
    require_permission(actor, "intel:settings")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        session, now = uow.session, uow.now
        group = load_group(session, request.group_id, actor.agency_id, owned=True)
        current = set(group_member_ids(session, group.id))
        added: list[str] = []
        for agency in _agencies(session, request.add):
            if agency.id not in current:
                session.add(
                    SharingGroupMember(group_id=group.id, agency_id=agency.id, added_by_id=actor.id, added_at=now)
                )
                current.add(agency.id)
                added.append(agency.code)
        removed: list[str] = []
        for agency in _agencies(session, request.remove):
            if agency.id == group.owner_agency_id:
                raise FieldError("members", f"{agency.code} owns the group and stays a member")
            if agency.id in current:
                session.execute(
                    delete(SharingGroupMember).where(
                        SharingGroupMember.group_id == group.id, SharingGroupMember.agency_id == agency.id
                    )
                )
                current.discard(agency.id)
                removed.append(agency.code)
        session.flush()
        uow.audit(
            action="update",
            object_type="sharing_group",
            object_id=group.id,
            purpose="sharing group",
            details={"added": added, "removed": removed},
        )
        return _group(session, group)


def list_groups(core: OpenILP, actor: UserInfo) -> Groups:
    """The groups the actor's agency owns or belongs to (anyone who may release or manage sharing)."""
    if not (actor.can("intel:settings") or actor.can("intel:disseminate")):
        require_permission(actor, "intel:settings")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        return Groups(tuple(_group(session, g) for g in groups_of_agency(session, actor.agency_id)))


def show_group(core: OpenILP, actor: UserInfo, group_id: int) -> Group:
    """One group the actor's agency owns or belongs to, with its members."""
    if not (actor.can("intel:settings") or actor.can("intel:disseminate")):
        require_permission(actor, "intel:settings")
    with core.unit_of_work(actor) as uow:
        return _group(uow.session, load_group(uow.session, group_id, actor.agency_id))
