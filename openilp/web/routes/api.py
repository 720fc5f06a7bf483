"""The JSON API under ``/api/v1``. Every endpoint needs a signed-in user (401 otherwise)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.security.audit import MAX_PURPOSE_LENGTH
from openilp.services.analysis.incident_cells import MAX_CELL_M, MIN_CELL_M
from openilp.services.analysis.incident_map import IncidentMap, IncidentMapRequest, incident_map, list_categories
from openilp.web.auth import current_user, require
from openilp.web.context import get_context, get_core
from openilp.web.params import MAX_ID

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["api"])

GEOJSON = "application/geo+json"


@router.get("/me")
def me(user: UserInfo = Depends(current_user)) -> dict[str, Any]:
    """The signed-in user: name, role, agency and permissions (never the password hash)."""
    return user.as_dict()


@router.get("/categories")
def categories(
    user: UserInfo = Depends(require("categories:read")), core: OpenILP = Depends(get_core)
) -> dict[str, Any]:
    """Every offence category: code, label, crime group and UCR part."""
    return list_categories(core, user).as_dict()


@router.get("/incidents.geojson", response_class=JSONResponse)
def incidents_geojson(
    request: Request,
    category: list[str] = Query(default=[], description="Category code; repeat for several."),
    date_from: str = Query(default="", description="First day, YYYY-MM-DD, agency local time."),
    date_to: str = Query(default="", description="Last day (inclusive), YYYY-MM-DD."),
    limit: int | None = Query(default=None, ge=1, le=MAX_ID, description="At most this many (≤ max_map_points)."),
    mode: Literal["points", "auto"] = Query(
        default="points",
        description="'points', or 'auto': counts per cell (as /api/v1/incidents/cells.geojson) "
        "when more match than the limit.",
    ),
    purpose: str = Query(
        default="",
        max_length=MAX_PURPOSE_LENGTH + 100,
        description="Optional purpose or case number, recorded in the audit log.",
    ),
    user: UserInfo = Depends(require("incidents:read")),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Located incidents of your agency as GeoJSON, newest first, with counts and a truncated flag.

    Every request is audited as a ``search`` of ``incidents`` (filters and counts); ``purpose`` is
    optional here because these are reported-crime records, not criminal intelligence.
    """
    found = incident_map(
        core, user, IncidentMapRequest.from_text(category, date_from, date_to, limit, purpose, mode=mode)
    )
    return _geojson(request, found)


@router.get("/incidents/cells.geojson", response_class=JSONResponse)
def incident_cells_geojson(
    request: Request,
    category: list[str] = Query(default=[], description="Category code; repeat for several."),
    date_from: str = Query(default="", description="First day, YYYY-MM-DD, agency local time."),
    date_to: str = Query(default="", description="Last day (inclusive), YYYY-MM-DD."),
    cell_m: int | None = Query(
        default=None, ge=MIN_CELL_M, le=MAX_CELL_M, description="Cell side in metres (default: chosen from the extent)."
    ),
    purpose: str = Query(
        default="",
        max_length=MAX_PURPOSE_LENGTH + 100,
        description="Optional purpose or case number, recorded in the audit log.",
    ),
    user: UserInfo = Depends(require("incidents:read")),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Located incidents of your agency counted per square cell, computed by the database: GeoJSON
    polygons with a ``count`` each, for maps of more incidents than a browser can draw. Audited as
    a ``search`` of ``incidents``, as the point map is."""
    asked = IncidentMapRequest.from_text(category, date_from, date_to, None, purpose, mode="cells", cell_m=cell_m)
    return _geojson(request, incident_map(core, user, asked))


def _geojson(request: Request, found: IncidentMap) -> Response:
    """The map's GeoJSON; kept gzipped, so a client that accepts gzip gets it without compressing again."""
    gzipped = "gzip" in request.headers.get("accept-encoding", "").lower() and bool(found.body(gzipped=True))
    packed = found.body(gzipped=gzipped)
    headers = {"Vary": "Accept-Encoding"}
    if gzipped and packed is not found.body():
        headers["Content-Encoding"] = "gzip"
    return Response(content=packed, media_type=GEOJSON, headers=headers)


@router.get("/boundaries/{agency_code}.geojson", response_class=FileResponse)
def boundaries(
    request: Request, agency_code: str, user: UserInfo = Depends(require("boundaries:read"))
) -> FileResponse:
    """The boundary layer (GeoJSON, WGS84) of your own agency; 404 for any other."""
    layer = get_context(request).boundaries.layer_for(agency_code)
    if agency_code != user.agency_code or layer is None:
        raise HTTPException(status_code=404, detail=f"No boundary layer for agency {agency_code!r}.")
    return FileResponse(layer.path, media_type=GEOJSON)


@router.get("/streets/{agency_code}.geojson", response_class=FileResponse)
def streets(request: Request, agency_code: str, user: UserInfo = Depends(require("boundaries:read"))) -> FileResponse:
    """The street layer (GeoJSON LineStrings, WGS84) of your own agency, drawn over the maps; 404 for any other."""
    layer = get_context(request).boundaries.streets_for(agency_code)
    if agency_code != user.agency_code or layer is None:
        raise HTTPException(status_code=404, detail=f"No street layer for agency {agency_code!r}.")
    return FileResponse(layer.path, media_type=GEOJSON)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: UserInfo = Depends(current_user)) -> dict[str, Any]:
    """The OpenAPI description of this API (signed-in users only)."""
    schema: dict[str, Any] = request.app.openapi()
    return schema
