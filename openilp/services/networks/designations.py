"""Gang and enterprise designations with the CalGang safeguards (:mod:`openilp.intel.designations`).

* ``designate_member``: a supervisor or reviewer **proposes** a person as a member of an
  organisation on at least two documented criteria, each with its source and date, and sets a
  review date (within a year). A refused proposal is audited (``designation_refused``) with its
  reasons. Network association is never a criterion, and nothing in :mod:`.charts` designates anyone.
* ``decide_designation``: a *second* supervisor or reviewer (never the proposer) approves the
  proposal, which makes it active and links the person to the organisation as its member on the
  entity pages (:mod:`openilp.services.entities.memberships`; no other path creates membership),
  or rejects it (its criteria deleted and the name blanked at once). Either way the proposer is
  notified; an approval also gives the text of the written notice the agency sends the person
  (what they are designated as, on which kinds of criteria, the review and purge dates, and how to
  contest it), as California's AB 90 requires after the 2016 CalGang audit. Until approved, a
  proposal is listed only to those who may decide it.
* ``review_designation``: keep it (a new review date) or end it (purged at once).
* ``purge_expired_designations``: the daily job; a designation is purged five years after its
  latest criterion: its criteria are deleted and the name blanked, a tombstone stays. Every purge
  (rejection, review ending it, expiry) also deletes the membership and blanks its mentions.
* ``list_designations``: the agency's active designations, those due for review first.

Every step is in the audit log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openilp.core.contract import Request, Result, require
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.intel.designations import CriterionInput, check_designation, retention_end

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.core import OpenILP
    from openilp.db.models import Designation
    from openilp.security.actors import UserInfo

__all__ = [
    "DesignationList",
    "DesignationMade",
    "DesignationDecided",
    "DesignationRequest",
    "DecideDesignationRequest",
    "decide_designation",
    "PurgeDesignationsRequest",
    "PurgedDesignations",
    "ReviewDesignationRequest",
    "designate_member",
    "list_designations",
    "purge_expired_designations",
    "review_designation",
]

REVIEW_OUTCOMES = ("keep", "end")
#: The largest entity number a request may name (the largest signed 64-bit integer, as every id).
MAX_ENTITY_ID = 2**63 - 1


def _permitted(actor: UserInfo | None, permission: str, what: str) -> UserInfo:
    if actor is None or not actor.can(permission):
        role = actor.role if actor is not None else "anonymous"
        raise NotPermitted(f"your role ({role}) may not {what}")
    return actor


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)


@dataclass(frozen=True)
class DesignationRequest(Request):
    """The person, the organisation, the documented criteria, the review date and notes."""

    person: str
    organisation: str
    criteria: tuple[CriterionInput, ...]
    review_due_on: dt.date | None
    notes: str = ""
    #: An existing person entity the person is (picked with the entity suggestion; migration 0023):
    #: on approval the membership links it, instead of a new entity that resolution must link later.
    person_entity_id: int | None = None

    def validate(self) -> DesignationRequest:
        require(0 < len(self.person.strip()) <= 200, "person: give the person's name (1 to 200 characters)")
        require(
            self.person_entity_id is None or 1 <= self.person_entity_id <= MAX_ENTITY_ID,
            f"person_entity_id: an entity number from 1 to {MAX_ENTITY_ID}, or none",
        )
        require(0 < len(self.organisation.strip()) <= 200, "organisation: name it (1 to 200 characters)")
        require(len(self.criteria) <= 20, "criteria: at most 20")
        require(all(len(c.source) <= 500 for c in self.criteria), "criteria: a source has at most 500 characters")
        require(len(self.notes) <= 20_000, "notes: at most 20,000 characters")
        return dataclasses.replace(self, person=" ".join(self.person.split()), organisation=self.organisation.strip())


@dataclass(frozen=True)
class DesignationMade(Result):
    designation_id: int
    review_due_on: dt.date
    expires_on: dt.date
    #: "proposed": a second supervisor or reviewer must approve it before it is active.
    status: str = "proposed"


def designate_member(core: OpenILP, actor: UserInfo | None, request: DesignationRequest) -> DesignationMade:
    """Designate a member on documented criteria (see the module notes); refusals are audited."""
    from openilp.db.models import Designation, DesignationCriterion

    actor = _permitted(actor, "designations:write", "designate members of an organisation")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problems = check_designation(
            request.criteria, designated_on=uow.now.date(), review_due_on=request.review_due_on
        )
        if problems:
            raise uow.refuse(
                InvalidRequest("criteria: " + "; ".join(problems)),
                action="designation_refused",
                object_type="designation",
                details={"organisation": request.organisation, "codes": [c.code for c in request.criteria]},
                agency_id=actor.agency_id,
            )
        assert request.review_due_on is not None
        if request.person_entity_id is not None and not _may_pick(
            uow.session, actor, request.person_entity_id, uow.now
        ):
            # hidden or absent: the same words, so a refusal tells nothing of an entity one may not see
            raise uow.refuse(
                InvalidRequest(
                    f"person_entity_id: no person entity {request.person_entity_id} that you may see; "
                    "pick one the suggestions offer, or leave it empty"
                ),
                action="designation_refused",
                object_type="designation",
                details={"organisation": request.organisation, "person_entity_id": request.person_entity_id},
                agency_id=actor.agency_id,
            )
        expires_on = retention_end(request.criteria)
        row = Designation(
            agency_id=actor.agency_id,
            person_name=request.person,
            organisation=request.organisation,
            status="proposed",
            notes=request.notes.strip(),
            designated_by_id=actor.id,
            designated_at=uow.now,
            review_due_at=_midnight(request.review_due_on),
            expires_at=_midnight(expires_on),
            person_entity_id=request.person_entity_id,
        )
        uow.session.add(row)
        uow.session.flush()
        for criterion in request.criteria:
            assert criterion.observed_on is not None
            uow.session.add(
                DesignationCriterion(
                    designation_id=row.id,
                    code=criterion.code.strip(),
                    source=criterion.source.strip(),
                    observed_on=criterion.observed_on,
                )
            )
        uow.audit(
            action="designation_proposed",
            object_type="designation",
            object_id=row.id,
            details={
                "organisation": request.organisation,
                "codes": sorted({c.code.strip() for c in request.criteria}),
                "review_due_on": request.review_due_on.isoformat(),
                "expires_on": expires_on.isoformat(),
                "person_entity_id": request.person_entity_id,
            },
            agency_id=actor.agency_id,
        )
        designation_id = row.id
    return DesignationMade(designation_id=designation_id, review_due_on=request.review_due_on, expires_on=expires_on)


def _may_pick(session: Session, actor: UserInfo, entity_id: int, now: dt.datetime) -> bool:
    """Whether ``actor`` may name ``entity_id`` as the person: an active person entity of their agency
    of which they may see at least one mention (the entity page's rule)."""
    from sqlalchemy import select

    from openilp.db.entity_models import Entity, EntityMention
    from openilp.services.entities.reading import visible_mentions

    if not actor.can("entities:read"):
        return False
    entity = session.get(Entity, entity_id)
    if entity is None or entity.agency_id != actor.agency_id or entity.kind != "person" or entity.status != "active":
        return False
    mentions = session.scalars(select(EntityMention).where(EntityMention.entity_id == entity.id)).all()
    return bool(visible_mentions(session, actor, list(mentions), now))


DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class DecideDesignationRequest(Request):
    designation_id: int
    decision: str
    reason: str

    def validate(self) -> DecideDesignationRequest:
        require(self.decision in DECISIONS, "decision: approve or reject")
        require(len(self.reason.strip()) >= 10, "reason: say why in at least 10 characters (it is audited)")
        require(len(self.reason) <= 2000, "reason: at most 2,000 characters")
        return self


@dataclass(frozen=True)
class DesignationDecided(Result):
    designation_id: int
    status: str
    #: For an approval: the written notice the agency sends the designated person.
    person_notice: str = ""


def _person_notice(row: Designation, codes: list[str], agency_name: str) -> str:
    from openilp.intel.designations import CRITERIA

    kinds = "; ".join(sorted({CRITERIA.get(code, code) for code in codes}))
    return (
        f"{agency_name} has recorded {row.person_name} as a member of {row.organisation} in its gang and "
        f"criminal enterprise designations, on these kinds of documented criteria: {kinds}. The designation "
        f"is reviewed by {row.review_due_at.date().isoformat()} and deleted by {row.expires_at.date().isoformat()} "
        "at the latest. You may ask the agency in writing to remove it and to be told the reasons; the agency "
        "must answer, and you may contest its answer."
    )


def decide_designation(core: OpenILP, actor: UserInfo | None, request: DecideDesignationRequest) -> DesignationDecided:
    """Approve (active) or reject (purged at once) a proposed designation; a second person decides."""
    from sqlalchemy import select

    from openilp.db.models import Agency, Designation, DesignationCriterion, Notification
    from openilp.services.entities.memberships import record_membership

    actor = _permitted(actor, "designations:write", "decide designations")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        row = uow.session.get(Designation, request.designation_id)
        if row is None or row.agency_id != actor.agency_id or row.status != "proposed":
            raise NotFound(f"no proposed designation {request.designation_id} in your agency")
        if row.designated_by_id == actor.id:
            raise uow.refuse(
                NotPermitted("a second person must decide: you proposed this designation"),
                action="designation_refused",
                object_type="designation",
                object_id=row.id,
                details={"why": "the proposer may not decide"},
                agency_id=actor.agency_id,
            )
        codes = list(
            uow.session.scalars(select(DesignationCriterion.code).where(DesignationCriterion.designation_id == row.id))
        )
        notice = ""
        if request.decision == "approve":
            row.status, row.approved_by_id, row.approved_at = "active", actor.id, uow.now
            record_membership(uow.session, row, actor.id, uow.now)  # joins the picked person entity, if any
            agency = uow.session.get(Agency, row.agency_id)
            notice = _person_notice(row, codes, agency.name if agency is not None else "The agency")
            message = f"Designation {row.id} ({row.organisation}) was approved by {actor.username}."
        else:
            _purge(uow.session, row, uow.now)
            row.status = "rejected"
            message = f"Designation {row.id} was rejected by {actor.username}: {request.reason.strip()[:300]}"
        if row.designated_by_id is not None:
            uow.session.add(
                Notification(
                    agency_id=row.agency_id,
                    user_id=row.designated_by_id,
                    kind="designation_decided",
                    message=message[:1000],
                    created_at=uow.now,
                )
            )
        uow.audit(
            action=f"designation_{request.decision}d",
            object_type="designation",
            object_id=row.id,
            purpose=request.reason.strip()[:500],
            details={"codes": sorted(set(codes)), "proposed_by": row.designated_by_id, "notice": bool(notice)},
            agency_id=actor.agency_id,
        )
        status = row.status
    return DesignationDecided(request.designation_id, status, notice)


def _purge(session: Session, row: Designation, now: dt.datetime) -> None:
    from sqlalchemy import delete

    from openilp.db.models import DesignationCriterion
    from openilp.services.entities.memberships import end_membership

    session.execute(delete(DesignationCriterion).where(DesignationCriterion.designation_id == row.id))
    end_membership(session, row.id, now)
    row.status = "purged"
    row.person_name = ""
    row.notes = ""
    row.purged_at = now


@dataclass(frozen=True)
class ReviewDesignationRequest(Request):
    """Keep a designation (with the next review date) or end it (purged now), with a reason."""

    designation_id: int
    outcome: str
    reason: str
    next_review_on: dt.date | None = None

    def validate(self) -> ReviewDesignationRequest:
        require(self.outcome in REVIEW_OUTCOMES, f"outcome: choose {' or '.join(REVIEW_OUTCOMES)}")
        require(len(self.reason.strip()) >= 10, "reason: give the reason (at least 10 characters)")
        return self


@dataclass(frozen=True)
class DesignationReviewed(Result):
    designation_id: int
    status: str
    review_due_on: dt.date | None


def review_designation(core: OpenILP, actor: UserInfo | None, request: ReviewDesignationRequest) -> DesignationReviewed:
    """Review a designation: keep it until a new review date (within a year), or end it now."""
    from openilp.db.models import Designation
    from openilp.intel.designations import MAX_REVIEW_DAYS

    actor = _permitted(actor, "designations:write", "review designations")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        row = uow.session.get(Designation, request.designation_id)
        if row is None or row.agency_id != actor.agency_id or row.status != "active":
            raise NotFound(f"no active designation {request.designation_id} in your agency")
        today = uow.now.date()
        if request.outcome == "keep":
            next_review = request.next_review_on
            require(
                next_review is not None and today < next_review <= today + dt.timedelta(days=MAX_REVIEW_DAYS),
                f"next_review_on: give a date within {MAX_REVIEW_DAYS} days",
            )
            assert next_review is not None
            row.review_due_at = _midnight(next_review)
        else:
            next_review = None
            _purge(uow.session, row, uow.now)
        uow.audit(
            action="designation_reviewed",
            object_type="designation",
            object_id=row.id,
            details={"outcome": request.outcome, "reason": request.reason.strip()},
            agency_id=actor.agency_id,
        )
        status = row.status
    return DesignationReviewed(designation_id=request.designation_id, status=status, review_due_on=next_review)


@dataclass(frozen=True)
class PurgeDesignationsRequest(Request):
    """The moment to purge at (the core clock when not given)."""

    as_of: dt.datetime | None = None


@dataclass(frozen=True)
class PurgedDesignations(Result):
    purged: tuple[int, ...]


def purge_expired_designations(
    core: OpenILP, actor: UserInfo | None, request: PurgeDesignationsRequest
) -> PurgedDesignations:
    """Purge every designation whose retention ended (the daily job; each purge audited)."""
    from sqlalchemy import select

    from openilp.db.models import Designation

    with core.unit_of_work(actor) as uow:
        now = request.as_of or uow.now
        rows = uow.session.scalars(
            select(Designation).where(Designation.status == "active", Designation.expires_at <= now)
        ).all()
        for row in rows:
            _purge(uow.session, row, now)
            uow.audit(
                action="designation_purged",
                object_type="designation",
                object_id=row.id,
                details={"reason": "retention ended"},
                agency_id=row.agency_id,
            )
        purged = tuple(row.id for row in rows)
    return PurgedDesignations(purged=purged)


@dataclass(frozen=True)
class DesignationList(Result):
    designations: tuple[dict[str, Any], ...]
    #: Proposals awaiting a second person (shown only to those who may decide them).
    proposals: tuple[dict[str, Any], ...] = ()


def list_designations(core: OpenILP, actor: UserInfo | None) -> DesignationList:
    """The agency's active designations with their criteria, those due for review first (audited read)."""
    from sqlalchemy import select

    from openilp.db.models import Designation, DesignationCriterion
    from openilp.services.entities.memberships import membership_entities

    actor = _permitted(actor, "designations:read", "read designations")
    with core.unit_of_work(actor) as uow:
        statuses = ("active", "proposed") if actor.can("designations:write") else ("active",)
        rows = uow.session.scalars(
            select(Designation)
            .where(Designation.agency_id == actor.agency_id, Designation.status.in_(statuses))
            .order_by(Designation.review_due_at, Designation.id)
        ).all()
        out: list[dict[str, Any]] = []
        proposals: list[dict[str, Any]] = []
        entities = membership_entities(uow.session, [row.id for row in rows if row.status == "active"])
        for row in rows:
            criteria = uow.session.scalars(
                select(DesignationCriterion)
                .where(DesignationCriterion.designation_id == row.id)
                .order_by(DesignationCriterion.id)
            ).all()
            (proposals if row.status == "proposed" else out).append(
                {
                    "id": row.id,
                    "status": row.status,
                    "proposed_by_id": row.designated_by_id,
                    "person": row.person_name,
                    "organisation": row.organisation,
                    "designated_at": row.designated_at.isoformat(),
                    "review_due_on": row.review_due_at.date().isoformat(),
                    "review_overdue": row.review_due_at <= uow.now,
                    "expires_on": row.expires_at.date().isoformat(),
                    "criteria": [
                        {"code": c.code, "source": c.source, "observed_on": c.observed_on.isoformat()} for c in criteria
                    ],
                    # an active one's entities are its membership's; a proposal's person the one picked for it
                    **entities.get(row.id, {"person_entity_id": row.person_entity_id, "organisation_entity_id": None}),
                }
            )
        uow.audit(
            action="designations_read",
            object_type="designation",
            details={"count": len(out), "proposals": len(proposals)},
        )
    return DesignationList(designations=tuple(out), proposals=tuple(proposals))
