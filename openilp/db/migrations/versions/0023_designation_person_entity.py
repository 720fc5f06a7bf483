"""designations: the existing person entity the proposer picked, linked as the member on approval

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("designations") as batch:
        batch.add_column(sa.Column("person_entity_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_designations_person_entity_id"), ["person_entity_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_designations_person_entity_id_entities"),
            "entities",
            ["person_entity_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("designations") as batch:
        batch.drop_constraint(batch.f("fk_designations_person_entity_id_entities"), type_="foreignkey")
        batch.drop_index(batch.f("ix_designations_person_entity_id"))
        batch.drop_column("person_entity_id")
