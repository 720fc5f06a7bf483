"""``GET /api/v1/exports/{agency_code}.gpkg``: the GeoPackage export as a download.

The same call as ``openilp export gpkg``; needs ``exchange:export`` and your own agency, and is
audited (``export_gpkg``). The layers default to the incidents only: the analysis layers run the
hot-spot, forecast and deployment services, which the command line suits better for long windows.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from openilp.core import OpenILP
from openilp.core.dates import require_day
from openilp.security.actors import UserInfo
from openilp.services.exchange import EXPORT_PERMISSION, GeoPackageExportRequest, export_geopackage
from openilp.web.auth import require
from openilp.web.context import get_core

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/exports", tags=["exchange"])

GEOPACKAGE = "application/geopackage+sqlite3"


@router.get("/{agency_code}.gpkg", response_class=Response)
def geopackage(
    agency_code: str,
    date_from: str = Query("", max_length=10, description="First day, YYYY-MM-DD (agency local time)."),
    date_to: str = Query("", max_length=10, description="Last day, YYYY-MM-DD (inclusive)."),
    layers: str = Query("incidents", max_length=80, description="incidents, hotspots, forecast, deployment."),
    categories: str = Query("burglary", max_length=200, description="Categories of the analysis layers."),
    user: UserInfo = Depends(require(EXPORT_PERMISSION)),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Your agency's GeoPackage over the window (see ``openilp export gpkg``)."""
    request = GeoPackageExportRequest(
        agency=agency_code,
        date_from=require_day(date_from, "date_from"),
        date_to=require_day(date_to, "date_to"),
        layers=tuple(part.strip() for part in layers.split(",") if part.strip()),
        categories=tuple(part.strip() for part in categories.split(",") if part.strip()),
    )
    result = export_geopackage(core, user, request)
    name = f"{result.agency}-{result.date_from}-{result.date_to}.gpkg"
    return Response(
        content=result.content,
        media_type=GEOPACKAGE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
