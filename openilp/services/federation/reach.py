"""How far a record reaches across instances: a release to a sharing group narrows it to the group.

Within one instance a :mod:`sharing group <openilp.services.intel.groups>` is an audience a record
is released to. Across instances the same release narrows the record's **reach**: once a record
has been released to one or more sharing groups, a partner instance learns of it in a federated
search (summary or pointer, by its sensitivity) only when it belongs to one of those groups; any
other partner gets no hit, as if the record did not exist. Each hop may only narrow (MISP's rule
for sharing-group distribution): a later release to a named user does not widen it again.

A partner belongs to a group when the group's name is among the sharing groups it was registered
with (``openilp federation partner add --group NAME``; case and spacing aside), or when one of the
agencies it holds (``--agency CODE``) is a member agency of the group.

>>> partner_is_member(["metro-task-force"], ["CITY"], "Metro task-force", ["COUNTY", "STATE"])
False
>>> partner_is_member(["Metro  Task-Force"], ["CITY"], "metro task-force", ["COUNTY"])
True
>>> partner_is_member([], ["city"], "Drug task force", ["COUNTY", "CITY"])
True
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.federation_models import FederationPartner
from openilp.db.models import Agency, IntelDissemination
from openilp.db.sharing_models import SharingGroup, SharingGroupMember

__all__ = ["GroupReach", "partner_is_member", "group_reach", "partner_reaches"]


def _name(text: str) -> str:
    return " ".join(text.split()).casefold()


def partner_is_member(
    partner_groups: Iterable[str], partner_agencies: Iterable[str], group_name: str, member_codes: Iterable[str]
) -> bool:
    """Whether a partner registered with ``partner_groups`` and ``partner_agencies`` belongs to the group."""
    if _name(group_name) in {_name(g) for g in partner_groups}:
        return True
    return bool({c.strip().upper() for c in partner_agencies} & {c.strip().upper() for c in member_codes})


@dataclass(frozen=True)
class GroupReach:
    """A sharing group a record was released to: its name and member agency codes."""

    group_id: int
    name: str
    member_codes: frozenset[str]


def group_reach(session: Session, record_ids: Collection[int]) -> dict[int, list[GroupReach]]:
    """The sharing groups each of ``record_ids`` was released to (records released to none are absent)."""
    if not record_ids:
        return {}
    pairs = session.execute(
        select(IntelDissemination.record_id, IntelDissemination.sharing_group_id)
        .where(
            IntelDissemination.record_id.in_(sorted(record_ids)),
            IntelDissemination.kind == "release",
            IntelDissemination.sharing_group_id.is_not(None),
        )
        .distinct()
    ).all()
    group_ids = sorted({group_id for _, group_id in pairs if group_id is not None})
    if not group_ids:
        return {}
    named = session.execute(select(SharingGroup.id, SharingGroup.name).where(SharingGroup.id.in_(group_ids)))
    names: dict[int, str] = {group_id: name for group_id, name in named}
    members: dict[int, set[str]] = {group_id: set() for group_id in group_ids}
    for member_of, code in session.execute(
        select(SharingGroupMember.group_id, Agency.code)
        .join(Agency, Agency.id == SharingGroupMember.agency_id)
        .where(SharingGroupMember.group_id.in_(group_ids))
    ):
        members[member_of].add(code)
    reach: dict[int, list[GroupReach]] = {}
    for record_id, released_to in sorted(pairs, key=lambda pair: (pair[0], pair[1] or 0)):
        if released_to is not None and released_to in names:
            group = GroupReach(released_to, names[released_to], frozenset(members[released_to]))
            reach.setdefault(record_id, []).append(group)
    return reach


def partner_reaches(partner: FederationPartner, groups: Iterable[GroupReach]) -> bool:
    """Whether ``partner`` belongs to at least one of ``groups`` (the groups a record was released to)."""
    partner_groups = [g for g in partner.sharing_groups.split(",") if g.strip()]
    partner_agencies = [c for c in partner.agency_codes.split(",") if c.strip()]
    return any(partner_is_member(partner_groups, partner_agencies, g.name, g.member_codes) for g in groups)
