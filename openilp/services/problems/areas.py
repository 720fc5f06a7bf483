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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
import pyproj
import shapely

from openilp.analysis.assessment.comparison import polygonal
from openilp.core import OpenILP
from openilp.errors import InvalidRequest

__all__ = [
    "AreaFeature",
    "AreaFeatureCollection",
    "AreaGeometry",
    "MAX_AREA_BYTES",
    "MAX_AREA_VERTICES",
    "count_positions",
    "geojson_area",
    "geometry_from_geojson",
    "area_from_units",
    "normalise_area",
    "unit_choice",
    "unit_name",
    "unit_names",
    "units_area",
]

#: Largest GeoJSON text accepted for one area (bytes, UTF-8): a detailed neighbourhood is ~50 kB.
MAX_AREA_BYTES = 1_000_000
#: Most positions (vertices) accepted in one area.
MAX_AREA_VERTICES = 50_000


class AreaGeometry(TypedDict):
    """A GeoJSON geometry (RFC 7946) as the boundary layer holds it: a Polygon or MultiPolygon."""

    type: str
    coordinates: list[Any]


class AreaName(TypedDict):
    """A chosen polygon's properties: its name in the boundary layer (:func:`unit_name`)."""

    name: str


class AreaFeature(TypedDict):
    """One chosen polygon of a boundary layer as a GeoJSON Feature."""

    type: Literal["Feature"]
    properties: AreaName
    geometry: AreaGeometry


class AreaFeatureCollection(TypedDict):
    """Polygons chosen from a boundary layer, as one GeoJSON FeatureCollection in longitude/latitude.

    A GeoJSON document, so a :class:`~typing.TypedDict` (RFC 7946 names its members) rather than a
    dataclass: :func:`normalise_area` and every shell read it as the GeoJSON it is.
    """

    type: Literal["FeatureCollection"]
    features: list[AreaFeature]


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
    geometries = [part for g in geometries for part in _members(g)]
    if not geometries or any(
        not isinstance(g, Mapping) or g.get("type") not in ("Polygon", "MultiPolygon") for g in geometries
    ):
        raise InvalidRequest("an area must be GeoJSON Polygon or MultiPolygon geometry (or features of them)")
    try:
        shapes = shapely.from_geojson([json.dumps(g) for g in geometries])
    except shapely.errors.GEOSException as exc:
        raise InvalidRequest(f"an area is not valid GeoJSON geometry: {exc}") from exc
    merged = polygonal(shapely.make_valid(shapely.union_all(shapes)))
    transformer = pyproj.Transformer.from_crs("EPSG:4326", target_crs, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    projected = shapely.transform(merged, project)
    if shapely.is_empty(projected) or shapely.area(projected) <= 0:
        raise InvalidRequest("an area polygon is empty")
    return projected


def _members(geometry: Any) -> list[Any]:
    """A GeometryCollection's polygonal members (its lines and points have no area); else the geometry.

    A collection without any polygon is returned as it is, so that the caller refuses it.
    """
    if not isinstance(geometry, Mapping) or geometry.get("type") != "GeometryCollection":
        return [geometry]
    members = [m for m in geometry.get("geometries") or [] if isinstance(m, Mapping)]
    nested = [part for m in members for part in _members(m)]
    polygons = [m for m in nested if m.get("type") in ("Polygon", "MultiPolygon")]
    return polygons or [geometry]


def normalise_area(area: str | Mapping[str, Any] | None, crs: str) -> tuple[str, shapely.Geometry]:
    """The area as one GeoJSON geometry in longitude/latitude (text) and projected to ``crs`` (metres).

    Raises :class:`~openilp.errors.InvalidRequest` for a missing, oversized, malformed, empty or
    out-of-range polygon, and for anything that is not GeoJSON (a file name is never opened).
    """
    area = geojson_area(area)
    projected = geometry_from_geojson(area, crs)
    kind = area.get("type")
    if kind == "FeatureCollection":
        geometries = [f.get("geometry") for f in area.get("features") or []]
    elif kind == "Feature":
        geometries = [area.get("geometry")]
    else:
        geometries = [dict(area)]
    parts = [shapely.from_geojson(json.dumps(g)) for geometry in geometries for g in _members(geometry)]
    lonlat = polygonal(shapely.make_valid(shapely.union_all(parts)))
    min_x, min_y, max_x, max_y = shapely.bounds(lonlat)
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise InvalidRequest("the area must be in longitude/latitude (WGS84, RFC 7946), not projected metres")
    if not shapely.is_valid(projected) or shapely.area(projected) < 1.0:
        raise InvalidRequest("the area polygon is empty or invalid")
    return shapely.to_geojson(polygonal(shapely.set_precision(lonlat, 1e-7))), projected


#: Properties that name a boundary polygon, first found wins (St. Louis: ``NHD_NAME``).
NAME_PROPERTIES = ("NHD_NAME", "name", "NAME", "Name", "label")


def unit_name(properties: Mapping[str, Any] | None, index: int) -> str:
    """The name of boundary polygon ``index`` from its GeoJSON properties (``area <index>`` when unnamed).

    >>> unit_name({"NHD_NAME": "Dutchtown"}, 3), unit_name({}, 3)
    ('Dutchtown', 'area 3')
    """
    for key in NAME_PROPERTIES:
        if properties and properties.get(key):
            return str(properties[key])
    return f"area {index}"


def _features(layer_path: Path) -> list[Mapping[str, Any]]:
    collection = json.loads(Path(layer_path).read_text(encoding="utf-8"))
    return [f for f in collection.get("features") or [] if isinstance(f, Mapping)]


def unit_names(layer_path: Path) -> tuple[str, ...]:
    """The names of the polygons of a boundary layer (a GeoJSON file in longitude/latitude), in file order."""
    return tuple(unit_name(f.get("properties"), i) for i, f in enumerate(_features(layer_path)))


def units_area(layer_path: Path, names: Sequence[str], what: str = "the area") -> AreaFeatureCollection:
    """The chosen polygons of a boundary layer as one GeoJSON FeatureCollection (longitude/latitude).

    Raises InvalidRequest naming any name that is not in the layer.
    """
    features = _features(layer_path)
    by_name = {unit_name(f.get("properties"), i): f for i, f in enumerate(features)}
    chosen = [n.strip() for n in names if n and n.strip()]
    unknown = [n for n in chosen if n not in by_name]
    if unknown:
        raise InvalidRequest(
            f"{what}: {', '.join(repr(n) for n in unknown[:5])} is not a polygon of the boundary layer; "
            "choose from the list or click it on the map"
        )
    if not chosen:
        raise InvalidRequest(f"{what}: choose at least one polygon of the boundary layer")
    picked: list[AreaFeature] = [
        {"type": "Feature", "properties": {"name": name}, "geometry": by_name[name]["geometry"]}
        for name in dict.fromkeys(chosen)
    ]
    return {"type": "FeatureCollection", "features": picked}


def unit_choice(value: Sequence[str] | str | None) -> tuple[str, ...]:
    """Chosen polygon names from a list or one text with names separated by ``;`` or new lines."""
    items = value.replace("\n", ";").split(";") if isinstance(value, str) else list(value or [])
    chosen = tuple(dict.fromkeys(str(n).strip() for n in items if n and str(n).strip()))
    if len(chosen) > 200:
        raise InvalidRequest(f"choose at most 200 polygons of the boundary layer, got {len(chosen)}")
    return chosen


def area_from_units(core: OpenILP, agency_code: str, names: Sequence[str], what: str) -> AreaFeatureCollection:
    """The union of the chosen polygons of the agency's boundary layer (the core's registry) as GeoJSON."""
    layer = core.boundaries.layer_for(agency_code)
    if layer is None:
        raise InvalidRequest(f"agency {agency_code} has no boundary layer to choose {what} from: draw it instead")
    return units_area(layer.path, names, what)
