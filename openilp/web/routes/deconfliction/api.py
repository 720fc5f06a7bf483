"""``POST/GET /api/v1/deconfliction/events``, ``POST /api/v1/deconfliction/events/{event_id}/close`` and
the watch centre's ``/api/v1/deconfliction/conflicts`` (queue, acknowledge, resolve, waive) and
``/api/v1/deconfliction/partner-conflicts`` (the same actions on conflicts with partners' events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.deconfliction import (
    AcknowledgeRequest,
    CloseEventRequest,
    ListEventsRequest,
    ResolveRequest,
    SubmitEventRequest,
    WaiveRequest,
    WatchQueueRequest,
    acknowledge_conflict,
    acknowledge_partner_conflict,
    close_event,
    list_events,
    resolve_conflict,
    resolve_partner_conflict,
    submit_event,
    waive_conflict,
    waive_partner_conflict,
    watch_queue,
)
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.params import Id

__all__ = ["router"]

SUBMIT = require("deconfliction:submit")

router = APIRouter(prefix="/api/v1/deconfliction", tags=["deconfliction"])


class EventIn(BaseModel):
    """A planned operation: a point (x_m/y_m in the agency CRS, or lon/lat) with a radius, a window."""

    event_type: str = Field(max_length=40)
    operation_name: str = Field(max_length=200)
    starts_at: dt.datetime
    ends_at: dt.datetime
    contact_name: str = Field(max_length=200)
    contact_phone: str = Field(max_length=40)
    radius_m: float = Field(100.0, ge=0, le=5_000)
    x_m: float | None = Field(None, ge=-1e8, le=1e8)
    y_m: float | None = Field(None, ge=-1e8, le=1e8)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    address: str = Field("", max_length=300)
    targets: list[str] = Field(default_factory=list, max_length=50)
    polygon: list[tuple[float, float]] | None = Field(None, max_length=200)


class CloseIn(BaseModel):
    outcome: str = Field("cancelled", max_length=12)
    reason: str = Field("", max_length=1000)


@router.post("/events", status_code=201)
def submit_api(payload: EventIn, core: OpenILP = Depends(get_core), user: UserInfo = Depends(SUBMIT)) -> dict[str, Any]:
    """Record the event; its conflicts name only the other side's agency and point of contact."""
    polygon = tuple((float(lon), float(lat)) for lon, lat in payload.polygon) if payload.polygon is not None else None
    request = SubmitEventRequest(**{**payload.model_dump(), "targets": tuple(payload.targets), "polygon": polygon})
    return submit_event(core, user, request).as_dict()


@router.get("/events")
def list_api(
    include_closed: bool = Query(False, description="Include cancelled and ended events."),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(SUBMIT),
) -> dict[str, Any]:
    """The agency's events with their conflicts (audited read)."""
    return list_events(core, user, ListEventsRequest(include_closed=include_closed)).as_dict()


@router.post("/events/{event_id}/close")
def close_api(
    event_id: Id, payload: CloseIn, core: OpenILP = Depends(get_core), user: UserInfo = Depends(SUBMIT)
) -> dict[str, Any]:
    """Cancel (``outcome`` "cancelled") or end ("ended") one of the agency's active events."""
    return close_event(core, user, CloseEventRequest(event_id, payload.outcome, payload.reason)).as_dict()


WATCH = require("deconfliction:watch")
WAIVE = require("deconfliction:waive")


class ResolveIn(BaseModel):
    resolution: str = Field(max_length=12)
    note: str = Field("", max_length=1000)


class WaiveIn(BaseModel):
    reason: str = Field(max_length=1000)


@router.get("/conflicts")
def queue_api(
    include_resolved: bool = Query(False, description="Include resolved conflicts."),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WATCH),
) -> dict[str, Any]:
    """The watch centre's queue (watch officers; audited read)."""
    return watch_queue(core, user, WatchQueueRequest(include_resolved=include_resolved)).as_dict()


@router.post("/conflicts/{conflict_id}/acknowledge")
def acknowledge_api(
    conflict_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WATCH)
) -> dict[str, Any]:
    """A watch officer acknowledges an open conflict; both parties are told."""
    return acknowledge_conflict(core, user, AcknowledgeRequest(conflict_id)).as_dict()


@router.post("/conflicts/{conflict_id}/resolve")
def resolve_api(
    conflict_id: Id, payload: ResolveIn, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WATCH)
) -> dict[str, Any]:
    """A watch officer records the resolution (proceed, joint, delay, cancel); both parties are told."""
    return resolve_conflict(core, user, ResolveRequest(conflict_id, payload.resolution, payload.note)).as_dict()


@router.post("/conflicts/{conflict_id}/waive")
def waive_api(
    conflict_id: Id, payload: WaiveIn, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WAIVE)
) -> dict[str, Any]:
    """A supervisor of either party lets their team proceed under exigency."""
    return waive_conflict(core, user, WaiveRequest(conflict_id, payload.reason)).as_dict()


@router.post("/partner-conflicts/{conflict_id}/acknowledge")
def acknowledge_partner_api(
    conflict_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WATCH)
) -> dict[str, Any]:
    """A watch officer acknowledges an open conflict with a partner instance's event."""
    return acknowledge_partner_conflict(core, user, AcknowledgeRequest(conflict_id)).as_dict()


@router.post("/partner-conflicts/{conflict_id}/resolve")
def resolve_partner_api(
    conflict_id: Id, payload: ResolveIn, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WATCH)
) -> dict[str, Any]:
    """A watch officer records how a conflict with a partner's event was resolved."""
    return resolve_partner_conflict(core, user, ResolveRequest(conflict_id, payload.resolution, payload.note)).as_dict()


@router.post("/partner-conflicts/{conflict_id}/waive")
def waive_partner_api(
    conflict_id: Id, payload: WaiveIn, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WAIVE)
) -> dict[str, Any]:
    """A supervisor of the agency whose event it is lets their team proceed under exigency."""
    return waive_partner_conflict(core, user, WaiveRequest(conflict_id, payload.reason)).as_dict()
