"""Backfill the organisation memberships of designations approved before memberships existed.

Migration 0022 added ``entity_memberships``; from then on approving a gang or enterprise
designation links its person to its organisation (:func:`.memberships.record_membership`).
Designations approved earlier have no membership. ``openilp entities backfill-memberships`` runs
:func:`backfill_memberships` once after the upgrade: every **active** designation without a
membership gets one by the very function an approval calls, so the rules are the same (the
organisation joins the entity with the same normalised name, the person becomes an entity of their
own). The mentions are seen on the approval day; the lineage says the membership was backfilled.

It is idempotent: a designation that has a membership, or mentions of its own (a membership
ended by a purge leaves blanked ones), is left alone, so a second run adds nothing. Proposed,
rejected and purged designations never get one. One transaction per run, one
``entities_backfill_memberships`` audit entry per agency naming the designations it linked, even
when there were none. Migrations cannot write the keyed audit log, which is why this is a command
and not a data migration.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.entity_models import EntityMembership, EntityMention
from openilp.db.models import Agency, Designation
from openilp.security.actors import UserInfo
from openilp.services.entities.common import agency_for
from openilp.services.entities.common import require as require_permission
from openilp.services.entities.memberships import SOURCE, record_membership

__all__ = [
    "BackfillMembershipsRequest",
    "BackfillMembershipsResult",
    "backfill_memberships",
    "memberships_to_backfill",
]


@dataclass(frozen=True)
class BackfillMembershipsRequest(Request):
    #: Agency code; empty: the actor's agency, or every agency for the command line's operator.
    agency: str = ""

    def validate(self) -> BackfillMembershipsRequest:
        return self


@dataclass(frozen=True)
class BackfillMembershipsResult(Result):
    #: The agencies looked at, by code.
    agencies: tuple[str, ...]
    #: Active designations that had no membership and now have one.
    added: tuple[int, ...]
    #: Active designations that already had one (or mentions of their own), left alone.
    unchanged: tuple[int, ...]


def _missing(session: Session, agency_id: int) -> tuple[list[Designation], list[int]]:
    """(active designations of the agency without a membership, those that have one or mentions of their own)."""
    linked: set[int | None] = set(
        session.scalars(select(EntityMembership.designation_id).where(EntityMembership.agency_id == agency_id))
    )
    for designation_id, source_record_id in session.execute(
        select(EntityMention.designation_id, EntityMention.source_record_id).where(
            EntityMention.agency_id == agency_id, EntityMention.source == SOURCE
        )
    ):
        linked.add(designation_id if designation_id is not None else _designation_of(source_record_id))
    rows = session.scalars(
        select(Designation)
        .where(Designation.agency_id == agency_id, Designation.status == "active")
        .order_by(Designation.id)
    ).all()
    return [row for row in rows if row.id not in linked], [row.id for row in rows if row.id in linked]


def memberships_to_backfill(core: OpenILP) -> int:
    """How many active designations of every agency have no membership yet (``openilp db upgrade``
    says so after migrating); a count for the operator, naming no one."""
    with core.unit_of_work(None) as uow:
        agencies = uow.session.scalars(select(Agency.id)).all()
        return sum(len(_missing(uow.session, agency_id)[0]) for agency_id in agencies)


def _designation_of(source_record_id: str) -> int | None:
    """The designation id in a designation mention's record id (``designation-<id>-person``).

    >>> _designation_of("designation-12-organisation"), _designation_of("subject-3")
    (12, None)
    """
    parts = source_record_id.split("-")
    if len(parts) == 3 and parts[0] == SOURCE and parts[1].isdigit():
        return int(parts[1])
    return None


def backfill_memberships(
    core: OpenILP, actor: UserInfo | None, request: BackfillMembershipsRequest
) -> BackfillMembershipsResult:
    """Give every active designation without a membership the one its approval would have made."""
    request = request.validate()
    require_permission(actor, "designations:write", "backfill designation memberships")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        if actor is None and not request.agency.strip():
            agencies = list(session.scalars(select(Agency).order_by(Agency.code)).all())
        else:
            agencies = [agency_for(session, actor, request.agency)]
        added: list[int] = []
        unchanged: list[int] = []
        for agency in agencies:
            missing, linked = _missing(session, agency.id)
            here: list[int] = []
            for row in missing:
                record_membership(session, row, actor.id if actor else None, uow.now, backfill=True)
                here.append(row.id)
            added.extend(here)
            unchanged.extend(linked)
            uow.audit(
                action="entities_backfill_memberships",
                object_type="entities",
                object_id=agency.code,
                agency_id=agency.id,
                details={"designations": here, "already_linked": len(linked)},
            )
        return BackfillMembershipsResult(tuple(a.code for a in agencies), tuple(added), tuple(unchanged))
