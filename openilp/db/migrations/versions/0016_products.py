"""intelligence products: produced versions and their dissemination log

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("parameters_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data_cutoff", sa.DateTime(), nullable=True),
        sa.Column("tlp", sa.String(length=20), nullable=False),
        sa.Column("handling_code", sa.String(length=2), nullable=False),
        sa.Column("marking", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("withheld", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_pages", sa.Integer(), nullable=False),
        sa.Column("produced_by_id", sa.Integer(), nullable=True),
        sa.Column("produced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_products_agency_id_agencies")),
        sa.ForeignKeyConstraint(["produced_by_id"], ["users.id"], name=op.f("fk_products_produced_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index("ix_products_agency_kind_key", "products", ["agency_id", "kind", "parameters_key"])
    op.create_table(
        "product_disseminations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("tlp", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_disseminations_product_id_products")
        ),
        sa.ForeignKeyConstraint(["sent_by_id"], ["users.id"], name=op.f("fk_product_disseminations_sent_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_disseminations")),
    )
    op.create_index(op.f("ix_product_disseminations_product_id"), "product_disseminations", ["product_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_product_disseminations_product_id"), table_name="product_disseminations")
    op.drop_table("product_disseminations")
    op.drop_index("ix_products_agency_kind_key", table_name="products")
    op.drop_table("products")
