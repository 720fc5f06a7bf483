"""deconfliction: conflicts with partner instances' events in the watch-centre queue, closure notices

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TABLE = "deconfliction_partner_conflicts"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("remote_event_ref", sa.String(length=40), nullable=False),
        sa.Column("reasons", sa.String(length=40), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("agency_name", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=12), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("exigency_waiver", sa.Boolean(), nullable=False),
        sa.Column("event_closed", sa.String(length=12), nullable=False),
        sa.Column("event_closed_side", sa.String(length=8), nullable=False),
        sa.Column("event_closed_at", sa.DateTime(), nullable=True),
        sa.Column("notice_status", sa.String(length=8), nullable=False),
        sa.Column("notice_attempts", sa.Integer(), nullable=False),
        sa.Column("notice_error", sa.String(length=500), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["deconfliction_events.id"], name=op.f(f"fk_{TABLE}_event_id_deconfliction_events")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["federation_partners.id"], name=op.f(f"fk_{TABLE}_partner_id_federation_partners")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["users.id"], name=op.f(f"fk_{TABLE}_acknowledged_by_id_users")
        ),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["users.id"], name=op.f(f"fk_{TABLE}_resolved_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index(op.f(f"ix_{TABLE}_event_id"), TABLE, ["event_id"])
    op.create_index("ix_deconfliction_partner_conflicts_partner_ref", TABLE, ["partner_id", "remote_event_ref"])


def downgrade() -> None:
    op.drop_index("ix_deconfliction_partner_conflicts_partner_ref", table_name=TABLE)
    op.drop_index(op.f(f"ix_{TABLE}_event_id"), table_name=TABLE)
    op.drop_table(TABLE)
