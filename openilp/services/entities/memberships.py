"""Organisation membership: a person entity linked to an organisation entity as its designated member.

Membership is never inferred. It exists only while a gang or enterprise designation
(:mod:`openilp.services.networks.designations`) is **active**: documented criteria with their
sources, approved by a second person. Network association, being named in the same records, or
anything the link chart draws creates no membership.

* :func:`record_membership` — called when a designation is approved: its person and its
  organisation become mentions (``source`` "designation", ``designation_id`` set, the
  designation's approval day as ``seen_on``). The organisation joins the organisation entity with
  the same normalised name (:func:`openilp.entities.things.match_key`, as
  :mod:`.resolve_things` resolves), or becomes a new one; the person joins the person entity the
  proposer picked on the form (``designations.person_entity_id``, following merges, while it is an
  active person entity of the agency), or else becomes an entity of their own until person
  resolution or a review decision links the mention to the person's other mentions. An
  ``entity_memberships`` row links the two mentions, so merges and splits carry it.
* :func:`end_membership` — called when a designation is purged, rejected or expires: the row is
  deleted and both mentions are blanked (name, fields and entity cleared, never searchable), as
  the designation itself is, and their undecided review pairs are withdrawn; only the provenance
  of the tombstone stays.
* :func:`memberships_of` — the members of an organisation entity and the organisations a person
  entity is a designated member of, for a viewer holding ``designations:read`` (the same rule as
  the designation list); everyone else learns nothing, not even that a membership exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, aliased

from openilp.db.entity_models import Entity, EntityEvent, EntityMembership, EntityMention, EntityReviewPair
from openilp.db.models import Designation
from openilp.entities.subjects import content_hash, mention_fields_from_subject
from openilp.security.actors import UserInfo

__all__ = [
    "SOURCE",
    "record_membership",
    "end_membership",
    "memberships_of",
    "may_see_memberships",
    "membership_entities",
]

#: The ``source`` of the mentions a designation gives.
SOURCE = "designation"


def may_see_memberships(actor: UserInfo | None) -> bool:
    """Whether ``actor`` may see memberships: the command line (the operator) or ``designations:read``."""
    return actor is None or actor.can("designations:read")


def _new_entity(session: Session, mention: EntityMention, reason: str, actor_id: int | None, now: dt.datetime) -> int:
    entity = Entity(
        agency_id=mention.agency_id,
        kind=mention.kind,
        display_name=mention.display_name,
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(entity)
    session.flush()
    session.add(
        EntityEvent(
            agency_id=mention.agency_id,
            entity_id=entity.id,
            event="created",
            mention_id=mention.id,
            actor_id=actor_id,
            reason=reason,
            occurred_at=now,
        )
    )
    return entity.id


def _organisation_entity(session: Session, agency_id: int, key: str | None) -> int | None:
    """The active organisation entity whose searchable mentions carry ``key``, the lowest id first."""
    if key is None:
        return None
    return session.scalar(
        select(Entity.id)
        .join(EntityMention, EntityMention.entity_id == Entity.id)
        .where(
            Entity.agency_id == agency_id,
            Entity.kind == "organisation",
            Entity.status == "active",
            EntityMention.match_key == key,
            EntityMention.searchable.is_(True),
        )
        .order_by(Entity.id)
        .limit(1)
    )


def _mention(row: Designation, kind: str, name: str, now: dt.datetime, seen_on: dt.date) -> EntityMention:
    fields = mention_fields_from_subject(kind, "designated_member", name, "")
    return EntityMention(
        agency_id=row.agency_id,
        source=SOURCE,
        source_record_id=f"designation-{row.id}-{kind}",
        designation_id=row.id,
        content_hash=content_hash(fields),
        seen_on=seen_on,
        created_at=now,
        updated_at=now,
        **fields,
    )


def record_membership(
    session: Session, row: Designation, actor_id: int | None, now: dt.datetime, *, backfill: bool = False
) -> EntityMembership:
    """Write the mentions, entities and membership of an approved designation (see the module notes).

    With ``backfill`` (:mod:`.backfill`, a designation approved before memberships existed) the
    mentions are seen on the designation's approval day, and the lineage says the membership was
    backfilled on ``now``.
    """
    approved = row.approved_at or row.designated_at
    seen_on = approved.date() if backfill else now.date()
    person = _mention(row, "person", row.person_name, now, seen_on)
    organisation = _mention(row, "organisation", row.organisation, now, seen_on)
    session.add_all([person, organisation])
    session.flush()
    why = f"designation {row.id} approved"
    if backfill:
        why = f"designation {row.id} approved on {seen_on.isoformat()} (membership backfilled)"
    organisation.entity_id = _organisation_entity(session, row.agency_id, organisation.match_key)
    if organisation.entity_id is None:
        organisation.entity_id = _new_entity(session, organisation, why, actor_id, now)
    else:
        session.add(
            EntityEvent(
                agency_id=row.agency_id,
                entity_id=organisation.entity_id,
                event="mention_moved",
                mention_id=organisation.id,
                actor_id=actor_id,
                reason=f"{why}: the same organisation name",
                occurred_at=now,
            )
        )
    picked = _picked_person(session, row)
    if picked is None:
        person.entity_id = _new_entity(
            session, person, f"{why}; person resolution or a review decision links it to other mentions", actor_id, now
        )
    else:
        person.entity_id = picked
        session.add(
            EntityEvent(
                agency_id=row.agency_id,
                entity_id=picked,
                event="mention_moved",
                mention_id=person.id,
                actor_id=actor_id,
                reason=f"{why}: the person entity picked when it was proposed",
                occurred_at=now,
            )
        )
    membership = EntityMembership(
        agency_id=row.agency_id,
        designation_id=row.id,
        person_mention_id=person.id,
        organisation_mention_id=organisation.id,
        created_at=now,
    )
    session.add(membership)
    session.flush()
    return membership


def _picked_person(session: Session, row: Designation) -> int | None:
    """The person entity picked for ``row``, following merges; None when none was or it is gone."""
    entity_id = row.person_entity_id
    for _ in range(20):  # a merge chain is short; the bound only guards against a cycle
        entity = session.get(Entity, entity_id) if entity_id is not None else None
        if entity is None or entity.agency_id != row.agency_id or entity.kind != "person":
            return None
        if entity.status == "active":
            return entity.id
        entity_id = entity.merged_into_id
    return None


_BLANK = {
    "display_name": "",
    "first_name": None,
    "middle_name": None,
    "surname": None,
    "organisation": None,
    "raw_identifiers": "",
    "match_key": None,
    "role": None,
}


def end_membership(session: Session, designation_id: int, now: dt.datetime) -> int:
    """Delete a designation's membership and blank its mentions; the number of mentions blanked."""
    session.execute(delete(EntityMembership).where(EntityMembership.designation_id == designation_id))
    mentions = session.scalars(select(EntityMention).where(EntityMention.designation_id == designation_id)).all()
    for mention in mentions:
        for field, value in _BLANK.items():
            setattr(mention, field, value)
        mention.searchable = False
        mention.entity_id = None
        mention.content_hash = content_hash(dict(_BLANK))
        mention.updated_at = now
    ids = [mention.id for mention in mentions]
    if ids:
        session.execute(
            delete(EntityReviewPair).where(
                EntityReviewPair.decision.is_(None),
                or_(EntityReviewPair.mention_low_id.in_(ids), EntityReviewPair.mention_high_id.in_(ids)),
            )
        )
    return len(mentions)


def memberships_of(
    session: Session, actor: UserInfo | None, entity: Entity, now: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(members of ``entity`` as an organisation, organisations ``entity`` is a member of).

    Only active designations of the entity's agency, and nothing at all for a viewer without
    ``designations:read``. Each entry names the designation, both entities, the review and purge
    dates and the link to the designation list.
    """
    if not may_see_memberships(actor) or (actor is not None and actor.agency_id != entity.agency_id):
        return [], []
    person = aliased(EntityMention)
    organisation = aliased(EntityMention)
    rows = session.execute(
        select(Designation, person, organisation)
        .join(EntityMembership, EntityMembership.designation_id == Designation.id)
        .join(person, person.id == EntityMembership.person_mention_id)
        .join(organisation, organisation.id == EntityMembership.organisation_mention_id)
        .where(
            Designation.status == "active",
            Designation.agency_id == entity.agency_id,
            (person.entity_id == entity.id) | (organisation.entity_id == entity.id),
        )
        .order_by(Designation.id)
    ).all()
    members: list[dict[str, Any]] = []
    member_of: list[dict[str, Any]] = []
    for designation, person_mention, organisation_mention in rows:
        entry = {
            "designation_id": designation.id,
            "person_entity_id": person_mention.entity_id,
            "person": designation.person_name,
            "organisation_entity_id": organisation_mention.entity_id,
            "organisation": designation.organisation,
            "approved_on": designation.approved_at.date().isoformat() if designation.approved_at else None,
            "review_due_on": designation.review_due_at.date().isoformat(),
            "review_overdue": designation.review_due_at <= now,
            "expires_on": designation.expires_at.date().isoformat(),
            "link": f"/networks/designations#designation-{designation.id}",
        }
        if organisation_mention.entity_id == entity.id:
            members.append(entry)
        if person_mention.entity_id == entity.id:
            member_of.append(entry)
    return members, member_of


def membership_entities(session: Session, designation_ids: list[int]) -> dict[int, dict[str, int | None]]:
    """Designation id -> the entities its person and organisation mentions belong to now."""
    if not designation_ids:
        return {}
    person = aliased(EntityMention)
    organisation = aliased(EntityMention)
    rows = session.execute(
        select(EntityMembership.designation_id, person.entity_id, organisation.entity_id)
        .join(person, person.id == EntityMembership.person_mention_id)
        .join(organisation, organisation.id == EntityMembership.organisation_mention_id)
        .where(EntityMembership.designation_id.in_(designation_ids))
    ).all()
    return {
        designation_id: {"person_entity_id": person_entity, "organisation_entity_id": organisation_entity}
        for designation_id, person_entity, organisation_entity in rows
    }
