"""Hot spots: ``/api/v1/analysis/hotspots.geojson|csv`` and the page ``/analysis/hotspots``.

Both build a :class:`~openilp.services.analysis.hotspots.HotspotRequest` with :func:`hotspot_request`
and call :func:`~openilp.services.analysis.hotspots.run_hotspots`. The study area is a word or
GeoJSON, never a file (the service refuses anything else with 400).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from openilp.core import OpenILP
from openilp.core.jobs import ProgressFn
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import recent_year
from openilp.services.analysis.hotspots import INFERENCES, HotspotRequest, HotspotResult, run_hotspots
from openilp.services.analysis.incidents import category_groups, parse_iso_date
from openilp.web.context import get_context, get_core
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

__all__ = ["api", "hotspot_request", "pages"]

api = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])
pages = APIRouter(include_in_schema=False)

_CORE = Depends(get_core)


def hotspot_request(
    category: list[str] = CATEGORY,
    date_from: str = DATE_FROM,
    date_to: str = DATE_TO,
    cell_size_m: float = Query(default=150.0, description="Side of a grid cell, metres."),
    bandwidth_m: float | None = Query(default=None, description="KDE bandwidth, metres (default: Silverman's rule)."),
    kernel: str = Query(default="quartic", description="quartic or gaussian."),
    neighbourhood_m: float | None = Query(
        default=None,
        description="Gi* neighbourhood, a distance band in metres; none = chosen from the data (Moran's I scan).",
    ),
    inference: str = Query(default="", description="exact (default), permutation or normal."),
    permutations: int | None = Query(
        default=None,
        le=MAX_ID,
        description="Gi* permutations (permutation inference; none = enough for FDR on this grid).",
    ),
    alpha: float = Query(default=0.05, description="False discovery rate of the hot/cold flags."),
    seed: int = SEED,
    study_area: str = Query(default="auto", description="auto, boundary, hull or GeoJSON (never a file name)."),
) -> HotspotRequest:
    """The request of the query parameters (the same on the API and the page)."""
    return HotspotRequest(
        categories=tuple(category),
        date_from=parse_iso_date(date_from, "date_from"),
        date_to=parse_iso_date(date_to, "date_to"),
        cell_size_m=cell_size_m,
        bandwidth_m=bandwidth_m,
        kernel=kernel,
        neighbourhood_m=neighbourhood_m,
        inference=inference,
        permutations=permutations,
        alpha=alpha,
        seed=seed,
        study_area=study_area,
    )


def _result(
    hot: HotspotRequest = Depends(hotspot_request), core: OpenILP = _CORE, user: UserInfo = READER
) -> HotspotResult:
    return run_hotspots(core, user, hot)


@api.get("/hotspots.geojson", response_class=JSONResponse)
def hotspots_geojson(result: HotspotResult = Depends(_result)) -> JSONResponse:
    """Grid cells (EPSG:4326) with count, KDE (events/km²), Gi* z, p, q and class; run facts in ``analysis``."""
    return JSONResponse(result.to_geojson(), media_type=GEOJSON)


@api.get("/hotspots.csv", response_class=PlainTextResponse)
def hotspots_csv(result: HotspotResult = Depends(_result)) -> PlainTextResponse:
    """The same cells as CSV, with each cell centre's ``lon``, ``lat``."""
    return csv_download(result.to_csv(), "hotspots.csv")


def _query(hot: HotspotRequest) -> str:
    """The API query of ``hot`` (what the page's map fetches: the same request, so the same cached result)."""
    params: list[tuple[str, Any]] = [("category", c) for c in hot.categories]
    params += [
        ("date_from", hot.date_from or ""),
        ("date_to", hot.date_to or ""),
        ("cell_size_m", f"{hot.cell_size_m:g}"),
    ]
    if hot.bandwidth_m is not None:
        params.append(("bandwidth_m", f"{hot.bandwidth_m:g}"))
    if hot.neighbourhood_m is not None:
        params.append(("neighbourhood_m", f"{hot.neighbourhood_m:g}"))
    params.append(("inference", hot.inference))
    if hot.permutations is not None:
        params.append(("permutations", hot.permutations))
    return urlencode(params)


def _number(text: str, name: str) -> float | None:
    """A form field as a number (None when empty)."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidRequest(f"{name} must be a number, got {text!r}") from None


@pages.get("/analysis/hotspots", response_class=HTMLResponse)
def hotspots_page(
    request: Request,
    category: list[str] = Query(default=[]),
    date_from: str = "",
    date_to: str = "",
    cell_size_m: float = 150.0,
    bandwidth_m: str = "",
    neighbourhood_m: str = "",
    inference: str = "exact",
    permutations: str = "",
    user: UserInfo = READER,
    core: OpenILP = _CORE,
) -> Response:
    """Hot-spot map: KDE surface and Gi* hot/cold cells over the boundary layer, with the inference to use."""
    if not (date_from or date_to):
        year = recent_year(core, user)
        date_from, date_to = (str(year[0]), str(year[1])) if year else ("", "")

    def build_and_run(progress: ProgressFn) -> HotspotResult:
        hot = hotspot_request(
            category,
            date_from,
            date_to,
            cell_size_m,
            _number(bandwidth_m, "bandwidth_m"),
            "quartic",
            _number(neighbourhood_m, "neighbourhood_m"),
            inference,
            None if not permutations.strip() else int(_number(permutations, "permutations") or 0),
            0.05,
            0,
            "auto",
        )
        return run_hotspots(core, user, hot, progress=progress)

    run = run_in_background(request, core, user, build_and_run, title="Hot spots")
    if isinstance(run, Response):
        return run
    boundary = core.boundaries.layer_for(user.agency_code)
    summary = run.value.summary() if run.value is not None else None
    return render(
        request,
        "analysis/hotspots.html",
        user=user,
        status_code=run.status_code,
        error=run.error,
        notice=run.notice,
        summary=summary,
        summary_json=json.dumps(summary).replace("</", "<\\/") if summary else "",
        groups=category_groups(core, user),
        selected=set(category),
        date_from=date_from,
        date_to=date_to,
        cell_size_m=f"{cell_size_m:g}",
        bandwidth_m=bandwidth_m,
        neighbourhood_m=neighbourhood_m,
        inference=inference,
        inferences=INFERENCES,
        permutations=permutations,
        query=_query(run.value.request) if run.value is not None else "",
        boundary=boundary,
        boundary_url=boundary_url(user, boundary is not None),
        leaflet_available=get_context(request).leaflet_available,
    )
