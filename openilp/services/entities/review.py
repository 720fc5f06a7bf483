"""The review queue: pairs the model was unsure of, and decisions that override it for good.

``openilp entities review`` lists the open pairs with each field's contribution to the score;
``openilp entities review --decide PAIR match|not_match|unsure --reason TEXT`` records a decision.
A decision acts at once and on every later resolution:

* **match**: the two mentions' entities are merged; the older (lower) id survives, the other is
  marked merged into it; lineage and the audit log record who and why;
* **not a match**: when the mentions share an entity, the later mention is split off into a new
  entity (its lineage names the entity it came from); resolution never joins them again;
* **unsure**: recorded; the pair leaves the queue and the model's view stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result, require
from openilp.db.entity_models import Entity, EntityEvent, EntityMention, EntityReviewPair
from openilp.errors import Conflict, NotFound
from openilp.security.actors import UserInfo
from openilp.services.entities.clusters import PairExplanation
from openilp.services.entities.common import MentionSummary, agency_for, mention_summary
from openilp.services.entities.common import require as require_permission
from openilp.services.entities.reading import visible_mentions

__all__ = [
    "DECISIONS",
    "ReviewQueueRequest",
    "ReviewQueue",
    "DecideRequest",
    "DecisionResult",
    "review_queue",
    "decide_pair",
]

DECISIONS = ("match", "not_match", "unsure")


@dataclass(frozen=True)
class ReviewQueueRequest(Request):
    agency: str = ""
    limit: int = 50

    def validate(self) -> ReviewQueueRequest:
        require(1 <= self.limit <= 1000, "limit: give 1 to 1000 pairs")
        return self


@dataclass(frozen=True)
class ReviewPairView(Result):
    """One open review pair: its score, why (the explanation) and the two mentions side by side."""

    pair_id: int
    match_probability: float
    match_weight: float
    explanation: PairExplanation
    left: MentionSummary
    right: MentionSummary


@dataclass(frozen=True)
class ReviewQueue(Result):
    agency: str
    #: Open pairs the reviewer may decide: both mentions visible to them.
    open_pairs: int
    pairs: tuple[ReviewPairView, ...]
    #: Open pairs left for a reviewer who may see both mentions (their records stay unnamed here).
    withheld_pairs: int = 0


@dataclass(frozen=True)
class DecideRequest(Request):
    pair_id: int
    decision: str
    reason: str

    def validate(self) -> DecideRequest:
        require(self.decision in DECISIONS, f"decision: one of {', '.join(DECISIONS)}")
        require(len(self.reason.strip()) >= 3, "reason: say why (at least 3 characters); it is audited")
        return self


@dataclass(frozen=True)
class DecisionResult(Result):
    pair_id: int
    decision: str
    #: What the decision changed: "merged", "split" or "none".
    effect: str
    entity_id: int | None
    other_entity_id: int | None


def review_queue(core: OpenILP, actor: UserInfo | None, request: ReviewQueueRequest) -> ReviewQueue:
    """The open review pairs of the agency, most likely matches first."""
    request = request.validate()
    require_permission(actor, "entities:review", "review entity pairs")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = agency_for(session, actor, request.agency)
        open_pairs = list(
            session.scalars(
                select(EntityReviewPair)
                .where(EntityReviewPair.agency_id == agency.id, EntityReviewPair.decision.is_(None))
                .order_by(EntityReviewPair.match_probability.desc(), EntityReviewPair.id)
            )
        )
        mentions = {
            m.id: m
            for m in session.scalars(
                select(EntityMention).where(
                    EntityMention.id.in_({i for p in open_pairs for i in (p.mention_low_id, p.mention_high_id)})
                )
            )
        }
        # Need to know: a pair is shown only when the reviewer may see both of its mentions (the
        # record, tip or designation behind each), as on an entity page; the others wait for
        # a reviewer who may, and are only counted.
        visible = {m.id for m in visible_mentions(session, actor, list(mentions.values()), uow.now)}
        decidable = [p for p in open_pairs if p.mention_low_id in visible and p.mention_high_id in visible]
        shown = []
        for pair in decidable[: request.limit]:
            low, high = mentions[pair.mention_low_id], mentions[pair.mention_high_id]
            shown.append(
                ReviewPairView(
                    pair_id=pair.id,
                    match_probability=pair.match_probability,
                    match_weight=pair.match_weight,
                    explanation=PairExplanation.from_json(pair.explanation),
                    left=mention_summary(low),
                    right=mention_summary(high),
                )
            )
        uow.audit(
            action="entities_review_read",
            object_type="entities",
            object_id=agency.code,
            agency_id=agency.id,
            details={"pairs_shown": len(shown), "pairs_withheld": len(open_pairs) - len(decidable)},
        )
        return ReviewQueue(agency.code, len(decidable), tuple(shown), len(open_pairs) - len(decidable))


def decide_pair(core: OpenILP, actor: UserInfo | None, request: DecideRequest) -> DecisionResult:
    """Record a decision on a review pair and apply it (see the module docstring)."""
    request = request.validate()
    require_permission(actor, "entities:review", "decide entity pairs")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        pair = session.get(EntityReviewPair, request.pair_id)
        if pair is None or (actor is not None and pair.agency_id != actor.agency_id):
            raise NotFound(f"no review pair {request.pair_id}")
        if pair.decision is not None:
            raise Conflict(f"review pair {pair.id} was decided already ({pair.decision})")
        pair.decision, pair.reason = request.decision, request.reason.strip()
        pair.decided_by_id, pair.decided_at = (actor.id if actor else None), uow.now
        low = session.get(EntityMention, pair.mention_low_id)
        high = session.get(EntityMention, pair.mention_high_id)
        assert low is not None and high is not None
        if len(visible_mentions(session, actor, [low, high], uow.now)) < 2:
            raise NotFound(f"no review pair {request.pair_id}")  # not one this reviewer may see
        effect, entity_id, other_id = "none", low.entity_id, high.entity_id

        def event(entity: int, kind: str, other: int | None, mention: int | None = None) -> None:
            session.add(
                EntityEvent(
                    agency_id=pair.agency_id,
                    entity_id=entity,
                    event=kind,
                    other_entity_id=other,
                    mention_id=mention,
                    actor_id=actor.id if actor else None,
                    reason=request.reason.strip(),
                    occurred_at=uow.now,
                )
            )

        if request.decision == "match" and low.entity_id and high.entity_id and low.entity_id != high.entity_id:
            survivor, gone = sorted((low.entity_id, high.entity_id))
            for mention in session.scalars(select(EntityMention).where(EntityMention.entity_id == gone)):
                mention.entity_id = survivor
            retired = session.get(Entity, gone)
            assert retired is not None
            retired.status, retired.merged_into_id, retired.updated_at = "merged", survivor, uow.now
            event(survivor, "merged", gone)
            effect, entity_id, other_id = "merged", survivor, gone
        elif request.decision == "not_match" and low.entity_id is not None and low.entity_id == high.entity_id:
            source = session.get(Entity, low.entity_id)
            assert source is not None
            split_off = Entity(
                agency_id=pair.agency_id,
                kind=source.kind,
                display_name=high.display_name,
                status="active",
                created_at=uow.now,
                updated_at=uow.now,
            )
            session.add(split_off)
            session.flush()
            high.entity_id = split_off.id
            event(split_off.id, "split", source.id, high.id)
            effect, entity_id, other_id = "split", source.id, split_off.id
        session.flush()
        uow.audit(
            action="entities_review_decide",
            object_type="entity_review_pair",
            object_id=pair.id,
            purpose=request.reason.strip()[:500],
            agency_id=pair.agency_id,
            details={"decision": request.decision, "effect": effect, "entity_id": entity_id, "other": other_id},
        )
        return DecisionResult(pair.id, request.decision, effect, entity_id, other_id)
