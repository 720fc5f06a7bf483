"""The map of a problem profile: the problem's areas over the agency's boundaries, with its incidents.

The map outlines the problem's area and, when the problem has them, its comparison areas (the
displacement buffer, the control area and the control buffer), over the agency's boundary layer,
and shows the problem's incidents (its offence categories) that fell inside any of them from the
start of the baseline to the day goal progress is counted to: the same incidents the profile's
counts are made of. It is drawn by :func:`openilp.products.figures.area_map` (no tile server, line
styles and greys that survive a grayscale print, an alt text that states what it shows).

Handling follows the products' own rule: incident locations are incident detail (TLP:AMBER, as on
the CompStat pack's and the bulletin's maps), areas and counts are the agency's own analysis
(TLP:GREEN, as the strategic assessment's map of change). So by default the incidents are counted
in squares of :data:`CELL_M` metres, and no incident's location is on the map: the profile stays
TLP:GREEN. Asked for ``incident_points``, the map draws each incident as a point and the profile
becomes TLP:AMBER on every page, as any product holding incident locations is.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
from sqlalchemy import select

from openilp.analysis.assessment.comparison import points_in_areas
from openilp.core import OpenILP
from openilp.db.models import ProblemComparisonArea
from openilp.products import ContentItem
from openilp.products.figures import Figure, MapArea, MapCell, MapLayer, area_map
from openilp.security.actors import UserInfo
from openilp.services.problems.common import agency_of, area_geometry, load_problem
from openilp.services.problems.response import COMPARISON_ROLES, ROLE_NAMES, problem_events, stored_areas
from openilp.services.products.common import boundary_layer, product_basemap

__all__ = ["CELL_M", "ProblemMap", "aggregate_cells", "problem_map"]

#: Width of the squares the incidents are counted in, in metres (the TLP:GREEN map).
CELL_M = 250.0


@dataclass(frozen=True)
class ProblemMap:
    """The drawn map, the item it adds to the profile (with its TLP level) and what it counted."""

    figure: Figure
    item: ContentItem
    incidents: int
    period_start: str
    period_end: str
    areas: tuple[str, ...]


def aggregate_cells(
    x_m: np.ndarray[Any, Any], y_m: np.ndarray[Any, Any], cell_m: float
) -> list[tuple[float, float, int]]:
    """The squares of side ``cell_m`` (metres, aligned on multiples of it) holding points, with their counts.

    Returns ``(west_m, south_m, count)`` per square, west to east then south to north.

    >>> aggregate_cells(np.array([10.0, 20.0, 260.0]), np.array([5.0, 30.0, 5.0]), 250.0)
    [(0.0, 0.0, 2), (250.0, 0.0, 1)]
    """
    if len(x_m) == 0:
        return []
    columns = np.floor(np.asarray(x_m, dtype=float) / cell_m).astype(np.int64)
    rows = np.floor(np.asarray(y_m, dtype=float) / cell_m).astype(np.int64)
    keys, counts = np.unique(np.stack([columns, rows], axis=1), axis=0, return_counts=True)
    return [(float(c) * cell_m, float(r) * cell_m, int(n)) for (c, r), n in zip(keys, counts, strict=True)]


def problem_map(
    core: OpenILP, actor: UserInfo, problem_id: int, as_of: dt.date, *, incident_points: bool = False
) -> ProblemMap:
    """Draw problem ``problem_id``'s map with its incidents up to ``as_of`` (see the module docstring).

    The caller has read the problem (audited); this reads its areas and incidents again, limited to
    the actor's agency.
    """
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, problem_id)
        agency = agency_of(uow.session, problem)
        code, crs = agency.code, agency.crs
        start = problem.baseline_start
        end = max(as_of, problem.baseline_end)
        events, _ = problem_events(core.engine, problem, agency, start, end)
        target = area_geometry(problem, crs)
        comparison = stored_areas(uow.session, problem, crs)
        shapes = {"target": target, **{role: comparison[role] for role in COMPARISON_ROLES if role in comparison}}
        title_area = problem.area_name or f"problem #{problem.id}"
        categories = ", ".join(c.replace("_", " ") for c in json.loads(problem.categories))
        geojson = {"target": json.loads(problem.area_geojson)}
        rows = uow.session.scalars(
            select(ProblemComparisonArea).where(ProblemComparisonArea.problem_id == problem.id)
        ).all()
        geojson.update({row.role: json.loads(row.geojson) for row in rows})
    areas = [MapArea(f"Problem area: {title_area}", geojson["target"])]
    roles = [role for role in COMPARISON_ROLES if role in shapes]
    areas += [MapArea(ROLE_NAMES[role].capitalize(), geojson[role]) for role in roles]
    # The control area lies elsewhere in the city: its own panel keeps the problem's area legible.
    near = [0] + [1 + i for i, role in enumerate(roles) if role == "buffer"]
    apart = [1 + i for i, role in enumerate(roles) if role != "buffer"]
    panels = [("The problem area" + (" and its buffer" if len(near) > 1 else ""), near)]
    if apart:
        panels.append(("The control area" + (" and its buffer" if len(apart) > 1 else ""), apart))
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x = events["x_m"].to_numpy(dtype=float)
    y = events["y_m"].to_numpy(dtype=float)
    masks = points_in_areas(x, y, shapes)
    inside = np.logical_or.reduce(list(masks.values())) if masks else np.zeros(len(x), dtype=bool)
    x, y = x[inside], y[inside]
    title = f"{title_area}: {categories}, {start} to {end}"
    if incident_points:
        lon, lat = to_lonlat.transform(x, y)
        layer = MapLayer("Incidents", [float(v) for v in lon], [float(v) for v in lat], "o")
        figure = area_map(
            boundary_layer(core, code), areas, title=title, points=layer, panels=panels, basemap=product_basemap(core)
        )
        item = ContentItem("Map of the problem's incidents (locations)", "TLP:AMBER")
    else:
        cells = []
        for west, south, count in aggregate_cells(x, y, CELL_M):
            xs = [west, west + CELL_M, west + CELL_M, west]
            ys = [south, south, south + CELL_M, south + CELL_M]
            lon, lat = to_lonlat.transform(xs, ys)
            cells.append(MapCell(tuple(zip((float(v) for v in lon), (float(v) for v in lat), strict=True)), count))
        figure = area_map(
            boundary_layer(core, code),
            areas,
            title=title,
            cells=cells,
            cell_m=CELL_M,
            panels=panels,
            basemap=product_basemap(core),
        )
        item = ContentItem(
            f"Map of the problem's areas, incidents counted in {CELL_M:g} m squares (areas, no incidents)", "TLP:GREEN"
        )
    return ProblemMap(figure, item, int(inside.sum()), str(start), str(end), tuple(a.label for a in areas))
