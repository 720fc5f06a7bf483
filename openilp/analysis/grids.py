"""Regular grids in metres: square cells and pointy-top hexagons, with an optional study-area mask.

A grid covers a rectangle of the agency's projected CRS. Its *units* are the active cells only:
with a study-area mask (e.g. the city's neighbourhood polygons) the cells over the river or outside
the city limits are not units, so counts, densities, Gi* and coverage (PAI) are computed over the
places where crime can occur, not over the bounding box (see ``docs/analysis-hotspots.md``).
Units are numbered row by row from the south-west corner; ``raster_index`` maps (row, column) to
the unit index (``-1`` for masked-out cells) and :meth:`to_raster` puts per-unit values back on
the rectangle for plotting.

>>> grid = SquareGrid.from_bounds((0.0, 0.0, 500.0, 300.0), cell_size_m=100.0)
>>> grid.shape, grid.n_units
((3, 5), 15)
>>> grid.assign([50.0, 450.0, 999.0], [50.0, 250.0, 0.0]).tolist()
[0, 14, -1]
>>> hexes = HexGrid.from_bounds((0.0, 0.0, 1000.0, 1000.0), cell_size_m=100.0)
>>> bool(np.all(hexes.assign(*hexes.centres_m()) == np.arange(hexes.n_units)))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.units import SpatialUnits, distance_band_from_centres
from openilp.analysis.weights import SpatialWeights

__all__ = ["SquareGrid", "HexGrid", "StudyArea"]

#: A study area: one shapely geometry, several, or any spatial units (their union is used).
StudyArea: TypeAlias = shapely.Geometry | Sequence[shapely.Geometry] | SpatialUnits


def _study_area_geometry(study_area: StudyArea) -> shapely.Geometry:
    if isinstance(study_area, SpatialUnits):
        return shapely.union_all(study_area.polygons())
    if isinstance(study_area, shapely.Geometry):
        return study_area
    return shapely.union_all(np.asarray(list(study_area), dtype=object))


class _Lattice(SpatialUnits):
    """Shared machinery of the square and hexagonal grids (active cells, raster round trips)."""

    def __init__(
        self,
        *,
        cell_size_m: float,
        origin: tuple[float, float],
        shape: tuple[int, int],
        mask: ArrayLike | None = None,
        crs: str | None = None,
    ) -> None:
        if not cell_size_m > 0:
            raise ValueError("cell_size_m must be positive")
        n_rows, n_cols = int(shape[0]), int(shape[1])
        if n_rows < 1 or n_cols < 1:
            raise ValueError("a grid needs at least one row and one column")
        self.cell_size_m = float(cell_size_m)
        self.origin = (float(origin[0]), float(origin[1]))
        self.shape = (n_rows, n_cols)
        self.crs = crs
        active = np.ones(self.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if active.shape != self.shape:
            raise ValueError(f"mask shape {active.shape} differs from the grid shape {self.shape}")
        self.mask = active
        self.raster_index = np.full(self.shape, -1, dtype=np.int64)
        self.raster_index[active] = np.arange(int(active.sum()))
        self.cell_rows, self.cell_cols = (a.astype(np.int64) for a in np.nonzero(active))

    @property
    def n_units(self) -> int:
        return len(self.cell_rows)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(cell_size_m={self.cell_size_m}, origin={self.origin}, shape={self.shape}, "
            f"n_units={self.n_units}, crs={self.crs!r})"
        )

    def _full_centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        rows, cols = np.indices(self.shape)
        return self._centre_of(rows.ravel(), cols.ravel())

    def _centre_of(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        raise NotImplementedError

    def _full_polygons(self) -> NDArray[np.object_]:
        raise NotImplementedError

    def centres_m(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self._centre_of(self.cell_rows, self.cell_cols)

    def _lookup(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> NDArray[np.int64]:
        inside = (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & (cols < self.shape[1])
        index = np.full(rows.shape, -1, dtype=np.int64)
        index[inside] = self.raster_index[rows[inside], cols[inside]]
        return index

    def to_raster(self, values: ArrayLike, fill: float = np.nan) -> NDArray[np.float64]:
        """Per-unit values on the full (rows, columns) rectangle, ``fill`` in masked-out cells."""
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (self.n_units,):
            raise ValueError(f"expected {self.n_units} values, one per unit")
        raster = np.full(self.shape, fill, dtype=np.float64)
        raster[self.cell_rows, self.cell_cols] = v
        return raster

    def with_study_area(self, study_area: StudyArea, *, rule: str = "centre") -> _Lattice:
        """The same grid keeping only the cells in the study area.

        Parameters
        ----------
        study_area : geometry, sequence of geometries or SpatialUnits
            Polygons in the grid's CRS (metres); their union is the study area.
        rule : {"centre", "overlap"}
            ``"centre"`` keeps cells whose centre lies in the area (each piece of ground in one cell,
            coverage close to the true area); ``"overlap"`` keeps every cell that touches it (no event
            inside the area is ever outside the grid).
        """
        area = _study_area_geometry(study_area)
        shapely.prepare(area)
        if rule == "centre":
            x, y = self._full_centres()
            keep = shapely.intersects_xy(area, x, y)
        elif rule == "overlap":
            cells = self._full_polygons()
            keep = shapely.intersects(cells, area) & ~shapely.touches(cells, area)
        else:
            raise ValueError("rule must be 'centre' or 'overlap'")
        mask = self.mask & np.asarray(keep, dtype=bool).reshape(self.shape)
        return type(self)(cell_size_m=self.cell_size_m, origin=self.origin, shape=self.shape, mask=mask, crs=self.crs)


class SquareGrid(_Lattice):
    """A grid of square cells of side ``cell_size_m`` metres.

    Parameters
    ----------
    cell_size_m : float
        Side of a cell in metres (e.g. 150).
    origin : (float, float)
        x, y (metres) of the south-west corner of cell (0, 0).
    shape : (int, int)
        Number of rows (south to north) and columns (west to east).
    mask : bool array of ``shape``, optional
        Active cells (the study area); all cells when omitted.
    crs : str, optional
        Projected CRS of the metres, used by :meth:`to_geojson`.
    """

    @classmethod
    def from_bounds(
        cls,
        bounds: tuple[float, float, float, float],
        cell_size_m: float,
        *,
        study_area: StudyArea | None = None,
        rule: str = "centre",
        crs: str | None = None,
    ) -> SquareGrid:
        """The smallest grid anchored at (x_min, y_min) that covers ``(x_min, y_min, x_max, y_max)``.

        Cells are half-open ``[x0, x0 + cell)``: a point exactly on the east or north edge of the
        bounds falls outside (:meth:`from_points` leaves room for it).
        """
        x_min, y_min, x_max, y_max = (float(b) for b in bounds)
        n_cols = max(1, math.ceil((x_max - x_min) / cell_size_m))
        n_rows = max(1, math.ceil((y_max - y_min) / cell_size_m))
        grid = cls(cell_size_m=cell_size_m, origin=(x_min, y_min), shape=(n_rows, n_cols), crs=crs)
        return grid if study_area is None else grid.with_study_area(study_area, rule=rule)  # type: ignore[return-value]

    @classmethod
    def from_points(
        cls,
        x_m: ArrayLike,
        y_m: ArrayLike,
        cell_size_m: float,
        *,
        margin_m: float = 0.0,
        study_area: StudyArea | None = None,
        rule: str = "centre",
        crs: str | None = None,
    ) -> SquareGrid:
        """A grid covering the points' bounding box plus ``margin_m`` metres on every side."""
        x, y = np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float)
        if x.size == 0:
            raise ValueError("no points to build a grid from")
        # Nudge the east/north edge so that the easternmost and northernmost points fall inside.
        nudge = cell_size_m * 1e-9
        bounds = (x.min() - margin_m, y.min() - margin_m, x.max() + margin_m + nudge, y.max() + margin_m + nudge)
        return cls.from_bounds(bounds, cell_size_m, study_area=study_area, rule=rule, crs=crs)

    @property
    def areas_m2(self) -> NDArray[np.float64]:
        return np.full(self.n_units, self.cell_size_m**2)

    def _centre_of(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        return (
            self.origin[0] + (cols + 0.5) * self.cell_size_m,
            self.origin[1] + (rows + 0.5) * self.cell_size_m,
        )

    def assign(self, x_m: ArrayLike, y_m: ArrayLike) -> NDArray[np.int64]:
        x = np.asarray(x_m, dtype=np.float64)
        y = np.asarray(y_m, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.origin[0]) / self.cell_size_m)
            row = np.floor((y - self.origin[1]) / self.cell_size_m)
        ok = np.isfinite(col) & np.isfinite(row)
        col = np.where(ok, col, -1).astype(np.int64)
        row = np.where(ok, row, -1).astype(np.int64)
        return self._lookup(row, col)

    def _boxes(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> NDArray[np.object_]:
        x0 = self.origin[0] + cols * self.cell_size_m
        y0 = self.origin[1] + rows * self.cell_size_m
        return shapely.box(x0, y0, x0 + self.cell_size_m, y0 + self.cell_size_m)

    def polygons(self) -> NDArray[np.object_]:
        return self._boxes(self.cell_rows, self.cell_cols)

    def _full_polygons(self) -> NDArray[np.object_]:
        rows, cols = np.indices(self.shape)
        return self._boxes(rows.ravel(), cols.ravel())

    def neighbour_offsets(
        self, contiguity: str = "queen", *, distance_band_m: float | None = None
    ) -> list[tuple[int, int]]:
        """(row, column) offsets of a cell's neighbours, itself excluded."""
        if distance_band_m is not None:
            reach = int(distance_band_m // self.cell_size_m) + 1
            d = np.arange(-reach, reach + 1)
            dr, dc = np.meshgrid(d, d, indexing="ij")
            near = np.hypot(dr, dc) * self.cell_size_m <= distance_band_m * (1 + 1e-12)
            near &= (dr != 0) | (dc != 0)
            return [(int(a), int(b)) for a, b in zip(dr[near], dc[near], strict=True)]
        if contiguity == "rook":
            return [(-1, 0), (0, -1), (0, 1), (1, 0)]
        if contiguity == "queen":
            return [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
        raise ValueError("contiguity must be 'queen' or 'rook'")

    def weights(self, contiguity: str = "queen", *, distance_band_m: float | None = None) -> SpatialWeights:
        """Binary lattice weights among active cells: queen (8), rook (4) or all cells whose centres
        lie within ``distance_band_m`` metres. The cell itself is not included (Gi* adds it)."""
        left, right = [], []
        for dr, dc in self.neighbour_offsets(contiguity, distance_band_m=distance_band_m):
            other = self._lookup(self.cell_rows + dr, self.cell_cols + dc)
            found = other >= 0
            left.append(np.flatnonzero(found))
            right.append(other[found])
        rows = np.concatenate(left) if left else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(right) if right else np.zeros(0, dtype=np.int64)
        return SpatialWeights.from_pairs(rows, cols, n=self.n_units)


class HexGrid(_Lattice):
    """A grid of pointy-top hexagons, ``cell_size_m`` metres between neighbouring centres.

    Rows run south to north, ``1.5 × side`` apart; odd rows are shifted east by half a cell
    ("odd-r" offset layout). Each hexagon has side ``cell_size_m / √3`` and area
    ``(√3 / 2) × cell_size_m²`` (a 100 m hexagon covers 8,660 m²). Six neighbours, all sharing an edge,
    so queen and rook contiguity coincide.

    Parameters
    ----------
    cell_size_m : float
        Distance between the centres of adjacent hexagons (the width across flats), metres.
    origin : (float, float)
        x, y (metres) of the centre of hexagon (0, 0).
    shape, mask, crs
        As for :class:`SquareGrid`.
    """

    @property
    def side_m(self) -> float:
        return self.cell_size_m / math.sqrt(3.0)

    @classmethod
    def from_bounds(
        cls,
        bounds: tuple[float, float, float, float],
        cell_size_m: float,
        *,
        study_area: StudyArea | None = None,
        rule: str = "centre",
        crs: str | None = None,
    ) -> HexGrid:
        """Hexagons whose union covers ``(x_min, y_min, x_max, y_max)``."""
        x_min, y_min, x_max, y_max = (float(b) for b in bounds)
        side = cell_size_m / math.sqrt(3.0)
        n_cols = math.ceil((x_max - x_min) / cell_size_m) + 2
        n_rows = math.ceil((y_max - y_min) / (1.5 * side)) + 2
        grid = cls(cell_size_m=cell_size_m, origin=(x_min, y_min), shape=(n_rows, n_cols), crs=crs)
        return grid if study_area is None else grid.with_study_area(study_area, rule=rule)  # type: ignore[return-value]

    @classmethod
    def from_points(
        cls,
        x_m: ArrayLike,
        y_m: ArrayLike,
        cell_size_m: float,
        *,
        margin_m: float = 0.0,
        study_area: StudyArea | None = None,
        rule: str = "centre",
        crs: str | None = None,
    ) -> HexGrid:
        """Hexagons covering the points' bounding box plus ``margin_m`` metres."""
        x, y = np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float)
        if x.size == 0:
            raise ValueError("no points to build a grid from")
        bounds = (x.min() - margin_m, y.min() - margin_m, x.max() + margin_m, y.max() + margin_m)
        return cls.from_bounds(bounds, cell_size_m, study_area=study_area, rule=rule, crs=crs)

    @property
    def areas_m2(self) -> NDArray[np.float64]:
        return np.full(self.n_units, math.sqrt(3.0) / 2.0 * self.cell_size_m**2)

    def _centre_of(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
        x = self.origin[0] + self.cell_size_m * (cols + 0.5 * (rows & 1))
        y = self.origin[1] + 1.5 * self.side_m * rows
        return x.astype(np.float64), y.astype(np.float64)

    def assign(self, x_m: ArrayLike, y_m: ArrayLike) -> NDArray[np.int64]:
        px = np.asarray(x_m, dtype=np.float64) - self.origin[0]
        py = np.asarray(y_m, dtype=np.float64) - self.origin[1]
        side = self.side_m
        q = (math.sqrt(3.0) / 3.0 * px - py / 3.0) / side  # fractional axial coordinates
        r = (2.0 / 3.0 * py) / side
        s = -q - r
        with np.errstate(invalid="ignore"):
            rq, rr, rs = np.round(q), np.round(r), np.round(s)  # cube rounding (Patel, "Hexagonal Grids")
            dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
            fix_q = (dq > dr) & (dq > ds)
            fix_r = ~fix_q & (dr > ds)
            rq = np.where(fix_q, -rr - rs, rq)
            rr = np.where(fix_r, -rq - rs, rr)
        ok = np.isfinite(rq) & np.isfinite(rr)
        row = np.where(ok, rr, -1).astype(np.int64)
        col = np.where(ok, rq, -1).astype(np.int64) + (row - (row & 1)) // 2
        col = np.where(ok, col, -1)
        return self._lookup(row, col)

    def _hexagons(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> NDArray[np.object_]:
        cx, cy = self._centre_of(rows, cols)
        angles = np.deg2rad(30.0 + 60.0 * np.arange(7))  # pointy top: vertices at 30°, 90°, …
        vx = cx[:, None] + self.side_m * np.cos(angles)[None, :]
        vy = cy[:, None] + self.side_m * np.sin(angles)[None, :]
        return shapely.polygons(np.stack([vx, vy], axis=-1))

    def polygons(self) -> NDArray[np.object_]:
        return self._hexagons(self.cell_rows, self.cell_cols)

    def _full_polygons(self) -> NDArray[np.object_]:
        rows, cols = np.indices(self.shape)
        return self._hexagons(rows.ravel(), cols.ravel())

    def weights(self, contiguity: str = "queen", *, distance_band_m: float | None = None) -> SpatialWeights:
        """Binary weights: the six edge neighbours, or all hexagons whose centres lie within
        ``distance_band_m`` metres. The cell itself is not included (Gi* adds it)."""
        if distance_band_m is not None:
            return distance_band_from_centres(*self.centres_m(), distance_band_m * (1 + 1e-12))
        if contiguity not in ("queen", "rook"):
            raise ValueError("contiguity must be 'queen' or 'rook'")
        odd = (self.cell_rows & 1).astype(bool)
        even_offsets = [(0, 1), (0, -1), (-1, -1), (-1, 0), (1, -1), (1, 0)]
        odd_offsets = [(0, 1), (0, -1), (-1, 0), (-1, 1), (1, 0), (1, 1)]
        left, right = [], []
        for (er, ec), (orr, oc) in zip(even_offsets, odd_offsets, strict=True):
            dr = np.where(odd, orr, er)
            dc = np.where(odd, oc, ec)
            other = self._lookup(self.cell_rows + dr, self.cell_cols + dc)
            found = other >= 0
            left.append(np.flatnonzero(found))
            right.append(other[found])
        return SpatialWeights.from_pairs(np.concatenate(left), np.concatenate(right), n=self.n_units)
