"""Areas given as GeoJSON: bounded parsing of what a user sends, and projection to metres.

Problem areas, intervention areas and comparison areas arrive from forms and JSON bodies. The
service accepts **GeoJSON only** — a mapping or its text — never a file name: reading a file is
the command line's job (it reads the file and passes the GeoJSON). A request is refused, with the
limit in the message, when its text is larger than :data:`MAX_AREA_BYTES` or it has more than
:data:`MAX_AREA_VERTICES` positions, before any geometry is built.

>>> square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
>>> geojson_area(square)["type"]
'Polygon'
>>> geojson_area("/etc/hostname")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
openilp.errors.InvalidRequest: an area must be GeoJSON (an object starting with '{'), not a file name...
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyproj
import shapely

from openilp.errors import InvalidRequest

__all__ = [
    "MAX_AREA_BYTES",
    "MAX_AREA_VERTICES",
    "count_positions",
    "geojson_area",
    "geometry_from_geojson",
    "normalise_area",
]

#: Largest GeoJSON text accepted for one area (bytes, UTF-8): a detailed neighbourhood is ~50 kB.
MAX_AREA_BYTES = 1_000_000
#: Most positions (vertices) accepted in one area.
MAX_AREA_VERTICES = 50_000
#: Deepest nesting of coordinate arrays (a MultiPolygon is 4 deep; a FeatureCollection adds none).
_MAX_DEPTH = 6


def count_positions(value: Any, *, limit: int = MAX_AREA_VERTICES) -> int:
    """Positions in the ``coordinates`` of a GeoJSON object, counting stops just past ``limit``.

    >>> count_positions({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})
    4
    """
    count = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and count <= limit:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            for key in ("coordinates", "geometry", "features", "geometries"):
                if key in item:
                    stack.append((item[key], depth))
        elif isinstance(item, list | tuple):
            if depth > _MAX_DEPTH:
                raise InvalidRequest(f"the area's coordinates are nested deeper than GeoJSON allows ({_MAX_DEPTH})")
            if item and all(isinstance(v, int | float) for v in item):
                count += 1
            else:
                stack.extend((v, depth + 1) for v in item)
    return count


def geojson_area(area: str | Mapping[str, Any] | None, name: str = "an area") -> Mapping[str, Any]:
    """``area`` as a parsed GeoJSON object within the size and vertex limits.

    Accepts a mapping or GeoJSON text. Anything else — a file name, a path, a list — is refused
    with :class:`~openilp.errors.InvalidRequest`; nothing is read from the file system.
    """
    if area is None or (isinstance(area, str) and not area.strip()):
        raise InvalidRequest(f"{name} is required: a GeoJSON polygon in longitude/latitude")
    if isinstance(area, str):
        if len(area.encode("utf-8")) > MAX_AREA_BYTES:
            raise InvalidRequest(f"{name} is larger than {MAX_AREA_BYTES:,} bytes of GeoJSON: simplify the polygon")
        if not area.lstrip().startswith("{"):
            raise InvalidRequest(
                f"{name} must be GeoJSON (an object starting with '{{'), not a file name or other text: "
                "paste or draw the polygon; on the command line give the file and it is read there"
            )
        try:
            area = json.loads(area)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(
                f"{name} is not valid GeoJSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc
        except RecursionError as exc:
            raise InvalidRequest(f"{name} is nested too deeply to be GeoJSON") from exc
    if not isinstance(area, Mapping):
        raise InvalidRequest(f"{name} must be a GeoJSON object (Polygon, MultiPolygon, Feature or FeatureCollection)")
    positions = count_positions(area)
    if positions > MAX_AREA_VERTICES:
        raise InvalidRequest(f"{name} has more than {MAX_AREA_VERTICES:,} vertices: simplify the polygon")
    try:
        size = len(json.dumps(area, separators=(",", ":")).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequest(f"{name} is not plain GeoJSON: {exc}") from exc
    if size > MAX_AREA_BYTES:
        raise InvalidRequest(f"{name} is larger than {MAX_AREA_BYTES:,} bytes of GeoJSON: simplify the polygon")
    return area


def geometry_from_geojson(source: Mapping[str, Any], target_crs: str) -> shapely.Geometry:
    """One projected (metres) polygon from a GeoJSON mapping in longitude/latitude.

    Accepts a Polygon/MultiPolygon geometry, a Feature or a FeatureCollection (its features are
    merged). Files are not read here: the command line reads them and passes the mapping.
    """
    if not isinstance(source, Mapping):
        raise InvalidRequest("an area must be a GeoJSON object (read files on the command line, not in the service)")
    data = dict(source)
    kind = data.get("type")
    if kind == "FeatureCollection":
        geometries = [f.get("geometry") for f in data.get("features") or []]
    elif kind == "Feature":
        geometries = [data.get("geometry")]
    else:
        geometries = [data]
    if not geometries or any(
        not isinstance(g, Mapping) or g.get("type") not in ("Polygon", "MultiPolygon") for g in geometries
    ):
        raise InvalidRequest("an area must be GeoJSON Polygon or MultiPolygon geometry (or features of them)")
    try:
        shapes = shapely.from_geojson([json.dumps(g) for g in geometries])
    except shapely.errors.GEOSException as exc:
        raise InvalidRequest(f"an area is not valid GeoJSON geometry: {exc}") from exc
    merged = shapely.make_valid(shapely.union_all(shapes))
    transformer = pyproj.Transformer.from_crs("EPSG:4326", target_crs, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    projected = shapely.transform(merged, project)
    if shapely.is_empty(projected) or shapely.area(projected) <= 0:
        raise InvalidRequest("an area polygon is empty")
    return projected


def normalise_area(area: str | Mapping[str, Any] | None, crs: str) -> tuple[str, shapely.Geometry]:
    """The area as one GeoJSON geometry in longitude/latitude (text) and projected to ``crs`` (metres).

    Raises :class:`~openilp.errors.InvalidRequest` for a missing, oversized, malformed, empty or
    out-of-range polygon, and for anything that is not GeoJSON (a file name is never opened).
    """
    area = geojson_area(area)
    projected = geometry_from_geojson(area, crs)
    kind = area.get("type")
    if kind == "FeatureCollection":
        parts = [shapely.from_geojson(json.dumps(f.get("geometry"))) for f in area.get("features") or []]
        lonlat = shapely.make_valid(shapely.union_all(parts))
    elif kind == "Feature":
        lonlat = shapely.make_valid(shapely.from_geojson(json.dumps(area.get("geometry"))))
    else:
        lonlat = shapely.make_valid(shapely.from_geojson(json.dumps(dict(area))))
    min_x, min_y, max_x, max_y = shapely.bounds(lonlat)
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise InvalidRequest("the area must be in longitude/latitude (WGS84, RFC 7946), not projected metres")
    if not shapely.is_valid(projected) or shapely.area(projected) < 1.0:
        raise InvalidRequest("the area polygon is empty or invalid")
    return shapely.to_geojson(shapely.set_precision(lonlat, 1e-7)), projected
