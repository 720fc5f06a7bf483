"""Map of the assessment areas over a background of polygons (e.g. neighbourhoods), with matplotlib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import shapely
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from openilp.analysis.assessment.charts import AREA_LABELS

__all__ = ["areas_map"]

_FILL = {"target": "#b2182b", "buffer": "#ef8a62", "control": "#2166ac", "control_buffer": "#67a9cf"}


def _patch(geometry: shapely.Geometry, **style: object) -> list[PathPatch]:
    patches = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        if shapely.get_type_id(polygon) != 3 or polygon.is_empty:
            continue
        rings = [polygon.exterior, *polygon.interiors]
        vertices, codes = [], []
        for ring in rings:
            coords = list(ring.coords)
            vertices += coords
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(coords) - 2) + [MplPath.CLOSEPOLY]
        patches.append(PathPatch(MplPath(vertices, codes), **style))
    return patches


def areas_map(
    areas: Mapping[str, shapely.Geometry],
    background: Sequence[shapely.Geometry] = (),
    *,
    title: str = "",
) -> Figure:
    """Draw the assessment areas (projected metres) with a light background of other polygons."""
    figure = Figure(figsize=(7, 7), layout="constrained")
    ax = figure.subplots()
    for geometry in background:
        for patch in _patch(geometry, facecolor="none", edgecolor="#999999", linewidth=0.4):
            ax.add_patch(patch)
    for name, geometry in areas.items():
        for i, patch in enumerate(
            _patch(geometry, facecolor=_FILL.get(name, "#666666"), alpha=0.6, edgecolor="black", linewidth=0.6)
        ):
            if i == 0:
                patch.set_label(AREA_LABELS.get(name, name))
            ax.add_patch(patch)
    everything = shapely.union_all([*areas.values(), *background])
    minx, miny, maxx, maxy = everything.bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title, fontsize=11)
    return figure
