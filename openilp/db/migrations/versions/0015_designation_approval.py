"""designations in two steps: proposed by one supervisor or reviewer, approved by another

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("designations") as batch:
        batch.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(batch.f("fk_designations_approved_by_id_users"), "users", ["approved_by_id"], ["id"])
    # Designations made before were made in one step: their maker stands as the approver.
    designations = sa.table(
        "designations",
        sa.column("approved_by_id", sa.Integer),
        sa.column("approved_at", sa.DateTime),
        sa.column("designated_by_id", sa.Integer),
        sa.column("designated_at", sa.DateTime),
    )
    op.execute(
        designations.update().values(
            approved_by_id=designations.c.designated_by_id, approved_at=designations.c.designated_at
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("designations") as batch:
        batch.drop_constraint(batch.f("fk_designations_approved_by_id_users"), type_="foreignkey")
        batch.drop_column("approved_at")
        batch.drop_column("approved_by_id")
