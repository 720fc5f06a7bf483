"""Crime analysis in the web app: JSON/GeoJSON/CSV under ``/api/v1/analysis`` and three pages.

Every endpoint and page builds its request with the same helpers and calls the same service
function (:func:`~openilp.services.hotspot_service.run_hotspots`,
:func:`~openilp.services.nearrepeat_service.run_knox`,
:func:`~openilp.services.nearrepeat_service.run_near_repeat_alerts`,
:func:`~openilp.services.trend_service.run_trends`) through the shared result cache, so a page and
the API call its script makes compute once. Invalid parameters, requests over the limits and
"nothing matches" answer 400 in the API; pages show the message (400 for invalid parameters,
200 with a notice when nothing matches).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from sqlalchemy.orm import Session

from openilp.security.actors import UserInfo
from openilp.services.analysis_common import RESULT_CACHE, NoEventsError, latest_incident_date
from openilp.services.hotspot_service import HotspotRequest, HotspotResult, run_hotspots
from openilp.services.incidents import CRIME_GROUPS, category_options, parse_iso_date
from openilp.services.nearrepeat_service import (
    DEFAULT_SPACE_BANDS_M,
    DEFAULT_TIME_BANDS_DAYS,
    KnoxRequest,
    KnoxResult,
    NearRepeatAlertRequest,
    parse_bands,
    run_knox,
    run_near_repeat_alerts,
)
from openilp.services.trend_service import AREA_LEVELS, TrendRequest, TrendResult, run_trends
from openilp.web.auth import require
from openilp.web.context import db_session, get_context
from openilp.web.rendering import render

__all__ = ["api", "pages"]

api = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])
pages = APIRouter(include_in_schema=False)

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"
PERMISSION = "analysis:read"
_SPACE = ",".join(f"{b:g}" for b in DEFAULT_SPACE_BANDS_M)
_TIME = ",".join(f"{b:g}" for b in DEFAULT_TIME_BANDS_DAYS)
ALL_PERIODS = ("week", "28d", "ytd")
ALL_BASELINES = ("previous", "last_year", "rolling", "seasonal")

# Query parameters shared by the endpoints and pages.
_CATEGORY = Query(default=[], description="Category code or crime group; repeat for several; none = all.")
_DATE_FROM = Query(default="", description="First day, YYYY-MM-DD, agency local time.")
_DATE_TO = Query(default="", description="Last day (inclusive), YYYY-MM-DD.")
_CELL = Query(default=150.0, description="Side of a grid cell, metres.")
_BANDWIDTH = Query(default=None, description="KDE bandwidth, metres (default: Silverman's rule).")
_KERNEL = Query(default="quartic", description="quartic or gaussian.")
_GI_PERMUTATIONS = Query(default=999, description="Gi* permutations (0: normal approximation).")
_ALPHA = Query(default=0.05, description="False discovery rate of the hot/cold flags.")
_SEED = Query(default=0, description="Seed of the permutations.")
_SPACE_BANDS = Query(default=_SPACE, description="Upper edges of the distance bands, metres, comma-separated.")
_TIME_BANDS = Query(default=_TIME, description="Upper edges of the time bands, days, comma-separated.")
_KNOX_PERMUTATIONS = Query(default=999, description="Knox permutations.")
_AS_OF = Query(default="", description="Day of the alerts / last day of the periods (default: latest incident).")
_HISTORY = Query(default=365, description="Days of history the Knox test of the alerts is fitted on.")
_BY = Query(default="neighbourhood", description="Area level: neighbourhood, district or beat.")
_PERIOD = Query(default=[], description="week, 28d or ytd; repeat for several; none = all.")
_BASELINE = Query(default=[], description="previous, last_year, rolling or seasonal; repeat; none = all.")
_ALL = Query(default=False, alias="all", description="Include rows that are neither alert nor watch.")
_READER = Depends(require(PERMISSION))

# --------------------------------------------------------------------------- request builders
# Each builder parses one analysis's query parameters into its service request and raises
# ValueError for anything invalid. Pages call a builder with every argument given; the API takes
# it as a dependency through :func:`_answer_400`, so its defaults are the API's query parameters.

_P = ParamSpec("_P")
_T = TypeVar("_T")


@contextmanager
def _http_400() -> Iterator[None]:
    """Invalid parameters, requests over the limits and "nothing matches" (``NoEventsError``) → 400."""
    try:
        yield
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def _answer_400(build: Callable[_P, _T]) -> Callable[_P, _T]:
    """``build`` as an API dependency (same parameters) whose ValueError answers 400."""

    @functools.wraps(build)
    def dependency(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with _http_400():
            return build(*args, **kwargs)

    return dependency


def _boundary_path(request: Request, user: UserInfo) -> str | None:
    layer = get_context(request).boundaries.layer_for(user.agency_code)
    return str(layer.path) if layer else None


def _hotspot_request(
    request: Request,
    category: list[str] = _CATEGORY,
    date_from: str = _DATE_FROM,
    date_to: str = _DATE_TO,
    cell_size_m: float = _CELL,
    bandwidth_m: float | None = _BANDWIDTH,
    kernel: str = _KERNEL,
    permutations: int = _GI_PERMUTATIONS,
    alpha: float = _ALPHA,
    seed: int = _SEED,
    user: UserInfo = _READER,
) -> HotspotRequest:
    return HotspotRequest(
        user.agency_code,
        tuple(category),
        parse_iso_date(date_from, "date_from"),
        parse_iso_date(date_to, "date_to"),
        cell_size_m,
        bandwidth_m,
        kernel,
        permutations,
        alpha,
        seed,
        _boundary_path(request, user),
    ).validate()


def _knox_request(
    category: list[str] = _CATEGORY,
    date_from: str = _DATE_FROM,
    date_to: str = _DATE_TO,
    space_bands: str = _SPACE_BANDS,
    time_bands: str = _TIME_BANDS,
    permutations: int = _KNOX_PERMUTATIONS,
    seed: int = _SEED,
    user: UserInfo = _READER,
) -> KnoxRequest:
    return KnoxRequest(
        user.agency_code,
        tuple(category) or ("burglary",),
        parse_iso_date(date_from, "date_from"),
        parse_iso_date(date_to, "date_to"),
        parse_bands(space_bands, "space bands"),
        parse_bands(time_bands, "time bands"),
        permutations=permutations,
        seed=seed,
    ).validate()


def _alert_request(knox: KnoxRequest, as_of: str, history_days: int) -> NearRepeatAlertRequest:
    return NearRepeatAlertRequest(
        knox.agency_code, knox.categories, parse_iso_date(as_of, "as_of"), history_days, knox
    ).validate()


def _trend_request(
    category: list[str] = _CATEGORY,
    as_of: str = _AS_OF,
    by: str = _BY,
    period: list[str] = _PERIOD,
    baseline: list[str] = _BASELINE,
    user: UserInfo = _READER,
) -> TrendRequest:
    return TrendRequest(
        user.agency_code,
        tuple(category),
        parse_iso_date(as_of, "as_of"),
        by,
        tuple(period) or ALL_PERIODS,
        tuple(baseline) or ALL_BASELINES,
    ).validate()


def _csv(content: str, name: str) -> PlainTextResponse:
    return PlainTextResponse(content, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ----------------------------------------------------------------------- API dependencies
# The service run of each analysis for the request's query parameters, through the result cache;
# a ValueError answers 400, so the endpoints only format the result.


def _hotspots_result(request: Request, hot: HotspotRequest = Depends(_answer_400(_hotspot_request))) -> HotspotResult:
    with _http_400():
        return run_hotspots(get_context(request).engine, hot, cache=RESULT_CACHE)


def _knox_result(request: Request, knox: KnoxRequest = Depends(_answer_400(_knox_request))) -> KnoxResult:
    with _http_400():
        return run_knox(get_context(request).engine, knox, cache=RESULT_CACHE)


def _trends_result(request: Request, trend: TrendRequest = Depends(_answer_400(_trend_request))) -> TrendResult:
    with _http_400():
        return run_trends(get_context(request).engine, trend, cache=RESULT_CACHE)


# ---------------------------------------------------------------------------------------- API


@api.get("/hotspots.geojson", response_class=JSONResponse)
def hotspots_geojson(result: HotspotResult = Depends(_hotspots_result)) -> JSONResponse:
    """Grid cells (EPSG:4326) with count, KDE (events/km²), Gi* z, p, q and class; run facts in ``analysis``."""
    return JSONResponse(result.to_geojson(), media_type=GEOJSON)


@api.get("/hotspots.csv", response_class=PlainTextResponse)
def hotspots_csv(result: HotspotResult = Depends(_hotspots_result)) -> PlainTextResponse:
    """The same cells as CSV, with each cell centre's ``lon``, ``lat``."""
    return _csv(result.to_csv(), "hotspots.csv")


@api.get("/knox.json")
def knox_json(result: KnoxResult = Depends(_knox_result)) -> dict[str, Any]:
    """The Knox table (default category burglary): band labels, cells and summary sentences."""
    return result.to_json()


@api.get("/knox.csv", response_class=PlainTextResponse)
def knox_csv(result: KnoxResult = Depends(_knox_result)) -> PlainTextResponse:
    """The Knox table as CSV, one row per space band × time band."""
    return _csv(result.to_csv(), "knox.csv")


@api.get("/near-repeat-alerts.geojson", response_class=JSONResponse)
def near_repeat_alerts_geojson(
    request: Request,
    category: list[str] = _CATEGORY,
    as_of: str = _AS_OF,
    history_days: int = _HISTORY,
    space_bands: str = _SPACE_BANDS,
    time_bands: str = _TIME_BANDS,
    permutations: int = _KNOX_PERMUTATIONS,
    seed: int = _SEED,
    user: UserInfo = _READER,
) -> JSONResponse:
    """Alert zones (circles, EPSG:4326) in force on ``as_of``, with the run's facts and Knox summary."""
    with _http_400():
        knox = _knox_request(category, "", "", space_bands, time_bands, permutations, seed, user)
        alerts = _alert_request(knox, as_of, history_days)
        result = run_near_repeat_alerts(get_context(request).engine, alerts, cache=RESULT_CACHE)
    return JSONResponse(result.to_geojson(), media_type=GEOJSON)


@api.get("/trends.json")
def trends_json(result: TrendResult = Depends(_trends_result), all_rows: bool = _ALL) -> dict[str, Any]:
    """Trend rows (alerts and watches unless ``all``), each with the ids of its current-period incidents."""
    return result.to_json(flagged_only=not all_rows)


@api.get("/trends.csv", response_class=PlainTextResponse)
def trends_csv(result: TrendResult = Depends(_trends_result), all_rows: bool = _ALL) -> PlainTextResponse:
    """Trend rows as CSV, with ``incident_count`` per row."""
    return _csv(result.to_csv(flagged_only=not all_rows), "trends.csv")


# -------------------------------------------------------------------------------------- pages


def _category_groups(session: Session) -> list[tuple[str, list[Any]]]:
    options = category_options(session)
    groups = [(group, [o for o in options if o.crime_group == group]) for group in CRIME_GROUPS]
    return [(g, opts) for g, opts in groups if opts]


def _default_year(request: Request, user: UserInfo, date_from: str, date_to: str) -> tuple[str, str]:
    """Empty dates become the year up to the latest incident (pages only; the API takes all)."""
    if date_from or date_to:
        return date_from, date_to
    latest = latest_incident_date(get_context(request).engine, user.agency_code)
    if latest is None:
        return "", ""
    return str(latest - dt.timedelta(days=364)), str(latest)


def _page_error(exc: ValueError) -> tuple[str | None, str | None, int]:
    """``(error, notice, status)``: nothing matching is a notice, anything else a 400 error."""
    if isinstance(exc, NoEventsError):
        return None, str(exc), 200
    return str(exc), None, 400


@pages.get("/analysis/hotspots", response_class=HTMLResponse)
def hotspots_page(
    request: Request,
    category: list[str] = Query(default=[]),
    date_from: str = "",
    date_to: str = "",
    cell_size_m: float = 150.0,
    bandwidth_m: str = "",
    user: UserInfo = _READER,
    session: Session = db_session,
) -> Response:
    """Hot-spot map: KDE surface and Gi* hot/cold cells over the boundary layer."""
    web = get_context(request)
    date_from, date_to = _default_year(request, user, date_from, date_to)
    error = notice = None
    status, summary, query = 200, None, ""
    try:
        bandwidth = float(bandwidth_m) if bandwidth_m.strip() else None
        hot = _hotspot_request(
            request, category, date_from, date_to, cell_size_m, bandwidth, "quartic", 999, 0.05, 0, user
        )
        summary = run_hotspots(web.engine, hot, cache=RESULT_CACHE).summary()
        params: list[tuple[str, Any]] = [("category", c) for c in category]
        params += [("date_from", date_from), ("date_to", date_to), ("cell_size_m", f"{cell_size_m:g}")]
        if bandwidth is not None:
            params.append(("bandwidth_m", f"{bandwidth:g}"))
        query = urlencode(params)
    except ValueError as exc:
        error, notice, status = _page_error(exc)
    boundary = web.boundaries.layer_for(user.agency_code)
    return render(
        request,
        "analysis/hotspots.html",
        user=user,
        status_code=status,
        error=error,
        notice=notice,
        summary=summary,
        groups=_category_groups(session),
        selected=set(category),
        date_from=date_from,
        date_to=date_to,
        cell_size_m=f"{cell_size_m:g}",
        bandwidth_m=bandwidth_m,
        query=query,
        boundary=boundary,
        boundary_url=f"/api/v1/boundaries/{user.agency_code}.geojson" if boundary else "",
        leaflet_available=web.leaflet_available,
    )


def knox_class(cell: dict[str, Any]) -> str:
    """CSS class of a heat-table cell: ratio bin, and ``sig`` when significant."""
    ratio = cell.get("knox_ratio")
    if ratio is None:
        name = "knox-na"
    else:
        edges = [(0.8, "knox-r0"), (1.0, "knox-r1"), (1.2, "knox-r2"), (1.5, "knox-r3"), (2.0, "knox-r4")]
        name = next((label for edge, label in edges if ratio < edge), "knox-r5" if ratio < 3.0 else "knox-r6")
    return name + (" sig" if cell.get("significant") else "")


@pages.get("/analysis/near-repeat", response_class=HTMLResponse)
def near_repeat_page(
    request: Request,
    category: list[str] = Query(default=[]),
    date_from: str = "",
    date_to: str = "",
    space_bands: str = _SPACE,
    time_bands: str = _TIME,
    permutations: int = 999,
    as_of: str = "",
    history_days: int = 365,
    user: UserInfo = _READER,
    session: Session = db_session,
) -> Response:
    """The Knox table as a heat table, its summary, and the near-repeat alert map."""
    web = get_context(request)
    date_from, date_to = _default_year(request, user, date_from, date_to)
    error = notice = None
    status, knox, alerts, alerts_query = 200, None, None, ""
    try:
        knox_request = _knox_request(category, date_from, date_to, space_bands, time_bands, permutations, 0, user)
        knox = run_knox(web.engine, knox_request, cache=RESULT_CACHE)
        alert_request = _alert_request(knox_request, as_of, history_days)
        try:
            alerts = run_near_repeat_alerts(web.engine, alert_request, cache=RESULT_CACHE).summary()
            params: list[tuple[str, Any]] = [("category", c) for c in knox_request.categories]
            params += [("as_of", alerts["as_of"]), ("history_days", history_days), ("space_bands", space_bands)]
            params += [("time_bands", time_bands), ("permutations", permutations)]
            alerts_query = urlencode(params)
        except NoEventsError as exc:
            notice = f"No alerts: {exc}"
    except ValueError as exc:
        error, notice, status = _page_error(exc)
    boundary = web.boundaries.layer_for(user.agency_code)
    return render(
        request,
        "analysis/nearrepeat.html",
        user=user,
        status_code=status,
        error=error,
        notice=notice,
        knox=knox,
        knox_class=knox_class,
        alerts=alerts,
        alerts_query=alerts_query,
        groups=_category_groups(session),
        selected=set(category) or {"burglary"},
        date_from=date_from,
        date_to=date_to,
        space_bands=space_bands,
        time_bands=time_bands,
        permutations=permutations,
        as_of=as_of,
        history_days=history_days,
        boundary=boundary,
        boundary_url=f"/api/v1/boundaries/{user.agency_code}.geojson" if boundary else "",
        leaflet_available=web.leaflet_available,
    )


@pages.get("/analysis/trends", response_class=HTMLResponse)
def trends_page(
    request: Request,
    category: list[str] = Query(default=[]),
    as_of: str = "",
    by: str = "neighbourhood",
    period: list[str] = Query(default=[]),
    baseline: list[str] = Query(default=[]),
    row: str = "",
    user: UserInfo = _READER,
    session: Session = db_session,
) -> Response:
    """Trend alerts sorted by severity; ``row`` drills down to the incidents of one row (list and map)."""
    web = get_context(request)
    error = notice = None
    status, result, rows, drill, drill_json = 200, None, [], None, ""
    base_query = ""
    try:
        trend = _trend_request(category, as_of, by, period, baseline, user)
        result = run_trends(web.engine, trend, cache=RESULT_CACHE)
        rows = result.to_json()["rows"]
        params: list[tuple[str, Any]] = [("category", c) for c in category]
        params += [("as_of", str(result.as_of)), ("by", by)]
        params += [("period", p) for p in period] + [("baseline", b) for b in baseline]
        base_query = urlencode(params)
        if row:
            try:
                incidents = result.incidents(row)
            except KeyError:
                raise ValueError(f"no trend row {row!r} in this table") from None
            selected_row = next((r for r in rows if r["key"] == row), None) or {"key": row}
            drill = {"row": selected_row, "incidents": incidents.head(500).to_dict("records"), "total": len(incidents)}
            drill_json = json.dumps(result.incidents_geojson(row))
    except ValueError as exc:
        error, notice, status = _page_error(exc)
    return render(
        request,
        "analysis/trends.html",
        user=user,
        status_code=status,
        error=error,
        notice=notice,
        summary=result.summary() if result else None,
        rows=rows,
        drill=drill,
        drill_json=drill_json,
        base_query=base_query,
        row_link=lambda key: f"/analysis/trends?{base_query}&{urlencode({'row': key})}#drill-down",
        groups=_category_groups(session),
        selected=set(category),
        as_of=as_of or (str(result.as_of) if result else ""),
        by=by,
        area_levels=AREA_LEVELS,
        periods=ALL_PERIODS,
        baselines=ALL_BASELINES,
        chosen_periods=set(period) or set(ALL_PERIODS),
        chosen_baselines=set(baseline) or set(ALL_BASELINES),
        boundary_url=f"/api/v1/boundaries/{user.agency_code}.geojson"
        if web.boundaries.layer_for(user.agency_code)
        else "",
        leaflet_available=web.leaflet_available,
    )
