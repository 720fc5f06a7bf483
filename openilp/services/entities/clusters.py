"""Clusters of mentions written back as entities whose ids stay stable (shared by every kind).

A cluster that holds mentions of an existing entity keeps that entity's id; a cluster of new
mentions becomes a new entity; a cluster holding two existing entities (only a review decision
can make one) merges them into the lower id. Every creation, merge and moved mention is written
to the lineage (``entity_events``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy.orm import Session

from openilp.db.entity_models import Entity, EntityEvent, EntityMention

__all__ = ["apply_clusters"]


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
