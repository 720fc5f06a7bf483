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
from openilp.constants import CATEGORY_SETS, DEFAULT_FORECAST_METHOD, FORECAST_METHODS
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
from openilp.web.routes.analysis.common import GEOJSON, READER, boundary_url, run_in_background

__all__ = ["api", "pages", "weekly_request"]

api = APIRouter(prefix="/api/v1/forecast", tags=["forecast"])
pages = APIRouter(include_in_schema=False)

_CORE = Depends(get_core)


def weekly_request(
    category: list[str] = Query(default=["burglary"], description="Category codes or crime groups."),
    method: str = Query(default=DEFAULT_FORECAST_METHOD, description=f"One of {', '.join(FORECAST_METHODS)}."),
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


#: Line colours of the accuracy chart, by method (the rest grey).
_METHOD_COLOURS = {
    "learned": "#1f4e79",
    "toprank": "#7b3294",
    "blend": "#008837",
    "naive": "#a63603",
    "sepp": "#b26a00",
}


def accuracy_chart(by_week: list[dict[str, Any]], metric: str = "pai@0.05", width: int = 320, height: int = 150) -> str:
    """An inline SVG line chart of ``metric`` per week for each method (drawn on the server: no script).

    >>> svg = accuracy_chart([{"week_from": "2019-01-07", "method": "naive", "pai@0.05": 3.0},
    ...                       {"week_from": "2019-01-14", "method": "naive", "pai@0.05": 5.0}])
    >>> svg.count("<polyline"), 'aria-label="PAI at 5 % by week' in svg
    (1, True)
    """
    weeks = sorted({row["week_from"] for row in by_week})
    values = [row[metric] for row in by_week if row.get(metric) is not None]
    if len(weeks) < 2 or not values:
        return ""
    left, right, top, bottom = 34, 8, 8, 22
    ceiling = max(1.0, max(values)) * 1.1
    x_of = {week: left + (width - left - right) * i / (len(weeks) - 1) for i, week in enumerate(weeks)}

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - value / ceiling)

    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="PAI at 5 % by week, {weeks[0]} to {weeks[-1]}">',
        f'<line x1="{left}" y1="{y(1.0):.1f}" x2="{width - right}" y2="{y(1.0):.1f}" '
        'stroke="#999" stroke-dasharray="3 3"/>',
        f'<text x="{left - 4}" y="{y(1.0) + 3:.1f}" text-anchor="end" font-size="9">1</text>',
        f'<text x="{left - 4}" y="{y(ceiling / 1.1) + 3:.1f}" text-anchor="end" font-size="9">'
        f"{ceiling / 1.1:.1f}</text>",
        f'<text x="{left}" y="{height - 6}" font-size="9">{weeks[0]}</text>',
        f'<text x="{width - right}" y="{height - 6}" font-size="9" text-anchor="end">{weeks[-1]}</text>',
    ]
    methods = list(dict.fromkeys(row["method"] for row in by_week))
    for index, method in enumerate(methods):
        rows = sorted(
            (r for r in by_week if r["method"] == method and r.get(metric) is not None), key=lambda r: r["week_from"]
        )
        colour = _METHOD_COLOURS.get(method, "#666")
        points = " ".join(f"{x_of[r['week_from']]:.1f},{y(r[metric]):.1f}" for r in rows)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{points}">'
            f"<title>{method}</title></polyline>"
        )
        parts.append(f'<text x="{left + 4 + 70 * index}" y="{top + 8}" font-size="10" fill="{colour}">{method}</text>')
    parts.append("</svg>")
    return "".join(parts)


@pages.get("/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    category: str = "burglary",
    method: str = DEFAULT_FORECAST_METHOD,
    as_of: str = "",
    user: UserInfo = READER,
    core: OpenILP = _CORE,
) -> Response:
    """Forecast map with the method's measured accuracy over the preceding weeks."""
    run = run_in_background(
        request,
        core,
        user,
        lambda _: weekly_forecast(core, user, weekly_request([category], method, as_of)),
        title="Forecast",
    )
    if isinstance(run, Response):
        return run
    result: WeeklyForecastResult | None = run.value
    table: dict[str, dict[str, Any]] = {}
    for row in result.accuracy["metrics"] if result else []:
        table.setdefault(row["method"], {})[row["metric"]] = row
    facts = result.forecast.as_dict() if result else None
    boundary = core.boundaries.layer_for(user.agency_code)
    return render(
        request,
        "forecast.html",
        user=user,
        error=run.error or run.notice,
        facts=facts,
        facts_json=json.dumps(facts).replace("</", "<\\/") if facts else "",
        weeks=result.accuracy if result else None,
        table=table,
        coverages=["0.01", "0.02", "0.05", "0.1", "0.2"],
        categories=list(dict.fromkeys([*CATEGORY_SETS, category])),
        methods=list(FORECASTERS),
        category=category,
        method=method,
        as_of=as_of,
        query=urlencode({"category": category, "method": method, "as_of": as_of}),
        chart=accuracy_chart(result.accuracy.get("by_week", [])) if result else "",
        boundary=boundary,
        boundary_url=boundary_url(user, boundary is not None),
        leaflet_available=get_context(request).leaflet_available,
    )
