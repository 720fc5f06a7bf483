"""federation between instances: partners, seen signatures, shares, the outbox, received summaries

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("agency_codes", sa.String(length=500), nullable=False),
        sa.Column("sharing_groups", sa.String(length=500), nullable=False),
        sa.Column("agreement_reference", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_federation_partners_name")),
        sa.UniqueConstraint("key_id", name=op.f("uq_federation_partners_key_id")),
    )
    op.create_table(
        "federation_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("signature_hash", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_nonces")),
        sa.UniqueConstraint("key_id", "nonce", name=op.f("uq_federation_nonces_key_id_nonce")),
        sa.UniqueConstraint("signature_hash", name=op.f("uq_federation_nonces_signature_hash")),
    )
    op.create_index(op.f("ix_federation_nonces_expires_at"), "federation_nonces", ["expires_at"])
    op.create_table(
        "federation_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("end_user", sa.String(length=200), nullable=False),
        sa.Column("shared_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["intel_records.id"], name=op.f("fk_federation_shares_record_id_intel_records")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["federation_partners.id"], name=op.f("fk_federation_shares_partner_id_federation_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_shares")),
        sa.UniqueConstraint("record_id", "partner_id", name=op.f("uq_federation_shares_record_id_partner_id")),
    )
    op.create_index(op.f("ix_federation_shares_record_id"), "federation_shares", ["record_id"])
    op.create_table(
        "federation_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["federation_partners.id"],
            name=op.f("fk_federation_deliveries_partner_id_federation_partners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_deliveries")),
    )
    op.create_index("ix_federation_deliveries_status_next", "federation_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "federation_received",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("remote_record_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["federation_partners.id"],
            name=op.f("fk_federation_received_partner_id_federation_partners"),
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_federation_received_agency_id_agencies")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_federation_received_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_received")),
        sa.UniqueConstraint(
            "partner_id",
            "remote_record_id",
            "user_id",
            name=op.f("uq_federation_received_partner_id_remote_record_id_user_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("federation_received")
    op.drop_index("ix_federation_deliveries_status_next", table_name="federation_deliveries")
    op.drop_table("federation_deliveries")
    op.drop_index(op.f("ix_federation_shares_record_id"), table_name="federation_shares")
    op.drop_table("federation_shares")
    op.drop_index(op.f("ix_federation_nonces_expires_at"), table_name="federation_nonces")
    op.drop_table("federation_nonces")
    op.drop_table("federation_partners")
