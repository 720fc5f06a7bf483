"""keyed audit chain: each entry records the scheme its hash was made with

Entries written before this revision keep the plain SHA-256 chain (``sha256``); new entries are
HMAC-SHA-256 under a key kept outside the database (``hmac-sha256``). A plain entry after a keyed
one is a forgery (a downgrade) and fails verification.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): rebuilding audit_log would drop its append-only triggers.
    op.add_column("audit_log", sa.Column("hash_scheme", sa.String(length=16), server_default="sha256", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("hash_scheme")
