"""sharing groups with explicit member agencies; TLP 2.0 markings on intelligence records and releases

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sharing_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_agency_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_agency_id"], ["agencies.id"], name=op.f("fk_sharing_groups_owner_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_sharing_groups_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_groups")),
        sa.UniqueConstraint("owner_agency_id", "name", name=op.f("uq_sharing_groups_owner_agency_id_name")),
    )
    op.create_table(
        "sharing_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_sharing_group_members_group_id_sharing_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_sharing_group_members_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_sharing_group_members_added_by_id_users")),
        sa.PrimaryKeyConstraint("group_id", "agency_id", name=op.f("pk_sharing_group_members")),
    )
    with op.batch_alter_table("intel_records") as batch:
        batch.add_column(sa.Column("tlp", sa.String(length=20), server_default="TLP:AMBER", nullable=False))
        batch.add_column(sa.Column("received_from", sa.String(length=200), server_default="", nullable=False))
        batch.add_column(sa.Column("received_tlp", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("received_handling_code", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("received_audience", sa.Text(), nullable=True))
    # Restricted records were released as TLP:RED (the named recipient only) before markings were stored.
    records = sa.table("intel_records", sa.column("sensitivity", sa.String), sa.column("tlp", sa.String))
    op.get_bind().execute(records.update().where(records.c.sensitivity == "restricted").values(tlp="TLP:RED"))
    with op.batch_alter_table("intel_disseminations") as batch:
        batch.add_column(sa.Column("tlp", sa.String(length=20), server_default="TLP:AMBER", nullable=False))
        batch.add_column(sa.Column("sharing_group_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_intel_disseminations_sharing_group_id_sharing_groups"),
            "sharing_groups",
            ["sharing_group_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("intel_disseminations") as batch:
        batch.drop_constraint(op.f("fk_intel_disseminations_sharing_group_id_sharing_groups"), type_="foreignkey")
        batch.drop_column("sharing_group_id")
        batch.drop_column("tlp")
    with op.batch_alter_table("intel_records") as batch:
        batch.drop_column("received_audience")
        batch.drop_column("received_handling_code")
        batch.drop_column("received_tlp")
        batch.drop_column("received_from")
        batch.drop_column("tlp")
    op.drop_table("sharing_group_members")
    op.drop_table("sharing_groups")
