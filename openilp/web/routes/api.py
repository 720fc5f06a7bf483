"""The JSON API under ``/api/v1``. Every endpoint needs a signed-in user (401 otherwise)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from openilp.security.actors import UserInfo
from openilp.security.audit import MAX_PURPOSE_LENGTH, record_event, require_purpose
from openilp.services.analysis.incident_cells import MAX_CELL_M, MIN_CELL_M, count_located, map_cells
from openilp.services.analysis.incidents import category_options, map_collection, parse_iso_date
from openilp.web.auth import current_user, require
from openilp.web.context import db_session, get_context, get_core
from openilp.web.params import MAX_ID

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["api"])

GEOJSON = "application/geo+json"


@router.get("/me")
def me(user: UserInfo = Depends(current_user)) -> dict[str, Any]:
    """The signed-in user: name, role, agency and permissions (never the password hash)."""
    return user.as_dict()


@router.get("/categories")
def categories(user: UserInfo = Depends(require("categories:read")), session: Session = db_session) -> dict[str, Any]:
    """Every offence category: code, label, crime group and UCR part."""
    return {"categories": [option.as_dict() for option in category_options(session)]}


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
    session: Session = db_session,
) -> Response:
    """Located incidents of your agency as GeoJSON, newest first, with counts and a truncated flag.

    Every request is audited as a ``search`` of ``incidents`` (filters and counts); ``purpose`` is
    optional here because these are reported-crime records, not criminal intelligence.
    """
    max_points = get_context(request).settings.max_map_points
    try:
        stated = require_purpose(purpose) if purpose.strip() else None
        day_from, day_to = parse_iso_date(date_from, "date_from"), parse_iso_date(date_to, "date_to")
        cap = min(limit or max_points, max_points)
        if mode == "auto" and count_located(session, user.agency_id, category, day_from, day_to) > cap:
            collection = map_cells(
                get_core(request), session, user.agency_id, user.agency_code, category, day_from, day_to
            )
        else:
            collection = map_collection(
                get_core(request), session, user.agency_id, user.agency_code, category, day_from, day_to, cap
            )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    record_event(
        session,
        action="search",
        object_type="incidents",
        actor=user,
        purpose=stated,
        details={"filters": collection.filters, "counts": collection.counts},
    )
    return Response(content=collection.body, media_type=GEOJSON)


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
    session: Session = db_session,
) -> Response:
    """Located incidents of your agency counted per square cell, computed by the database: GeoJSON
    polygons with a ``count`` each, for maps of more incidents than a browser can draw. Audited as
    a ``search`` of ``incidents``, as the point map is."""
    try:
        stated = require_purpose(purpose) if purpose.strip() else None
        collection = map_cells(
            get_core(request),
            session,
            user.agency_id,
            user.agency_code,
            category,
            parse_iso_date(date_from, "date_from"),
            parse_iso_date(date_to, "date_to"),
            cell_m,
        )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    record_event(
        session,
        action="search",
        object_type="incidents",
        actor=user,
        purpose=stated,
        details={"filters": collection.filters, "counts": collection.counts},
    )
    return Response(content=collection.body, media_type=GEOJSON)


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
