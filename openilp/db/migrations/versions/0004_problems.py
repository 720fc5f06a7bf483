"""problems (SARA): problems, history, worksheet, attachments, notes, interventions, comparison areas, evaluations

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def _index(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("target_reduction_pct", sa.Float(), nullable=False),
        sa.Column("baseline_start", sa.Date(), nullable=False),
        sa.Column("baseline_end", sa.Date(), nullable=False),
        sa.Column("evaluation_start", sa.Date(), nullable=False),
        sa.Column("evaluation_end", sa.Date(), nullable=False),
        sa.Column("area_name", sa.String(length=200), nullable=False),
        sa.Column("area_geojson", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("problems", "agency_id", "agencies.id"),
        _fk("problems", "owner_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
    )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.create_index("ix_problems_agency_stage", ["agency_id", "stage"], unique=False)
    op.create_table(
        "problem_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        _fk("problem_history", "problem_id", "problems.id"),
        _fk("problem_history", "user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_history")),
    )
    _index("problem_history", "problem_id")
    op.create_table(
        "problem_worksheets",
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("offender", sa.Text(), nullable=False),
        sa.Column("target_victim", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("handlers", sa.Text(), nullable=False),
        sa.Column("guardians", sa.Text(), nullable=False),
        sa.Column("managers", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _fk("problem_worksheets", "problem_id", "problems.id"),
        _fk("problem_worksheets", "updated_by_id", "users.id"),
        sa.PrimaryKeyConstraint("problem_id", name=op.f("pk_problem_worksheets")),
    )
    op.create_table(
        "problem_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("file_path", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("problem_attachments", "problem_id", "problems.id"),
        _fk("problem_attachments", "created_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_attachments")),
    )
    _index("problem_attachments", "problem_id")
    op.create_table(
        "problem_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("problem_notes", "problem_id", "problems.id"),
        _fk("problem_notes", "author_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_notes")),
    )
    _index("problem_notes", "problem_id")
    op.create_table(
        "problem_interventions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("area_geojson", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("dosage_value", sa.Float(), nullable=True),
        sa.Column("dosage_unit", sa.String(length=60), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("problem_interventions", "problem_id", "problems.id"),
        _fk("problem_interventions", "created_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_interventions")),
    )
    _index("problem_interventions", "problem_id")
    op.create_table(
        "problem_comparison_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _fk("problem_comparison_areas", "problem_id", "problems.id"),
        _fk("problem_comparison_areas", "updated_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_comparison_areas")),
        sa.UniqueConstraint("problem_id", "role", name=op.f("uq_problem_comparison_areas_problem_id_role")),
    )
    op.create_table(
        "problem_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("chart_svg", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("problem_evaluations", "problem_id", "problems.id"),
        _fk("problem_evaluations", "created_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_evaluations")),
    )
    _index("problem_evaluations", "problem_id")


def downgrade() -> None:
    for table in ("problem_evaluations", "problem_interventions", "problem_notes", "problem_attachments"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_problem_id"))
    with op.batch_alter_table("problem_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_history_problem_id"))
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index("ix_problems_agency_stage")
    for table in (
        "problem_evaluations",
        "problem_comparison_areas",
        "problem_interventions",
        "problem_notes",
        "problem_attachments",
        "problem_worksheets",
        "problem_history",
        "problems",
    ):
        op.drop_table(table)
