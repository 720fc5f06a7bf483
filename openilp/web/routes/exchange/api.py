"""The exchange exports as downloads: GeoPackage, NIBRS XML and STIX 2.1.

``GET /api/v1/exports/{agency_code}.gpkg`` is the same call as ``openilp export gpkg``; the layers
default to the incidents only (the analysis layers run the hot-spot, forecast and deployment
services, which the command line suits better for long windows). ``GET …/{agency_code}.nibrs.zip``
is ``openilp export nibrs`` (the ZIP of one XML document per incident, ``unmapped.csv`` and
``summary.json``). ``POST …/{agency_code}.stix.json`` is ``openilp export stix``: it *releases*
each record to the named recipient through the dissemination rules, so it writes the
dissemination log and is a POST. Each needs ``exchange:export`` and your own agency (the STIX
bundle also ``intel:disseminate``) and is audited (``export_gpkg``, ``export_nibrs``, ``export_stix``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.core.dates import require_day
from openilp.security.actors import UserInfo
from openilp.services.exchange import (
    EXPORT_PERMISSION,
    GeoPackageExportRequest,
    NibrsExportRequest,
    StixExportRequest,
    export_geopackage,
    export_nibrs,
    export_stix,
)
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


@router.get("/{agency_code}.nibrs.zip", response_class=Response)
def nibrs(
    agency_code: str,
    date_from: str = Query("", max_length=10, description="First day, YYYY-MM-DD (agency local time)."),
    date_to: str = Query("", max_length=10, description="Last day, YYYY-MM-DD (inclusive)."),
    ori: str = Query("", max_length=9, description="The agency's ORI, NIBRS element 1 (nine characters)."),
    user: UserInfo = Depends(require(EXPORT_PERMISSION)),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Your agency's incidents as NIBRS XML (a ZIP with the unmapped offences and why; see ``openilp export nibrs``)."""
    request = NibrsExportRequest(
        agency=agency_code,
        date_from=require_day(date_from, "date_from"),
        date_to=require_day(date_to, "date_to"),
        ori=ori,
    )
    result = export_nibrs(core, user, request)
    name = f"{result.agency}-{result.date_from}-{result.date_to}-nibrs.zip"
    return Response(
        content=result.archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class StixExportIn(BaseModel):
    date_from: str = Field(max_length=10, description="First day of submission, YYYY-MM-DD (agency local time).")
    date_to: str = Field(max_length=10, description="Last day, YYYY-MM-DD (inclusive).")
    recipient_agency: str = Field(max_length=32)
    recipient_username: str = Field(max_length=80)
    purpose: str = Field(default="", max_length=1000)
    need_to_know: str = Field(max_length=10_000)
    items: list[str] = Field(default=["summary", "subjects", "labels"], max_length=5)
    tlp: str = Field(
        default="",
        max_length=20,
        description="TLP 2.0 level to export at (e.g. TLP:AMBER+STRICT): narrows each record's marking, never "
        "widens it. Empty: each record's own.",
    )


@router.post("/{agency_code}.stix.json", response_class=Response)
def stix(
    agency_code: str,
    payload: StixExportIn,
    user: UserInfo = Depends(require(EXPORT_PERMISSION)),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Release the window's approved records to the named recipient and download them as a STIX 2.1 bundle.

    Every record goes out through the dissemination rules and log (see ``openilp export stix``);
    the records refused and why are in the ``X-OpenILP-Refused`` header (JSON).
    """
    import json

    request = StixExportRequest(
        agency=agency_code,
        date_from=require_day(payload.date_from, "date_from"),
        date_to=require_day(payload.date_to, "date_to"),
        recipient_agency=payload.recipient_agency,
        recipient_username=payload.recipient_username,
        purpose=payload.purpose,
        need_to_know=payload.need_to_know,
        items=tuple(payload.items),
        tlp=payload.tlp,
    )
    result = export_stix(core, user, request)
    name = f"{agency_code}-{payload.date_from}-{payload.date_to}.stix.json"
    return Response(
        content=result.bundle.encode("utf-8"),
        media_type="application/stix+json;version=2.1",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-OpenILP-Disseminations": ",".join(map(str, result.disseminations)),
            "X-OpenILP-Refused": json.dumps({str(k): v for k, v in result.refused.items()}),
        },
    )
