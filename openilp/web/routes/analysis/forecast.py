"""This week's forecast in the web app, with its measured accuracy beside it.

``GET /api/v1/forecast/weekly.geojson`` returns the forecast cells (EPSG:4326, ``cell_id``,
``score``, ``rank``) with the forecast's facts in ``forecast`` and an ``accuracy`` member;
``GET /forecast`` is the page that draws it. Both build the same
:class:`~openilp.services.analysis.forecasting.WeeklyForecastRequest` with :func:`weekly_request`
and call :func:`~openilp.services.analysis.forecasting.weekly_forecast` (one store read; the page and
the map's API call share the cached result). ``category`` means what it means everywhere: category
codes or crime groups, comma-separated or repeated.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from openilp.analysis.forecast import FORECASTERS
from openilp.constants import CATEGORY_SETS
from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.analysis.forecasting import (
    ForecastRequest,
    WeeklyForecastRequest,
    WeeklyForecastResult,
    split_categories,
    weekly_forecast,
)
from openilp.services.analysis.incidents import parse_iso_date
from openilp.web.context import get_context, get_core
from openilp.web.rendering import render
from openilp.web.routes.analysis.common import GEOJSON, READER, run_for_page

__all__ = ["api", "pages", "weekly_request"]

api = APIRouter(prefix="/api/v1/forecast", tags=["forecast"])
pages = APIRouter(include_in_schema=False)

_CORE = Depends(get_core)


def weekly_request(
    category: list[str] = Query(default=["burglary"], description="Category codes or crime groups."),
    method: str = Query(default="learned", description="naive, kde, prospective, sepp or learned."),
    as_of: str = Query(default="", description="Forecast date (default: the day after the latest incident)."),
) -> WeeklyForecastRequest:
    """The request of the query parameters (the same on the API and the page)."""
    categories = tuple(c for text in category for c in split_categories(text))
    forecast = ForecastRequest(categories=categories, as_of=parse_iso_date(as_of, "as_of"), method=method)
    return WeeklyForecastRequest(forecast)


@api.get("/weekly.geojson", response_class=JSONResponse)
def weekly_geojson(
    weekly: WeeklyForecastRequest = Depends(weekly_request), core: OpenILP = _CORE, user: UserInfo = READER
) -> JSONResponse:
    """The forecast for the 7 days from ``as_of`` (default: the day after the latest incident)."""
    return JSONResponse(weekly_forecast(core, user, weekly).as_dict(), media_type=GEOJSON)


@pages.get("/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    category: str = "burglary",
    method: str = "learned",
    as_of: str = "",
    user: UserInfo = READER,
    core: OpenILP = _CORE,
) -> Response:
    """Forecast map with the method's measured accuracy over the preceding weeks."""
    run = run_for_page(lambda: weekly_forecast(core, user, weekly_request([category], method, as_of)))
    result: WeeklyForecastResult | None = run.value
    table: dict[str, dict[str, Any]] = {}
    for row in result.accuracy["metrics"] if result else []:
        table.setdefault(row["method"], {})[row["metric"]] = row
    facts = result.forecast.as_dict() if result else None
    return render(
        request,
        "forecast.html",
        user=user,
        error=run.error or run.notice,
        facts=facts,
        facts_json=json.dumps(facts).replace("</", "<\\/") if facts else "",
        weeks=result.accuracy if result else None,
        table=table,
        coverages=["0.01", "0.05", "0.1", "0.2"],
        categories=list(dict.fromkeys([*CATEGORY_SETS, category])),
        methods=list(FORECASTERS),
        category=category,
        method=method,
        as_of=as_of,
        query=urlencode({"category": category, "method": method, "as_of": as_of}),
        leaflet_available=get_context(request).leaflet_available,
    )
