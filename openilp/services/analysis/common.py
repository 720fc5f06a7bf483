"""Shared plumbing of the analysis workflows: study areas, grids, limits, local times, a result cache.

The hot-spot, near-repeat and trend services (:mod:`openilp.services.hotspot_service`,
:mod:`openilp.services.nearrepeat_service`, :mod:`openilp.services.trend_service`) load events with
:func:`openilp.services.events.load_events` and call :mod:`openilp.analysis`. What they share lives
here:

* **Study area.** The agency's boundary layer (a GeoJSON file in longitude/latitude, e.g. the 88 St.
  Louis neighbourhoods for ``SLMPD``) when one is given, projected to the agency's CRS; otherwise the
  convex hull of the events, buffered by :data:`HULL_BUFFER_M` metres (so that events on the hull are
  not on the edge of the grid). The services take the boundary *path*, so they never import the web
  app; the CLI and the web app find it with :class:`openilp.core.boundaries.BoundaryRegistry`.
* **Limits** (:class:`AnalysisLimits`): requests that would need too many cells or permutations fail
  with a ValueError that says what to change (the web app answers 400).
* **Cache** (:class:`ResultCache`): a small in-memory LRU of results keyed by the request and a
  fingerprint of the agency's data, so the analysis page and the API endpoint it calls compute once.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.grids import SquareGrid
from openilp.core.cache import ResultCache
from openilp.errors import InvalidRequest
from openilp.services.events import EVENT_COLUMNS

__all__ = [
    "AnalysisLimits",
    "HULL_BUFFER_M",
    "LIMITS",
    "NoEventsError",
    "ProgressCallback",
    "RESULT_CACHE",
    "ResultCache",
    "StudyArea",
    "boundary_areas",
    "build_grid",
    "cached",
    "check_categories",
    "check_test_settings",
    "event_noun",
    "frame_to_csv",
    "guard_event_frame",
    "latest_incident_date",
    "local_times",
    "plain_records",
    "store_fingerprint",
    "study_area_for",
]

#: ``progress(stage, done, total)``: the CLI shows a progress bar from these calls.
ProgressCallback = Callable[[str, int, int], None]

#: Metres added around the convex hull of the events when no boundary layer is known.
HULL_BUFFER_M = 500.0


class NoEventsError(InvalidRequest):
    """No located incident matches the request (pages show a notice; the API answers 400)."""


@dataclass(frozen=True)
class AnalysisLimits:
    """Upper bounds that keep one request from occupying the server (or a laptop) for minutes."""

    max_cells: int = 250_000
    max_gi_permutations: int = 9_999
    max_knox_permutations: int = 9_999
    max_knox_bands: int = 50
    max_knox_events: int = 200_000


LIMITS = AnalysisLimits()


def guard_event_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` unchanged when its columns are exactly :data:`~openilp.services.events.EVENT_COLUMNS`.

    Every analysis workflow passes its events through this gate, so no other column (and so no
    protected attribute) can reach an analysis even if a loader were changed to return one.
    """
    if tuple(frame.columns) != EVENT_COLUMNS:
        extra = sorted(set(frame.columns) - set(EVENT_COLUMNS))
        raise ValueError(f"analysis events must have exactly EVENT_COLUMNS; unexpected columns: {extra}")
    return frame


def check_categories(categories: Sequence[str]) -> tuple[str, ...]:
    """The categories as a tuple; ValueError for an empty or blank name."""
    cleaned = []
    for name in categories:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a category must not be empty: give a category code or crime group, e.g. burglary")
        cleaned.append(name.strip())
    return tuple(cleaned)


def check_test_settings(
    *,
    permutations: int,
    min_permutations: int,
    max_permutations: int,
    alpha: float,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> None:
    """ValueError for a permutation count, significance level or date range a request cannot use.

    The checks every permutation-tested request (hot spots, Knox) ends its ``validate`` with:
    ``permutations`` within ``[min_permutations, max_permutations]``, ``alpha`` strictly between 0
    and 1, and ``date_from`` not after ``date_to`` (either may be None: open-ended).

    >>> check_test_settings(
    ...     permutations=999, min_permutations=1, max_permutations=9_999, alpha=0.05, date_from=None, date_to=None
    ... )
    >>> check_test_settings(
    ...     permutations=0, min_permutations=1, max_permutations=9_999, alpha=0.05, date_from=None, date_to=None
    ... )
    Traceback (most recent call last):
    ...
    ValueError: permutations must be between 1 and 9,999, got 0
    """
    if not min_permutations <= permutations <= max_permutations:
        raise ValueError(
            f"permutations must be between {min_permutations} and {max_permutations:,}, got {permutations}"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha:g}")
    if date_from and date_to and date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")


def event_noun(categories: Sequence[str]) -> str:
    """Plural noun for the summary sentences: ``("burglary",)`` → ``"burglaries"``.

    >>> event_noun(["burglary"]), event_noun(["motor_vehicle_theft"]), event_noun([])
    ('burglaries', 'motor vehicle thefts', 'incidents')
    """
    if len(categories) != 1:
        return "incidents"
    word = categories[0].replace("_", " ")
    if word in ("violent", "property", "society", "other"):
        return f"{word} crimes"
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy")):
        return word[:-1] + "ies"
    return word if word.endswith("s") else word + "s"


def local_times(frame: pd.DataFrame, timezone: str, column: str = "occurred_from") -> pd.Series:
    """``column`` (naive UTC) as naive local times of ``timezone`` (days break at local midnight)."""
    values = pd.to_datetime(frame[column])
    return values.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)


def latest_incident_date(engine: Engine, agency_code: str) -> dt.date | None:
    """Local calendar date of the agency's latest located incident (None when it has none)."""
    from zoneinfo import ZoneInfo

    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.timezone, MAX(i.occurred_from) FROM agencies a "
                "LEFT JOIN incidents i ON i.agency_id = a.id AND i.location_status = 'located' "
                "WHERE a.code = :code GROUP BY a.timezone"
            ),
            {"code": agency_code},
        ).first()
    if row is None or row[1] is None:
        return None
    moment = pd.Timestamp(row[1])
    day: dt.date = moment.tz_localize("UTC").tz_convert(ZoneInfo(row[0])).date()
    return day


def store_fingerprint(engine: Engine, agency_code: str) -> tuple[Any, ...]:
    """Changes whenever the agency's incidents change (an import always adds an ``import_files`` row)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT COUNT(*) FROM incidents i WHERE i.agency_id = a.id), "
                "(SELECT MAX(f.id) FROM import_files f WHERE f.agency_id = a.id) FROM agencies a WHERE a.code = :code"
            ),
            {"code": agency_code},
        ).first()
    return tuple(row) if row is not None else (None,)


# ------------------------------------------------------------------------------------ study area


@dataclass(frozen=True)
class StudyArea:
    """A projected study-area polygon and where it came from (``"boundary layer"`` or ``"convex hull"``)."""

    geometry: shapely.Geometry
    source: str


def boundary_areas(path: str | Path, crs: str) -> PolygonAreas:
    """The polygons of a boundary GeoJSON file (EPSG:4326) projected to ``crs``, one unit per feature."""
    data = Path(path)
    if not data.is_file():
        raise ValueError(f"boundary file {data} does not exist")
    collection = json.loads(data.read_text(encoding="utf-8"))
    for i, feature in enumerate(collection.get("features") or []):
        feature.setdefault("properties", {})
        feature["properties"] = {**feature["properties"], "_openilp_index": i}
    return PolygonAreas.from_geojson(collection, id_property="_openilp_index", target_crs=crs)


def study_area_for(
    x_m: np.ndarray[Any, Any], y_m: np.ndarray[Any, Any], crs: str, boundary_path: str | Path | None
) -> StudyArea:
    """The boundary layer's union when a path is given, else the buffered convex hull of the events."""
    if boundary_path is not None:
        return StudyArea(boundary_areas(boundary_path, crs).union(), "boundary layer")
    points = shapely.multipoints(np.column_stack([x_m, y_m]))
    return StudyArea(shapely.convex_hull(points).buffer(HULL_BUFFER_M), "convex hull of the events + 500 m")


def build_grid(area: StudyArea, cell_size_m: float, crs: str, limits: AnalysisLimits = LIMITS) -> SquareGrid:
    """Square cells of ``cell_size_m`` metres whose centres lie in the study area.

    Raises ValueError before allocating anything when the bounding box would hold more than
    ``limits.max_cells`` cells, naming the smallest cell size that fits.
    """
    if not (isinstance(cell_size_m, int | float) and math.isfinite(cell_size_m) and cell_size_m > 0):
        raise ValueError(f"cell size must be a positive number of metres, got {cell_size_m!r}")
    x0, y0, x1, y1 = shapely.bounds(area.geometry)
    width, height = max(x1 - x0, cell_size_m), max(y1 - y0, cell_size_m)
    cells = math.ceil(width / cell_size_m) * math.ceil(height / cell_size_m)
    if cells > limits.max_cells:
        smallest = math.ceil(math.sqrt(width * height / limits.max_cells))
        raise ValueError(
            f"{cell_size_m:g} m cells over this study area make {cells:,} cells; at most {limits.max_cells:,} are "
            f"allowed: use cells of at least {smallest} m"
        )
    grid = SquareGrid.from_bounds((x0, y0, x1, y1), float(cell_size_m), study_area=area.geometry, crs=crs)
    if grid.n_units == 0:
        raise ValueError(f"no {cell_size_m:g} m cell has its centre in the study area: use smaller cells")
    return grid


# -------------------------------------------------------------------------------------- output


def plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts: numpy scalars unwrapped, NaN as None, timestamps and dates as ISO text."""
    records = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            elif isinstance(value, pd.Timestamp | dt.date):
                value = value.isoformat()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            clean[str(key)] = value
        records.append(clean)
    return records


def frame_to_csv(frame: pd.DataFrame) -> str:
    """CSV text (header row, ``\\n`` line ends, no index)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


# --------------------------------------------------------------------------------------- cache

T = TypeVar("T")


#: The cache the web app uses (the CLI computes once per run and passes ``cache=None``).
RESULT_CACHE = ResultCache()


def cached(
    cache: ResultCache | None, kind: str, engine: Engine, agency_code: str, request: Hashable, compute: Callable[[], T]
) -> T:
    """``compute()`` through ``cache`` (directly when ``cache`` is None)."""
    if cache is None:
        return compute()
    key = (kind, id(engine), str(engine.url), store_fingerprint(engine, agency_code), request)
    return cache.get_or_compute(key, compute)
