"""Saved crime series: save a set of incidents as a series (on a problem or an intelligence record),
list and read the agency's series, and confirm or reject one.

Need-to-know: a series and its members are visible only within the agency that saved it; the
intelligence record a series is kept on is named only to readers who may read intelligence
(``intel:read``), and only while the record is approved (not pending, rejected or purged).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openilp.core.contract import Request, Result, require
from openilp.errors import InvalidRequest, NotFound
from openilp.services.series.common import iso
from openilp.services.series.common import require as require_permission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.core import OpenILP
    from openilp.db.models import CrimeSeries
    from openilp.security.actors import UserInfo

__all__ = [
    "REVIEW_STATUSES",
    "ReviewSeriesRequest",
    "SaveSeriesRequest",
    "SeriesDetail",
    "SeriesList",
    "SeriesSaved",
    "list_series",
    "review_series",
    "save_series",
    "show_series",
]

REVIEW_STATUSES = ("confirmed", "rejected")
MAX_MEMBERS = 500


@dataclass(frozen=True)
class SaveSeriesRequest(Request):
    """A title, the incidents (with the scores that brought them in), where to keep it, and notes."""

    title: str
    incident_ids: tuple[int, ...]
    scores: tuple[float | None, ...] = ()
    problem_id: int | None = None
    intel_record_id: int | None = None
    method: dict[str, Any] | None = None
    notes: str = ""

    def validate(self) -> SaveSeriesRequest:
        require(bool(self.title.strip()) and len(self.title) <= 200, "title: give a title of 1 to 200 characters")
        require(
            2 <= len(set(self.incident_ids)) <= MAX_MEMBERS, f"incident_ids: a series has 2 to {MAX_MEMBERS} incidents"
        )
        require(not self.scores or len(self.scores) == len(self.incident_ids), "scores: one per incident, or none")
        require(len(self.notes) <= 20_000, "notes: at most 20,000 characters")
        return self


@dataclass(frozen=True)
class SeriesSaved(Result):
    series_id: int
    members: int


@dataclass(frozen=True)
class ReviewSeriesRequest(Request):
    series_id: int
    status: str
    note: str = ""

    def validate(self) -> ReviewSeriesRequest:
        require(self.status in REVIEW_STATUSES, f"status: choose {' or '.join(REVIEW_STATUSES)}")
        require(len(self.note) <= 20_000, "note: at most 20,000 characters")
        return self


@dataclass(frozen=True)
class SeriesList(Result):
    series: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class SeriesDetail(Result):
    series: dict[str, Any]
    members: tuple[dict[str, Any], ...]


def _intel_visible(session: Session, actor: UserInfo, record_id: int | None) -> bool:
    from openilp.db.models import IntelRecord

    if record_id is None or not actor.can("intel:read"):
        return False
    record = session.get(IntelRecord, record_id)
    return record is not None and record.agency_id == actor.agency_id and record.status == "approved"


def _summary(session: Session, actor: UserInfo, series: CrimeSeries, members: int) -> dict[str, Any]:
    return {
        "id": series.id,
        "title": series.title,
        "status": series.status,
        "members": members,
        "problem_id": series.problem_id,
        "intel_record_id": series.intel_record_id if _intel_visible(session, actor, series.intel_record_id) else None,
        "created_at": iso(series.created_at),
        "reviewed_at": iso(series.reviewed_at),
        "review_note": series.review_note,
        "notes": series.notes,
        "method": json.loads(series.method or "{}"),
    }


def save_series(core: OpenILP, actor: UserInfo | None, request: SaveSeriesRequest) -> SeriesSaved:
    """Save the incidents as a possible series of the actor's agency (audited)."""
    from sqlalchemy import select

    from openilp.db.models import CrimeSeries, CrimeSeriesMember, Incident, Problem

    actor = require_permission(actor, "series:write", "save a crime series")
    request = request.validate()
    ids = list(dict.fromkeys(int(i) for i in request.incident_ids))
    scores = dict(zip(request.incident_ids, request.scores, strict=True)) if request.scores else {}
    with core.unit_of_work(actor) as uow:
        found = set(
            uow.session.scalars(select(Incident.id).where(Incident.id.in_(ids), Incident.agency_id == actor.agency_id))
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no incident {missing[0]} in your agency")
        if request.problem_id is not None:
            problem = uow.session.get(Problem, request.problem_id)
            if problem is None or problem.agency_id != actor.agency_id:
                raise NotFound(f"no problem {request.problem_id} in your agency")
        if request.intel_record_id is not None and not _intel_visible(uow.session, actor, request.intel_record_id):
            raise NotFound(f"no intelligence record {request.intel_record_id} you may read in your agency")
        series = CrimeSeries(
            agency_id=actor.agency_id,
            title=request.title.strip(),
            status="possible",
            method=json.dumps(request.method or {}, sort_keys=True, default=str),
            notes=request.notes.strip(),
            problem_id=request.problem_id,
            intel_record_id=request.intel_record_id,
            created_by_id=actor.id,
            created_at=uow.now,
            review_note="",
        )
        uow.session.add(series)
        uow.session.flush()
        for incident_id in ids:
            score = scores.get(incident_id)
            uow.session.add(
                CrimeSeriesMember(
                    series_id=series.id, incident_id=incident_id, score=None if score is None else float(score)
                )
            )
        uow.audit(
            action="series_saved",
            object_type="crime_series",
            object_id=series.id,
            details={"incidents": ids, "problem_id": request.problem_id, "intel_record_id": request.intel_record_id},
            agency_id=actor.agency_id,
        )
        series_id = series.id
    return SeriesSaved(series_id=series_id, members=len(ids))


def list_series(core: OpenILP, actor: UserInfo | None) -> SeriesList:
    """The agency's saved series, newest first."""
    from sqlalchemy import func, select

    from openilp.db.models import CrimeSeries, CrimeSeriesMember

    actor = require_permission(actor, "series:read", "read crime series")
    with core.unit_of_work(actor) as uow:
        counts = dict(
            uow.session.execute(
                select(CrimeSeriesMember.series_id, func.count()).group_by(CrimeSeriesMember.series_id)
            ).all()
        )
        rows = uow.session.scalars(
            select(CrimeSeries).where(CrimeSeries.agency_id == actor.agency_id).order_by(CrimeSeries.id.desc())
        ).all()
        out = tuple(_summary(uow.session, actor, s, int(counts.get(s.id, 0))) for s in rows)
    return SeriesList(series=out)


def _load(session: Session, actor: UserInfo, series_id: int) -> CrimeSeries:
    from openilp.db.models import CrimeSeries

    series = session.get(CrimeSeries, series_id)
    if series is None or series.agency_id != actor.agency_id:
        raise NotFound(f"no crime series {series_id} in your agency")
    return series


def show_series(core: OpenILP, actor: UserInfo | None, series_id: int) -> SeriesDetail:
    """One series of the agency with its incidents (where, when, category, score), audited as a read."""
    from sqlalchemy import select

    from openilp.db.models import CrimeSeriesMember, Incident

    actor = require_permission(actor, "series:read", "read crime series")
    with core.unit_of_work(actor) as uow:
        series = _load(uow.session, actor, series_id)
        rows = uow.session.execute(
            select(CrimeSeriesMember.score, Incident)
            .join(Incident, Incident.id == CrimeSeriesMember.incident_id)
            .where(CrimeSeriesMember.series_id == series.id, Incident.agency_id == actor.agency_id)
            .order_by(Incident.occurred_from, Incident.id)
        ).all()
        members = tuple(
            {
                "incident_id": incident.id,
                "category": incident.category_code,
                "occurred_from": iso(incident.occurred_from),
                "occurred_to": iso(incident.occurred_to),
                "lon": incident.lon,
                "lat": incident.lat,
                "neighbourhood": incident.neighbourhood,
                "score": score,
            }
            for score, incident in rows
        )
        summary = _summary(uow.session, actor, series, len(members))
        uow.audit(action="series_read", object_type="crime_series", object_id=series.id, agency_id=actor.agency_id)
    return SeriesDetail(series=summary, members=members)


def review_series(core: OpenILP, actor: UserInfo | None, request: ReviewSeriesRequest) -> SeriesDetail:
    """Confirm or reject a saved series (supervisors and reviewers); audited with the note."""
    actor = require_permission(actor, "series:review", "confirm or reject a crime series")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        series = _load(uow.session, actor, request.series_id)
        if series.created_by_id == actor.id:
            raise InvalidRequest("a series is reviewed by someone other than the analyst who saved it")
        series.status = request.status
        series.reviewed_by_id = actor.id
        series.reviewed_at = uow.now
        series.review_note = request.note.strip()
        uow.audit(
            action="series_reviewed",
            object_type="crime_series",
            object_id=series.id,
            details={"status": request.status},
            agency_id=actor.agency_id,
        )
    return show_series(core, actor, request.series_id)
