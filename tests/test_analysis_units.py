"""Spatial units: square and hexagonal grids, polygon areas, weights and GeoJSON export.

References: brute-force geometry with shapely (point in polygon, nearest centre), libpysal's
lattice and distance-band weights, and the areas published with the St. Louis neighbourhoods.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from conftest import shared_file
from hypothesis import given, settings
from hypothesis import strategies as st

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.grids import HexGrid, SquareGrid
from openilp.analysis.weights import SpatialWeights

STL_CRS = "EPSG:26996"  # NAD83 / Missouri East, metres
SQFT_TO_M2 = 0.09290304


@pytest.fixture(scope="module")
def neighbourhoods() -> PolygonAreas:
    path = shared_file("stlouis", "stl_neighborhoods_wgs84.geojson")
    return PolygonAreas.from_geojson(path, id_property="NHD_NUM", target_crs=STL_CRS)


def uniform_points(geometry: shapely.Geometry, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x_min, y_min, x_max, y_max = geometry.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    while sum(len(a) for a in xs) < n:
        x, y = rng.uniform(x_min, x_max, 4 * n), rng.uniform(y_min, y_max, 4 * n)
        inside = shapely.contains_xy(geometry, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


# --- square grids -------------------------------------------------------------------------------


def test_square_grid_from_bounds_and_arithmetic_assignment() -> None:
    grid = SquareGrid.from_bounds((1000.0, 2000.0, 1450.0, 2300.0), cell_size_m=100.0, crs=STL_CRS)
    assert grid.shape == (3, 5) and grid.n_units == 15
    assert np.allclose(grid.areas_m2, 10_000.0)
    x = np.array([1000.0, 1099.999, 1100.0, 1449.0, 999.9, 1200.0, np.nan])
    y = np.array([2000.0, 2000.0, 2299.0, 2000.0, 2000.0, 2300.0, 2000.0])
    assert grid.assign(x, y).tolist() == [0, 0, 11, 4, -1, -1, -1]
    cx, cy = grid.centres_m()
    assert grid.assign(cx, cy).tolist() == list(range(15))
    assert np.allclose(shapely.area(grid.polygons()), 10_000.0)
    assert shapely.contains_xy(grid.polygons(), cx, cy).all()


@settings(max_examples=60, deadline=None)
@given(
    cell=st.floats(10.0, 500.0),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
)
def test_grid_from_points_conserves_counts(cell: float, seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-5000, 5000, n), rng.uniform(1e6, 1.003e6, n)
    grid = SquareGrid.from_points(x, y, cell)
    index = grid.assign(x, y)
    assert (index >= 0).all(), "every point used to build the grid lies in it"
    assert grid.count(x, y).sum() == n
    # The arithmetic cell equals the cell polygon that contains the point (away from edges).
    boxes = grid.polygons()[index]
    assert shapely.intersects_xy(boxes, x, y).all()


def test_square_grid_study_area_mask_centre_and_overlap(neighbourhoods: PolygonAreas) -> None:
    area = neighbourhoods.union()
    bbox = SquareGrid.from_bounds(area.bounds, 250.0, crs=STL_CRS)
    by_centre = bbox.with_study_area(neighbourhoods, rule="centre")
    by_overlap = bbox.with_study_area(area, rule="overlap")
    assert by_centre.n_units < by_overlap.n_units < bbox.n_units
    # Centre rule: the masked area is close to the city's area (160.8 km²).
    assert by_centre.areas_m2.sum() / area.area == pytest.approx(1.0, abs=0.02)
    cx, cy = by_centre.centres_m()
    assert shapely.intersects_xy(area, cx, cy).all()
    # Every point of the city lies in an overlap-masked cell.
    x, y = uniform_points(area, 5000, seed=3)
    assert (by_overlap.assign(x, y) >= 0).all()
    # Points in masked-out cells are outside (-1); the raster round trip keeps unit order.
    outside = by_centre.raster_index == -1
    rows, cols = np.nonzero(outside)
    px, py = bbox._centre_of(rows, cols)
    assert (by_centre.assign(px, py) == -1).all()
    raster = by_centre.to_raster(np.arange(by_centre.n_units, dtype=float))
    assert np.isnan(raster[outside]).all()
    assert raster[by_centre.cell_rows, by_centre.cell_cols].tolist() == list(range(by_centre.n_units))


@pytest.mark.parametrize("rook", [True, False])
def test_square_grid_contiguity_equals_libpysal_lattice(rook: bool) -> None:
    from libpysal.weights import lat2W

    rows, cols = 7, 9
    grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(rows, cols))
    ours = grid.weights("rook" if rook else "queen").to_dense()
    reference = lat2W(rows, cols, rook=rook).sparse.toarray()
    assert np.array_equal(ours, reference)


def test_square_grid_distance_band_equals_libpysal(neighbourhoods: PolygonAreas) -> None:
    from libpysal.weights import DistanceBand

    grid = SquareGrid.from_bounds(neighbourhoods.union().bounds, 400.0, study_area=neighbourhoods)
    ours = grid.weights(distance_band_m=1000.0)
    cx, cy = grid.centres_m()
    reference = DistanceBand(
        np.column_stack([cx, cy]), threshold=1000.0 * (1 + 1e-9), binary=True, silence_warnings=True
    )
    assert np.array_equal(ours.to_dense(), reference.sparse.toarray())


# --- hexagons -----------------------------------------------------------------------------------


def test_hex_grid_assigns_points_to_the_nearest_centre() -> None:
    grid = HexGrid.from_bounds((0.0, 0.0, 2000.0, 1500.0), cell_size_m=120.0)
    assert np.allclose(grid.areas_m2, math.sqrt(3) / 2 * 120.0**2)
    assert np.allclose(shapely.area(grid.polygons()), grid.areas_m2)
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 2000, 3000), rng.uniform(0, 1500, 3000)
    index = grid.assign(x, y)
    assert (index >= 0).all(), "the hexagons cover the bounds"
    cx, cy = grid.centres_m()
    nearest = np.argmin(np.hypot(x[:, None] - cx[None, :], y[:, None] - cy[None, :]), axis=1)
    assert np.array_equal(index, nearest)
    assert shapely.intersects_xy(grid.polygons()[index], x, y).all()


def test_hex_grid_weights_are_the_six_edge_neighbours() -> None:
    grid = HexGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(8, 9))
    w = grid.weights()
    dense = w.to_dense()
    assert np.array_equal(dense, dense.T)
    assert w.cardinalities().max() == 6
    banded = grid.weights(distance_band_m=100.0)
    assert np.array_equal(banded.to_dense(), dense)
    rows, cols = np.nonzero(dense)
    cx, cy = grid.centres_m()
    assert np.allclose(np.hypot(cx[rows] - cx[cols], cy[rows] - cy[cols]), 100.0)
    polygons = shapely.buffer(grid.polygons(), 1e-6)
    assert shapely.intersects(polygons[rows], polygons[cols]).all()


# --- polygons -----------------------------------------------------------------------------------


def test_polygon_areas_from_geojson_know_their_area(neighbourhoods: PolygonAreas) -> None:
    assert neighbourhoods.n_units == 88
    assert sorted(neighbourhoods.ids.tolist()) == list(range(1, 89))
    published = np.array([p["area_sqft"] for p in neighbourhoods.properties]) * SQFT_TO_M2
    assert np.allclose(neighbourhoods.areas_m2, published, rtol=1e-3)
    assert neighbourhoods.areas_m2.sum() / 1e6 == pytest.approx(160.8, abs=0.1)


def test_polygon_assignment_matches_brute_force(neighbourhoods: PolygonAreas) -> None:
    area = neighbourhoods.union()
    x_min, y_min, x_max, y_max = area.bounds
    rng = np.random.default_rng(11)
    x, y = rng.uniform(x_min - 500, x_max + 500, 20_000), rng.uniform(y_min - 500, y_max + 500, 20_000)
    index = neighbourhoods.assign(x, y)
    expected = np.full(len(x), -1)
    for i, polygon in enumerate(neighbourhoods.polygons()):
        inside = shapely.contains_xy(polygon, x, y) & (expected == -1)
        expected[inside] = i
    assert np.array_equal(index, expected)
    assert (index == -1).any() and (index >= 0).mean() > 0.3
    # Counts are conserved: every point inside the city is counted exactly once.
    assert neighbourhoods.count(x, y).sum() == int(shapely.contains_xy(area, x, y).sum())


def test_polygon_contiguity_is_symmetric_and_rook_within_queen(neighbourhoods: PolygonAreas) -> None:
    queen = neighbourhoods.weights("queen").to_dense()
    rook = neighbourhoods.weights("rook").to_dense()
    assert np.array_equal(queen, queen.T) and np.array_equal(rook, rook.T)
    assert (rook <= queen).all() and np.trace(queen) == 0
    assert 4 <= queen.sum(axis=1).mean() <= 8
    tower_grove_east = neighbourhoods.index_of(17)
    assert queen[tower_grove_east].sum() >= 3


def test_geojson_export_is_lonlat_with_ids_and_values(neighbourhoods: PolygonAreas) -> None:
    values = np.arange(neighbourhoods.n_units, dtype=float)
    values[0] = np.nan
    collection = neighbourhoods.to_geojson({"events": values}, id_property="NHD_NUM")
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 88
    first = collection["features"][0]
    assert first["properties"] == {"NHD_NUM": int(neighbourhoods.ids[0]), "events": None}
    lon, lat = np.array(first["geometry"]["coordinates"][0]).T
    assert (lon > -90.4).all() and (lon < -90.1).all() and (lat > 38.5).all() and (lat < 38.8).all()
    # The round trip reproduces the source file's coordinates (to 1e-6 degrees).
    source = shapely.from_geojson(shared_file("stlouis", "stl_neighborhoods_wgs84.geojson").read_text())
    exported = shapely.from_geojson(str(collection).replace("'", '"').replace("None", "null"))
    assert shapely.hausdorff_distance(source, exported) < 1e-5

    grid = SquareGrid.from_bounds(neighbourhoods.union().bounds, 500.0, study_area=neighbourhoods, crs=STL_CRS)
    cells = grid.to_geojson({"count": np.zeros(grid.n_units, dtype=int)})
    assert len(cells["features"]) == grid.n_units
    assert cells["features"][0]["properties"] == {"unit_id": 0, "count": 0}
    with pytest.raises(ValueError, match="no CRS"):
        SquareGrid.from_bounds((0, 0, 10, 10), 5.0).to_geojson()


def test_spatial_weights_from_pairs_and_subset() -> None:
    w = SpatialWeights.from_pairs([0, 0, 1, 2, 2], [1, 2, 0, 0, 0], [1.0, 2.0, 1.0, 0.5, 0.5], n=3)
    assert w.to_dense().tolist() == [[0, 1, 2], [1, 0, 0], [1, 0, 0]]
    assert w.row_sums().tolist() == [3.0, 1.0, 1.0]
    assert w.row_sums_of_squares().tolist() == [5.0, 1.0, 1.0]
    assert w.with_self_weight(1.0).to_dense().diagonal().tolist() == [1, 1, 1]
    sub = w.subset([True, False, True])
    assert sub.to_dense().tolist() == [[0, 2], [1, 0]]
    x = np.random.default_rng(0).normal(size=(3, 4))
    assert np.allclose(w.matmul(x), w.to_dense() @ x)
    empty_row = SpatialWeights.from_pairs([0], [1], n=3)
    assert empty_row.matmul(np.ones(3)).tolist() == [1.0, 0.0, 0.0]
