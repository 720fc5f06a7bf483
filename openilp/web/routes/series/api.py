"""The series JSON API: ``/api/v1/series`` (thin over :mod:`openilp.services.series`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import series
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.params import MAX_ID, Id

__all__ = ["router"]

READ = require("series:read")
WRITE = require("series:write")
REVIEW = require("series:review")

router = APIRouter(prefix="/api/v1/series", tags=["series"])
_defaults = series.PossibleSeriesRequest()


@router.get("")
def list_api(core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> dict[str, Any]:
    """The agency's saved series."""
    return series.list_series(core, user).as_dict()


@router.get("/similar")
def similar_api(
    incident_id: Annotated[Id, Query(description="An incident of your agency.")],
    window_days: int = Query(365, le=MAX_ID),
    top: int = Query(20, le=MAX_ID),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> dict[str, Any]:
    """Crimes like this one: incidents ranked by their linkage score against ``incident_id``."""
    request = series.SimilarRequest(incident_id=incident_id, window_days=window_days, top=top)
    return series.similar_incidents(core, user, request).as_dict()


@router.get("/possible")
def possible_api(
    category: str = Query(_defaults.category),
    days: int = Query(_defaults.days, le=MAX_ID),
    as_of: dt.date | None = Query(None),
    threshold: float = Query(_defaults.threshold),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> dict[str, Any]:
    """The alert list of possible series among recent crimes of a category."""
    request = series.PossibleSeriesRequest(category=category, days=days, as_of=as_of, threshold=threshold)
    return series.possible_series(core, user, request).as_dict()


@router.post("", status_code=201)
def save_api(
    title: str = Body(..., max_length=200),
    incident_ids: list[Id] = Body(...),
    scores: list[float | None] = Body([]),
    problem_id: Id | None = Body(None),
    intel_record_id: Id | None = Body(None),
    notes: str = Body("", max_length=20_000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> dict[str, Any]:
    """Save incidents as a possible series (optionally on a problem or an intelligence record)."""
    request = series.SaveSeriesRequest(
        title=title,
        incident_ids=tuple(incident_ids),
        scores=tuple(scores),
        problem_id=problem_id,
        intel_record_id=intel_record_id,
        notes=notes,
    )
    return series.save_series(core, user, request).as_dict()


@router.get("/{series_id}")
def show_api(series_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> dict[str, Any]:
    """One saved series with its incidents."""
    return series.show_series(core, user, series_id).as_dict()


@router.post("/{series_id}/review")
def review_api(
    series_id: Id,
    status: str = Body(..., embed=True),
    note: str = Body("", embed=True, max_length=20_000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(REVIEW),
) -> dict[str, Any]:
    """Confirm or reject a saved series."""
    return series.review_series(core, user, series.ReviewSeriesRequest(series_id, status, note)).as_dict()
