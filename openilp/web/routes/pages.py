"""HTML pages for signed-in users: home (``/``) and the incident map (``/map``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.analysis.incident_map import MapPageRequest, map_page
from openilp.services.analysis.incidents import CRIME_GROUPS
from openilp.services.home import home_dashboard
from openilp.web.auth import current_user, require
from openilp.web.context import get_context, get_core
from openilp.web.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    user: UserInfo = Depends(current_user),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Signed-in home: what your agency holds and what waits for you (problems, tips, reviews, notices)."""
    board = home_dashboard(core, user)
    return render(request, "home.html", user=user, board=board.as_dict())


@router.get("/map", response_class=HTMLResponse)
def incident_map(
    request: Request,
    category: list[str] = Query(default=[]),
    date_from: str = "",
    date_to: str = "",
    user: UserInfo = Depends(require("incidents:read")),
    core: OpenILP = Depends(get_core),
) -> Response:
    """The incident map; the browser fetches points from ``/api/v1/incidents.geojson``."""
    web = get_context(request)
    page = map_page(core, user, MapPageRequest(tuple(category), date_from, date_to))
    error = page.error
    boundary = web.boundaries.layer_for(user.agency_code)
    return render(
        request,
        "map.html",
        user=user,
        status_code=400 if error else 200,
        error=error,
        groups=[(g, list(opts)) for g, opts in page.groups],
        crime_groups=CRIME_GROUPS,
        selected=set(category),
        date_from=date_from,
        date_to=date_to,
        query=request.url.query,
        boundary=boundary,
        boundary_url=f"/api/v1/boundaries/{user.agency_code}.geojson" if boundary else "",
        leaflet_available=web.leaflet_available,
        max_map_points=web.settings.max_map_points,
    )
