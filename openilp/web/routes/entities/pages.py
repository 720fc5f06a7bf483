"""Entity pages: search, one entity with the mentions the user may see, the review queue with each
pair's match-weight waterfall. Thin over :mod:`openilp.services.entities`, like the JSON API."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import entities
from openilp.web.actions import attempt
from openilp.web.context import get_context, get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render
from openilp.web.routes.entities.api import READ, REVIEW

__all__ = ["router", "waterfall"]

router = APIRouter(prefix="/entities", include_in_schema=False)


def waterfall(explanation: dict[str, Any], width: int = 600) -> dict[str, Any]:
    """Bars of a match-weight waterfall: the prior, then each field's weight, running left to right.

    Each bar starts where the running total stands and spans the field's weight (bits); the last
    bar is the total. Coordinates are in SVG units of a ``width``-wide chart.
    """
    steps = [("prior", float(explanation.get("prior_weight", 0.0)))]
    steps += [(name, float(part["weight"])) for name, part in explanation.get("fields", {}).items()]
    running = 0.0
    bars: list[dict[str, Any]] = []
    for name, weight in steps:
        bars.append({"label": name, "start": running, "end": running + weight, "weight": weight})
        running += weight
    bars.append({"label": "total", "start": 0.0, "end": running, "weight": running, "total": True})
    low = min(0.0, *(min(b["start"], b["end"]) for b in bars))
    high = max(0.0, *(max(b["start"], b["end"]) for b in bars))
    scale = (width - 160) / ((high - low) or 1.0)
    for bar in bars:
        left = min(bar["start"], bar["end"])
        bar["x"] = round(150 + (left - low) * scale, 1)
        bar["w"] = round(max(abs(bar["end"] - bar["start"]) * scale, 1.0), 1)
    return {"bars": bars, "zero_x": round(150 + (0 - low) * scale, 1), "height": 22 * len(bars) + 10}


@router.get("", response_class=HTMLResponse)
def search_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> Response:
    """Search by name (fuzzy), date of birth or identifier; only entities the user may see."""
    params = request.query_params
    name = params.get("name", "")[:200]
    born = params.get("date_of_birth", "")[:10]
    identifier = params.get("identifier", "")[:100]
    hits = None
    if name or born or identifier:
        request_ = entities.SearchEntitiesRequest(name=name, date_of_birth=born, identifier=identifier)
        hits = entities.search_entities(core, user, request_).as_dict()["hits"]
    return render(
        request,
        "entities/search.html",
        user=user,
        name=name,
        date_of_birth=born,
        identifier=identifier,
        hits=hits,
        can_review=user.can("entities:review"),
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(REVIEW)) -> Response:
    """The open review pairs, each with its match-weight waterfall and a decision form."""
    return _review(request, core, user)


def _review(
    request: Request, core: OpenILP, user: UserInfo, error: str = "", failed_pair: int | None = None
) -> Response:
    queue = entities.review_queue(core, user, entities.ReviewQueueRequest(limit=50)).as_dict()
    pairs = [{**pair, "chart": waterfall(pair["explanation"])} for pair in queue["pairs"]]
    return render(
        request,
        "entities/review.html",
        user=user,
        queue=queue,
        pairs=pairs,
        error=error,
        failed_pair=failed_pair,
        status_code=400 if error else 200,
    )


@router.post("/review/{pair_id}", response_class=HTMLResponse)
def decide_page(
    pair_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    decision: str = Form("", max_length=12),
    reason: str = Form("", max_length=2000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(REVIEW),
) -> Response:
    """Decide a review pair from the page: match (merge), not a match (split) or unsure; audited."""
    check_csrf(request, csrf_token)
    outcome = attempt(lambda: entities.decide_pair(core, user, entities.DecideRequest(pair_id, decision, reason)))
    if outcome.ok:
        return RedirectResponse("/entities/review", status_code=303)
    return _review(request, core, user, error=outcome.error or "", failed_pair=pair_id)


@router.get("/{entity_id}", response_class=HTMLResponse)
def entity_page(
    entity_id: Id, request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)
) -> Response:
    """One entity: the mentions the user may see, with provenance and links, and its lineage."""
    detail = entities.show_entity(core, user, entities.ShowEntityRequest(entity_id)).as_dict()
    points = [
        {"lat": p["lat"], "lon": p["lon"], "label": p["label"]} for p in detail["places"] if p.get("lat") is not None
    ]
    boundary = core.boundaries.layer_for(user.agency_code)
    return render(
        request,
        "entities/detail.html",
        user=user,
        entity=detail,
        map_points=points,
        map_points_json=json.dumps(points),
        boundary_url=f"/api/v1/boundaries/{user.agency_code}.geojson" if boundary else "",
        leaflet_available=get_context(request).leaflet_available,
    )
