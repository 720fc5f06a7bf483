"""intelligence: records, subjects, review, dissemination, notifications, tips and rewards

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "intel_agency_settings",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("grading_scheme", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("intel_agency_settings", "agency_id", "agencies.id"),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_intel_agency_settings")),
    )
    op.create_table(
        "intel_partner_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("partner_agency_id", sa.Integer(), nullable=False),
        sa.Column("document_reference", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        _fk("intel_partner_agreements", "agency_id", "agencies.id"),
        _fk("intel_partner_agreements", "partner_agency_id", "agencies.id"),
        _fk("intel_partner_agreements", "recorded_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_partner_agreements")),
        sa.UniqueConstraint(
            "agency_id",
            "partner_agency_id",
            "version",
            name=op.f("uq_intel_partner_agreements_agency_id_partner_agency_id_version"),
        ),
    )
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("behaviour_category", sa.String(length=40), nullable=True),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("linked_incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("closed_reason", sa.String(length=500), nullable=False),
        sa.Column("triaged_by_id", sa.Integer(), nullable=True),
        _fk("tips", "agency_id", "agencies.id"),
        _fk("tips", "linked_incident_id", "incidents.id"),
        _fk("tips", "triaged_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tips")),
        sa.UniqueConstraint("public_id", name=op.f("uq_tips_public_id")),
    )
    op.create_table(
        "intel_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("file_type", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("offence_category", sa.String(length=40), nullable=True),
        sa.Column("factual_basis", sa.Text(), nullable=False),
        sa.Column("source_reference", sa.String(length=200), nullable=False),
        sa.Column("collection_method", sa.String(length=40), nullable=False),
        sa.Column("lawful_collection_attested", sa.Boolean(), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("grading_scheme", sa.String(length=16), nullable=False),
        sa.Column("source_grade", sa.String(length=2), nullable=False),
        sa.Column("information_grade", sa.String(length=2), nullable=False),
        sa.Column("handling_code", sa.String(length=2), nullable=False),
        sa.Column("handling_conditions", sa.Text(), nullable=False),
        sa.Column("sensitivity", sa.String(length=20), nullable=False),
        sa.Column("control_official_id", sa.Integer(), nullable=False),
        sa.Column("protected_categories", sa.String(length=200), nullable=False),
        sa.Column("nexus_justification", sa.Text(), nullable=False),
        sa.Column("nexus_approved_by_id", sa.Integer(), nullable=True),
        sa.Column("nexus_approved_at", sa.DateTime(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("last_validated_at", sa.DateTime(), nullable=True),
        sa.Column("retention_expires_at", sa.DateTime(), nullable=True),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("source_tip_id", sa.Integer(), nullable=True),
        _fk("intel_records", "agency_id", "agencies.id"),
        _fk("intel_records", "offence_category", "offence_categories.code"),
        _fk("intel_records", "submitter_id", "users.id"),
        _fk("intel_records", "control_official_id", "users.id"),
        _fk("intel_records", "nexus_approved_by_id", "users.id"),
        _fk("intel_records", "approved_by_id", "users.id"),
        _fk("intel_records", "source_tip_id", "tips.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_records")),
    )
    with op.batch_alter_table("intel_records", schema=None) as batch_op:
        batch_op.create_index("ix_intel_records_agency_status", ["agency_id", "status"], unique=False)
        batch_op.create_index("ix_intel_records_status_expires", ["status", "retention_expires_at"], unique=False)
    op.create_table(
        "intel_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("identifiers", sa.String(length=200), nullable=False),
        _fk("intel_subjects", "record_id", "intel_records.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_subjects")),
    )
    with op.batch_alter_table("intel_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intel_subjects_record_id"), ["record_id"], unique=False)
    op.create_table(
        "intel_review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("predicate_checked", sa.Boolean(), nullable=False),
        sa.Column("retention_expires_at", sa.DateTime(), nullable=True),
        _fk("intel_review_decisions", "record_id", "intel_records.id"),
        _fk("intel_review_decisions", "reviewer_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_review_decisions")),
    )
    with op.batch_alter_table("intel_review_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intel_review_decisions_record_id"), ["record_id"], unique=False)
    op.create_table(
        "intel_review_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        _fk("intel_review_tasks", "record_id", "intel_records.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_review_tasks")),
        sa.UniqueConstraint("record_id", "expires_at", name=op.f("uq_intel_review_tasks_record_id_expires_at")),
    )
    op.create_table(
        "intel_disseminations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("recipient_agency_id", sa.Integer(), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("need_to_know", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("handling_conditions", sa.Text(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=False),
        _fk("intel_disseminations", "record_id", "intel_records.id"),
        _fk("intel_disseminations", "released_by_id", "users.id"),
        _fk("intel_disseminations", "recipient_agency_id", "agencies.id"),
        _fk("intel_disseminations", "recipient_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_disseminations")),
    )
    with op.batch_alter_table("intel_disseminations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intel_disseminations_record_id"), ["record_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        _fk("notifications", "agency_id", "agencies.id"),
        _fk("notifications", "user_id", "users.id"),
        _fk("notifications", "record_id", "intel_records.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_agency_user", ["agency_id", "user_id"], unique=False)
    op.create_table(
        "tip_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("tip_messages", "tip_id", "tips.id"),
        _fk("tip_messages", "author_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_messages")),
    )
    with op.batch_alter_table("tip_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_messages_tip_id"), ["tip_id"], unique=False)
    op.create_table(
        "tip_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("tip_attachments", "tip_id", "tips.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_attachments")),
    )
    with op.batch_alter_table("tip_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_attachments_tip_id"), ["tip_id"], unique=False)
    op.create_table(
        "tip_rewards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("payout_code_hash", sa.String(length=200), nullable=True),
        sa.Column("code_issued_at", sa.DateTime(), nullable=True),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("paid_by_id", sa.Integer(), nullable=True),
        _fk("tip_rewards", "tip_id", "tips.id"),
        _fk("tip_rewards", "decided_by_id", "users.id"),
        _fk("tip_rewards", "paid_by_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_rewards")),
        sa.UniqueConstraint("tip_id", name=op.f("uq_tip_rewards_tip_id")),
    )


def downgrade() -> None:
    with op.batch_alter_table("tip_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_attachments_tip_id"))
    with op.batch_alter_table("tip_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_messages_tip_id"))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_agency_user")
    with op.batch_alter_table("intel_disseminations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intel_disseminations_record_id"))
    with op.batch_alter_table("intel_review_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intel_review_decisions_record_id"))
    with op.batch_alter_table("intel_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intel_subjects_record_id"))
    with op.batch_alter_table("intel_records", schema=None) as batch_op:
        batch_op.drop_index("ix_intel_records_status_expires")
        batch_op.drop_index("ix_intel_records_agency_status")
    for table in (
        "tip_rewards",
        "tip_attachments",
        "tip_messages",
        "notifications",
        "intel_disseminations",
        "intel_review_tasks",
        "intel_review_decisions",
        "intel_subjects",
        "intel_records",
        "tips",
        "intel_partner_agreements",
        "intel_agency_settings",
    ):
        op.drop_table(table)
