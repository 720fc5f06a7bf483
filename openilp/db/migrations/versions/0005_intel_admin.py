"""intelligence administration: agreement scope and revocation, emergency releases, payout-code lockout

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intel_partner_agreements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=24), server_default="releases_and_search", nullable=False)
        )
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("revoked_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revocation_reason", sa.String(length=500), server_default="", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_intel_partner_agreements_revoked_by_id_users"), "users", ["revoked_by_id"], ["id"]
        )
    with op.batch_alter_table("intel_disseminations", schema=None) as batch_op:
        batch_op.alter_column("recipient_agency_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("imminent_danger", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("assessment", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("tip_rewards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_payout_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("locked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tip_rewards", schema=None) as batch_op:
        batch_op.drop_column("locked_at")
        batch_op.drop_column("failed_payout_attempts")
    op.execute("DELETE FROM intel_disseminations WHERE recipient_agency_id IS NULL")
    with op.batch_alter_table("intel_disseminations", schema=None) as batch_op:
        batch_op.drop_column("assessment")
        batch_op.drop_column("imminent_danger")
        batch_op.alter_column("recipient_agency_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("intel_partner_agreements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_intel_partner_agreements_revoked_by_id_users"), type_="foreignkey")
        batch_op.drop_column("revocation_reason")
        batch_op.drop_column("revoked_by_id")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("scope")
