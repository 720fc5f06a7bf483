"""Deconfliction pages: plan an event and see its conflicts (``/deconfliction``), and the watch
centre's queue (``/deconfliction/watch``) with its acknowledge and resolve forms; a supervisor's
exigency waiver from the planning page. Thin shells over :mod:`openilp.services.deconfliction`, the
same calls as the JSON API; every form carries the CSRF token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import deconfliction as service
from openilp.tasking.deconfliction import EVENT_TYPES
from openilp.web.actions import attempt
from openilp.web.context import get_context, get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render
from openilp.web.routes.deconfliction.api import SUBMIT, WAIVE, WATCH

__all__ = ["router"]

router = APIRouter(prefix="/deconfliction", include_in_schema=False)


def _plan_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    submitted: dict[str, Any] | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    events = service.list_events(core, user, service.ListEventsRequest()).as_dict()["events"]
    return render(
        request,
        "deconfliction/plan.html",
        user=user,
        events=events,
        event_types=EVENT_TYPES,
        resolutions=service.RESOLUTIONS,
        submitted=submitted,
        error=error,
        form=form or {},
        can_waive=user.can("deconfliction:waive"),
        leaflet_available=get_context(request).leaflet_available,
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
def plan_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(SUBMIT)) -> Response:
    """The planning form and the agency's active events with their conflicts."""
    return _plan_page(request, core, user)


def _moment(text: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{name}: write a date and time, e.g. 2027-03-01T22:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: write a number") from None


def parse_polygon(text: str) -> tuple[tuple[float, float], ...]:
    """The vertices (lon, lat) of a polygon written as text: "lon lat" pairs, or GeoJSON.

    Pairs are separated by new lines or semicolons, a pair's numbers by spaces or a comma; GeoJSON
    may be a Polygon, a Feature holding one, or its ring of ``[lon, lat]`` positions. A closing
    vertex equal to the first is dropped (the service closes the ring).

    >>> parse_polygon("-90.20 38.62\\n-90.19 38.62\\n-90.19 38.63")
    ((-90.2, 38.62), (-90.19, 38.62), (-90.19, 38.63))
    >>> parse_polygon('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}')
    ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    """
    text = text.strip()
    points: list[Any]
    if text[:1] in "{[":
        try:
            data: Any = json.loads(text)
        except ValueError:
            raise ValueError("polygon: not valid GeoJSON or JSON") from None
        if isinstance(data, dict) and data.get("type") == "Feature":
            data = data.get("geometry") or {}
        if isinstance(data, dict):
            if data.get("type") != "Polygon":
                raise ValueError("polygon: GeoJSON must be a Polygon (or a Feature holding one)")
            data = (data.get("coordinates") or [[]])[0]
        if isinstance(data, list) and data and isinstance(data[0], list) and data[0] and isinstance(data[0][0], list):
            data = data[0]
        points = data if isinstance(data, list) else []
    else:
        points = [line.replace(",", " ").split() for line in text.replace(";", "\n").splitlines() if line.strip()]
    vertices: list[tuple[float, float]] = []
    for number, point in enumerate(points, start=1):
        try:
            lon, lat = (float(value) for value in point)
        except (TypeError, ValueError):
            raise ValueError(f"polygon: vertex {number} must be two numbers, longitude then latitude") from None
        vertices.append((lon, lat))
    if len(vertices) > 1 and vertices[0] == vertices[-1]:
        vertices.pop()
    return tuple(vertices)


@router.post("/events", response_class=HTMLResponse)
def submit_page(
    request: Request,
    csrf_token: str = Form(""),
    event_type: str = Form("", max_length=40),
    operation_name: str = Form("", max_length=200),
    starts_at: str = Form("", max_length=40),
    ends_at: str = Form("", max_length=40),
    lon: str = Form("", max_length=40),
    lat: str = Form("", max_length=40),
    radius_m: str = Form("100", max_length=20),
    address: str = Form("", max_length=300),
    contact_name: str = Form("", max_length=200),
    contact_phone: str = Form("", max_length=40),
    targets: str = Form("", max_length=5_000),
    polygon: str = Form("", max_length=20_000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(SUBMIT),
) -> Response:
    """Record the planned event and show its conflicts (the other side's agency and contact only).

    The place is a point (``lon``, ``lat``) or an area: ``polygon`` holds its vertices, pasted or
    drawn on the page's map (:func:`parse_polygon`)."""
    check_csrf(request, csrf_token)
    form = {
        "event_type": event_type,
        "operation_name": operation_name,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "lon": lon,
        "lat": lat,
        "radius_m": radius_m,
        "address": address,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "targets": targets,
        "polygon": polygon,
    }
    try:
        submission = service.SubmitEventRequest(
            event_type=event_type,
            operation_name=operation_name,
            starts_at=_moment(starts_at, "starts_at"),
            ends_at=_moment(ends_at, "ends_at"),
            contact_name=contact_name,
            contact_phone=contact_phone,
            radius_m=_number(radius_m, "radius_m"),
            lon=_number(lon, "lon") if lon.strip() or not polygon.strip() else None,
            lat=_number(lat, "lat") if lat.strip() or not polygon.strip() else None,
            polygon=parse_polygon(polygon) if polygon.strip() else None,
            address=address,
            targets=tuple(t.strip() for t in targets.replace("\n", ",").split(",") if t.strip()),
        )
    except ValueError as exc:
        return _plan_page(request, core, user, error=str(exc), form=form, status_code=400)
    outcome = attempt(lambda: service.submit_event(core, user, submission))
    if outcome.value is None:
        return _plan_page(request, core, user, error=outcome.error, form=form, status_code=outcome.status_code)
    return _plan_page(request, core, user, submitted=outcome.value.as_dict())


def _act(request: Request, call: Callable[[], object], title: str, back: str) -> Response:
    """Run one watch-centre action: back to ``back`` when done, else an error page titled ``title``."""
    outcome = attempt(call)
    if outcome.value is None:
        return render(request, "error.html", status_code=outcome.status_code, title=title, message=outcome.error or "")
    return RedirectResponse(back, status_code=303)


@router.post("/conflicts/{conflict_id}/waive", response_class=HTMLResponse)
def waive_page(
    conflict_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    reason: str = Form("", max_length=1000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WAIVE),
) -> Response:
    """A supervisor's exigency waiver: the team proceeds now."""
    check_csrf(request, csrf_token)
    return _act(
        request,
        lambda: service.waive_conflict(core, user, service.WaiveRequest(conflict_id, reason)),
        "Not waived",
        "/deconfliction",
    )


@router.get("/watch", response_class=HTMLResponse)
def watch_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WATCH)) -> Response:
    """The watch centre's queue, with the resolved conflicts below."""
    conflicts = service.watch_queue(core, user, service.WatchQueueRequest(include_resolved=True)).as_dict()
    rows = list(conflicts["conflicts"])
    return render(
        request,
        "deconfliction/watch.html",
        user=user,
        queue=[c for c in rows if c["status"] != "resolved"],
        resolved=[c for c in rows if c["status"] == "resolved"],
        partner_queue=[c for c in conflicts["partner_conflicts"] if c["status"] in ("open", "acknowledged")],
        partner_closed=[c for c in conflicts["partner_conflicts"] if c["status"] not in ("open", "acknowledged")],
        resolutions=service.RESOLUTIONS,
    )


@router.post("/conflicts/{conflict_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_page(
    conflict_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WATCH),
) -> Response:
    """Take an open conflict; both parties are told."""
    check_csrf(request, csrf_token)
    return _act(
        request,
        lambda: service.acknowledge_conflict(core, user, service.AcknowledgeRequest(conflict_id)),
        "Not acknowledged",
        "/deconfliction/watch",
    )


@router.post("/conflicts/{conflict_id}/resolve", response_class=HTMLResponse)
def resolve_page(
    conflict_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    resolution: str = Form("", max_length=12),
    note: str = Form("", max_length=1000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WATCH),
) -> Response:
    """Record the resolution; both parties are told."""
    check_csrf(request, csrf_token)
    return _act(
        request,
        lambda: service.resolve_conflict(core, user, service.ResolveRequest(conflict_id, resolution, note)),
        "Not resolved",
        "/deconfliction/watch",
    )


@router.post("/partner-conflicts/{conflict_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_partner_page(
    conflict_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WATCH),
) -> Response:
    """Take an open conflict with a partner instance's event; the planner here is told."""
    check_csrf(request, csrf_token)
    return _act(
        request,
        lambda: service.acknowledge_partner_conflict(core, user, service.AcknowledgeRequest(conflict_id)),
        "Not acknowledged",
        "/deconfliction/watch",
    )


@router.post("/partner-conflicts/{conflict_id}/resolve", response_class=HTMLResponse)
def resolve_partner_page(
    conflict_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    resolution: str = Form("", max_length=12),
    note: str = Form("", max_length=1000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WATCH),
) -> Response:
    """Record how a conflict with a partner instance's event was resolved."""
    check_csrf(request, csrf_token)
    return _act(
        request,
        lambda: service.resolve_partner_conflict(core, user, service.ResolveRequest(conflict_id, resolution, note)),
        "Not resolved",
        "/deconfliction/watch",
    )


@router.post("/partner-conflicts/{conflict_id}/waive", response_class=HTMLResponse)
def waive_partner_page(
    conflict_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    reason: str = Form("", max_length=1000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WAIVE),
) -> Response:
    """A supervisor's exigency waiver of a conflict with a partner instance's event."""
    check_csrf(request, csrf_token)
    return _act(
        request,
        lambda: service.waive_partner_conflict(core, user, service.WaiveRequest(conflict_id, reason)),
        "Not waived",
        "/deconfliction",
    )
