"""gang and enterprise designations: documented criteria, a review date and a purge date

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "designations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("designated_by_id", sa.Integer(), nullable=True),
        sa.Column("designated_at", sa.DateTime(), nullable=False),
        sa.Column("review_due_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_designations_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["designated_by_id"], ["users.id"], name=op.f("fk_designations_designated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designations")),
    )
    op.create_index(op.f("ix_designations_agency_id"), "designations", ["agency_id"])
    op.create_table(
        "designation_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("designation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["designation_id"],
            ["designations.id"],
            name=op.f("fk_designation_criteria_designation_id_designations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designation_criteria")),
    )
    op.create_index(op.f("ix_designation_criteria_designation_id"), "designation_criteria", ["designation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_designation_criteria_designation_id"), table_name="designation_criteria")
    op.drop_table("designation_criteria")
    op.drop_index(op.f("ix_designations_agency_id"), table_name="designations")
    op.drop_table("designations")
