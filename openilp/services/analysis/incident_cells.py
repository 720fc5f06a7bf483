"""The incident map at scale: located incidents counted per square cell in the database.

A city-month of a national store is tens of thousands of incidents, a year hundreds of thousands:
too many points to send to a browser or to draw. :func:`incident_cells` answers the map's
question with counts per square cell of the agency's projected CRS (metres), computed by the
database (``GROUP BY`` on the cell of ``x_m``/``y_m``, using the ``(agency_id, occurred_from)``
index for the dates), and returns each non-empty cell as a GeoJSON polygon (WGS84) with its
count. The filters and their meaning are those of the point map
(:func:`openilp.services.analysis.incidents.incident_features`); only located incidents are
counted in cells, the others are counted apart (``not_located``).

The cell size is the request's ``cell_m`` or, by default, the smallest of 100 m, 250 m, 500 m,
1 km, 2.5 km, 5 km and 10 km that gives at most :data:`MAX_CELLS` cells over the incidents'
extent.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyproj
from sqlalchemy import Float, Integer, case, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from openilp.core import OpenILP
from openilp.db.models import Agency, Incident
from openilp.services.analysis.incidents import COORDINATE_DECIMALS, MapCollection, _filters, validate_filters

__all__ = ["CELL_SIZES_M", "MAX_CELLS", "count_located", "incident_cells", "map_cells", "matching_located"]

#: The cell sizes the map chooses from, metres.
CELL_SIZES_M = (100, 250, 500, 1000, 2500, 5000, 10000)
#: Most cells one answer holds.
MAX_CELLS = 5000
#: Bounds of a requested cell size, metres.
MIN_CELL_M, MAX_CELL_M = 50, 50_000


def _floor_div(column: Any, size: float) -> ColumnElement[int]:
    """``floor(column / size)`` in portable SQL (SQLite builds without math functions have no floor)."""
    # The size is written into the SQL (a validated number, no bind parameter), so that the grouped
    # expression and the selected one are the same text; the cast rounds (PostgreSQL) or truncates
    # (SQLite), and the correction makes both a floor.
    ratio = column / literal_column(repr(float(size)))
    whole = cast(ratio, Integer)
    return whole - case((ratio < whole, literal_column("1")), else_=literal_column("0"))


def matching_located(session: Session, conditions: Sequence[ColumnElement[bool]]) -> tuple[int, int]:
    """(located, not located) incidents matching ``conditions``."""
    located = case((Incident.location_status == "located", 1), else_=0)
    row = session.execute(select(func.count(), func.coalesce(func.sum(located), 0)).where(*conditions)).one()
    return int(row[1]), int(row[0]) - int(row[1])


def count_located(
    session: Session,
    agency_id: int,
    category_codes: Sequence[str] | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> int:
    """Located incidents of the agency matching the map's filters (what decides points or cells)."""
    codes = validate_filters(session, category_codes, date_from, date_to)
    conditions = _filters(session, [agency_id], codes, date_from, date_to)
    return matching_located(session, conditions)[0]


def _auto_cell(session: Session, located: Sequence[ColumnElement[bool]]) -> int:
    extent = session.execute(
        select(func.min(Incident.x_m), func.max(Incident.x_m), func.min(Incident.y_m), func.max(Incident.y_m)).where(
            *located
        )
    ).one()
    x_min, x_max, y_min, y_max = extent
    if x_min is None or x_max is None or y_min is None or y_max is None:
        return CELL_SIZES_M[0]
    width = max(float(x_max) - float(x_min), 1.0)
    height = max(float(y_max) - float(y_min), 1.0)
    for size in CELL_SIZES_M:
        if (width / size + 1) * (height / size + 1) <= MAX_CELLS:
            return size
    return CELL_SIZES_M[-1]


def incident_cells(
    session: Session,
    agency_id: int,
    category_codes: Sequence[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cell_m: int | None = None,
) -> dict[str, Any]:
    """Located incidents of one agency counted per square cell, as a GeoJSON FeatureCollection.

    Each feature is a cell: a ``Polygon`` (WGS84, its four corners projected from the agency's
    CRS) with properties ``count``, ``col`` and ``row`` (the cell's index: ``floor(x_m / cell_m)``,
    ``floor(y_m / cell_m)``). ``counts``: ``matching`` (located incidents), ``cells``,
    ``not_located``, ``cell_m``, ``max_count``; ``filters`` as given.

    Raises ValueError on inconsistent filters or a cell size outside 50 m – 50 km.
    """
    codes = validate_filters(session, category_codes, date_from, date_to)
    if cell_m is not None and not MIN_CELL_M <= cell_m <= MAX_CELL_M:
        raise ValueError(f"cell_m must be between {MIN_CELL_M} and {MAX_CELL_M} metres, got {cell_m}")
    conditions = _filters(session, [agency_id], codes, date_from, date_to)
    matching, not_located = matching_located(session, conditions)
    located = [
        *conditions,
        Incident.location_status == "located",
        Incident.x_m.is_not(None),
        Incident.y_m.is_not(None),
    ]
    size = cell_m or _auto_cell(session, located)
    col = _floor_div(cast(Incident.x_m, Float), float(size)).label("col")
    row = _floor_div(cast(Incident.y_m, Float), float(size)).label("row")
    rows = session.execute(select(col, row, func.count()).where(*located).group_by(col, row)).all()
    crs = session.scalar(select(Agency.crs).where(Agency.id == agency_id)) or "EPSG:4326"
    features = _cell_features(rows, size, crs)
    counts = [int(r[2]) for r in rows]
    return {
        "type": "FeatureCollection",
        "features": features,
        "aggregation": {"kind": "square_cells", "cell_m": size, "crs": crs},
        "counts": {
            "matching": matching,
            "cells": len(features),
            "not_located": not_located,
            "cell_m": size,
            "max_count": max(counts, default=0),
        },
        "filters": {
            "category": codes,
            "date_from": date_from.isoformat() if date_from else None,
            "date_to": date_to.isoformat() if date_to else None,
            "cell_m": cell_m,
        },
    }


def _cell_features(rows: Sequence[Any], size: int, crs: str) -> list[dict[str, Any]]:
    if not rows:
        return []
    cols = np.array([int(r[0]) for r in rows], dtype=np.int64)
    rws = np.array([int(r[1]) for r in rows], dtype=np.int64)
    x0, y0 = cols * float(size), rws * float(size)
    corners_x = np.stack([x0, x0 + size, x0 + size, x0, x0], axis=1)
    corners_y = np.stack([y0, y0, y0 + size, y0 + size, y0], axis=1)
    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(corners_x.ravel(), corners_y.ravel())
    lon = np.round(np.asarray(lon).reshape(-1, 5), COORDINATE_DECIMALS)
    lat = np.round(np.asarray(lat).reshape(-1, 5), COORDINATE_DECIMALS)
    features = []
    for index, cell in enumerate(rows):
        ring = [[float(a), float(b)] for a, b in zip(lon[index], lat[index], strict=True)]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"count": int(cell[2]), "col": int(cell[0]), "row": int(cell[1])},
            }
        )
    return features


def map_cells(
    core: OpenILP,
    session: Session,
    agency_id: int,
    agency_code: str,
    category_codes: Sequence[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cell_m: int | None = None,
) -> MapCollection:
    """:func:`incident_cells` through the core's result cache (keyed by the question and the
    agency's data fingerprint), as JSON bytes."""
    from openilp.services.analysis.common import store_fingerprint

    codes = tuple(category_codes or ())
    key = (
        "incident_cells",
        id(core.engine),
        str(core.engine.url),
        store_fingerprint(core.engine, agency_code),
        agency_id,
        codes,
        date_from,
        date_to,
        cell_m,
    )

    def build() -> MapCollection:
        collection = incident_cells(session, agency_id, list(codes), date_from, date_to, cell_m)
        body = json.dumps(collection, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        return MapCollection(dict(collection["filters"]), dict(collection["counts"]), body, packed)

    return core.cache.get_or_compute(key, build)
