"""Intelligence subjects kept as mentions: written with the record, changed with its identifiers.

A record's subjects become mentions in the same transaction as the record (``source`` "intel",
``source_record_id`` "subject-<id>"); purging a record deletes its subjects and so, by the foreign
key, their mentions. ``non_criminal_identifier`` subjects are mentions that are never searchable
and never resolved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.entity_models import EntityMention
from openilp.db.models import IntelRecord
from openilp.entities.subjects import content_hash, derived_mentions, mention_fields_from_subject

__all__ = ["sync_subject_mentions"]


def sync_subject_mentions(session: Session, record: IntelRecord) -> int:
    """Create or update the mentions of ``record``'s subjects (after a flush); the number changed."""
    existing = {
        m.intel_subject_id: m
        for m in session.scalars(select(EntityMention).where(EntityMention.intel_record_id == record.id))
    }
    derived = {
        m.source_record_id: m
        for m in session.scalars(
            select(EntityMention).where(
                EntityMention.intel_record_id == record.id, EntityMention.intel_subject_id.is_(None)
            )
        )
    }
    wanted: set[str] = set()
    changed = 0
    for subject in record.subjects:
        for number, found in enumerate(
            derived_mentions(subject.kind, subject.role, subject.display_name, subject.identifiers), start=1
        ):
            record_key = f"subject-{subject.id}-{found['kind']}-{number}"
            wanted.add(record_key)
            changed += _upsert(session, record, derived.get(record_key), record_key, None, found)
        fields = mention_fields_from_subject(subject.kind, subject.role, subject.display_name, subject.identifiers)
        digest = content_hash(fields)
        mention = existing.get(subject.id)
        if mention is None:
            session.add(
                EntityMention(
                    agency_id=record.agency_id,
                    source="intel",
                    source_record_id=f"subject-{subject.id}",
                    intel_record_id=record.id,
                    intel_subject_id=subject.id,
                    content_hash=digest,
                    created_at=record.updated_at,
                    updated_at=record.updated_at,
                    **fields,
                )
            )
            changed += 1
        elif mention.content_hash != digest:
            for key, value in fields.items():
                setattr(mention, key, value)
            mention.content_hash = digest
            mention.updated_at = record.updated_at
            changed += 1
    for record_key, stale in derived.items():
        if record_key not in wanted:
            session.delete(stale)
            changed += 1
    return changed


def _upsert(
    session: Session,
    record: IntelRecord,
    mention: EntityMention | None,
    record_key: str,
    subject_id: int | None,
    fields: dict[str, Any],
) -> int:
    digest = content_hash(fields)
    if mention is None:
        session.add(
            EntityMention(
                agency_id=record.agency_id,
                source="intel",
                source_record_id=record_key,
                intel_record_id=record.id,
                intel_subject_id=subject_id,
                content_hash=digest,
                created_at=record.updated_at,
                updated_at=record.updated_at,
                **fields,
            )
        )
        return 1
    if mention.content_hash == digest:
        return 0
    for key, value in fields.items():
        setattr(mention, key, value)
    mention.content_hash = digest
    mention.updated_at = record.updated_at
    return 1
