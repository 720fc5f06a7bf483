"""the structured facts of an intelligence record's criminal predicate: who, what, when, where

Records submitted before keep empty facts (their factual basis is the narrative alone); every new
submission must state all four.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FACTS = ("predicate_who", "predicate_what", "predicate_when", "predicate_where")


def upgrade() -> None:
    with op.batch_alter_table("intel_records") as batch:
        for name in FACTS:
            batch.add_column(sa.Column(name, sa.String(length=200), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("intel_records") as batch:
        for name in reversed(FACTS):
            batch.drop_column(name)
