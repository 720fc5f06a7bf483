"""Static maps and charts for printed products, drawn with matplotlib (no tile server, no network).

A map is the agency's boundary polygons (GeoJSON in longitude/latitude) with the incidents on top
and, when given, near-repeat zones as circles. Everything is drawn in black and greys with distinct
marker shapes, so a map stays readable on a grayscale printer. Each figure comes with its alt text,
which the templates put on the image (screen readers and tagged PDF read it).

>>> square = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"NHD_NAME": "A"},
...     "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}}]}
>>> figure = incident_map(square, [MapLayer("Burglary", [0.005], [0.005], "o")], title="One incident")
>>> figure.png[:4] == b"\\x89PNG", figure.alt.startswith("Map: One incident")
(True, True)
>>> chart = weekly_chart(["2019-05-20", "2019-05-27"], {"all": [3, 5]}, title="Weekly")
>>> chart.alt
'Chart: Weekly. all: 3, 5 (weeks from 2019-05-20 to 2019-05-27).'
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figure", "MapCircle", "MapLayer", "incident_map", "weekly_chart"]

#: Dots per inch of the embedded PNG images (sharp on paper, small in the file).
DPI = 150
#: Marker fills per layer: black, white with a black edge, greys (grayscale-safe).
_FILLS = ("#000000", "#ffffff", "#808080", "#c0c0c0")
_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Figure:
    """A rendered figure: PNG bytes and the alt text that describes it."""

    png: bytes
    alt: str

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI for an ``<img src>`` (no file, no network)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


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


def _code_text(value: Any) -> str:
    """A boundary property as incidents store it (``43.0`` → ``"43"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
    width_in: float = 6.5,
    height_in: float = 5.0,
) -> Figure:
    """A map of ``layers`` over the boundary polygons, zoomed to the points, circles and highlighted areas.

    ``highlight`` names boundary features (by ``name_property``, e.g. the neighbourhoods of a district)
    drawn with a darker outline and a light grey fill; the others are drawn thin. Without points, circles
    or highlighted areas the map shows the whole layer.
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
                ax.fill(rx, ry, facecolor="#eeeeee", edgecolor="#303030", linewidth=0.9, zorder=1)
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
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    if layers or circles:
        ax.legend(loc="lower left", fontsize=7, frameon=True, framealpha=0.9)
    png = _save(fig)
    shown = ", ".join(counts) if counts else "no incidents"
    area = f" over {len(chosen)} highlighted areas" if chosen else ""
    return Figure(png, f"Map: {title}. Shows {shown}{area}, on the agency's boundary layer.")


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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width_in, height_in))
    styles = (("-", "o", "#000000"), ("--", "s", "#404040"), (":", "^", "#707070"), ("-.", "D", "#909090"))
    positions = list(range(len(week_starts)))
    for index, (label, counts) in enumerate(series.items()):
        line, marker, colour = styles[index % len(styles)]
        ax.plot(positions, list(counts), linestyle=line, marker=marker, color=colour, markersize=3.5, label=label)
    ax.set_xticks(positions)
    ax.set_xticklabels([w[5:] for w in week_starts], fontsize=7, rotation=0)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    if len(series) > 1:
        ax.legend(fontsize=7, frameon=False, ncol=min(4, len(series)))
    png = _save(fig)
    described = "; ".join(f"{label}: {', '.join(str(int(c)) for c in counts)}" for label, counts in series.items())
    span = f"weeks from {week_starts[0]} to {week_starts[-1]}" if week_starts else "no weeks"
    return Figure(png, f"Chart: {title}. {described} ({span}).")
