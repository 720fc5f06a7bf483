"""Spatial units: the places crime is counted in (grid cells, hexagons, neighbourhoods, beats).

Every kind of unit answers the same questions, so counting, kernel density and Getis-Ord Gi*
work on any of them:

* ``n_units`` and ``areas_m2`` (square metres; a unit knows its area);
* ``assign(x_m, y_m)``: the unit index of each point (``-1`` outside every unit), vectorised;
* ``centres_m()`` and ``polygons()`` in the agency's projected CRS (metres);
* ``weights(...)``: spatial weights between units (:class:`~openilp.analysis.weights.SpatialWeights`);
* ``to_geojson(values)``: a GeoJSON FeatureCollection in EPSG:4326 with the unit id and values.

Concrete units: :class:`~openilp.analysis.grids.SquareGrid`, :class:`~openilp.analysis.grids.HexGrid`
and :class:`~openilp.analysis.areas.PolygonAreas`. Coordinates are always metres in a projected CRS
(``crs``, e.g. ``"EPSG:26996"`` for St. Louis); only the GeoJSON export converts to longitude/latitude.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.weights import SpatialWeights

__all__ = ["SpatialUnits", "distance_band_from_centres", "contiguity_from_polygons"]


class SpatialUnits(ABC):
    """What every kind of spatial unit provides (see the module docstring)."""

    #: The projected CRS (metres) of the coordinates, e.g. ``"EPSG:26996"``; ``None`` when unknown.
    crs: str | None

    @property
    @abstractmethod
    def n_units(self) -> int:
        """Number of units."""

    @property
    @abstractmethod
    def areas_m2(self) -> NDArray[np.float64]:
        """Area of each unit in square metres."""

    @abstractmethod
    def assign(self, x_m: ArrayLike, y_m: ArrayLike) -> NDArray[np.int64]:
        """Unit index of each point (``-1`` when the point lies in no unit)."""

    @abstractmethod
    def centres_m(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """x and y (metres) of each unit's centre (centroid for polygons)."""

    @abstractmethod
    def polygons(self) -> NDArray[np.object_]:
        """The outline of each unit as a shapely polygon, in metres."""

    @abstractmethod
    def weights(self, contiguity: str = "queen", *, distance_band_m: float | None = None) -> SpatialWeights:
        """Binary spatial weights: contiguity (``"queen"`` or ``"rook"``) or a distance band between centres."""

    @property
    def ids(self) -> NDArray[Any]:
        """Identifier of each unit written to GeoJSON (the unit index unless a subclass has names)."""
        return np.arange(self.n_units)

    def count(self, x_m: ArrayLike, y_m: ArrayLike) -> NDArray[np.int64]:
        """Number of points in each unit (points outside every unit are not counted)."""
        index = self.assign(x_m, y_m)
        return np.bincount(index[index >= 0], minlength=self.n_units).astype(np.int64)

    def to_geojson(
        self,
        values: Mapping[str, ArrayLike] | None = None,
        *,
        crs: str | None = None,
        id_property: str = "unit_id",
        precision: int = 6,
    ) -> dict[str, Any]:
        """The units as a GeoJSON FeatureCollection in EPSG:4326 (longitude, latitude).

        Parameters
        ----------
        values : mapping of str to array, optional
            Per-unit values written as feature properties (``NaN`` becomes ``null``).
        crs : str, optional
            Projected CRS of the unit coordinates; defaults to the units' own ``crs``.
        id_property : str
            Property name of the unit identifier.
        precision : int
            Decimal places kept in the coordinates (6 ≈ 0.1 m).
        """
        source_crs = crs or self.crs
        if source_crs is None:
            raise ValueError("the units have no CRS: pass crs='EPSG:…' (the projected CRS of the metres)")
        transformer = pyproj.Transformer.from_crs(source_crs, "EPSG:4326", always_xy=True)

        def to_lonlat(coords: NDArray[np.float64]) -> NDArray[np.float64]:
            lon, lat = transformer.transform(coords[:, 0], coords[:, 1])
            return np.round(np.column_stack([lon, lat]), precision)

        geometries = shapely.transform(self.polygons(), to_lonlat)
        columns = {name: np.asarray(v) for name, v in (values or {}).items()}
        for name, column in columns.items():
            if column.shape[0] != self.n_units:
                raise ValueError(f"values[{name!r}] has {column.shape[0]} entries, expected {self.n_units}")
        geometry_json = shapely.to_geojson(geometries)
        ids = self.ids
        features = []
        for i in range(self.n_units):
            properties: dict[str, Any] = {id_property: _plain(ids[i])}
            for name, column in columns.items():
                properties[name] = _plain(column[i])
            features.append({"type": "Feature", "properties": properties, "geometry": json.loads(geometry_json[i])})
        return {"type": "FeatureCollection", "features": features}


def _plain(value: Any) -> Any:
    """A JSON-safe Python scalar (numpy scalars unwrapped, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def distance_band_from_centres(x_m: ArrayLike, y_m: ArrayLike, threshold_m: float) -> SpatialWeights:
    """Binary weights linking units whose centres lie within ``threshold_m`` metres (self excluded).

    Uses a shapely STRtree ``dwithin`` query, so it scales to tens of thousands of units.
    """
    points = shapely.points(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
    tree = shapely.STRtree(points)
    left, right = tree.query(points, predicate="dwithin", distance=float(threshold_m))
    keep = left != right
    return SpatialWeights.from_pairs(left[keep], right[keep], n=len(points))


def contiguity_from_polygons(polygons: NDArray[np.object_], contiguity: str = "queen") -> SpatialWeights:
    """Binary contiguity: ``"queen"`` links polygons sharing any boundary point, ``"rook"`` an edge.

    Polygons are treated as touching when their boundaries intersect (small digitising gaps are not
    closed; buffer the polygons first if the source has slivers).
    """
    if contiguity not in ("queen", "rook"):
        raise ValueError("contiguity must be 'queen' or 'rook'")
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    keep = left != right
    left, right = left[keep], right[keep]
    if contiguity == "rook" and len(left):
        shared = shapely.intersection(shapely.boundary(polygons[left]), shapely.boundary(polygons[right]))
        keep = shapely.length(shared) > 0
        left, right = left[keep], right[keep]
    return SpatialWeights.from_pairs(left, right, n=len(polygons))
