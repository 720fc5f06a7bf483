"""Clusters of mentions written back as entities whose ids stay stable (shared by every kind).

A cluster that holds mentions of an existing entity keeps that entity's id; a cluster of new
mentions becomes a new entity; a cluster holding two existing entities (only a review decision
can make one) merges them into the lower id. Every creation, merge and moved mention is written
to the lineage (``entity_events``). What clustering must respect (:func:`link_constraints`) and the
review pairs a run opens (:func:`open_review_pairs`, each with its :class:`PairExplanation`) are
the same for people and things.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import Result
from openilp.db.entity_models import Entity, EntityEvent, EntityMention, EntityReviewPair

__all__ = ["FieldWeight", "PairExplanation", "apply_clusters", "link_constraints", "open_review_pairs"]


def apply_clusters(
    session: Session,
    *,
    agency_id: int,
    kind: str,
    by_id: Mapping[str, EntityMention],
    labels: Mapping[str, str],
    anchors: Mapping[str, int | None],
    actor_id: int | None,
    now: dt.datetime,
) -> tuple[int, int, int]:
    """Write ``labels`` (mention id -> cluster label) as entities; (created, merged, linked)."""
    clusters: dict[str, list[str]] = defaultdict(list)
    for record_id, label in labels.items():
        clusters[label].append(record_id)
    created = merged = linked = 0
    for group in clusters.values():
        existing = sorted({anchor for r in group if (anchor := anchors.get(r)) is not None})
        if existing:
            target = existing[0]
            for other_id in existing[1:]:
                other = session.get(Entity, other_id)
                assert other is not None
                other.status, other.merged_into_id, other.updated_at = "merged", target, now
                session.add(
                    EntityEvent(
                        agency_id=agency_id,
                        entity_id=target,
                        event="merged",
                        other_entity_id=other_id,
                        actor_id=actor_id,
                        reason="a review decision matched their mentions",
                        occurred_at=now,
                    )
                )
                merged += 1
        else:
            first = by_id[min(group, key=int)]
            entity = Entity(
                agency_id=agency_id,
                kind=kind,
                display_name=first.display_name,
                status="active",
                created_at=now,
                updated_at=now,
            )
            session.add(entity)
            session.flush()
            session.add(
                EntityEvent(
                    agency_id=agency_id,
                    entity_id=entity.id,
                    event="created",
                    actor_id=actor_id,
                    reason="resolution",
                    occurred_at=now,
                )
            )
            target = entity.id
            created += 1
        for record_id in group:
            mention = by_id[record_id]
            if mention.entity_id != target:
                if mention.entity_id is not None:
                    session.add(
                        EntityEvent(
                            agency_id=agency_id,
                            entity_id=target,
                            event="mention_moved",
                            other_entity_id=mention.entity_id,
                            mention_id=mention.id,
                            actor_id=actor_id,
                            reason="merged by a review decision",
                            occurred_at=now,
                        )
                    )
                mention.entity_id = target
                linked += 1
    session.flush()
    return created, merged, linked


@dataclass(frozen=True)
class FieldWeight(Result):
    """One field's part in a pair's score: its agreement level and its match weight in bits."""

    level: int
    weight: float


@dataclass(frozen=True)
class PairExplanation(Result):
    """Why a pair was scored as it was: the prior and each field's weight (bits), and their sum.

    A pair found by a rule (vehicles, phones, …) also names the ``rule`` and says it in words
    (``reason``). ``as_json()`` is what a review pair stores and the review queue sends back.

    >>> PairExplanation(-9.5, {"surname": FieldWeight(3, 7.25)}, -2.25).as_dict()
    {'prior_weight': -9.5, 'fields': {'surname': {'level': 3, 'weight': 7.25}}, 'match_weight': -2.25}
    """

    prior_weight: float
    fields: Mapping[str, FieldWeight]
    match_weight: float
    rule: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {} if self.rule is None else {"rule": self.rule, "reason": self.reason}
        return {
            **head,
            "prior_weight": self.prior_weight,
            "fields": {name: {"level": part.level, "weight": part.weight} for name, part in self.fields.items()},
            "match_weight": self.match_weight,
        }

    def as_json(self) -> str:
        """The explanation as stored with its review pair."""
        return json.dumps(self.as_dict())

    @classmethod
    def from_json(cls, text: str) -> PairExplanation:
        """Read a stored explanation back (:meth:`as_json`)."""
        data = json.loads(text)
        return cls(
            prior_weight=data["prior_weight"],
            fields={name: FieldWeight(int(part["level"]), part["weight"]) for name, part in data["fields"].items()},
            match_weight=data["match_weight"],
            rule=data.get("rule"),
            reason=data.get("reason"),
        )


def link_constraints(
    session: Session, agency_id: int, mentions: Sequence[EntityMention]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, int]]:
    """What clustering must respect: (must link, cannot link, anchors), by mention id as text.

    Human decisions come first: a "match" joins its two mentions, a "not a match" keeps them apart,
    whatever the rules or the model say. Stable ids: the mentions of an existing entity stay
    together (a "not a match" decision aside), and each such mention is anchored to its entity.
    """
    decided = session.scalars(
        select(EntityReviewPair).where(
            EntityReviewPair.agency_id == agency_id, EntityReviewPair.decision.in_(("match", "not_match"))
        )
    ).all()
    must_link = [(str(p.mention_low_id), str(p.mention_high_id)) for p in decided if p.decision == "match"]
    cannot_link = [(str(p.mention_low_id), str(p.mention_high_id)) for p in decided if p.decision == "not_match"]
    members: dict[int, list[str]] = defaultdict(list)
    for mention in mentions:
        if mention.entity_id is not None:
            members[mention.entity_id].append(str(mention.id))
    for group in members.values():
        must_link.extend((group[0], other) for other in group[1:])
    anchors = {str(m.id): m.entity_id for m in mentions if m.entity_id is not None}
    return must_link, cannot_link, anchors


def open_review_pairs(
    session: Session,
    *,
    agency_id: int,
    by_id: Mapping[str, EntityMention],
    pairs: Iterable[Mapping[Any, Any]],
    explain: Callable[[Mapping[Any, Any]], PairExplanation],
    now: dt.datetime,
) -> int:
    """Open a review pair for every scored pair whose mentions ended in different entities.

    ``pairs`` are records with ``record_id_l``, ``record_id_r``, ``match_probability`` and
    ``match_weight``; a pair already in the queue (open or decided) is not opened again. Returns
    how many were opened.
    """
    known = {
        (low, high)
        for low, high in session.execute(
            select(EntityReviewPair.mention_low_id, EntityReviewPair.mention_high_id).where(
                EntityReviewPair.agency_id == agency_id
            )
        ).all()
    }
    opened = 0
    for pair in pairs:
        left, right = by_id[str(pair["record_id_l"])], by_id[str(pair["record_id_r"])]
        if left.entity_id == right.entity_id:
            continue
        low, high = sorted((left.id, right.id))
        if (low, high) in known:
            continue
        known.add((low, high))
        session.add(
            EntityReviewPair(
                agency_id=agency_id,
                mention_low_id=low,
                mention_high_id=high,
                match_probability=float(pair["match_probability"]),
                match_weight=float(pair["match_weight"]),
                explanation=explain(pair).as_json(),
                created_at=now,
            )
        )
        opened += 1
    session.flush()
    return opened
