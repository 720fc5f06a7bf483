"""entities: organisation membership from approved designations (mentions name their designation)

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TABLE = "entity_memberships"


def upgrade() -> None:
    with op.batch_alter_table("entity_mentions") as batch:
        batch.add_column(sa.Column("designation_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_entity_mentions_designation_id"), ["designation_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_entity_mentions_designation_id_designations"),
            "designations",
            ["designation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("designation_id", sa.Integer(), nullable=False),
        sa.Column("person_mention_id", sa.Integer(), nullable=False),
        sa.Column("organisation_mention_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f(f"fk_{TABLE}_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["designation_id"],
            ["designations.id"],
            name=op.f(f"fk_{TABLE}_designation_id_designations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_mention_id"],
            ["entity_mentions.id"],
            name=op.f(f"fk_{TABLE}_person_mention_id_entity_mentions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_mention_id"],
            ["entity_mentions.id"],
            name=op.f(f"fk_{TABLE}_organisation_mention_id_entity_mentions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("designation_id", name=op.f(f"uq_{TABLE}_designation_id")),
    )
    with op.batch_alter_table(TABLE) as batch:
        batch.create_index(batch.f(f"ix_{TABLE}_agency_id"), ["agency_id"], unique=False)
        batch.create_index(batch.f(f"ix_{TABLE}_person_mention_id"), ["person_mention_id"], unique=False)
        batch.create_index(batch.f(f"ix_{TABLE}_organisation_mention_id"), ["organisation_mention_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_index(batch.f(f"ix_{TABLE}_organisation_mention_id"))
        batch.drop_index(batch.f(f"ix_{TABLE}_person_mention_id"))
        batch.drop_index(batch.f(f"ix_{TABLE}_agency_id"))
    op.drop_table(TABLE)
    with op.batch_alter_table("entity_mentions") as batch:
        batch.drop_constraint(batch.f("fk_entity_mentions_designation_id_designations"), type_="foreignkey")
        batch.drop_index(batch.f("ix_entity_mentions_designation_id"))
        batch.drop_column("designation_id")
