"""crime series: saved series of incidents under review, kept on a problem or an intelligence record

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "crime_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=True),
        sa.Column("intel_record_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        _fk("crime_series", "agency_id", "agencies.id"),
        _fk("crime_series", "problem_id", "problems.id"),
        _fk("crime_series", "intel_record_id", "intel_records.id"),
        _fk("crime_series", "created_by_id", "users.id"),
        _fk("crime_series", "reviewed_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crime_series")),
    )
    with op.batch_alter_table("crime_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crime_series_agency_id"), ["agency_id"], unique=False)
    op.create_table(
        "crime_series_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        _fk("crime_series_members", "series_id", "crime_series.id"),
        _fk("crime_series_members", "incident_id", "incidents.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crime_series_members")),
        sa.UniqueConstraint("series_id", "incident_id", name=op.f("uq_crime_series_members_series_id_incident_id")),
    )
    with op.batch_alter_table("crime_series_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crime_series_members_series_id"), ["series_id"], unique=False)


def downgrade() -> None:
    op.drop_table("crime_series_members")
    op.drop_table("crime_series")
