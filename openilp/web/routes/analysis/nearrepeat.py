"""Near repeats: the Knox table (``/api/v1/analysis/knox.json|csv``), the alert zones
(``/api/v1/analysis/near-repeat-alerts.geojson``) and the page ``/analysis/near-repeat``.

Every one builds its request with :func:`knox_request` (and :func:`alert_request`) and calls
:func:`~openilp.services.analysis.nearrepeat.run_knox` or
:func:`~openilp.services.analysis.nearrepeat.run_near_repeat_alerts`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from openilp.constants import DEFAULT_SPACE_BANDS_M, DEFAULT_TIME_BANDS_DAYS
from openilp.core import OpenILP
from openilp.core.jobs import ProgressFn
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import NoEventsError, recent_year
from openilp.services.analysis.incidents import category_groups, parse_iso_date
from openilp.services.analysis.nearrepeat import (
    KnoxRequest,
    KnoxResult,
    NearRepeatAlertRequest,
    NearRepeatAlertResult,
    parse_bands,
    run_knox,
    run_near_repeat_alerts,
)
from openilp.web.context import get_context, get_core
from openilp.web.paging import PAGE, page_of
from openilp.web.params import MAX_ID
from openilp.web.rendering import render
from openilp.web.routes.analysis.common import (
    CATEGORY,
    DATE_FROM,
    DATE_TO,
    GEOJSON,
    READER,
    SEED,
    boundary_url,
    csv_download,
    run_in_background,
)

__all__ = ["ZONE_ORDERS", "alert_request", "api", "knox_class", "knox_request", "pages", "sorted_zones"]

api = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])
pages = APIRouter(include_in_schema=False)

_CORE = Depends(get_core)
_SPACE = ",".join(f"{b:g}" for b in DEFAULT_SPACE_BANDS_M)
_TIME = ",".join(f"{b:g}" for b in DEFAULT_TIME_BANDS_DAYS)
_SPACE_BANDS = Query(default=_SPACE, description="Upper edges of the distance bands, metres, comma-separated.")
_TIME_BANDS = Query(default=_TIME, description="Upper edges of the time bands, days, comma-separated.")
_PERMUTATIONS = Query(default=999, le=MAX_ID, description="Knox permutations (bounded by permutations × incidents).")
_AS_OF = Query(default="", description="Day of the alerts (default: the latest incident's day).")
_HISTORY = Query(default=365, le=MAX_ID, description="Days of history the Knox test of the alerts is fitted on.")


def knox_request(
    category: list[str] = CATEGORY,
    date_from: str = DATE_FROM,
    date_to: str = DATE_TO,
    space_bands: str = _SPACE_BANDS,
    time_bands: str = _TIME_BANDS,
    permutations: int = _PERMUTATIONS,
    seed: int = SEED,
) -> KnoxRequest:
    """The Knox request of the query parameters (default category: burglary)."""
    return KnoxRequest(
        categories=tuple(category) or ("burglary",),
        date_from=parse_iso_date(date_from, "date_from"),
        date_to=parse_iso_date(date_to, "date_to"),
        space_bands_m=parse_bands(space_bands, "space bands"),
        time_bands_days=parse_bands(time_bands, "time bands"),
        permutations=permutations,
        seed=seed,
    )


def alert_request(knox: KnoxRequest, as_of: str, history_days: int) -> NearRepeatAlertRequest:
    """The alerts in force on ``as_of`` with the Knox settings of ``knox``."""
    return NearRepeatAlertRequest(
        categories=knox.categories, as_of=parse_iso_date(as_of, "as_of"), history_days=history_days, knox=knox
    )


def _knox_result(
    knox: KnoxRequest = Depends(knox_request), core: OpenILP = _CORE, user: UserInfo = READER
) -> KnoxResult:
    return run_knox(core, user, knox)


@api.get("/knox.json")
def knox_json(result: KnoxResult = Depends(_knox_result)) -> dict[str, Any]:
    """The Knox table (default category burglary): band labels, cells and summary sentences."""
    return result.to_json()


@api.get("/knox.csv", response_class=PlainTextResponse)
def knox_csv(result: KnoxResult = Depends(_knox_result)) -> PlainTextResponse:
    """The Knox table as CSV, one row per space band × time band."""
    return csv_download(result.to_csv(), "knox.csv")


def _alert_result(
    category: list[str] = CATEGORY,
    as_of: str = _AS_OF,
    history_days: int = _HISTORY,
    space_bands: str = _SPACE_BANDS,
    time_bands: str = _TIME_BANDS,
    permutations: int = _PERMUTATIONS,
    seed: int = SEED,
    core: OpenILP = _CORE,
    user: UserInfo = READER,
) -> NearRepeatAlertResult:
    """The alert zones in force on ``as_of``: one request read the same way for every download."""
    knox = knox_request(category, "", "", space_bands, time_bands, permutations, seed)
    return run_near_repeat_alerts(core, user, alert_request(knox, as_of, history_days))


@api.get("/near-repeat-alerts.geojson", response_class=JSONResponse)
def near_repeat_alerts_geojson(result: NearRepeatAlertResult = Depends(_alert_result)) -> JSONResponse:
    """Alert zones (circles, EPSG:4326) in force on ``as_of``, with the run's facts and Knox summary."""
    return JSONResponse(result.to_geojson(), media_type=GEOJSON)


@api.get("/near-repeat-alerts.csv", response_class=PlainTextResponse)
def near_repeat_alerts_csv(result: NearRepeatAlertResult = Depends(_alert_result)) -> PlainTextResponse:
    """The alert zones in force on ``as_of`` as CSV, one row per zone: complaint number, block address,
    neighbourhood, category, date, radius, risk multiplier, expiry and the incident's coordinates."""
    return csv_download(result.to_csv(), "near-repeat-alerts.csv")


#: How the page may order the alert zones: name -> (caption, key, newest/largest first).
ZONE_ORDERS: dict[str, tuple[str, Callable[[dict[str, Any]], Any], bool]] = {
    "expires": ("soonest to expire first", lambda z: (z["expires_date"], -z["max_multiplier"]), False),
    "risk": ("highest risk first", lambda z: (z["max_multiplier"], z["radius_m"]), True),
    "date": ("newest incident first", lambda z: (z["incident_date"], z["max_multiplier"]), True),
    "complaint": ("by complaint number", lambda z: (str(z["complaint_number"] or ""), z["incident_id"]), False),
}


def sorted_zones(zones: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """The alert zones in one of the :data:`ZONE_ORDERS` (an unknown name: soonest to expire first).

    >>> zones = [{"expires_date": "2019-03-02", "max_multiplier": 2.0, "radius_m": 100, "incident_date": "2019-02-20"},
    ...          {"expires_date": "2019-03-01", "max_multiplier": 1.5, "radius_m": 200, "incident_date": "2019-02-25"}]
    >>> [z["max_multiplier"] for z in sorted_zones(zones, "expires")]
    [1.5, 2.0]
    >>> [z["max_multiplier"] for z in sorted_zones(zones, "risk")]
    [2.0, 1.5]
    """
    _, key, reverse = ZONE_ORDERS.get(order, ZONE_ORDERS["expires"])
    return sorted(zones, key=key, reverse=reverse)


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
    permutations: Annotated[int, Query(le=MAX_ID)] = 999,
    as_of: str = "",
    history_days: Annotated[int, Query(le=MAX_ID)] = 365,
    sort: Annotated[
        str, Query(max_length=20, description="Order of the zones: expires, risk, date or complaint.")
    ] = "expires",
    page: PAGE = 1,
    user: UserInfo = READER,
    core: OpenILP = _CORE,
) -> Response:
    """The Knox table as a heat table, its summary, and the near-repeat alert map with the list of
    alert zones (sorted by ``sort``, paged; the GeoJSON download has them all)."""
    if not (date_from or date_to):
        year = recent_year(core, user)
        date_from, date_to = (str(year[0]), str(year[1])) if year else ("", "")

    def knox_and_alerts(progress: ProgressFn) -> tuple[KnoxResult, NearRepeatAlertResult | None, str | None]:
        knox = knox_request(category, date_from, date_to, space_bands, time_bands, permutations, 0)
        table = run_knox(core, user, knox, progress=progress)
        try:
            alerts = run_near_repeat_alerts(core, user, alert_request(knox, as_of, history_days), progress=progress)
            return table, alerts, None
        except NoEventsError as exc:  # the table stands; the alerts have too little history
            return table, None, f"No alerts: {exc}"

    run = run_in_background(request, core, user, knox_and_alerts, title="Near repeat")
    if isinstance(run, Response):
        return run
    knox, alerts, notice = run.value if run.value is not None else (None, None, run.notice)
    alerts_query = ""
    summary = alerts.summary() if alerts is not None else None
    if alerts is not None and summary is not None:
        params: list[tuple[str, Any]] = [("category", c) for c in alerts.request.categories]
        params += [("as_of", summary["as_of"]), ("history_days", history_days), ("space_bands", space_bands)]
        params += [("time_bands", time_bands), ("permutations", permutations)]
        alerts_query = urlencode(params)
    boundary = core.boundaries.layer_for(user.agency_code)
    sort = sort if sort in ZONE_ORDERS else "expires"
    zones = page_of(sorted_zones(alerts.to_json()["zones"] if alerts is not None else [], sort), page)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "sort")]

    def zone_link(number: int = 1, order: str = sort) -> str:
        return f"/analysis/near-repeat?{urlencode([*kept, ('sort', order), ('page', number)])}#alert-zones"

    return render(
        request,
        "analysis/nearrepeat.html",
        user=user,
        status_code=run.status_code,
        error=run.error,
        notice=notice,
        knox=knox,
        knox_class=knox_class,
        alerts=summary,
        alert_zones=zones.rows,
        zones_page=zones,
        zone_sort=sort,
        zone_orders={name: caption for name, (caption, _, _) in ZONE_ORDERS.items()},
        zone_link=zone_link,
        alerts_query=alerts_query,
        groups=category_groups(core, user),
        selected=set(category) or {"burglary"},
        date_from=date_from,
        date_to=date_to,
        space_bands=space_bands,
        time_bands=time_bands,
        permutations=permutations,
        as_of=as_of,
        history_days=history_days,
        boundary=boundary,
        boundary_url=boundary_url(user, boundary is not None),
        leaflet_available=get_context(request).leaflet_available,
    )
