"""initial schema

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("crs", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("code", name=op.f("uq_agencies_code")),
    )
    op.create_table(
        "offence_categories",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("crime_group", sa.String(length=20), nullable=False),
        sa.Column("ucr_part", sa.Integer(), nullable=True),
        sa.Column("parent_code", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_offence_categories")),
    )
    op.create_table(
        "import_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_folded", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("netted_out", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_import_files_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_files")),
        sa.UniqueConstraint("agency_id", "source", "sha256", name=op.f("uq_import_files_agency_id_source_sha256")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_users_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "incident_ledger",
        sa.Column("import_file_id", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_file_id"],
            ["import_files.id"],
            name=op.f("fk_incident_ledger_import_file_id_import_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_file_id", name=op.f("pk_incident_ledger")),
    )

    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=True),
        sa.Column("offence_code", sa.String(length=100), nullable=True),
        sa.Column("offence_description", sa.String(length=300), nullable=True),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("occurred_from", sa.DateTime(), nullable=True),
        sa.Column("occurred_to", sa.DateTime(), nullable=True),
        sa.Column("time_precision", sa.String(length=10), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("x_m", sa.Float(), nullable=True),
        sa.Column("y_m", sa.Float(), nullable=True),
        sa.Column("location_status", sa.String(length=12), nullable=False),
        sa.Column("block_address", sa.String(length=200), nullable=True),
        sa.Column("district", sa.String(length=60), nullable=True),
        sa.Column("beat", sa.String(length=60), nullable=True),
        sa.Column("neighbourhood", sa.String(length=120), nullable=True),
        sa.Column("flag_unfounded", sa.Boolean(), nullable=False),
        sa.Column("flag_administrative", sa.Boolean(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(), nullable=True),
        sa.Column("net_count", sa.Integer(), nullable=False),
        sa.Column("import_file_id", sa.Integer(), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_incidents_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["offence_categories.code"],
            name=op.f("fk_incidents_category_code_offence_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["import_file_id"], ["import_files.id"], name=op.f("fk_incidents_import_file_id_import_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("agency_id", "source", "source_key", name=op.f("uq_incidents_agency_id_source_source_key")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_agency_occurred", ["agency_id", "occurred_from"], unique=False)
        batch_op.create_index("ix_incidents_category_occurred", ["category_code", "occurred_from"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_category_occurred")
        batch_op.drop_index("ix_incidents_agency_occurred")

    op.drop_table("incidents")
    op.drop_table("incident_ledger")
    op.drop_table("users")
    op.drop_table("import_files")
    op.drop_table("offence_categories")
    op.drop_table("agencies")
