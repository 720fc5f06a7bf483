"""Trend alerts: ``/api/v1/analysis/trends.json|csv``, ``/api/v1/analysis/compstat.json``, the page
``/analysis/trends`` (CompStat layout or the alert list, with drill-down) and its printable version.

Both build a :class:`~openilp.services.analysis.trends.TrendRequest` with :func:`trend_request` and
call :func:`~openilp.services.analysis.trends.run_trends`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from openilp.constants import AREA_LEVELS
from openilp.core import OpenILP
from openilp.core.jobs import ProgressFn
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import incident_names
from openilp.services.analysis.incidents import category_groups, parse_iso_date
from openilp.services.analysis.trends import TrendRequest, TrendResult, run_trends
from openilp.web.context import get_context, get_core
from openilp.web.paging import PAGE, page_of
from openilp.web.rendering import render
from openilp.web.routes.analysis.common import (
    CATEGORY,
    READER,
    boundary_url,
    csv_download,
    run_for_page,
    run_in_background,
)

__all__ = ["api", "pages", "trend_request"]

api = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])
pages = APIRouter(include_in_schema=False)

_CORE = Depends(get_core)
ALL_PERIODS = ("week", "28d", "ytd")
ALL_BASELINES = ("previous", "last_year", "rolling", "seasonal")
_ALL = Query(default=False, alias="all", description="Include rows that are neither alert nor watch.")
LAYOUTS = ("compstat", "alerts")


def sparkline(values: list[int], width: int = 96, height: int = 20) -> str:
    """An inline SVG polyline of weekly counts (oldest first), scaled to the row's own maximum.

    >>> sparkline([0, 2, 1]).split("<polyline ")[1]
    'points="1.0,19.0 48.0,1.0 95.0,10.0"/></svg>'
    """
    top = max(values) if values and max(values) > 0 else 1
    step = (width - 2) / max(len(values) - 1, 1)
    points = " ".join(f"{1 + i * step:.1f},{height - 1 - (height - 2) * v / top:.1f}" for i, v in enumerate(values))
    label = "weekly counts " + ", ".join(str(v) for v in values)
    return (
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}"><polyline points="{points}"/></svg>'
    )


def trend_request(
    category: list[str] = CATEGORY,
    as_of: str = Query(default="", description="Last day of the periods (default: the latest incident's day)."),
    by: str = Query(default="neighbourhood", description="Area level: neighbourhood, district or beat."),
    period: list[str] = Query(default=[], description="week, 28d or ytd; repeat for several; none = all."),
    baseline: list[str] = Query(
        default=[], description="previous, last_year, rolling or seasonal; repeat; none = all."
    ),
) -> TrendRequest:
    """The request of the query parameters (the same on the API and the page)."""
    return TrendRequest(
        categories=tuple(category),
        as_of=parse_iso_date(as_of, "as_of"),
        area_level=by,
        periods=tuple(period) or ALL_PERIODS,
        baselines=tuple(baseline) or ALL_BASELINES,
    )


def _result(
    trend: TrendRequest = Depends(trend_request), core: OpenILP = _CORE, user: UserInfo = READER
) -> TrendResult:
    return run_trends(core, user, trend)


@api.get("/trends.json")
def trends_json(result: TrendResult = Depends(_result), all_rows: bool = _ALL) -> dict[str, Any]:
    """Trend rows (alerts and watches unless ``all``), each with the ids of its current-period incidents."""
    return result.to_json(flagged_only=not all_rows)


@api.get("/trends.csv", response_class=PlainTextResponse)
def trends_csv(result: TrendResult = Depends(_result), all_rows: bool = _ALL) -> PlainTextResponse:
    """Trend rows as CSV, with ``incident_count`` per row."""
    return csv_download(result.to_csv(flagged_only=not all_rows), "trends.csv")


@api.get("/compstat.json")
def compstat_json(result: TrendResult = Depends(_result)) -> dict[str, Any]:
    """The CompStat layout: one row per area × category with week, 28 days and year to date against last year."""
    return {"analysis": result.summary(), "rows": result.compstat()}


@pages.get("/analysis/trends/print", response_class=HTMLResponse)
def trends_print(
    request: Request,
    category: list[str] = Query(default=[]),
    as_of: str = "",
    by: str = "neighbourhood",
    user: UserInfo = READER,
    core: OpenILP = _CORE,
) -> Response:
    """The whole CompStat table on one printable page (no navigation, no map)."""
    run = run_for_page(lambda: run_trends(core, user, trend_request(category, as_of, by, [], [])))
    result = run.value
    return render(
        request,
        "analysis/trends_print.html",
        user=user,
        status_code=run.status_code,
        error=run.error,
        summary=result.summary() if result else None,
        compstat=result.compstat() if result else [],
        periods=ALL_PERIODS,
        sparkline=sparkline,
        by=by,
        categories=category,
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
    layout: str = "compstat",
    page: PAGE = 1,
    drill_page: PAGE = 1,
    user: UserInfo = READER,
    core: OpenILP = _CORE,
) -> Response:
    """The CompStat table (``layout=compstat``, paged) or the alert list (``layout=alerts``), sorted by
    severity; ``row`` drills down to the incidents of one row (list and map)."""
    if layout not in LAYOUTS:
        layout = "compstat"

    def table_and_drill(progress: ProgressFn) -> tuple[TrendResult, dict[str, Any] | None, str]:
        result = run_trends(core, user, trend_request(category, as_of, by, period, baseline), progress=progress)
        if not row:
            return result, None, ""
        try:
            incidents = result.incidents(row)
        except KeyError:
            raise InvalidRequest(f"no trend row {row!r} in this table") from None
        rows = result.to_json(flagged_only=False)["rows"]
        selected_row = next((r for r in rows if r["key"] == row), None) or {"key": row}
        shown = page_of(incidents.to_dict("records"), drill_page)
        labels = incident_names(core, user, [int(i["incident_id"]) for i in shown.rows])
        for incident in shown.rows:
            incident.update(labels.get(int(incident["incident_id"]), {}))
        drill = {"row": selected_row, "incidents": shown.rows, "page": shown, "total": len(incidents)}
        return result, drill, json.dumps(result.incidents_geojson(row))

    run = run_in_background(request, core, user, table_and_drill, title="Trend alerts")
    if isinstance(run, Response):
        return run
    result, drill, drill_json = run.value if run.value is not None else (None, None, "")
    base_query = ""
    if result is not None:
        params: list[tuple[str, Any]] = [("category", c) for c in category]
        params += [("as_of", str(result.as_of)), ("by", by)]
        params += [("period", p) for p in period] + [("baseline", b) for b in baseline]
        base_query = urlencode(params)
    compstat = page_of(result.compstat() if result is not None and layout == "compstat" else [], page)
    return render(
        request,
        "analysis/trends.html",
        user=user,
        status_code=run.status_code,
        error=run.error,
        notice=run.notice,
        summary=result.summary() if result else None,
        rows=result.to_json()["rows"] if result else [],
        drill=drill,
        drill_json=drill_json,
        base_query=base_query,
        row_link=lambda key: f"/analysis/trends?{base_query}&{urlencode({'row': key, 'layout': layout})}#drill-down",
        drill_link=lambda n: (
            f"/analysis/trends?{base_query}&{urlencode({'row': row, 'layout': layout, 'drill_page': n})}#drill-down"
        ),
        layout=layout,
        compstat=compstat.rows,
        compstat_page=compstat,
        page_link=lambda n: f"/analysis/trends?{base_query}&{urlencode({'layout': layout, 'page': n})}",
        sparkline=sparkline,
        compstat_periods=[p for p in ALL_PERIODS if not period or p in period],
        groups=category_groups(core, user),
        selected=set(category),
        as_of=as_of or (str(result.as_of) if result else ""),
        by=by,
        area_levels=AREA_LEVELS,
        periods=ALL_PERIODS,
        baselines=ALL_BASELINES,
        chosen_periods=set(period) or set(ALL_PERIODS),
        chosen_baselines=set(baseline) or set(ALL_BASELINES),
        boundary_url=boundary_url(user, core.boundaries.layer_for(user.agency_code) is not None),
        leaflet_available=get_context(request).leaflet_available,
    )
