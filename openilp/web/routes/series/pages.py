"""Series pages: the list with the possible-series alerts, "crimes like this one" (map, timeline,
table, and the form to save the chosen incidents as a series), one saved series and its review."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.core import OpenILP
from openilp.core.dates import parse_day
from openilp.security.actors import UserInfo
from openilp.services import series
from openilp.web.actions import attempt
from openilp.web.context import get_context, get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render
from openilp.web.routes.series.api import READ, REVIEW, WRITE

__all__ = ["router"]

router = APIRouter(prefix="/series", include_in_schema=False)


def _map_context(request: Request, core: OpenILP, user: UserInfo) -> dict[str, Any]:
    boundary = core.boundaries.layer_for(user.agency_code)
    return {
        "boundary_url": f"/api/v1/boundaries/{user.agency_code}.geojson" if boundary else "",
        "leaflet_available": get_context(request).leaflet_available,
    }


def _timeline(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each incident's position (0–100 %) along the span of the rows' dates, for the timeline."""
    times = [dt.datetime.fromisoformat(r["occurred_from"]) for r in rows if r.get("occurred_from")]
    if not times:
        return []
    first, last = min(times), max(times)
    span = (last - first).total_seconds() or 1.0
    return [
        {
            "incident_id": r["incident_id"],
            "label": r["occurred_from"][:10],
            "left": round(100 * (dt.datetime.fromisoformat(r["occurred_from"]) - first).total_seconds() / span, 2),
            "seed": bool(r.get("seed")),
        }
        for r in rows
        if r.get("occurred_from")
    ]


@router.get("", response_class=HTMLResponse)
def list_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> Response:
    """Saved series, and with ``?category=…`` the possible series among recent crimes."""
    params = request.query_params
    possible = None
    error = None
    if params.get("category"):

        def run() -> series.PossibleSeries:
            return series.possible_series(
                core,
                user,
                series.PossibleSeriesRequest(
                    category=params.get("category", "burglary"),
                    days=int(params.get("days") or 60),
                    as_of=parse_day(params.get("as_of"), "as_of"),
                    threshold=float(params.get("threshold") or 3.0),
                ),
            )

        try:
            outcome = attempt(run)
        except ValueError as exc:  # a malformed number or date in the query
            outcome = None
            error = f"could not read the form: {exc}"
        if outcome is not None:
            possible = outcome.value.as_dict() if outcome.value else None
            error = outcome.error
    return render(
        request,
        "series/list.html",
        user=user,
        saved=series.list_series(core, user).as_dict()["series"],
        possible=possible,
        error=error,
        form=dict(params),
        can_write=user.can("series:write"),
        status_code=400 if error else 200,
    )


@router.get("/similar", response_class=HTMLResponse)
def similar_page(
    request: Request, incident_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)
) -> Response:
    """Crimes like this one: the map, the timeline and the ranked table, with the form to save a series."""
    result = series.similar_incidents(core, user, series.SimilarRequest(incident_id=incident_id)).as_dict()
    rows = [result["seed"] | {"seed": True, "score": None}] + list(result["similar"])
    points = [
        {"id": r["incident_id"], "lon": r["lon"], "lat": r["lat"], "seed": bool(r.get("seed")), "label": r["category"]}
        for r in rows
        if r["lon"] is not None
    ]
    return render(
        request,
        "series/similar.html",
        user=user,
        result=result,
        timeline=_timeline(rows),
        points_json=json.dumps(points),
        can_write=user.can("series:write"),
        **_map_context(request, core, user),
    )


@router.post("", response_class=HTMLResponse)
def save_page(
    request: Request,
    csrf_token: str = Form(""),
    title: str = Form("", max_length=200),
    incident_ids: list[Id] = Form([]),
    problem_id: str = Form("", max_length=20),
    intel_record_id: str = Form("", max_length=20),
    notes: str = Form("", max_length=20_000),
    seed_incident_id: str = Form("", max_length=20),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    """Save the chosen incidents as a possible series, then show it."""
    check_csrf(request, csrf_token)

    def as_id(value: str) -> int | None:
        return int(value) if value.strip().isdigit() else None

    method = {"seed_incident_id": as_id(seed_incident_id), "found_with": "crimes like this one"}
    outcome = attempt(
        lambda: series.save_series(
            core,
            user,
            series.SaveSeriesRequest(
                title=title,
                incident_ids=tuple(incident_ids),
                problem_id=as_id(problem_id),
                intel_record_id=as_id(intel_record_id),
                method=method,
                notes=notes,
            ),
        )
    )
    if outcome.value is None:
        return render(
            request, "error.html", status_code=outcome.status_code, title="Not saved", message=outcome.error or ""
        )
    return RedirectResponse(f"/series/{outcome.value.series_id}", status_code=303)


@router.get("/{series_id}", response_class=HTMLResponse)
def detail_page(
    series_id: Id, request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)
) -> Response:
    """One saved series: its incidents on the map and the timeline, and the review form for reviewers."""
    detail = series.show_series(core, user, series_id).as_dict()
    members = list(detail["members"])
    points = [
        {"id": m["incident_id"], "lon": m["lon"], "lat": m["lat"], "seed": False, "label": m["category"]}
        for m in members
        if m["lon"] is not None
    ]
    return render(
        request,
        "series/detail.html",
        user=user,
        series=detail["series"],
        members=members,
        timeline=_timeline(members),
        points_json=json.dumps(points),
        can_review=user.can("series:review"),
        **_map_context(request, core, user),
    )


@router.post("/{series_id}/review", response_class=HTMLResponse)
def review_page(
    series_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    status: str = Form("", max_length=20),
    note: str = Form("", max_length=20_000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(REVIEW),
) -> Response:
    """Confirm or reject the series."""
    check_csrf(request, csrf_token)
    outcome = attempt(lambda: series.review_series(core, user, series.ReviewSeriesRequest(series_id, status, note)))
    if outcome.value is None:
        return render(
            request, "error.html", status_code=outcome.status_code, title="Not reviewed", message=outcome.error or ""
        )
    return RedirectResponse(f"/series/{series_id}", status_code=303)
