"""The link-chart page ``/networks``: a form, and the chart its script draws from the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from openilp.analysis.networks import LINK_TYPES
from openilp.security.actors import UserInfo
from openilp.services.entities.memberships import may_see_memberships
from openilp.services.networks import METRICS, NetworkRequest
from openilp.web.context import get_context
from openilp.web.rendering import render
from openilp.web.routes.networks.api import READ

__all__ = ["router"]

router = APIRouter(prefix="/networks", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def chart_page(request: Request, user: UserInfo = Depends(READ)) -> Response:
    """The link chart around the seeds in the query (``around``, ``record_id``, ``series_id``)."""
    params = request.query_params
    chosen = params.getlist("link_types") or list(LINK_TYPES)
    return render(
        request,
        "networks/chart.html",
        user=user,
        query=str(params),
        form={
            "around": params.get("around", ""),
            "record_id": params.get("record_id", ""),
            "series_id": params.get("series_id", ""),
            "hops": params.get("hops", str(NetworkRequest().hops)),
            "date_from": params.get("date_from", ""),
            "date_to": params.get("date_to", ""),
            "key_players": params.get("key_players", str(NetworkRequest().key_players)),
        },
        link_types=LINK_TYPES,
        chosen_link_types=chosen,
        metrics=METRICS,
        cytoscape_available=get_context(request).cytoscape_available,
        show_memberships=may_see_memberships(user),
    )
