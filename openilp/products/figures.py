"""Static maps and charts for printed products, drawn with matplotlib.

A map is the agency's boundary polygons (GeoJSON in longitude/latitude) with the incidents on top
and, when given, near-repeat zones as circles. With a :class:`Basemap` (the agency's configured tile
server) the XYZ tiles covering the map are drawn underneath, reprojected from Web Mercator
(EPSG:3857) to the map's longitude/latitude frame with pyproj, in light grey; a tile that cannot be
fetched leaves the boundary-only map, and the figure's ``note`` says so. Without one nothing is
fetched: this module does no I/O of its own, the caller's ``fetch`` does. Everything is drawn in
black and greys with distinct marker shapes, so a map stays readable on a grayscale printer. Each
figure comes with its alt text, which the templates put on the image (screen readers and tagged PDF
read it).

>>> square = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"NHD_NAME": "A"},
...     "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}}]}
>>> figure = incident_map(square, [MapLayer("Burglary", [0.005], [0.005], "o")], title="One incident")
>>> figure.png[:4] == b"\\x89PNG", figure.alt.startswith("Map: One incident")
(True, True)
>>> chart = weekly_chart(["2019-05-20", "2019-05-27"], {"all": [3, 5]}, title="Weekly")
>>> chart.alt
'Chart: Weekly. all: 3, 5 (weeks from 2019-05-20 to 2019-05-27).'
>>> monthly_chart(["Jan", "Feb"], {"2019": [10, 12], "2018": [9, 14]}, title="Monthly").alt
'Chart: Monthly. 2019: 10, 12; 2018: 9, 14 (Jan to Feb).'
>>> change_map(square, {"A": -3.5}, title="Change", name_property="NHD_NAME").alt
'Map: Change. Areas shaded by the Poisson z of their change: 1 fell strongly (z <= -3). Strongest fall: A (z -3.50).'
>>> cell = MapCell(((0.004, 0.004), (0.006, 0.004), (0.006, 0.006), (0.004, 0.006)), 3)
>>> alt = area_map(square, [MapArea("Problem area", square["features"][0]["geometry"])], title="Area",
...                cells=[cell], cell_m=250).alt
>>> alt[:65]
'Map: Area. Outlined: problem area (solid black line). 3 incidents'
>>> alt[66:]
"counted in 1 square of 250 m (at most 3 in one square), greyer for more; on the agency's boundary layer."
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AREA_STYLES",
    "Basemap",
    "CELL_CLASSES",
    "CHANGE_CLASSES",
    "Figure",
    "MapArea",
    "MapCell",
    "MapCircle",
    "MapLayer",
    "area_map",
    "change_map",
    "incident_map",
    "monthly_chart",
    "timeline_chart",
    "weekly_chart",
]

#: Dots per inch of the embedded PNG images (sharp on paper, small in the file).
DPI = 150
#: Marker fills per layer: black, white with a black edge, greys (grayscale-safe).
_FILLS = ("#000000", "#ffffff", "#808080", "#c0c0c0")
_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Figure:
    """A rendered figure: PNG bytes, the alt text that describes it and, for a map with a
    :class:`Basemap`, a note saying what base map was drawn (or why none was)."""

    png: bytes
    alt: str
    note: str = ""

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI for an ``<img src>`` (no file, no network)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Basemap:
    """XYZ map tiles to draw under a map.

    ``fetch(z, x, y)`` returns the bytes of one 256-pixel tile (PNG or JPEG) or raises; ``source``
    names the server in the product's note, ``attribution`` is printed on the map as the tile
    licence requires. At most ``max_tiles`` tiles are fetched for one map (the zoom level is lowered
    until the map needs no more).
    """

    fetch: Callable[[int, int, int], bytes]
    source: str
    attribution: str = ""
    max_tiles: int = 36


@dataclass(frozen=True)
class MapLayer:
    """Points of one kind on a map: a legend label, longitudes, latitudes and a marker shape."""

    label: str
    lon: Sequence[float]
    lat: Sequence[float]
    marker: str = "o"


@dataclass(frozen=True)
class MapCircle:
    """A circle on the map: centre (lon, lat) and radius in metres (a near-repeat zone)."""

    lon: float
    lat: float
    radius_m: float
    label: str = ""


@dataclass(frozen=True)
class MapArea:
    """An area outlined on a map: its name and its GeoJSON (Polygon or MultiPolygon geometry, a Feature or a
    FeatureCollection of them; longitude/latitude)."""

    label: str
    geometry: Mapping[str, Any]


@dataclass(frozen=True)
class MapCell:
    """One square of a count grid: its corners (lon, lat) and how many incidents fell in it."""

    corners: Sequence[tuple[float, float]]
    count: int


#: How the areas of :func:`area_map` are outlined, in the order given: colour, width, line style and
#: the words the alt text uses. Line styles, not colours, tell them apart in a grayscale print.
AREA_STYLES: tuple[tuple[str, float, str, str], ...] = (
    ("#000000", 2.2, "-", "solid black line"),
    ("#000000", 1.2, "--", "dashed line"),
    ("#404040", 1.8, "-.", "dash-dotted line"),
    ("#404040", 1.2, ":", "dotted line"),
)
#: Count classes of :func:`area_map`'s squares: the smallest count of the class and its grey.
CELL_CLASSES: tuple[tuple[int, str], ...] = ((1, "#e4e4e4"), (2, "#bdbdbd"), (5, "#8a8a8a"), (10, "#505050"))


@dataclass(frozen=True)
class _Extent:
    west: float
    south: float
    east: float
    north: float
    pad: float = field(default=0.004)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rings(geometry: Mapping[str, Any]) -> list[list[list[float]]]:
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates") or []
    if kind == "Polygon":
        return list(coordinates)
    if kind == "MultiPolygon":
        return [ring for polygon in coordinates for ring in polygon]
    return []


def _any_rings(source: Mapping[str, Any]) -> list[list[list[float]]]:
    """The rings of a GeoJSON geometry, Feature or FeatureCollection (others: none)."""
    kind = source.get("type")
    if kind == "FeatureCollection":
        return [ring for feature in source.get("features") or [] for ring in _any_rings(feature)]
    if kind == "Feature":
        return _rings(source.get("geometry") or {})
    return _rings(source)


def _code_text(value: Any) -> str:
    """A boundary property as incidents store it (``43.0`` → ``"43"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_TILE_PX = 256
#: Half the width of the Web Mercator world, metres (EPSG:3857).
_MERCATOR_HALF = 20_037_508.342789244
#: How much of the tile's grey is kept (the rest is white), so the data stay dark on top.
_TILE_STRENGTH = 0.45


def _tile_range(west: float, south: float, east: float, north: float, zoom: int) -> tuple[int, int, int, int]:
    """First and last tile column and row covering the box at ``zoom`` (slippy-map tile numbers)."""
    n = 2**zoom

    def column(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def row(lat: float) -> int:
        clipped = math.radians(max(-85.0511, min(85.0511, lat)))
        return min(n - 1, max(0, int((1.0 - math.asinh(math.tan(clipped)) / math.pi) / 2.0 * n)))

    return column(west), column(east), row(north), row(south)


def _mercator_pixels(lon: Any, lat: Any, zoom: int) -> tuple[Any, Any]:
    """World pixel coordinates (x right, y down, 256 × 2**zoom across) of points, through EPSG:3857 (pyproj).

    >>> x, y = _mercator_pixels([0.0, -180.0], [0.0, 0.0], 1)
    >>> [round(float(v), 6) for v in x], [round(float(v), 6) for v in y]
    ([256.0, 0.0], [256.0, 256.0])
    """
    import numpy as np
    import pyproj

    to_mercator = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    mx, my = to_mercator.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    world = _TILE_PX * 2**zoom
    x = (np.asarray(mx) + _MERCATOR_HALF) / (2 * _MERCATOR_HALF) * world
    y = (_MERCATOR_HALF - np.asarray(my)) / (2 * _MERCATOR_HALF) * world
    return x, y


def _reproject(
    mosaic: Any, zoom: int, first_x: int, first_y: int, box: tuple[float, float, float, float], width: int, height: int
) -> Any:
    """The tile ``mosaic`` (tiles ``first_x…``, ``first_y…`` at ``zoom``) resampled onto a ``height × width``
    longitude/latitude grid over ``box`` (west, south, east, north): each output pixel takes the mosaic
    pixel under its centre (nearest neighbour), row 0 at the north."""
    import numpy as np

    west, south, east, north = box
    lons = west + (np.arange(width) + 0.5) * (east - west) / width
    lats = north - (np.arange(height) + 0.5) * (north - south) / height
    x, _ = _mercator_pixels(lons, np.full(width, (south + north) / 2), zoom)
    _, y = _mercator_pixels(np.full(height, west), lats, zoom)
    col = np.clip(np.floor(x - first_x * _TILE_PX).astype(int), 0, mosaic.shape[1] - 1)
    row = np.clip(np.floor(y - first_y * _TILE_PX).astype(int), 0, mosaic.shape[0] - 1)
    return mosaic[row[:, None], col[None, :]]


def _draw_basemap(ax: Any, basemap: Basemap, width_px: int) -> str:
    """Draw the tiles covering ``ax``'s limits under everything; the note for the product.

    Never raises: a failure leaves the axes as they were and says why in the note.
    """
    import numpy as np
    from PIL import Image

    west, east = (float(v) for v in ax.get_xlim())
    south, north = (float(v) for v in ax.get_ylim())
    aspect = ax.get_aspect()
    span = max(east - west, 1e-9)
    zoom = max(0, min(19, int(math.log2(max(1.0, width_px / _TILE_PX * 360.0 / span)))))
    first_x, last_x, first_y, last_y = _tile_range(west, south, east, north, zoom)
    while zoom > 0 and (last_x - first_x + 1) * (last_y - first_y + 1) > basemap.max_tiles:
        zoom -= 1
        first_x, last_x, first_y, last_y = _tile_range(west, south, east, north, zoom)
    mosaic = np.full(((last_y - first_y + 1) * _TILE_PX, (last_x - first_x + 1) * _TILE_PX), 255.0)
    try:
        for tile_y in range(first_y, last_y + 1):
            for tile_x in range(first_x, last_x + 1):
                data = basemap.fetch(zoom, tile_x, tile_y)
                with Image.open(io.BytesIO(data)) as image:
                    grey = image.convert("L").resize((_TILE_PX, _TILE_PX))
                top, left = (tile_y - first_y) * _TILE_PX, (tile_x - first_x) * _TILE_PX
                mosaic[top : top + _TILE_PX, left : left + _TILE_PX] = np.asarray(grey, dtype=float)
    except Exception as exc:  # any failure of the tile server or its images: boundary-only map, said
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        return (
            f"Base map: the tiles of {basemap.source} could not be drawn ({reason}); the maps show the boundaries only."
        )
    # Each output pixel (equally spaced in longitude and latitude) takes the mosaic pixel at its Web
    # Mercator position, so the tiles line up with the boundary polygons.
    scale = float(aspect) if isinstance(aspect, int | float) else 1.0
    rows = min(4 * width_px, max(2, int(round(width_px * (north - south) / span * scale))))
    grey = _reproject(mosaic, zoom, first_x, first_y, (west, south, east, north), width_px, rows)
    image = 255.0 - _TILE_STRENGTH * (255.0 - grey)
    ax.imshow(
        image, extent=(west, east, south, north), cmap="gray", vmin=0, vmax=255, zorder=0, interpolation="bilinear"
    )
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(aspect)
    tiles = (last_x - first_x + 1) * (last_y - first_y + 1)
    if basemap.attribution:
        ax.text(
            0.995,
            0.005,
            basemap.attribution,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=5,
            zorder=30,
            bbox={"facecolor": "#ffffff", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
    credit = f" ({basemap.attribution})" if basemap.attribution else ""
    return f"Base map: tiles of {basemap.source}{credit}, zoom {zoom} ({tiles} tiles), drawn in light grey."


def _save(fig: Any) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def incident_map(
    boundaries: Mapping[str, Any] | None,
    layers: Sequence[MapLayer],
    *,
    title: str,
    circles: Sequence[MapCircle] = (),
    highlight: Sequence[str] = (),
    name_property: str = "",
    labels: Sequence[str] = (),
    width_in: float = 6.5,
    height_in: float = 5.0,
    basemap: Basemap | None = None,
) -> Figure:
    """A map of ``layers`` over the boundary polygons, zoomed to the points, circles and highlighted areas.

    ``highlight`` names boundary features (by ``name_property``, e.g. the neighbourhoods of a district)
    drawn with a darker outline and a light grey fill; the others are drawn thin. Without points, circles
    or highlighted areas the map shows the whole layer. ``labels`` (one per point of the first layer)
    are printed beside its points, e.g. the numbers of a bulletin's incidents table.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width_in, height_in))
    features = list((boundaries or {}).get("features", []))
    chosen = set(highlight)
    xs: list[float] = []
    ys: list[float] = []
    all_x: list[float] = []
    all_y: list[float] = []
    for feature in features:
        name = _code_text((feature.get("properties") or {}).get(name_property, "")) if name_property else ""
        marked = bool(chosen) and name in chosen
        for ring in _rings(feature.get("geometry") or {}):
            rx = [p[0] for p in ring]
            ry = [p[1] for p in ring]
            all_x += rx
            all_y += ry
            if marked:
                # Over tiles the shading is see-through, so the streets under a highlighted area show.
                fill = "#eeeeee" if basemap is None else (0.93, 0.93, 0.93, 0.45)
                ax.fill(rx, ry, facecolor=fill, edgecolor="#303030", linewidth=0.9, zorder=1)
                xs += rx
                ys += ry
            else:
                ax.plot(rx, ry, color="#a0a0a0", linewidth=0.4, zorder=1)
    counts = []
    for index, layer in enumerate(layers):
        lon = [float(v) for v in layer.lon]
        lat = [float(v) for v in layer.lat]
        counts.append(f"{len(lon)} {layer.label.lower()}")
        xs += lon
        ys += lat
        ax.scatter(
            lon,
            lat,
            s=22,
            marker=layer.marker,
            facecolor=_FILLS[index % len(_FILLS)],
            edgecolor="#000000",
            linewidth=0.7,
            label=f"{layer.label} ({len(lon)})",
            zorder=3 + index,
        )
    if layers and labels:
        first = layers[0]
        for x, y, text in zip(first.lon, first.lat, labels, strict=True):
            ax.annotate(
                str(text), (float(x), float(y)), textcoords="offset points", xytext=(4, 4), fontsize=7, zorder=9
            )
    for circle in circles:
        dy = circle.radius_m / _METRES_PER_DEGREE
        dx = dy / max(math.cos(math.radians(circle.lat)), 0.1)
        angles = [2 * math.pi * k / 72 for k in range(73)]
        cx = [circle.lon + dx * math.cos(a) for a in angles]
        cy = [circle.lat + dy * math.sin(a) for a in angles]
        ax.plot(cx, cy, color="#000000", linewidth=0.9, linestyle="--", zorder=2)
        xs += [circle.lon - dx, circle.lon + dx]
        ys += [circle.lat - dy, circle.lat + dy]
    if circles:
        ax.plot([], [], color="#000000", linewidth=0.9, linestyle="--", label=f"Near-repeat zones ({len(circles)})")
        counts.append(f"{len(circles)} near-repeat zones (dashed circles)")
    if not xs:
        xs, ys = all_x, all_y
    if xs:
        extent = _Extent(min(xs), min(ys), max(xs), max(ys))
        ax.set_xlim(extent.west - extent.pad, extent.east + extent.pad)
        ax.set_ylim(extent.south - extent.pad, extent.north + extent.pad)
        middle = (extent.south + extent.north) / 2
        ax.set_aspect(1 / max(math.cos(math.radians(middle)), 0.1))
    note = _draw_basemap(ax, basemap, int(width_in * DPI)) if basemap is not None else ""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    if layers or circles:
        ax.legend(loc="lower left", fontsize=7, frameon=True, framealpha=0.9)
    png = _save(fig)
    shown = ", ".join(counts) if counts else "no incidents"
    area = f" over {len(chosen)} highlighted areas" if chosen else ""
    return Figure(png, f"Map: {title}. Shows {shown}{area}, {_base_words(note)}.", note)


def _base_words(note: str) -> str:
    """How the alt text names the base: the boundary layer, over map tiles when they were drawn."""
    if note.startswith("Base map: tiles of "):
        return "on the agency's boundary layer over map tiles"
    return "on the agency's boundary layer"


def _line_chart(
    tick_labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    styles: Sequence[tuple[str, str, str]],
    *,
    title: str,
    ylabel: str,
    span: str,
    width_in: float,
    height_in: float,
    shorten: bool,
) -> Figure:
    """Counts per period as lines, one per series, styled ``(linestyle, marker, colour)`` in turn.

    With ``shorten`` a series longer than the periods is cut to them and a shorter one ends early;
    ``span`` closes the alt text, which lists every series' counts.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width_in, height_in))
    positions = list(range(len(tick_labels)))
    for index, (label, counts) in enumerate(series.items()):
        line, marker, colour = styles[index % len(styles)]
        values = list(counts)[: len(positions)] if shorten else list(counts)
        ax.plot(
            positions[: len(values)] if shorten else positions,
            values,
            linestyle=line,
            marker=marker,
            color=colour,
            markersize=3.5,
            label=label,
        )
    ax.set_xticks(positions)
    ax.set_xticklabels(list(tick_labels), fontsize=7, rotation=0)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    if len(series) > 1:
        ax.legend(fontsize=7, frameon=False, ncol=min(4, len(series)))
    png = _save(fig)
    described = "; ".join(f"{label}: {', '.join(str(int(c)) for c in counts)}" for label, counts in series.items())
    return Figure(png, f"Chart: {title}. {described} ({span}).")


def weekly_chart(
    week_starts: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    ylabel: str = "incidents",
    width_in: float = 6.5,
    height_in: float = 2.4,
) -> Figure:
    """Weekly counts as lines, one per series, in black and greys with distinct markers and dashes."""
    styles = (("-", "o", "#000000"), ("--", "s", "#404040"), (":", "^", "#707070"), ("-.", "D", "#909090"))
    span = f"weeks from {week_starts[0]} to {week_starts[-1]}" if week_starts else "no weeks"
    return _line_chart(
        [w[5:] for w in week_starts],
        series,
        styles,
        title=title,
        ylabel=ylabel,
        span=span,
        width_in=width_in,
        height_in=height_in,
        shorten=False,
    )


def timeline_chart(
    starts: Sequence[Any],
    window_hours: Sequence[float],
    labels: Sequence[str],
    *,
    title: str,
    exact_window_hours: float = 3.0,
    width_in: float = 6.5,
    height_in: float = 2.6,
) -> Figure:
    """A series' incidents in time: the date across, the local time of day up, each point labelled.

    ``starts`` are local start times (datetimes), ``window_hours`` the length of each recorded window
    and ``labels`` a short label per incident (its number in the bulletin's table). Incidents with a
    window up to ``exact_window_hours`` are black dots at their time (a bar shows the window); the
    others, which have no time of day, are open squares on the "no time" row at the top.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width_in, height_in))
    no_time_row = 26.0
    timed = 0
    for when, hours, label in zip(starts, window_hours, labels, strict=True):
        exact = float(hours) <= exact_window_hours
        hour = when.hour + when.minute / 60.0 if exact else no_time_row
        if exact:
            timed += 1
            if float(hours) > 0:
                ax.plot([when, when], [hour, min(hour + float(hours), 24.0)], color="#000000", linewidth=1.2)
            ax.scatter([when], [hour], s=24, marker="o", facecolor="#000000", edgecolor="#000000", zorder=3)
        else:
            ax.scatter([when], [hour], s=24, marker="s", facecolor="#ffffff", edgecolor="#000000", zorder=3)
        ax.annotate(str(label), (when, hour), textcoords="offset points", xytext=(0, 5), ha="center", fontsize=6)
    ax.set_ylim(-0.5, no_time_row + 2)
    ax.set_yticks([0, 6, 12, 18, 24, no_time_row])
    ax.set_yticklabels(["00:00", "06:00", "12:00", "18:00", "24:00", "no time"], fontsize=7)
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title, fontsize=10)
    png = _save(fig)
    first = min(starts) if len(starts) else None
    last = max(starts) if len(starts) else None
    span = f" from {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first is not None and last is not None else ""
    return Figure(
        png,
        f"Timeline: {title}. {len(labels)} incidents{span}; {timed} at their recorded time of day, "
        f"{len(labels) - timed} with a date or a long window only (top row).",
    )


def monthly_chart(
    months: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    ylabel: str = "incidents",
    width_in: float = 6.5,
    height_in: float = 2.4,
) -> Figure:
    """Counts per month (or any labelled period) as lines, one per series (this year, last year), in greys.

    A series may be shorter than ``months`` (the year the data stop in): its line ends early.
    """
    styles = (("-", "o", "#000000"), ("--", "s", "#606060"), (":", "^", "#909090"))
    span = f"{months[0]} to {months[-1]}" if months else "no periods"
    return _line_chart(
        list(months),
        series,
        styles,
        title=title,
        ylabel=ylabel,
        span=span,
        width_in=width_in,
        height_in=height_in,
        shorten=True,
    )


#: Classes of :func:`change_map`: (label, lowest z, highest z, fill, hatch), strongest fall first.
CHANGE_CLASSES: tuple[tuple[str, float, float, str, str], ...] = (
    ("fell strongly (z <= -3)", -math.inf, -3.0, "#ffffff", "////"),
    ("fell (-3 < z <= -2)", -3.0, -2.0, "#ffffff", "//"),
    ("no clear change (|z| < 2)", -2.0, 2.0, "#ffffff", ""),
    ("rose (2 <= z < 3)", 2.0, 3.0, "#b0b0b0", ""),
    ("rose strongly (z >= 3)", 3.0, math.inf, "#505050", ""),
)


def _change_class(z: float) -> int:
    """Index in :data:`CHANGE_CLASSES` of a change with Poisson z ``z``."""
    if z <= -3.0:
        return 0
    if z <= -2.0:
        return 1
    if z < 2.0:
        return 2
    return 3 if z < 3.0 else 4


def change_map(
    boundaries: Mapping[str, Any] | None,
    z_by_area: Mapping[str, float],
    *,
    title: str,
    name_property: str,
    label_property: str = "",
    outlined: Sequence[str] = (),
    width_in: float = 6.5,
    height_in: float = 5.5,
    basemap: Basemap | None = None,
) -> Figure:
    """Boundary polygons shaded by the Poisson z of their change (:data:`CHANGE_CLASSES`).

    Falls are hatched (denser for stronger), rises are grey (darker for stronger), so the classes
    read in a grayscale print; areas without a value are left blank. ``outlined`` areas (by
    ``name_property``) get a thick outline, e.g. the target of a displacement check.
    """
    from matplotlib.patches import Patch, Polygon

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width_in, height_in))
    chosen = set(outlined)
    counts = [0] * len(CHANGE_CLASSES)
    names: dict[str, str] = {}
    xs: list[float] = []
    ys: list[float] = []
    for feature in (boundaries or {}).get("features", []):
        properties = feature.get("properties") or {}
        key = _code_text(properties.get(name_property, ""))
        names[key] = str(properties.get(label_property, key)) if label_property else key
        z = z_by_area.get(key)
        style = None if z is None else CHANGE_CLASSES[_change_class(float(z))]
        if z is not None:
            counts[_change_class(float(z))] += 1
        for ring in _rings(feature.get("geometry") or {}):
            xs += [p[0] for p in ring]
            ys += [p[1] for p in ring]
            patch = Polygon(
                [(p[0], p[1]) for p in ring],
                closed=True,
                facecolor="#ffffff" if style is None else style[3],
                hatch=None if style is None or not style[4] else style[4],
                edgecolor="#000000" if key in chosen else "#707070",
                linewidth=2.0 if key in chosen else 0.4,
                zorder=3 if key in chosen else 1,
            )
            ax.add_patch(patch)
    if xs:
        extent = _Extent(min(xs), min(ys), max(xs), max(ys))
        ax.set_xlim(extent.west - extent.pad, extent.east + extent.pad)
        ax.set_ylim(extent.south - extent.pad, extent.north + extent.pad)
        ax.set_aspect(1 / max(math.cos(math.radians((extent.south + extent.north) / 2)), 0.1))
    note = _draw_basemap(ax, basemap, int(width_in * DPI)) if basemap is not None and xs else ""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    handles = [
        Patch(facecolor=fill, edgecolor="#707070", hatch=hatch or None, label=f"{label} ({counts[i]})")
        for i, (label, _, _, fill, hatch) in enumerate(CHANGE_CLASSES)
    ]
    if chosen:
        handles.append(Patch(facecolor="none", edgecolor="#000000", linewidth=2.0, label="assessed for displacement"))
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=True, framealpha=0.95)
    png = _save(fig)
    described = ", ".join(
        f"{counts[i]} {label}" for i, (label, *_) in enumerate(CHANGE_CLASSES) if counts[i] and i != 2
    )
    parts = [f"Map: {title}. Areas shaded by the Poisson z of their change: {described or 'none changed clearly'}."]
    if z_by_area:
        low = min(z_by_area.items(), key=lambda kv: (kv[1], kv[0]))
        high = max(z_by_area.items(), key=lambda kv: (kv[1], kv[0]))
        if low[1] < 0:
            parts.append(f"Strongest fall: {names.get(low[0], low[0])} (z {low[1]:+.2f}).")
        if high[1] > 0:
            parts.append(f"Strongest rise: {names.get(high[0], high[0])} (z {high[1]:+.2f}).")
    if chosen:
        parts.append(f"Outlined: {', '.join(names.get(k, k) for k in sorted(chosen))}.")
    if note.startswith("Base map: tiles of "):
        parts.append("Over map tiles.")
    return Figure(png, " ".join(parts), note)


def _cell_class(count: int) -> int:
    """Index in :data:`CELL_CLASSES` of a square holding ``count`` incidents."""
    return max(i for i, (low, _) in enumerate(CELL_CLASSES) if count >= low)


def _cell_label(index: int) -> str:
    low = CELL_CLASSES[index][0]
    if index + 1 == len(CELL_CLASSES):
        return f"{low} or more"
    high = CELL_CLASSES[index + 1][0] - 1
    return str(low) if low == high else f"{low}–{high}"


def area_map(
    boundaries: Mapping[str, Any] | None,
    areas: Sequence[MapArea],
    *,
    title: str,
    cells: Sequence[MapCell] = (),
    cell_m: float = 0.0,
    points: MapLayer | None = None,
    panels: Sequence[tuple[str, Sequence[int]]] = (),
    width_in: float = 6.5,
    height_in: float = 4.4,
    basemap: Basemap | None = None,
) -> Figure:
    """``areas`` outlined (:data:`AREA_STYLES`) over the boundary layer, zoomed to them, with incidents.

    Incidents are drawn either aggregated, as ``cells`` (squares ``cell_m`` metres wide shaded by
    their count, :data:`CELL_CLASSES`, so no incident's location is shown), or as ``points``; a
    map gives one or the other. The first area is the problem's and is drawn on top. ``panels``
    (a heading and the indexes of the areas it is zoomed to) draws side-by-side panels, e.g. the
    problem with its buffer and, apart, a control area across the city; by default one panel shows
    every area.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon

    plt = _pyplot()
    chosen_panels = list(panels) or [("", list(range(len(areas))))]
    fig, axes = plt.subplots(1, len(chosen_panels), figsize=(width_in, height_in), squeeze=False)
    present: dict[int, int] = {}
    notes: list[str] = []
    for index in (_cell_class(int(cell.count)) for cell in cells):
        present[index] = present.get(index, 0) + 1
    for ax, (heading, members) in zip(axes[0], chosen_panels, strict=True):
        xs: list[float] = []
        ys: list[float] = []
        for feature in (boundaries or {}).get("features", []):
            for ring in _rings(feature.get("geometry") or {}):
                if not members:
                    xs += [p[0] for p in ring]
                    ys += [p[1] for p in ring]
                ax.plot([p[0] for p in ring], [p[1] for p in ring], color="#a0a0a0", linewidth=0.4, zorder=1)
        for cell in cells:
            ax.add_patch(
                Polygon(
                    [(float(x), float(y)) for x, y in cell.corners],
                    closed=True,
                    facecolor=CELL_CLASSES[_cell_class(int(cell.count))][1],
                    edgecolor="#ffffff",
                    linewidth=0.3,
                    zorder=2,
                )
            )
        for order, area in reversed(list(enumerate(areas))):
            colour, width, style, _ = AREA_STYLES[order % len(AREA_STYLES)]
            for ring in _any_rings(area.geometry):
                rx = [p[0] for p in ring]
                ry = [p[1] for p in ring]
                if order in members:
                    xs += rx
                    ys += ry
                ax.plot(rx, ry, color=colour, linewidth=width, linestyle=style, zorder=5 + len(areas) - order)
        if points is not None:
            lon = [float(v) for v in points.lon]
            lat = [float(v) for v in points.lat]
            ax.scatter(
                lon, lat, s=12, marker=points.marker, facecolor="#000000", edgecolor="#ffffff", linewidth=0.5, zorder=20
            )
        if xs:
            extent = _Extent(min(xs), min(ys), max(xs), max(ys), pad=0.002)
            ax.set_xlim(extent.west - extent.pad, extent.east + extent.pad)
            ax.set_ylim(extent.south - extent.pad, extent.north + extent.pad)
            ax.set_aspect(1 / max(math.cos(math.radians((extent.south + extent.north) / 2)), 0.1))
            if basemap is not None:
                notes.append(_draw_basemap(ax, basemap, int(width_in * DPI / len(chosen_panels))))
        ax.set_xticks([])
        ax.set_yticks([])
        if heading:
            ax.set_title(heading, fontsize=8)
    handles: list[Any] = []
    described = []
    for order, area in enumerate(areas):
        colour, width, style, words = AREA_STYLES[order % len(AREA_STYLES)]
        line: dict[str, Any] = {"color": colour, "linewidth": width, "linestyle": style, "label": area.label}
        handles.append(Line2D([], [], **line))
        described.append(f"{area.label[:1].lower()}{area.label[1:]} ({words})")
    for index in sorted(present):
        label = f"{_cell_label(index)} in a {cell_m:g} m square ({present[index]})"
        handles.append(Patch(facecolor=CELL_CLASSES[index][1], edgecolor="#707070", label=label))
    if points is not None:
        handles.append(
            Line2D(
                [], [], marker=points.marker, color="#000000", linestyle="", label=f"{points.label} ({len(points.lon)})"
            )
        )
    fig.suptitle(title, fontsize=10)
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=7, frameon=True, handlelength=3.5)
        fig.tight_layout(rect=(0, 0.04 * (len(handles) + 1) / 2 + 0.04, 1, 1))
    png = _save(fig)
    parts = [f"Map: {title}."]
    if len(chosen_panels) > 1:
        parts.append(f"{len(chosen_panels)} panels: {', '.join(h for h, _ in chosen_panels)}.")
    if described:
        parts.append(f"Outlined: {', '.join(described)}.")
    if points is not None:
        parts.append(f"{len(points.lon)} {points.label.lower()} as points;")
    elif cells:
        most = max(int(c.count) for c in cells)
        squares = "square" if len(cells) == 1 else "squares"
        total = sum(int(c.count) for c in cells)
        parts.append(
            f"{total} incidents counted in {len(cells)} {squares} of {cell_m:g} m "
            f"(at most {most} in one square), greyer for more;"
        )
    else:
        parts.append("No incidents in the period;")
    failed = [n for n in notes if not n.startswith("Base map: tiles of ")]
    note = failed[0] if failed else (notes[0] if notes else "")
    parts.append(f"{_base_words(note)}.")
    return Figure(png, " ".join(parts), note)
