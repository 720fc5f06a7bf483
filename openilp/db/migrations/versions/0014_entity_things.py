"""entity mentions of every kind: match keys, places in the agency CRS, incident parties, tips, dates

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entity_mentions") as batch:
        batch.add_column(sa.Column("match_key", sa.String(length=240), nullable=True))
        batch.add_column(sa.Column("x_m", sa.Float(), nullable=True))
        batch.add_column(sa.Column("y_m", sa.Float(), nullable=True))
        batch.add_column(sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.add_column(sa.Column("tip_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("seen_on", sa.Date(), nullable=True))
        batch.create_index(batch.f("ix_entity_mentions_match_key"), ["match_key"], unique=False)
        batch.create_index(batch.f("ix_entity_mentions_incident_id"), ["incident_id"], unique=False)
        batch.create_index(batch.f("ix_entity_mentions_tip_id"), ["tip_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_entity_mentions_incident_id_incidents"), "incidents", ["incident_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch.create_foreign_key(
            batch.f("fk_entity_mentions_tip_id_tips"), "tips", ["tip_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("entity_mentions") as batch:
        batch.drop_constraint(batch.f("fk_entity_mentions_tip_id_tips"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_entity_mentions_incident_id_incidents"), type_="foreignkey")
        batch.drop_index(batch.f("ix_entity_mentions_tip_id"))
        batch.drop_index(batch.f("ix_entity_mentions_incident_id"))
        batch.drop_index(batch.f("ix_entity_mentions_match_key"))
        batch.drop_column("seen_on")
        batch.drop_column("tip_id")
        batch.drop_column("incident_id")
        batch.drop_column("y_m")
        batch.drop_column("x_m")
        batch.drop_column("match_key")
