"""patrol log: the places of issued deployment lists, with their patrol propensity

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrol_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("plan_reference", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("shift_day", sa.Date(), nullable=False),
        sa.Column("shift_hours", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("cell_id", sa.Integer(), nullable=False),
        sa.Column("cell_size_m", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("neighbourhood", sa.String(length=200), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_patrol_log_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_log")),
    )
    op.create_index("ix_patrol_log_agency_day", "patrol_log", ["agency_id", "shift_day"])
    op.create_index(op.f("ix_patrol_log_plan_reference"), "patrol_log", ["plan_reference"])


def downgrade() -> None:
    op.drop_index(op.f("ix_patrol_log_plan_reference"), table_name="patrol_log")
    op.drop_index("ix_patrol_log_agency_day", table_name="patrol_log")
    op.drop_table("patrol_log")
