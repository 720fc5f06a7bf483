"""deconfliction: polygons, per-type rules, an indexed place filter, matching keys, the watch-centre queue, purge

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import datetime as dt
import json
import math

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deconfliction_events") as batch:
        batch.alter_column("lon", existing_type=sa.Float(), nullable=True)
        batch.alter_column("lat", existing_type=sa.Float(), nullable=True)
        batch.add_column(sa.Column("polygon", sa.Text(), nullable=True))
        batch.add_column(sa.Column("min_lon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("min_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("max_lon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("max_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("buffer_m", sa.Float(), server_default="304.8", nullable=False))
        batch.add_column(sa.Column("time_buffer_s", sa.Float(), server_default="7200", nullable=False))
        batch.add_column(sa.Column("window_from", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("window_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("location_purged_at", sa.DateTime(), nullable=True))
    events = sa.table(
        "deconfliction_events",
        sa.column("id", sa.Integer),
        sa.column("lon", sa.Float),
        sa.column("lat", sa.Float),
        sa.column("radius_m", sa.Float),
        sa.column("min_lon", sa.Float),
        sa.column("min_lat", sa.Float),
        sa.column("max_lon", sa.Float),
        sa.column("max_lat", sa.Float),
        sa.column("starts_at", sa.DateTime),
        sa.column("ends_at", sa.DateTime),
        sa.column("window_from", sa.DateTime),
        sa.column("window_until", sa.DateTime),
    )
    bind = op.get_bind()
    # Events planned before: the box of their circle widened by 1,000 ft, the window by 2 h.
    rows = bind.execute(
        sa.select(events.c.id, events.c.lon, events.c.lat, events.c.radius_m, events.c.starts_at, events.c.ends_at)
    ).all()
    for event_id, lon, lat, radius_m, starts_at, ends_at in rows:
        reach = radius_m + 304.8
        d_lat = reach / 110_000.0
        d_lon = reach / (110_000.0 * max(math.cos(math.radians(min(abs(lat) + d_lat, 89.9))), 0.01))
        bind.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(
                min_lon=lon - d_lon,
                max_lon=lon + d_lon,
                min_lat=lat - d_lat,
                max_lat=lat + d_lat,
                window_from=starts_at - dt.timedelta(hours=2),
                window_until=ends_at + dt.timedelta(hours=2),
            )
        )
    with op.batch_alter_table("deconfliction_conflicts") as batch:
        batch.add_column(sa.Column("status", sa.String(length=12), server_default="open", nullable=False))
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("acknowledged_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("resolution_note", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("exigency_waiver", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.create_foreign_key(
            op.f("fk_deconfliction_conflicts_acknowledged_by_id_users"), "users", ["acknowledged_by_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_deconfliction_conflicts_resolved_by_id_users"), "users", ["resolved_by_id"], ["id"]
        )
    op.create_table(
        "deconfliction_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=220), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["deconfliction_events.id"],
            name=op.f("fk_deconfliction_targets_event_id_deconfliction_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_targets")),
    )
    op.create_index(op.f("ix_deconfliction_targets_event_id"), "deconfliction_targets", ["event_id"])
    op.create_index(op.f("ix_deconfliction_targets_key"), "deconfliction_targets", ["key"])
    op.create_table(
        "deconfliction_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("cell", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["deconfliction_events.id"], name=op.f("fk_deconfliction_cells_event_id_deconfliction_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_cells")),
    )
    op.create_index(op.f("ix_deconfliction_cells_event_id"), "deconfliction_cells", ["event_id"])
    op.create_index(op.f("ix_deconfliction_cells_cell"), "deconfliction_cells", ["cell"])
    # Events planned before: their keys (the normalised targets) and cells.
    targets = sa.table("deconfliction_targets", sa.column("event_id", sa.Integer), sa.column("key", sa.String))
    cells = sa.table("deconfliction_cells", sa.column("event_id", sa.Integer), sa.column("cell", sa.Integer))
    stored = sa.table("deconfliction_events", sa.column("id", sa.Integer), sa.column("targets", sa.Text))
    for event_id, text in bind.execute(sa.select(stored.c.id, stored.c.targets)).all():
        for key in sorted(set(json.loads(text or "[]"))):
            bind.execute(targets.insert().values(event_id=event_id, key=key))
    for event_id, min_lon, min_lat, max_lon, max_lat in bind.execute(
        sa.select(events.c.id, events.c.min_lon, events.c.min_lat, events.c.max_lon, events.c.max_lat)
    ).all():
        for cell in _cells(min_lon, min_lat, max_lon, max_lat):
            bind.execute(cells.insert().values(event_id=event_id, cell=cell))


def _cells(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> list[int]:
    """The same grid as openilp.services.deconfliction.places.cells_of (0.02 degrees), frozen here."""
    size = 0.02
    rows = range(math.floor((min_lat + 90) / size), math.floor((max_lat + 90) / size) + 1)
    columns = range(math.floor((min_lon + 180) / size), math.floor((max_lon + 180) / size) + 1)
    return [row * 18_000 + column for row in rows for column in columns]


def downgrade() -> None:
    op.drop_index(op.f("ix_deconfliction_cells_cell"), table_name="deconfliction_cells")
    op.drop_index(op.f("ix_deconfliction_cells_event_id"), table_name="deconfliction_cells")
    op.drop_table("deconfliction_cells")
    op.drop_index(op.f("ix_deconfliction_targets_key"), table_name="deconfliction_targets")
    op.drop_index(op.f("ix_deconfliction_targets_event_id"), table_name="deconfliction_targets")
    op.drop_table("deconfliction_targets")
    with op.batch_alter_table("deconfliction_conflicts") as batch:
        batch.drop_constraint(op.f("fk_deconfliction_conflicts_resolved_by_id_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_deconfliction_conflicts_acknowledged_by_id_users"), type_="foreignkey")
        for name in (
            "exigency_waiver",
            "resolved_by_id",
            "resolved_at",
            "resolution_note",
            "resolution",
            "acknowledged_by_id",
            "acknowledged_at",
            "status",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("deconfliction_events") as batch:
        for name in (
            "location_purged_at",
            "window_until",
            "window_from",
            "time_buffer_s",
            "buffer_m",
            "max_lat",
            "max_lon",
            "min_lat",
            "min_lon",
            "polygon",
        ):
            batch.drop_column(name)
        batch.alter_column("lat", existing_type=sa.Float(), nullable=False)
        batch.alter_column("lon", existing_type=sa.Float(), nullable=False)
