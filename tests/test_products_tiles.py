"""Map tiles under the product maps: placed where the slippy-map numbering puts them, failures said.

The reprojection from Web Mercator tiles to the maps' longitude/latitude frame is checked against
the slippy-map formulas (OpenStreetMap's tile numbering), computed here without pyproj. The maps
are drawn from in-process tiles (no server here; ``tests/test_products_hotspot.py`` runs one on
127.0.0.1 under a real product).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from openilp.products.figures import Basemap, MapLayer, _mercator_pixels, _reproject, area_map, incident_map

SQUARE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"NHD_NUM": 1},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-90.27, 38.58], [-90.23, 38.58], [-90.23, 38.61], [-90.27, 38.61], [-90.27, 38.58]]],
            },
        }
    ],
}


def _slippy(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    """World pixel of a point by the slippy-map formulas (256-pixel tiles)."""
    n = 256 * 2**zoom
    x = (lon + 180.0) / 360.0 * n
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return x, y


@pytest.mark.parametrize("zoom", [3, 12, 15, 18])
def test_mercator_pixels_match_the_slippy_map_formulas(zoom: int) -> None:
    rng = np.random.default_rng(7)
    lons = rng.uniform(-179.0, 179.0, 50)
    lats = rng.uniform(-80.0, 80.0, 50)
    x, y = _mercator_pixels(lons, lats, zoom)
    for lon, lat, px, py in zip(lons, lats, x, y, strict=True):
        ex, ey = _slippy(float(lon), float(lat), zoom)
        assert px == pytest.approx(ex, abs=1e-4) and py == pytest.approx(ey, abs=1e-4)


def test_each_map_pixel_takes_the_tile_pixel_under_it() -> None:
    """A mosaic whose pixels hold their own world column and row: every output pixel holds the
    slippy-map position of its centre."""
    zoom = 15
    west, south, east, north = -90.255, 38.585, -90.235, 38.600
    first_x, first_y = (int(v // 256) for v in _slippy(west, north, zoom))
    rows, cols = np.mgrid[0 : 3 * 256, 0 : 3 * 256]
    width, height = 200, 190
    by_row = _reproject(rows + first_y * 256, zoom, first_x, first_y, (west, south, east, north), width, height)
    by_col = _reproject(cols + first_x * 256, zoom, first_x, first_y, (west, south, east, north), width, height)
    assert by_row.shape == by_col.shape == (height, width)
    for i in (0, 57, height - 1):
        lat = north - (i + 0.5) * (north - south) / height
        assert (by_row[i] == math.floor(_slippy(west, lat, zoom)[1])).all()
    for j in (0, 101, width - 1):
        lon = west + (j + 0.5) * (east - west) / width
        assert (by_col[:, j] == math.floor(_slippy(lon, 38.59, zoom)[0])).all()


def _grey_tile(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (256, 256), value).save(buffer, format="PNG")
    return buffer.getvalue()


def test_maps_fetch_the_tiles_over_them_and_say_so() -> None:
    asked: list[tuple[int, int, int]] = []

    def fetch(z: int, x: int, y: int) -> bytes:
        asked.append((z, x, y))
        return _grey_tile(0)

    basemap = Basemap(fetch=fetch, source="tiles.test", attribution="© Test")
    layer = MapLayer("Incidents", [-90.25], [38.59], "o")
    figure = incident_map(SQUARE, [layer], title="Tiled", basemap=basemap)
    zoom = asked[0][0]
    tile = tuple(int(v // 256) for v in _slippy(-90.25, 38.59, zoom))
    assert (zoom, *tile) in asked and len(asked) <= 36 and len(set(asked)) == len(asked)
    assert figure.note.startswith(f"Base map: tiles of tiles.test (© Test), zoom {zoom} ({len(asked)} tiles)")
    assert figure.alt.endswith("on the agency's boundary layer over map tiles.")
    plain = incident_map(SQUARE, [layer], title="Tiled")
    assert plain.note == "" and plain.alt.endswith("on the agency's boundary layer.")
    darker = Image.open(io.BytesIO(figure.png)).convert("L")
    lighter = Image.open(io.BytesIO(plain.png)).convert("L")
    assert np.asarray(darker).mean() < np.asarray(lighter).mean() - 20  # black tiles, lightened, under the map
    panels = area_map(SQUARE, [], title="Areas", basemap=basemap)
    assert panels.note.startswith("Base map: tiles of tiles.test")


def test_a_failing_tile_leaves_the_boundary_map_and_says_why() -> None:
    def fetch(z: int, x: int, y: int) -> bytes:
        if x % 2:
            raise OSError("connection refused")
        return _grey_tile(0)

    layer = MapLayer("Incidents", [-90.25], [38.59], "o")
    figure = incident_map(SQUARE, [layer], title="Down", basemap=Basemap(fetch=fetch, source="tiles.test"))
    assert figure.note == (
        "Base map: the tiles of tiles.test could not be drawn (connection refused); the maps show the boundaries only."
    )
    assert figure.alt.endswith("on the agency's boundary layer.")
    plain = incident_map(SQUARE, [layer], title="Down")
    assert figure.png == plain.png  # nothing of the half-fetched mosaic is drawn
    broken = incident_map(SQUARE, [layer], title="Down", basemap=Basemap(lambda z, x, y: b"<html>", "tiles.test"))
    assert "could not be drawn" in broken.note
