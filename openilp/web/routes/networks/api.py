"""The networks JSON API: ``/api/v1/networks/chart.json`` and ``/api/v1/networks/export``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from openilp.analysis.networks import LINK_TYPES
from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.networks import NetworkRequest, network_chart
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.params import MAX_ID

__all__ = ["READ", "chart_request", "router"]

READ = require("networks:read")

router = APIRouter(prefix="/api/v1/networks", tags=["networks"])
_defaults = NetworkRequest()


def chart_request(
    around: list[str] = Query([], description="Seeds: names or node ids (repeat)."),
    expand: list[str] = Query([], description="Drawn nodes whose neighbours to add (repeat)."),
    series_id: int | None = Query(None, ge=1, le=MAX_ID, description="A saved series: the subjects of its record."),
    record_id: int | None = Query(None, ge=1, le=MAX_ID, description="An intelligence record: its subjects."),
    hops: int = Query(_defaults.hops, ge=0, le=MAX_ID),
    link_types: list[str] = Query([], description="Link types to keep (repeat; all when none)."),
    date_from: dt.date | None = Query(None),
    date_to: dt.date | None = Query(None),
    key_players: int = Query(_defaults.key_players, ge=0, le=MAX_ID),
    community_method: str = Query(_defaults.community_method),
) -> NetworkRequest:
    """The request the page, the JSON API and the exports share."""
    return NetworkRequest(
        around=tuple(a for a in around if a.strip()),
        expand=tuple(expand),
        series_id=series_id,
        record_id=record_id,
        hops=hops,
        link_types=tuple(link_types) or LINK_TYPES,
        date_from=date_from,
        date_to=date_to,
        key_players=key_players,
        community_method=community_method,
    )


@router.get("/chart.json")
def chart_api(
    request: NetworkRequest = Depends(chart_request),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> dict[str, Any]:
    """The network around the seeds: nodes with metrics, links with their records, key players."""
    return network_chart(core, user, request).as_dict()


@router.get("/export")
def export_api(
    request: NetworkRequest = Depends(chart_request),
    format: str = Query("graphml", description="graphml or anb_csv (Analyst's Notebook import)."),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> Response:
    """The same chart as a GraphML or Analyst's Notebook CSV download (audited)."""
    import dataclasses

    chart = network_chart(core, user, dataclasses.replace(request, format=format))
    return Response(
        content=chart.export,
        media_type=chart.media_type,
        headers={"Content-Disposition": f'attachment; filename="{chart.filename}"'},
    )
