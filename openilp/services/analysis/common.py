"""Shared plumbing of the analysis services: who may ask, which agency, study areas, grids, limits, the cache.

Every analysis service (:mod:`~openilp.services.analysis.hotspots`,
:mod:`~openilp.services.analysis.nearrepeat`, :mod:`~openilp.services.analysis.trends`,
:mod:`~openilp.services.analysis.forecasting`, :mod:`~openilp.services.analysis.tasking`) loads
events with :func:`openilp.services.analysis.events.load_events` and calls :mod:`openilp.analysis`.
What they share lives here:

* **Who and which agency** (:func:`reader_agency`): a signed-in actor analyses their own agency
  only and needs the permission of the analysis; without an actor (the command line) the request's
  ``agency_code`` is used, or the only agency in the store.
* **Study area** (:func:`check_study_area`, :func:`study_polygons`). A request names it with one
  word or gives it as GeoJSON text, never as a file: ``"auto"`` (the agency's boundary layer from
  the core's registry when one exists, else the analysis' own default), ``"boundary"`` (the layer,
  required), ``"hull"`` (convex hull of the events + :data:`HULL_BUFFER_M`), ``"near_events"``
  (forecast cells near past events) or a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection
  in longitude/latitude. The command line reads a file and passes its GeoJSON; nothing a web request
  sends is ever opened as a path.
* **Limits** (:class:`AnalysisLimits`): every parameter that drives cost is bounded in the request;
  a request over a bound fails with :class:`~openilp.errors.InvalidRequest` (400) saying what to change.
* **Cache** (:func:`cached`): results go through the core's :class:`~openilp.core.ResultCache`,
  keyed by the request and a fingerprint of the agency's data, so a page and the API call its
  script makes compute once, and a new import makes stale results unreachable.
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
from openilp.core import OpenILP
from openilp.core.dates import FIRST_DAY, LAST_DAY
from openilp.core.dates import check_day as core_check_day
from openilp.errors import InvalidRequest, NotPermitted, ServiceError
from openilp.security.actors import UserInfo
from openilp.security.roles import has_permission
from openilp.services.analysis.events import EVENT_COLUMNS, incident_labels

__all__ = [
    "AnalysisLimits",
    "EARLIEST_DAY",
    "HULL_BUFFER_M",
    "LATEST_DAY",
    "LIMITS",
    "NoEventsError",
    "ProgressCallback",
    "STUDY_AREA_WORDS",
    "StudyArea",
    "boundary_areas",
    "boundary_names",
    "build_grid",
    "cached",
    "check_categories",
    "check_day",
    "check_forecast_methods",
    "check_period",
    "check_study_area",
    "check_test_settings",
    "event_noun",
    "frame_to_csv",
    "guard_event_frame",
    "latest_day",
    "latest_incident_date",
    "local_times",
    "plain_records",
    "reader_agency",
    "recent_year",
    "store_fingerprint",
    "study_area_for",
    "study_polygons",
]

#: ``progress(stage, done, total)``: the CLI shows a progress bar from these calls.
ProgressCallback = Callable[[str, int, int], None]

#: Metres added around the convex hull of the events when no boundary layer is known.
HULL_BUFFER_M = 500.0


def check_forecast_methods(methods: Sequence[str]) -> tuple[str, ...]:
    """The forecasting methods named, trimmed and without repeats, or :class:`InvalidRequest`.

    The one check of a method name (forecast, backtest, deployment, the civil-rights gate): every
    shell gets the same message, naming the methods to choose from.

    >>> check_forecast_methods([" kde", "naive", "kde"])
    ('kde', 'naive')
    >>> check_forecast_methods(["oracle"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: unknown forecasting method 'oracle'; choose from naive, kde, ...
    """
    from openilp.analysis.forecast import FORECASTERS

    chosen = tuple(dict.fromkeys(str(m).strip() for m in methods if str(m).strip()))
    if not chosen:
        raise InvalidRequest(f"choose at least one method: {', '.join(FORECASTERS)}")
    unknown = [m for m in chosen if m not in FORECASTERS]
    if unknown:
        named = repr(unknown[0]) if len(unknown) == 1 else ", ".join(repr(m) for m in unknown)
        raise InvalidRequest(f"unknown forecasting method {named}; choose from {', '.join(FORECASTERS)}")
    return chosen


class NoEventsError(InvalidRequest):
    """No located incident matches the request (pages show a notice; the API answers 400)."""


@dataclass(frozen=True)
class AnalysisLimits:
    """Upper bounds that keep one request from occupying the server (or a laptop) for minutes.

    The same bounds hold on every shell: they are checked in the requests' ``validate()``.
    """

    max_cells: int = 250_000
    #: Gi* permutations a request may ask for (the exact route needs none).
    max_gi_permutations: int = 99_999
    #: KDE bandwidth, metres: the kernel's footprint (and memory) grows with its square.
    max_bandwidth_m: float = 5_000.0
    #: Radius of a Gi* distance-band neighbourhood, metres.
    max_neighbourhood_m: float = 2_000.0
    max_knox_permutations: int = 9_999
    #: Knox permutations x incidents a request may cost (999 permutations over 10,000 incidents).
    max_knox_work: int = 10_000_000
    max_knox_bands: int = 50
    max_knox_events: int = 200_000
    #: Positions (vertices) of a study area given as GeoJSON, and its size in bytes.
    max_area_vertices: int = 20_000
    max_area_bytes: int = 2_000_000
    #: Category names in one request.
    max_categories: int = 20
    #: Rolling periods of a trend baseline, and days of history behind a forecast or alert.
    max_rolling_periods: int = 52
    max_history_days: int = 3_660


LIMITS = AnalysisLimits()

#: Days a request may name (:mod:`openilp.core.dates`: outside them date arithmetic overflows).
EARLIEST_DAY = FIRST_DAY
LATEST_DAY = LAST_DAY


def check_day(day: dt.date | None, name: str) -> None:
    """InvalidRequest for a day outside :data:`EARLIEST_DAY` … :data:`LATEST_DAY` (:mod:`openilp.core.dates`)."""
    core_check_day(day, name)


def check_period(
    date_from: dt.date | None,
    date_to: dt.date | None,
    *,
    max_days: int,
    day_word: str = "day",
    covered_by: str = "call",
) -> None:
    """InvalidRequest unless ``date_from`` and ``date_to`` are both given, in range, in order and at
    most ``max_days`` apart; ``day_word`` and ``covered_by`` name the days and the request in the messages.

    >>> check_period(dt.date(2024, 1, 1), dt.date(2024, 12, 31), max_days=3660)
    >>> check_period(dt.date(2024, 1, 1), None, max_days=3660, day_word="shift day")
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: give the first and the last shift day of the period (date_from, date_to)
    >>> check_period(dt.date(2020, 1, 1), dt.date(2024, 1, 1), max_days=365, covered_by="audit")
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: one audit covers at most 365 days
    """
    if date_from is None or date_to is None:
        raise InvalidRequest(f"give the first and the last {day_word} of the period (date_from, date_to)")
    check_day(date_from, "date_from")
    check_day(date_to, "date_to")
    if date_from > date_to:
        raise InvalidRequest(f"date_from {date_from} is after date_to {date_to}")
    if (date_to - date_from).days > max_days:
        raise InvalidRequest(f"one {covered_by} covers at most {max_days:,} days")


def reader_agency(core: OpenILP, actor: UserInfo | None, agency_code: str, permission: str = "analysis:read") -> str:
    """The agency a request analyses, after checking who asks.

    A signed-in ``actor`` needs ``permission`` and analyses their own agency only (an empty
    ``agency_code`` means theirs). Without an actor (the command line), ``agency_code``, or the
    only agency in the store.
    """
    if actor is not None:
        if not has_permission(actor.role, permission):
            raise NotPermitted(f"your role ({actor.role}) may not do this ({permission})")
        if agency_code and agency_code != actor.agency_code:
            raise NotPermitted("you may analyse your own agency's incidents only")
        return actor.agency_code
    if agency_code:
        return agency_code
    with core.engine.connect() as conn:
        codes = [str(row[0]) for row in conn.execute(text("SELECT code FROM agencies ORDER BY code"))]
    if len(codes) == 1:
        return codes[0]
    held = f"the store holds {', '.join(codes)}" if codes else "the store holds no agency yet"
    raise InvalidRequest(f"give the agency code: {held}")


def guard_event_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` unchanged when its columns are exactly :data:`~openilp.services.analysis.events.EVENT_COLUMNS`.

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
            raise InvalidRequest("a category must not be empty: give a category code or crime group, e.g. burglary")
        cleaned.append(name.strip())
    if len(cleaned) > LIMITS.max_categories:
        raise InvalidRequest(f"at most {LIMITS.max_categories} categories may be asked for at once, got {len(cleaned)}")
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
    """InvalidRequest for a permutation count, significance level or date range a request cannot use.

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
    openilp.errors.InvalidRequest: permutations must be between 1 and 9,999, got 0
    """
    if not min_permutations <= permutations <= max_permutations:
        raise InvalidRequest(
            f"permutations must be between {min_permutations} and {max_permutations:,}, got {permutations}"
        )
    if not 0 < alpha < 1:
        raise InvalidRequest(f"alpha must lie between 0 and 1, got {alpha:g}")
    check_day(date_from, "date_from")
    check_day(date_to, "date_to")
    if date_from and date_to and date_from > date_to:
        raise InvalidRequest(f"date_from {date_from} is after date_to {date_to}")


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


def latest_day(
    core: OpenILP, actor: UserInfo | None, agency_code: str = "", permission: str = "analysis:read"
) -> dt.date | None:
    """The local day of the agency's latest located incident, None when it has none.

    The agency is the reader's (:func:`reader_agency`, which checks ``permission``): what a page
    proposes as the day a forecast or a deployment is for when none is given.
    """
    return latest_incident_date(core.engine, reader_agency(core, actor, agency_code, permission))


def incident_names(
    core: OpenILP,
    actor: UserInfo | None,
    incident_ids: Sequence[int],
    agency_code: str = "",
    permission: str = "analysis:read",
) -> dict[int, dict[str, str | None]]:
    """What the reader's agency calls each of ``incident_ids`` (complaint number, block address,
    neighbourhood), by store id; incidents of another agency are left out.

    The agency is the reader's (:func:`reader_agency`, which checks ``permission``): the names a
    drill-down list shows beside the incidents an analysis returned.
    """
    code = reader_agency(core, actor, agency_code, permission)
    return incident_labels(core.engine, incident_ids, agency_code=code)


def recent_year(core: OpenILP, actor: UserInfo | None, agency_code: str = "") -> tuple[dt.date, dt.date] | None:
    """The 365 local days up to the agency's latest located incident (None when it has none).

    What analysis pages fill in when no dates are given (the API and the command line take all).
    """
    latest = latest_day(core, actor, agency_code)
    if latest is None:
        return None
    return latest - dt.timedelta(days=364), latest


def store_fingerprint(engine: Engine, agency_code: str) -> tuple[Any, ...]:
    """Changes whenever the agency's incidents change: every change to incidents is made by an import
    (or a bulk load), which adds an ``import_files`` row with its counts in the same transaction.

    Read from ``import_files`` only (a few rows per agency): counting a national store's incidents
    on every map request would cost seconds for a large agency.
    """
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT COUNT(f.id), MAX(f.id), SUM(f.created), SUM(f.updated), SUM(f.removed) "
                "FROM agencies a LEFT JOIN import_files f ON f.agency_id = a.id WHERE a.code = :code GROUP BY a.id"
            ),
            {"code": agency_code},
        ).first()
    return tuple(row) if row is not None else (None,)


# ------------------------------------------------------------------------------------ study area


@dataclass(frozen=True)
class StudyArea:
    """A projected study-area polygon and where it came from (``"boundary layer"``, ``"convex hull"`` …)."""

    geometry: shapely.Geometry
    source: str


#: Words a request may give as its study area (anything else must be GeoJSON text).
STUDY_AREA_WORDS = ("auto", "boundary", "hull", "near_events")


def _count_positions(value: Any, limit: int) -> int:
    """Positions in a GeoJSON ``coordinates`` value, stopping just past ``limit``."""
    stack, total = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple) and item and isinstance(item[0], int | float):
            total += 1
            if total > limit:
                return total
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


def _geojson_collection(text_value: str, limits: AnalysisLimits) -> dict[str, Any]:
    if len(text_value.encode("utf-8")) > limits.max_area_bytes:
        raise InvalidRequest(f"the study area is larger than {limits.max_area_bytes:,} bytes of GeoJSON: simplify it")
    try:
        data = json.loads(text_value)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"the study area is not valid GeoJSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the study area must be a GeoJSON object")
    if data.get("type") == "FeatureCollection":
        features = data.get("features")
    elif data.get("type") == "Feature":
        features = [data]
    elif data.get("type") in ("Polygon", "MultiPolygon"):
        features = [{"type": "Feature", "geometry": data, "properties": {}}]
    else:
        features = None
    if not isinstance(features, list) or not features or not all(isinstance(f, dict) for f in features):
        raise InvalidRequest("the study area must be a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection")
    positions = 0
    for feature in features:
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise InvalidRequest("every feature of the study area must be a Polygon or MultiPolygon")
        positions += _count_positions(geometry.get("coordinates"), limits.max_area_vertices - positions)
        if positions > limits.max_area_vertices:
            raise InvalidRequest(
                f"the study area has more than {limits.max_area_vertices:,} vertices: simplify the polygons"
            )
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": f["geometry"], "properties": {"_openilp_index": i}}
            for i, f in enumerate(features)
        ],
    }


def check_study_area(study_area: str, allowed: Sequence[str], limits: AnalysisLimits = LIMITS) -> None:
    """InvalidRequest unless ``study_area`` is one of ``allowed`` words or bounded GeoJSON text.

    A file name is refused (it is never opened here): the command line reads files and passes
    their GeoJSON.

    >>> check_study_area("/etc/passwd", ("auto", "hull"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: study_area must be auto, hull or GeoJSON ...
    """
    if not isinstance(study_area, str):
        raise InvalidRequest("study_area must be a word or GeoJSON text")
    if study_area.lstrip().startswith("{"):
        _geojson_collection(study_area, limits)
        return
    if study_area not in allowed:
        raise InvalidRequest(
            f"study_area must be {', '.join(allowed)} or GeoJSON (an object starting with '{{'), "
            f"got {study_area[:80]!r}: a file name is never read here (the command line reads files)"
        )


def boundary_areas(path: str | Path, crs: str) -> PolygonAreas:
    """The polygons of a boundary GeoJSON file (EPSG:4326) projected to ``crs``, one unit per feature.

    Only for the core's registered boundary layers (server-side configuration), never for a path
    from a request.
    """
    data = Path(path)
    if not data.is_file():
        raise ValueError(f"boundary file {data} does not exist")
    collection = json.loads(data.read_text(encoding="utf-8"))
    for i, feature in enumerate(collection.get("features") or []):
        feature.setdefault("properties", {})
        feature["properties"] = {**feature["properties"], "_openilp_index": i}
    return PolygonAreas.from_geojson(collection, id_property="_openilp_index", target_crs=crs)


#: Properties that hold a boundary polygon's code (as incidents store it) and its name, first found wins.
BOUNDARY_ID_PROPERTIES = ("NHD_NUM", "id", "ID", "code", "CODE", "number")
BOUNDARY_NAME_PROPERTIES = ("NHD_NAME", "name", "NAME", "Name", "label")


def boundary_names(core: OpenILP, agency_code: str) -> dict[str, str]:
    """Area code → name from the agency's registered boundary layer (St. Louis: ``"43"`` → ``"Franz Park"``);
    empty without a layer or without code and name properties."""
    layer = core.boundaries.layer_for(agency_code)
    if layer is None:
        return {}
    names: dict[str, str] = {}
    for feature in json.loads(layer.path.read_text(encoding="utf-8")).get("features") or []:
        properties = feature.get("properties") or {}
        code = next((properties[k] for k in BOUNDARY_ID_PROPERTIES if properties.get(k) is not None), None)
        name = next((properties[k] for k in BOUNDARY_NAME_PROPERTIES if properties.get(k)), None)
        if code is not None and name:
            names[str(int(code)) if isinstance(code, float) and code.is_integer() else str(code)] = str(name)
    return names


def study_polygons(
    core: OpenILP, agency_code: str, crs: str, study_area: str, limits: AnalysisLimits = LIMITS
) -> tuple[PolygonAreas | None, str]:
    """The request's study-area polygons projected to ``crs`` and where they came from.

    ``None`` (with the word) when the analysis derives the area itself: ``"hull"``,
    ``"near_events"``, or ``"auto"`` for an agency without a boundary layer.
    """
    if study_area.lstrip().startswith("{"):
        collection = _geojson_collection(study_area, limits)
        try:
            return PolygonAreas.from_geojson(collection, id_property="_openilp_index", target_crs=crs), "given area"
        except ValueError as exc:
            raise InvalidRequest(f"the study area is not usable GeoJSON: {exc}") from None
    if study_area in ("auto", "boundary"):
        layer = core.boundaries.layer_for(agency_code)
        if layer is not None:
            return boundary_areas(layer.path, crs), "boundary layer"
        if study_area == "boundary":
            raise InvalidRequest(f"agency {agency_code} has no boundary layer: use study_area auto or give GeoJSON")
    return None, study_area


def study_area_for(
    x_m: np.ndarray[Any, Any], y_m: np.ndarray[Any, Any], crs: str, polygons: PolygonAreas | None, source: str = ""
) -> StudyArea:
    """The polygons' union when given, else the convex hull of the events buffered by :data:`HULL_BUFFER_M`."""
    if polygons is not None:
        return StudyArea(polygons.union(), source or "boundary layer")
    points = shapely.multipoints(np.column_stack([x_m, y_m]))
    return StudyArea(shapely.convex_hull(points).buffer(HULL_BUFFER_M), "convex hull of the events + 500 m")


def build_grid(area: StudyArea, cell_size_m: float, crs: str, limits: AnalysisLimits = LIMITS) -> SquareGrid:
    """Square cells of ``cell_size_m`` metres whose centres lie in the study area.

    Raises InvalidRequest before allocating anything when the bounding box would hold more than
    ``limits.max_cells`` cells, naming the smallest cell size that fits.
    """
    if not (isinstance(cell_size_m, int | float) and math.isfinite(cell_size_m) and cell_size_m > 0):
        raise InvalidRequest(f"cell size must be a positive number of metres, got {cell_size_m!r}")
    x0, y0, x1, y1 = shapely.bounds(area.geometry)
    width, height = max(x1 - x0, cell_size_m), max(y1 - y0, cell_size_m)
    cells = math.ceil(width / cell_size_m) * math.ceil(height / cell_size_m)
    if cells > limits.max_cells:
        smallest = math.ceil(math.sqrt(width * height / limits.max_cells))
        raise InvalidRequest(
            f"{cell_size_m:g} m cells over this study area make {cells:,} cells; at most {limits.max_cells:,} are "
            f"allowed: use cells of at least {smallest} m"
        )
    grid = SquareGrid.from_bounds((x0, y0, x1, y1), float(cell_size_m), study_area=area.geometry, crs=crs)
    if grid.n_units == 0:
        raise InvalidRequest(f"no {cell_size_m:g} m cell has its centre in the study area: use smaller cells")
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


def cached(core: OpenILP, kind: str, agency_code: str, request: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` through the core's result cache, keyed by ``kind``, the request and the data's fingerprint.

    A ValueError from the numerics (data a request cannot be answered on) becomes an
    :class:`~openilp.errors.InvalidRequest` with the same message, so every shell reports it alike.
    """
    engine = core.engine
    key = (kind, id(engine), str(engine.url), store_fingerprint(engine, agency_code), request)

    def compute_or_refuse() -> T:
        try:
            return compute()
        except ServiceError:
            raise
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc

    return core.cache.get_or_compute(key, compute_or_refuse)
