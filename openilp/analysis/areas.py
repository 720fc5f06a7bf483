"""Polygon areas as spatial units: neighbourhoods, beats, districts loaded from GeoJSON.

GeoJSON stores longitude/latitude (RFC 7946); analysis works in metres, so the polygons are
projected once with pyproj to the agency's CRS when loaded. Point assignment is vectorised with a
shapely 2 STRtree (one query for all points); a point on a shared boundary goes to the unit that
comes first, so counts are conserved.

>>> square = {"type": "Polygon", "coordinates": [[[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]]]}
>>> features = [{"type": "Feature", "properties": {"name": "A"}, "geometry": square}]
>>> areas = PolygonAreas.from_geojson({"type": "FeatureCollection", "features": features},
...                                   id_property="name", source_crs=None)
>>> areas.ids.tolist(), areas.areas_m2.tolist(), areas.assign([50, 150], [50, 50]).tolist()
(['A'], [10000.0], [0, -1])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.units import SpatialUnits, contiguity_from_polygons, distance_band_from_centres
from openilp.analysis.weights import SpatialWeights

__all__ = ["PolygonAreas"]


class PolygonAreas(SpatialUnits):
    """Arbitrary polygons (projected, metres) with identifiers.

    Parameters
    ----------
    polygons : array of shapely polygons or multipolygons
        Unit outlines in the projected CRS ``crs`` (metres).
    ids : array
        One identifier per polygon (e.g. the neighbourhood number).
    crs : str, optional
        The projected CRS of the polygons, used by :meth:`to_geojson`.
    properties : list of dict, optional
        The other GeoJSON properties of each polygon (names, codes), kept for reference.
    """

    def __init__(
        self,
        polygons: ArrayLike,
        ids: ArrayLike,
        *,
        crs: str | None = None,
        properties: list[dict[str, Any]] | None = None,
    ) -> None:
        geoms = np.asarray(polygons, dtype=object)
        if geoms.ndim != 1 or len(geoms) == 0:
            raise ValueError("give a non-empty 1-D array of polygons")
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            geoms = geoms.copy()
            geoms[invalid] = shapely.make_valid(geoms[invalid])
        self._polygons = geoms
        self._ids = np.asarray(ids)
        if len(self._ids) != len(geoms):
            raise ValueError("one id per polygon")
        self.crs = crs
        self.properties = properties if properties is not None else [{} for _ in range(len(geoms))]
        self._tree = shapely.STRtree(geoms)

    @classmethod
    def from_geojson(
        cls,
        source: str | Path | Mapping[str, Any],
        *,
        id_property: str,
        target_crs: str | None = None,
        source_crs: str | None = "EPSG:4326",
    ) -> PolygonAreas:
        """Load polygons from a GeoJSON file path or an already-parsed FeatureCollection.

        Parameters
        ----------
        source : path or mapping
            A GeoJSON FeatureCollection of Polygon / MultiPolygon features.
        id_property : str
            The feature property that identifies each unit (e.g. ``"NHD_NUM"``).
        target_crs : str, optional
            Projected CRS in metres to work in (e.g. ``"EPSG:26996"``). Required unless
            ``source_crs`` is None (coordinates already in metres).
        source_crs : str or None
            CRS of the file's coordinates; GeoJSON is longitude/latitude (EPSG:4326) by definition.
        """
        data = json.loads(Path(source).read_text()) if isinstance(source, str | Path) else source
        features = data.get("features") if data.get("type") == "FeatureCollection" else None
        if not features:
            raise ValueError("expected a GeoJSON FeatureCollection with at least one feature")
        geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
        if not np.all(np.isin(shapely.get_type_id(geoms), (3, 6))):
            raise ValueError("every feature must be a Polygon or MultiPolygon")
        try:
            ids = [f["properties"][id_property] for f in features]
        except KeyError as exc:
            raise ValueError(f"a feature has no property {id_property!r}") from exc
        if len(set(ids)) != len(ids):
            raise ValueError(f"property {id_property!r} is not unique across features")
        if source_crs is not None:
            if target_crs is None:
                raise ValueError("give target_crs, the projected CRS in metres to analyse in")
            transformer = pyproj.Transformer.from_crs(source_crs, target_crs, always_xy=True)

            def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
                x, y = transformer.transform(coords[:, 0], coords[:, 1])
                return np.column_stack([x, y])

            geoms = shapely.transform(geoms, project)
        properties = [{k: v for k, v in f["properties"].items() if k != id_property} for f in features]
        return cls(geoms, np.asarray(ids), crs=target_crs, properties=properties)

    @property
    def n_units(self) -> int:
        return len(self._polygons)

    @property
    def ids(self) -> NDArray[Any]:
        return self._ids

    @property
    def areas_m2(self) -> NDArray[np.float64]:
        return np.asarray(shapely.area(self._polygons), dtype=np.float64)

    def polygons(self) -> NDArray[np.object_]:
        return self._polygons

    def centres_m(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        centroids = shapely.centroid(self._polygons)
        return shapely.get_x(centroids), shapely.get_y(centroids)

    def index_of(self, unit_id: Any) -> int:
        """Position of the unit with identifier ``unit_id``."""
        found = np.flatnonzero(self._ids == unit_id)
        if len(found) == 0:
            raise KeyError(unit_id)
        return int(found[0])

    def assign(self, x_m: ArrayLike, y_m: ArrayLike) -> NDArray[np.int64]:
        x = np.asarray(x_m, dtype=np.float64).ravel()
        y = np.asarray(y_m, dtype=np.float64).ravel()
        result = np.full(len(x), -1, dtype=np.int64)
        finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if len(finite) == 0:
            return result
        points = shapely.points(x[finite], y[finite])
        point_idx, unit_idx = self._tree.query(points, predicate="intersects")
        # Several hits only on shared boundaries: keep the lowest unit index, deterministically.
        order = np.lexsort((unit_idx, point_idx))
        point_idx, unit_idx = point_idx[order], unit_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        result[finite[point_idx[first]]] = unit_idx[first]
        return result

    def union(self) -> shapely.Geometry:
        """All units merged into one geometry (a study area for a grid mask)."""
        return shapely.union_all(self._polygons)

    def weights(self, contiguity: str = "queen", *, distance_band_m: float | None = None) -> SpatialWeights:
        """Binary contiguity between polygons, or a distance band between their centroids (metres)."""
        if distance_band_m is not None:
            return distance_band_from_centres(*self.centres_m(), distance_band_m)
        return contiguity_from_polygons(self._polygons, contiguity)
