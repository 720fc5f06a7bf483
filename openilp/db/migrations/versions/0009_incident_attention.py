"""how each incident came to police attention: reported by the public, discovered by police, unknown

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openilp.ingest.categories import category_attention

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("attention", sa.String(length=10), server_default="unknown", nullable=False))
        batch.add_column(sa.Column("patrol_propensity", sa.Float(), nullable=True))
    # Incidents imported before: each category's default (sources declare better from now on).
    incidents = sa.table("incidents", sa.column("attention", sa.String), sa.column("category_code", sa.String))
    for answer in ("reported", "discovered"):
        codes = [code for code, (attention, _) in category_attention().items() if attention == answer]
        op.execute(incidents.update().where(incidents.c.category_code.in_(codes)).values(attention=answer))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("patrol_propensity")
        batch.drop_column("attention")
