"""This week's forecast in the web app, with its measured accuracy beside it.

``GET /api/v1/forecast/weekly.geojson`` returns the forecast cells (EPSG:4326, ``cell_id``,
``score``, ``rank``) with an ``accuracy`` member; ``GET /forecast`` is the page that draws it. Both
call :func:`openilp.services.analysis.forecasting.weekly_forecast` through the shared result cache.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from openilp.analysis.forecast import FORECASTERS
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import cached, latest_incident_date
from openilp.services.analysis.forecasting import CATEGORY_SETS, weekly_forecast
from openilp.services.analysis.incidents import parse_iso_date
from openilp.web.auth import require
from openilp.web.context import get_context
from openilp.web.rendering import render

__all__ = ["api", "pages"]

api = APIRouter(prefix="/api/v1/forecast", tags=["forecast"])
pages = APIRouter(include_in_schema=False)
PERMISSION = "analysis:read"


def _compute(request: Request, user: UserInfo, category: str, method: str, as_of: str) -> dict[str, Any]:
    web = get_context(request)
    if method not in FORECASTERS:
        raise ValueError(f"unknown forecasting method {method!r}; choose from {', '.join(FORECASTERS)}")
    if as_of:
        day = parse_iso_date(as_of, "as_of")
        assert day is not None
    else:
        latest = latest_incident_date(web.engine, user.agency_code)
        if latest is None:
            raise ValueError("the store holds no located incident of your agency yet")
        day = latest + dt.timedelta(days=1)
    layer = web.boundaries.layer_for(user.agency_code)
    study = str(layer.path) if layer else None
    key = (category, method, str(day), study)
    return cached(
        web.core,
        "forecast",
        user.agency_code,
        key,
        lambda: weekly_forecast(
            web.engine, agency_code=user.agency_code, category=category, as_of=day, method=method, study_area_path=study
        ),
    )


@api.get("/weekly.geojson", response_class=JSONResponse)
def weekly_geojson(
    request: Request,
    category: str = "burglary",
    method: str = "learned",
    as_of: str = "",
    user: UserInfo = Depends(require(PERMISSION)),
) -> JSONResponse:
    """The forecast for the 7 days from ``as_of`` (default: the day after the latest incident)."""
    try:
        collection = _compute(request, user, category, method, as_of)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return JSONResponse(collection, media_type="application/geo+json")


@pages.get("/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    category: str = "burglary",
    method: str = "learned",
    as_of: str = "",
    user: UserInfo = Depends(require(PERMISSION)),
) -> Response:
    """Forecast map with the method's measured accuracy over the preceding weeks."""
    error = None
    facts: dict[str, Any] | None = None
    accuracy: list[dict[str, Any]] = []
    try:
        collection = _compute(request, user, category, method, as_of)
        facts = collection["forecast"]
        accuracy = collection["accuracy"]["metrics"]
        weeks = collection["accuracy"]
    except ValueError as exc:  # shown on the page (e.g. too little data for a forecast)
        error, weeks = str(exc), None
    table: dict[str, dict[str, Any]] = {}
    for row in accuracy:
        table.setdefault(row["method"], {})[row["metric"]] = row
    web = get_context(request)
    return render(
        request,
        "forecast.html",
        user=user,
        error=error,
        facts=facts,
        weeks=weeks,
        table=table,
        coverages=["0.01", "0.05", "0.1", "0.2"],
        categories=list(CATEGORY_SETS),
        methods=list(FORECASTERS),
        category=category,
        method=method,
        as_of=as_of,
        query=urlencode({"category": category, "method": method, "as_of": as_of}),
        leaflet_available=web.leaflet_available,
    )
