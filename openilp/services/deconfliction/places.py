"""Where an event is, which stored events it could meet, and which keys its targets match on.

The check of a new event against the store runs in two steps:

1. **an indexed filter in the database**: every active event whose box (its place's bounding box
   widened by its radius and its rule's distance, WGS84 degrees) meets the new event's box (found
   through the grid cells both boxes touch, ``deconfliction_cells.cell``, an indexed equality), and
   whose widened window meets the new event's widened window, plus every active event sharing a
   matching key (``deconfliction_targets.key``, indexed equality). Both boxes and both windows
   are widened by each event's own buffer, so a pair the exact rule calls a conflict always passes
   (a gap within the larger of the two buffers is within their sum);
2. **the exact rule** (:func:`openilp.tasking.deconfliction.check_event`) on those few candidates,
   in metres in an azimuthal equidistant projection centred on the new event.

Matching keys are the normalised targets (``vehicle:ABC123``) and, where the entities of
:mod:`openilp.services.entities` resolve a target, ``entity:<id>`` of its entity: two events naming
one person by two spellings the resolution has linked conflict by target.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openilp.tasking.deconfliction import EventRule, EventTable, normalise_target, parse_rules

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.orm import Session

    from openilp.core import OpenILP

__all__ = ["CELL_DEG", "Place", "candidate_rows", "cells_of", "event_rules", "matching_keys", "table_around"]

#: Metres per degree of latitude, rounded down (the box is never too small).
_M_PER_DEG = 110_000.0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Side of a cell of the spatial index (degrees; about 2 km by 1.7 km at St. Louis).
CELL_DEG = 0.02


def cells_of(box: tuple[float, float, float, float]) -> list[int]:
    """The cells of the grid (:data:`CELL_DEG` degrees) a box (min_lon, min_lat, max_lon, max_lat) touches.

    Two boxes that meet share at least one cell, so an equality lookup on the cells of the new
    event's box finds every stored event whose box meets it.

    >>> cells_of((-90.19, 38.62, -90.18, 38.63))
    [115762490, 115762491]
    """
    min_lon, min_lat, max_lon, max_lat = box
    rows = range(math.floor((min_lat + 90) / CELL_DEG), math.floor((max_lat + 90) / CELL_DEG) + 1)
    columns = range(math.floor((min_lon + 180) / CELL_DEG), math.floor((max_lon + 180) / CELL_DEG) + 1)
    return [row * 18_000 + column for row in rows for column in columns]


def event_rules(core: OpenILP) -> dict[str, EventRule]:
    """Each event type's rule from the ``deconfliction_rules`` setting (1,000 ft and 2 h by default)."""
    return parse_rules(core.settings.deconfliction_rules)


@dataclass(frozen=True)
class Place:
    """A point (``lon``, ``lat``) or a polygon (its centroid and ``polygon`` vertices), WGS84, with a radius."""

    lon: float
    lat: float
    radius_m: float
    polygon: tuple[tuple[float, float], ...] | None = None

    def box(self, widen_m: float) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) of the place widened by its radius and ``widen_m``."""
        lons = [v[0] for v in self.polygon] if self.polygon else [self.lon]
        lats = [v[1] for v in self.polygon] if self.polygon else [self.lat]
        reach = self.radius_m + widen_m
        d_lat = reach / _M_PER_DEG
        far_lat = min(max(abs(min(lats)), abs(max(lats))) + d_lat, 89.9)
        d_lon = reach / (_M_PER_DEG * max(math.cos(math.radians(far_lat)), 0.01))
        return min(lons) - d_lon, min(lats) - d_lat, max(lons) + d_lon, max(lats) + d_lat


def candidate_rows(
    session: Session,
    place: Place,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    rule: EventRule,
    keys: Iterable[str],
    now: dt.datetime,
) -> list[Any]:
    """Active events that may conflict (the indexed filter; only those whose widened window has not
    passed at ``now``), as rows of (id, lon, lat, radius_m,
    starts_at, ends_at, targets, polygon, buffer_m, time_buffer_s, keys), in id order."""
    from sqlalchemy import and_, or_, select

    from openilp.db.deconfliction_models import DeconflictionCell as C
    from openilp.db.deconfliction_models import DeconflictionEvent as E
    from openilp.db.deconfliction_models import DeconflictionTarget as T

    box = place.box(rule.buffer_m)
    min_lon, min_lat, max_lon, max_lat = box
    # First the cells (an indexed equality), then the few events they name by primary key: written
    # as two statements so that every planner starts from the spatial index.
    ids = set(session.scalars(select(C.event_id).where(C.cell.in_(cells_of(box)))).all())
    keys = sorted(set(keys))
    if keys:
        ids |= set(session.scalars(select(T.event_id).where(T.key.in_(keys))).all())
    if not ids:
        return []
    near = and_(
        E.window_until >= max(starts_at - rule.time_buffer, now),
        E.window_from <= ends_at + rule.time_buffer,
        E.min_lat <= max_lat,
        E.max_lat >= min_lat,
        E.min_lon <= max_lon,
        E.max_lon >= min_lon,
    )
    condition = near
    if keys:
        shared = select(T.event_id).where(T.key.in_(keys)).scalar_subquery()
        condition = or_(near, and_(E.window_until >= now, E.id.in_(shared)))
    rows = session.execute(
        select(
            E.id,
            E.lon,
            E.lat,
            E.radius_m,
            E.starts_at,
            E.ends_at,
            E.targets,
            E.polygon,
            E.buffer_m,
            E.time_buffer_s,
            E.status,
        )
        # Status is checked on the few rows found, not in the statement: a planner given
        # "status = 'active'" walks the status index (every active event) instead of the ids.
        .where(E.id.in_(sorted(ids)), condition)
        .order_by(E.id)
    ).all()
    rows = [r[:10] for r in rows if r[10] == "active"]
    if not rows:
        return []
    stored: dict[int, set[str]] = {int(r[0]): set() for r in rows}
    if keys:
        for event_id, key in session.execute(
            select(T.event_id, T.key).where(T.event_id.in_(list(stored)), T.key.in_(keys))
        ).all():
            stored[int(event_id)].add(str(key))
    return [(*r, frozenset(stored[int(r[0])])) for r in rows]


_GEOD: Any = None


def _project(place: Place, lons: Sequence[float], lats: Sequence[float]) -> tuple[Any, Any]:
    """Metres east and north of the place's centre in the azimuthal equidistant projection: the
    geodesic distance and azimuth from the centre (WGS84), which is how PROJ's ellipsoidal ``aeqd``
    is defined, without building a projection per event."""
    import numpy as np
    from pyproj import Geod

    global _GEOD
    if _GEOD is None:
        _GEOD = Geod(ellps="WGS84")
    lon = np.asarray(lons, dtype=float)
    lat = np.asarray(lats, dtype=float)
    azimuth, _, distance = _GEOD.inv(np.full(lon.shape, place.lon), np.full(lat.shape, place.lat), lon, lat)
    radians = np.radians(np.asarray(azimuth, dtype=float))
    distance = np.asarray(distance, dtype=float)
    return distance * np.sin(radians), distance * np.cos(radians)


def table_around(place: Place, rows: Sequence[Any]) -> EventTable:
    """Candidate rows (see :func:`candidate_rows`) as an :class:`EventTable` in metres, azimuthal
    equidistant around the place's centre; each row's targets are its matching keys that the new
    event shares (so a shared entity counts as a shared target)."""
    import numpy as np

    x, y = _project(place, [r[1] for r in rows], [r[2] for r in rows])
    polygons: list[tuple[tuple[float, float], ...] | None] = []
    for r in rows:
        if r[7]:
            vertices = json.loads(r[7])
            px, py = _project(place, [v[0] for v in vertices], [v[1] for v in vertices])
            polygons.append(tuple(zip(map(float, px), map(float, py), strict=True)))
        else:
            polygons.append(None)
    return EventTable(
        x_m=np.asarray(x, dtype=float),
        y_m=np.asarray(y, dtype=float),
        radius_m=np.array([r[3] for r in rows], dtype=float),
        start_s=np.array([(r[4] - _EPOCH).total_seconds() for r in rows], dtype=float),
        end_s=np.array([(r[5] - _EPOCH).total_seconds() for r in rows], dtype=float),
        targets=tuple(r[10] for r in rows),
        polygons=tuple(polygons) if any(p is not None for p in polygons) else (),
        buffer_m=np.array([r[8] for r in rows], dtype=float),
        time_buffer_s=np.array([r[9] for r in rows], dtype=float),
    )


def local_polygon(place: Place) -> tuple[tuple[float, float], ...] | None:
    """The place's polygon in metres around its own centre (``None`` for a point)."""
    if place.polygon is None:
        return None
    px, py = _project(place, [v[0] for v in place.polygon], [v[1] for v in place.polygon])
    return tuple(zip(map(float, px), map(float, py), strict=True))


def matching_keys(session: Session, targets: Iterable[str]) -> frozenset[str]:
    """The normalised ``targets`` and ``entity:<id>`` of every active entity a target resolves to.

    A vehicle matches a mention's plate, a phone a mention's phone, a person a mention's name, an
    address a mention's street number and street, each normalised as the target is
    (:func:`openilp.tasking.deconfliction.normalise_target`); a merged entity counts as the one it
    was merged into.
    """
    from sqlalchemy import func, select

    from openilp.db.entity_models import Entity, EntityMention

    keys = set(targets)
    entity_ids: set[int] = set()
    M = EntityMention
    for target in sorted(keys):
        kind, _, value = target.partition(":")
        query: Any = None
        if kind == "vehicle" and value:
            query = select(M.entity_id, M.plate).where(M.plate.is_not(None), func.upper(M.plate).contains(value[-3:]))
            spell = lambda row: normalise_target(f"vehicle:{row[1]}")  # noqa: E731
        elif kind == "phone" and len(value) >= 4:
            query = select(M.entity_id, M.phone).where(M.phone.is_not(None), M.phone.contains(value[-4:]))
            spell = lambda row: normalise_target(f"phone:{row[1]}")  # noqa: E731
        elif kind == "person" and value:
            query = select(M.entity_id, M.display_name).where(
                M.kind == "person", func.lower(M.display_name).contains(value.split()[-1])
            )
            spell = lambda row: normalise_target(f"person:{row[1]}")  # noqa: E731
        elif kind == "address" and value:
            query = select(M.entity_id, M.street_number, M.street).where(
                M.street.is_not(None), M.street_number == value.split()[0]
            )
            spell = lambda row: normalise_target(f"address:{row[1]} {row[2]}")  # noqa: E731
        if query is None:
            continue
        for row in session.execute(query.where(M.entity_id.is_not(None), M.searchable.is_(True))).all():
            if row[0] is not None and spell(row) == target:
                entity_ids.add(int(row[0]))
    seen: set[int] = set()
    while entity_ids:
        found = session.execute(
            select(Entity.id, Entity.status, Entity.merged_into_id).where(Entity.id.in_(sorted(entity_ids)))
        ).all()
        entity_ids = set()
        for entity_id, status, merged_into in found:
            if merged_into is not None and int(merged_into) not in seen:
                entity_ids.add(int(merged_into))
            elif status == "active":
                keys.add(f"entity:{int(entity_id)}")
            seen.add(int(entity_id))
    return frozenset(keys)
