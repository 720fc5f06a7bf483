"""officer-safety deconfliction: planned operations and the conflicts found between them

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deconfliction_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("operation_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_deconfliction_events_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_deconfliction_events_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_deconfliction_events_closed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_events")),
    )
    op.create_index(op.f("ix_deconfliction_events_agency_id"), "deconfliction_events", ["agency_id"])
    op.create_index("ix_deconfliction_events_status_ends_at", "deconfliction_events", ["status", "ends_at"])
    op.create_table(
        "deconfliction_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("other_event_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.String(length=40), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["deconfliction_events.id"],
            name=op.f("fk_deconfliction_conflicts_event_id_deconfliction_events"),
        ),
        sa.ForeignKeyConstraint(
            ["other_event_id"],
            ["deconfliction_events.id"],
            name=op.f("fk_deconfliction_conflicts_other_event_id_deconfliction_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_conflicts")),
    )
    op.create_index(op.f("ix_deconfliction_conflicts_event_id"), "deconfliction_conflicts", ["event_id"])
    op.create_index(op.f("ix_deconfliction_conflicts_other_event_id"), "deconfliction_conflicts", ["other_event_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deconfliction_conflicts_other_event_id"), table_name="deconfliction_conflicts")
    op.drop_index(op.f("ix_deconfliction_conflicts_event_id"), table_name="deconfliction_conflicts")
    op.drop_table("deconfliction_conflicts")
    op.drop_index("ix_deconfliction_events_status_ends_at", table_name="deconfliction_events")
    op.drop_index(op.f("ix_deconfliction_events_agency_id"), table_name="deconfliction_events")
    op.drop_table("deconfliction_events")
