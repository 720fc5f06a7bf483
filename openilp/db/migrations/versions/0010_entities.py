"""entities: mentions and resolved entities (persons, vehicles, phones, handles, addresses,
organisations), the review queue, lineage, person-file imports and resolution runs; every existing
intelligence subject becomes a mention of its record (non-criminal identifiers stay unsearchable)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_KINDS = {"person": "person", "organisation": "organisation", "vehicle": "vehicle", "location": "address"}


def _subject_fields(kind: str, role: str, display_name: str, identifiers: str) -> dict[str, object]:
    """A frozen copy of ``openilp.entities.subjects.mention_fields_from_subject`` as of this revision."""
    entity_kind = _KINDS.get(kind, kind)
    name = " ".join(display_name.split())
    fields: dict[str, object] = {
        "kind": entity_kind,
        "role": role,
        "searchable": role != "non_criminal_identifier",
        "display_name": name[:200],
        "raw_identifiers": identifiers[:200],
        "first_name": None,
        "middle_name": None,
        "surname": None,
        "street": None,
        "organisation": None,
    }
    if entity_kind == "person":
        words = name.split(" ")
        if len(words) == 1:
            fields["surname"] = words[0][:100] or None
        else:
            fields["first_name"] = words[0][:100]
            fields["middle_name"] = " ".join(words[1:-1])[:100] or None
            fields["surname"] = words[-1][:100]
    elif entity_kind == "address":
        fields["street"] = name[:200] or None
    elif entity_kind == "organisation":
        fields["organisation"] = name[:200] or None
    return fields


def _content_hash(fields: dict[str, object]) -> str:
    text = "\x1f".join(f"{key}={'' if fields[key] is None else fields[key]}" for key in sorted(fields))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _migrate_intel_subjects() -> None:
    """Every intelligence subject becomes a mention owned by its record's agency; nothing is dropped."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT s.id, s.record_id, s.kind, s.role, s.display_name, s.identifiers, r.agency_id, r.submitted_at "
            "FROM intel_subjects s JOIN intel_records r ON r.id = s.record_id ORDER BY s.id"
        )
    ).fetchall()
    mentions = sa.table(
        "entity_mentions",
        *(
            sa.column(name)
            for name in (
                "agency_id",
                "kind",
                "source",
                "source_record_id",
                "intel_record_id",
                "intel_subject_id",
                "role",
                "searchable",
                "display_name",
                "first_name",
                "middle_name",
                "surname",
                "street",
                "organisation",
                "raw_identifiers",
                "content_hash",
                "created_at",
                "updated_at",
            )
        ),
    )
    values = []
    for subject_id, record_id, kind, role, display_name, identifiers, agency_id, submitted_at in rows:
        fields = _subject_fields(kind, role, display_name or "", identifiers or "")
        values.append(
            {
                **fields,
                "agency_id": agency_id,
                "source": "intel",
                "source_record_id": f"subject-{subject_id}",
                "intel_record_id": record_id,
                "intel_subject_id": subject_id,
                "content_hash": _content_hash(fields),
                "created_at": submitted_at,
                "updated_at": submitted_at,
            }
        )
    if values:
        op.bulk_insert(mentions, values)


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_entities_agency_id_agencies")),
        sa.ForeignKeyConstraint(["merged_into_id"], ["entities.id"], name=op.f("fk_entities_merged_into_id_entities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
    )
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entities_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "entity_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("mentions_added", sa.Integer(), nullable=False),
        sa.Column("mentions_updated", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_entity_imports_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_imports")),
    )
    with op.batch_alter_table("entity_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entity_imports_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "entity_resolution_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("pairs_scored", sa.Integer(), nullable=False),
        sa.Column("match_threshold", sa.Float(), nullable=False),
        sa.Column("review_threshold", sa.Float(), nullable=False),
        sa.Column("entities_created", sa.Integer(), nullable=False),
        sa.Column("mentions_linked", sa.Integer(), nullable=False),
        sa.Column("review_pairs_opened", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_entity_resolution_runs_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_resolution_runs")),
    )
    with op.batch_alter_table("entity_resolution_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entity_resolution_runs_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "entity_mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("intel_record_id", sa.Integer(), nullable=True),
        sa.Column("intel_subject_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("searchable", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("surname", sa.String(length=100), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("identifier", sa.String(length=100), nullable=True),
        sa.Column("street_number", sa.String(length=20), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("locality", sa.String(length=100), nullable=True),
        sa.Column("postcode", sa.String(length=20), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("plate", sa.String(length=20), nullable=True),
        sa.Column("plate_state", sa.String(length=10), nullable=True),
        sa.Column("vin", sa.String(length=32), nullable=True),
        sa.Column("make", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=40), nullable=True),
        sa.Column("colour", sa.String(length=40), nullable=True),
        sa.Column("handle", sa.String(length=200), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("raw_identifiers", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_entity_mentions_agency_id_agencies")),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], name=op.f("fk_entity_mentions_entity_id_entities")),
        sa.ForeignKeyConstraint(
            ["intel_record_id"],
            ["intel_records.id"],
            name=op.f("fk_entity_mentions_intel_record_id_intel_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["intel_subject_id"],
            ["intel_subjects.id"],
            name=op.f("fk_entity_mentions_intel_subject_id_intel_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_mentions")),
        sa.UniqueConstraint(
            "agency_id", "source", "source_record_id", name=op.f("uq_entity_mentions_agency_id_source_source_record_id")
        ),
        sa.UniqueConstraint("intel_subject_id", name=op.f("uq_entity_mentions_intel_subject_id")),
    )
    with op.batch_alter_table("entity_mentions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entity_mentions_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entity_mentions_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entity_mentions_intel_record_id"), ["intel_record_id"], unique=False)

    op.create_table(
        "entity_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("other_entity_id", sa.Integer(), nullable=True),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_entity_events_actor_id_users")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_entity_events_agency_id_agencies")),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], name=op.f("fk_entity_events_entity_id_entities")),
        sa.ForeignKeyConstraint(
            ["mention_id"],
            ["entity_mentions.id"],
            name=op.f("fk_entity_events_mention_id_entity_mentions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["other_entity_id"], ["entities.id"], name=op.f("fk_entity_events_other_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_events")),
    )
    with op.batch_alter_table("entity_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entity_events_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entity_events_entity_id"), ["entity_id"], unique=False)

    op.create_table(
        "entity_review_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("mention_low_id", sa.Integer(), nullable=False),
        sa.Column("mention_high_id", sa.Integer(), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_entity_review_pairs_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_entity_review_pairs_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["mention_high_id"],
            ["entity_mentions.id"],
            name=op.f("fk_entity_review_pairs_mention_high_id_entity_mentions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mention_low_id"],
            ["entity_mentions.id"],
            name=op.f("fk_entity_review_pairs_mention_low_id_entity_mentions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_review_pairs")),
        sa.UniqueConstraint(
            "mention_low_id", "mention_high_id", name=op.f("uq_entity_review_pairs_mention_low_id_mention_high_id")
        ),
    )
    with op.batch_alter_table("entity_review_pairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entity_review_pairs_agency_id"), ["agency_id"], unique=False)

    _migrate_intel_subjects()


def downgrade() -> None:
    with op.batch_alter_table("entity_review_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_review_pairs_agency_id"))

    op.drop_table("entity_review_pairs")
    with op.batch_alter_table("entity_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_events_entity_id"))
        batch_op.drop_index(batch_op.f("ix_entity_events_agency_id"))

    op.drop_table("entity_events")
    with op.batch_alter_table("entity_mentions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_mentions_intel_record_id"))
        batch_op.drop_index(batch_op.f("ix_entity_mentions_entity_id"))
        batch_op.drop_index(batch_op.f("ix_entity_mentions_agency_id"))

    op.drop_table("entity_mentions")
    with op.batch_alter_table("entity_resolution_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_resolution_runs_agency_id"))

    op.drop_table("entity_resolution_runs")
    with op.batch_alter_table("entity_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_imports_agency_id"))

    op.drop_table("entity_imports")
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entities_agency_id"))

    op.drop_table("entities")
