"""Crimes like this one: for an incident, the agency's other incidents ranked by the linkage score."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from openilp.core.contract import Request, Result, require
from openilp.errors import InvalidRequest, NotFound
from openilp.services.series.common import (
    LIMITATIONS,
    SCORED_VARIABLES,
    ScoringPrior,
    crime_table,
    fitted_prior_model,
    iso,
)
from openilp.services.series.common import require as require_permission

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = ["SimilarIncidents", "SimilarRequest", "similar_incidents"]


@dataclass(frozen=True)
class SimilarRequest(Request):
    """The incident, how far back and ahead to look (days), how many to list, and the prior."""

    incident_id: int
    window_days: int = 365
    top: int = 20
    linked_distance_m: float = 1000.0
    linked_days: float = 14.0

    def validate(self) -> SimilarRequest:
        require(self.incident_id > 0, "incident_id: give the id of an incident of your agency")
        require(7 <= self.window_days <= 730, "window_days: give 7 to 730 days either side of the incident")
        require(1 <= self.top <= 200, "top: list 1 to 200 incidents")
        require(50 <= self.linked_distance_m <= 20_000, "linked_distance_m: give 50 to 20,000 metres")
        require(1 <= self.linked_days <= 365, "linked_days: give 1 to 365 days")
        return self


@dataclass(frozen=True)
class SimilarIncidents(Result):
    """The seed incident, the ranked incidents with their evidence, and how they were scored."""

    seed: dict[str, Any]
    similar: tuple[dict[str, Any], ...]
    compared: int
    window: tuple[str, str]
    method: dict[str, Any]
    limitations: tuple[str, ...]


def _incident(row: Any) -> dict[str, Any]:
    return {
        "incident_id": int(row.incident_id),
        "category": row.category,
        "occurred_from": iso(row.occurred_from),
        "occurred_to": iso(row.occurred_to),
        "lon": None if np.isnan(row.lon) else float(row.lon),
        "lat": None if np.isnan(row.lat) else float(row.lat),
        "neighbourhood": row.neighbourhood,
    }


def similar_incidents(core: OpenILP, actor: UserInfo | None, request: SimilarRequest) -> SimilarIncidents:
    """Rank the agency's located incidents within ``window_days`` of the seed by the linkage score."""
    from sqlalchemy import select

    from openilp.analysis.linkage.candidates import rank_similar
    from openilp.db.models import Agency, Incident
    from openilp.services.analysis.events import EventQuery, load_events

    actor = require_permission(actor, "series:read", "look for crimes like an incident")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        incident = uow.session.get(Incident, request.incident_id)
        if incident is None or incident.agency_id != actor.agency_id:
            raise NotFound(f"no incident {request.incident_id} in your agency")
        if incident.location_status != "located" or incident.occurred_from is None:
            raise InvalidRequest(
                f"incident {request.incident_id} has no usable location or time ({incident.location_status}): "
                "only located incidents with a time can be compared"
            )
        agency = uow.session.scalar(select(Agency).where(Agency.id == actor.agency_id))
        assert agency is not None
        day = incident.occurred_from.date()
        start = day - dt.timedelta(days=request.window_days)
        end = day + dt.timedelta(days=request.window_days)
        uow.audit(
            action="series_similar",
            object_type="incident",
            object_id=request.incident_id,
            details={"window_days": request.window_days, "top": request.top},
            agency_id=actor.agency_id,
        )
    events, _ = load_events(core.engine, EventQuery(agency_code=agency.code, date_from=start, date_to=end))
    positions = np.flatnonzero(events["incident_id"].to_numpy() == request.incident_id)
    if positions.size == 0:
        raise InvalidRequest(f"incident {request.incident_id} is outside the analysable incidents (no time window)")
    crimes = crime_table(events)
    prior = ScoringPrior(linked_distance_m=request.linked_distance_m, linked_days=request.linked_days)
    model = fitted_prior_model(crimes, prior)
    ranked = rank_similar(crimes, int(positions[0]), model, top=request.top)
    rows = []
    for record in ranked.to_dict("records"):
        event = events.iloc[int(record["index"])]
        rows.append(
            _incident(event)
            | {
                "score": round(float(record["score"]), 3),
                "distance_m": round(float(record["spatial"]), 1),
                "days_apart": round(float(record["temporal"]), 2),
                "same_category": bool(record["same_category"]),
            }
        )
    return SimilarIncidents(
        seed=_incident(events.iloc[int(positions[0])]),
        similar=tuple(rows),
        compared=int(crimes.size - 1),
        window=(start.isoformat(), end.isoformat()),
        method={
            "score": "log Bayes factor under a prior (PriorBayesLinkage)",
            "variables": list(SCORED_VARIABLES),
            "linked_distance_m": request.linked_distance_m,
            "linked_days": request.linked_days,
            "linked_same_category": prior.linked_same_category,
        },
        limitations=LIMITATIONS,
    )
