"""Problems worked through the SARA cycle: open, update, move between stages, worksheet, notes, history.

A problem (Goldstein 1990; Eck & Spelman 1987) has an owner, a goal that can be measured — reduce
the incidents of some categories inside an area by a percentage over an evaluation period,
relative to a baseline period — and a stage: ``scanning``, ``analysis``, ``response``,
``assessment`` or ``closed``. Every change is written twice: to the problem's own history (shown
on its page) and to the tamper-evident audit log (:func:`openilp.security.audit.record_event`).

The other steps live beside this module:

* :mod:`openilp.services.problem_scanning` — candidate problems from persistent Gi* hot spots and
  trend alerts over the agency's boundary polygons;
* :mod:`openilp.services.problem_products` — analysis products attached to a problem (Knox table,
  trend chart, hot-spot map, incident list);
* :mod:`openilp.services.problem_response` — interventions, comparison areas, the power check
  before launch, the assessment and the goal progress shown on the dashboard.

Every function takes the acting user (:class:`~openilp.services.users.UserInfo`); problems are
visible to users of their agency only, and changes need the ``problems:write`` permission.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openilp.db import session_scope
from openilp.db.models import (
    Agency,
    Problem,
    ProblemAttachment,
    ProblemComparisonArea,
    ProblemEvaluation,
    ProblemHistory,
    ProblemIntervention,
    ProblemNote,
    ProblemWorksheet,
    User,
    utcnow,
)
from openilp.errors import NotFound
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.services.assessment import geometry_from_geojson
from openilp.services.events import expand_categories

__all__ = [
    "OPEN_STAGES",
    "STAGES",
    "WORKSHEET_FIELDS",
    "ProblemInput",
    "ProblemNotFound",
    "add_note",
    "area_geometry",
    "get_problem",
    "list_problems",
    "load_problem",
    "normalise_area",
    "open_problem",
    "problem_view",
    "record_change",
    "require_write",
    "set_stage",
    "summary_view",
    "update_problem",
    "update_worksheet",
]

#: The SARA stages in order, then "closed".
STAGES = ("scanning", "analysis", "response", "assessment", "closed")
OPEN_STAGES = STAGES[:-1]
#: The problem analysis triangle: inner (offender, target/victim, place) and outer (controllers).
WORKSHEET_FIELDS = ("offender", "target_victim", "place", "handlers", "guardians", "managers")
MAX_TEXT = 20_000


class ProblemNotFound(NotFound):
    """No problem with that id in the user's agency."""


@dataclass(frozen=True)
class ProblemInput:
    """What an analyst gives to open a problem. Dates are local calendar days.

    The baseline runs from ``baseline_start`` to the day before ``evaluation_start``; the goal is
    measured from ``evaluation_start`` to ``evaluation_end`` (inclusive).
    """

    title: str
    categories: Sequence[str]
    target_reduction_pct: float
    baseline_start: dt.date | None
    evaluation_start: dt.date | None
    evaluation_end: dt.date | None
    #: GeoJSON (longitude/latitude): Polygon/MultiPolygon geometry, Feature or FeatureCollection.
    area: str | Path | Mapping[str, Any] | None
    area_name: str = ""
    goal: str = ""
    stage: str = "scanning"
    origin: str = "analyst"


def require_write(actor: UserInfo) -> None:
    """Raise PermissionError unless ``actor`` may change problems."""
    if not actor.can("problems:write"):
        raise PermissionError(f"your role ({actor.role}) may read problems but not change them")


def _text(value: str | None, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValueError(f"{name} is required")
    if len(text) > limit:
        raise ValueError(f"{name} is longer than {limit:,} characters")
    return text


def normalise_area(area: str | Path | Mapping[str, Any] | None, crs: str) -> tuple[str, shapely.Geometry]:
    """The area as one GeoJSON geometry in longitude/latitude (text) and projected to ``crs`` (metres).

    Raises ValueError for a missing, malformed, empty or out-of-range polygon.
    """
    if area is None or (isinstance(area, str) and not area.strip()):
        raise ValueError("an area is required: a GeoJSON polygon in longitude/latitude")
    if isinstance(area, str) and area.lstrip().startswith("{"):
        try:
            area = json.loads(area)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the area is not valid GeoJSON: {exc.msg}") from exc
    if isinstance(area, str | Path):
        try:
            area = json.loads(Path(area).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read the area GeoJSON {area}: {exc}") from exc
    if not isinstance(area, Mapping):
        raise ValueError("the area must be a GeoJSON object")
    projected = geometry_from_geojson(area, crs)
    kind = area.get("type")
    if kind == "FeatureCollection":
        parts = [shapely.from_geojson(json.dumps(f.get("geometry"))) for f in area.get("features") or []]
        lonlat = shapely.make_valid(shapely.union_all(parts))
    elif kind == "Feature":
        lonlat = shapely.make_valid(shapely.from_geojson(json.dumps(area.get("geometry"))))
    else:
        lonlat = shapely.make_valid(shapely.from_geojson(json.dumps(dict(area))))
    min_x, min_y, max_x, max_y = shapely.bounds(lonlat)
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise ValueError("the area must be in longitude/latitude (WGS84, RFC 7946), not projected metres")
    if not shapely.is_valid(projected) or shapely.area(projected) < 1.0:
        raise ValueError("the area polygon is empty or invalid")
    return shapely.to_geojson(shapely.set_precision(lonlat, 1e-7)), projected


def area_geometry(problem: Problem, crs: str) -> shapely.Geometry:
    """The problem's area projected to ``crs`` (metres)."""
    return geometry_from_geojson(json.loads(problem.area_geojson), crs)


def _categories(session: Session, categories: Sequence[str]) -> list[str]:
    chosen = [c.strip() for c in categories if c and c.strip()]
    if not chosen:
        raise ValueError("choose at least one category or crime group for the goal")
    expand_categories(session, chosen)  # raises ValueError naming anything unknown
    return list(dict.fromkeys(chosen))


def _dates(
    baseline_start: dt.date | None, evaluation_start: dt.date | None, evaluation_end: dt.date | None
) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    if baseline_start is None or evaluation_start is None or evaluation_end is None:
        raise ValueError(
            "a measurable goal needs a time frame: the baseline start, the evaluation start and the evaluation end"
        )
    if not baseline_start < evaluation_start:
        raise ValueError(f"the baseline must start before the evaluation: {baseline_start} >= {evaluation_start}")
    if evaluation_end < evaluation_start:
        raise ValueError(f"the evaluation period ends ({evaluation_end}) before it starts ({evaluation_start})")
    return baseline_start, evaluation_start - dt.timedelta(days=1), evaluation_start, evaluation_end


def _reduction(value: float | None) -> float:
    if value is None or not 0 < float(value) < 100:
        raise ValueError(f"the target reduction must be a percentage between 0 and 100, got {value}")
    return float(value)


def record_change(
    session: Session,
    problem: Problem,
    actor: UserInfo,
    action: str,
    details: Mapping[str, Any],
    *,
    audit_action: str = "update",
) -> None:
    """Append to the problem's history and to the audit log; bump ``updated_at``."""
    plain = json.loads(json.dumps(dict(details), default=str))
    session.add(
        ProblemHistory(
            problem_id=problem.id,
            at=utcnow(),
            user_id=actor.id,
            username=actor.username,
            action=action,
            details=json.dumps(plain, sort_keys=True),
        )
    )
    problem.updated_at = utcnow()
    record_event(
        session,
        action=audit_action,
        object_type="problem",
        object_id=str(problem.id),
        actor=actor,
        details={"change": action, **plain},
        agency_id=problem.agency_id,
    )


def _agency(session: Session, actor: UserInfo) -> Agency:
    agency = session.get(Agency, actor.agency_id)
    if agency is None:
        raise ValueError(f"unknown agency of user {actor.username}")
    return agency


def load_problem(session: Session, actor: UserInfo, problem_id: int) -> Problem:
    """The problem if it belongs to the actor's agency; ProblemNotFound otherwise."""
    problem = session.get(Problem, problem_id)
    if problem is None or problem.agency_id != actor.agency_id:
        raise ProblemNotFound(f"no problem {problem_id} in your agency")
    return problem


def open_problem(engine: Engine, actor: UserInfo, data: ProblemInput) -> int:
    """Open a problem with a measurable goal; returns its id.

    Raises
    ------
    ValueError
        For a missing title, area or time frame, unknown categories, a reduction outside (0, 100) %.
    PermissionError
        When the actor may not change problems.
    """
    require_write(actor)
    title = _text(data.title, "a title", required=True, limit=200)
    if data.stage not in OPEN_STAGES:
        raise ValueError(f"a problem opens in one of {', '.join(OPEN_STAGES)}, not {data.stage!r}")
    with session_scope(engine) as session:
        agency = _agency(session, actor)
        categories = _categories(session, data.categories)
        reduction = _reduction(data.target_reduction_pct)
        baseline_start, baseline_end, evaluation_start, evaluation_end = _dates(
            data.baseline_start, data.evaluation_start, data.evaluation_end
        )
        area_text, _ = normalise_area(data.area, agency.crs)
        area_name = _text(data.area_name, "the area name", limit=200)
        goal = _text(data.goal, "the goal") or (
            f"Reduce {', '.join(categories)} in {area_name or 'the area'} by {reduction:g}% "
            f"between {evaluation_start} and {evaluation_end}, relative to {baseline_start} – {baseline_end}"
        )
        now = utcnow()
        problem = Problem(
            agency_id=agency.id,
            owner_id=actor.id,
            title=title,
            goal=goal,
            categories=json.dumps(categories),
            target_reduction_pct=reduction,
            baseline_start=baseline_start,
            baseline_end=baseline_end,
            evaluation_start=evaluation_start,
            evaluation_end=evaluation_end,
            area_name=area_name,
            area_geojson=area_text,
            stage=data.stage,
            origin=_text(data.origin, "origin", limit=20) or "analyst",
            created_at=now,
            updated_at=now,
        )
        session.add(problem)
        session.flush()
        session.add(ProblemWorksheet(problem_id=problem.id, updated_at=now, updated_by_id=actor.id))
        record_change(
            session,
            problem,
            actor,
            "open",
            {"title": title, "categories": categories, "target_reduction_pct": reduction, "stage": data.stage},
            audit_action="create",
        )
        return problem.id


#: Fields :func:`update_problem` accepts.
_UPDATABLE = (
    "title",
    "goal",
    "categories",
    "target_reduction_pct",
    "baseline_start",
    "evaluation_start",
    "evaluation_end",
    "area",
    "area_name",
    "owner",
)


def update_problem(engine: Engine, actor: UserInfo, problem_id: int, changes: Mapping[str, Any]) -> None:
    """Change fields of a problem (see ``_UPDATABLE``); the history keeps the old and new values.

    ``owner`` is a username of the same agency. The whole change is refused when one value is bad.
    """
    require_write(actor)
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}; changeable: {', '.join(_UPDATABLE)}")
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        agency = _agency(session, actor)
        before = _fields(problem)
        if "title" in changes:
            problem.title = _text(changes["title"], "a title", required=True, limit=200)
        if "goal" in changes:
            problem.goal = _text(changes["goal"], "the goal")
        if "area_name" in changes:
            problem.area_name = _text(changes["area_name"], "the area name", limit=200)
        if "categories" in changes:
            problem.categories = json.dumps(_categories(session, list(changes["categories"] or [])))
        if "target_reduction_pct" in changes:
            problem.target_reduction_pct = _reduction(changes["target_reduction_pct"])
        if {"baseline_start", "evaluation_start", "evaluation_end"} & set(changes):
            dates = _dates(
                changes.get("baseline_start", problem.baseline_start),
                changes.get("evaluation_start", problem.evaluation_start),
                changes.get("evaluation_end", problem.evaluation_end),
            )
            problem.baseline_start, problem.baseline_end, problem.evaluation_start, problem.evaluation_end = dates
        if "area" in changes:
            problem.area_geojson, _ = normalise_area(changes["area"], agency.crs)
        if "owner" in changes:
            owner = session.scalars(
                select(User).where(User.username == str(changes["owner"]).strip().lower())
            ).one_or_none()
            if owner is None or owner.agency_id != problem.agency_id or not owner.is_active:
                raise ValueError(f"no active user {changes['owner']!r} in your agency to own the problem")
            problem.owner_id = owner.id
        after = _fields(problem)
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        if changed:
            record_change(session, problem, actor, "update", {"fields": changed})


def _fields(problem: Problem) -> dict[str, Any]:
    return {
        "title": problem.title,
        "goal": problem.goal,
        "categories": json.loads(problem.categories),
        "target_reduction_pct": problem.target_reduction_pct,
        "baseline_start": str(problem.baseline_start),
        "evaluation_start": str(problem.evaluation_start),
        "evaluation_end": str(problem.evaluation_end),
        # A digest, so the history says the area changed without copying polygons into it.
        "area": hashlib.sha256(problem.area_geojson.encode()).hexdigest()[:12],
        "area_name": problem.area_name,
        "owner_id": problem.owner_id,
    }


def set_stage(engine: Engine, actor: UserInfo, problem_id: int, stage: str, reason: str = "") -> None:
    """Move a problem to another SARA stage (or close or reopen it); the history records from → to."""
    require_write(actor)
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        if problem.stage == stage:
            raise ValueError(f"the problem is already in the {stage} stage")
        if stage == "closed" and not reason.strip():
            raise ValueError("give a reason to close a problem (goal met, handed over, no longer a problem…)")
        details = {"from": problem.stage, "to": stage, "reason": _text(reason, "the reason", limit=2000)}
        problem.stage = stage
        record_change(session, problem, actor, "stage", details)


def update_worksheet(engine: Engine, actor: UserInfo, problem_id: int, fields: Mapping[str, str]) -> None:
    """Fill in the problem analysis triangle (any of :data:`WORKSHEET_FIELDS`)."""
    require_write(actor)
    unknown = set(fields) - set(WORKSHEET_FIELDS)
    if unknown:
        raise ValueError(f"unknown worksheet fields {sorted(unknown)}; fields: {', '.join(WORKSHEET_FIELDS)}")
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        sheet = session.get(ProblemWorksheet, problem.id) or ProblemWorksheet(problem_id=problem.id)
        session.add(sheet)
        changed = []
        for name, value in fields.items():
            text = _text(value, name.replace("_", "/"))
            if (getattr(sheet, name) or "") != text:
                setattr(sheet, name, text)
                changed.append(name)
        if changed:
            sheet.updated_at = utcnow()
            sheet.updated_by_id = actor.id
            record_change(session, problem, actor, "worksheet", {"fields": changed})


def add_note(engine: Engine, actor: UserInfo, problem_id: int, body: str) -> int:
    """Add a note; returns its id."""
    require_write(actor)
    text = _text(body, "the note", required=True)
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        note = ProblemNote(problem_id=problem.id, author_id=actor.id, body=text, created_at=utcnow())
        session.add(note)
        session.flush()
        record_change(session, problem, actor, "note", {"note_id": note.id, "characters": len(text)})
        return note.id


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all()
    return {int(row[0]): str(row[1]) for row in rows}


def summary_view(problem: Problem, owner: str) -> dict[str, Any]:
    """The fields of a problem as a JSON-ready mapping (no related records)."""
    return {
        "id": problem.id,
        "title": problem.title,
        "goal": problem.goal,
        "owner": owner,
        "stage": problem.stage,
        "origin": problem.origin,
        "categories": json.loads(problem.categories),
        "target_reduction_pct": problem.target_reduction_pct,
        "baseline": {"start": str(problem.baseline_start), "end": str(problem.baseline_end)},
        "evaluation": {"start": str(problem.evaluation_start), "end": str(problem.evaluation_end)},
        "area_name": problem.area_name,
        "area": json.loads(problem.area_geojson),
        "created_at": _iso(problem.created_at),
        "updated_at": _iso(problem.updated_at),
    }


def list_problems(engine: Engine, actor: UserInfo, *, include_closed: bool = True) -> list[dict[str, Any]]:
    """The agency's problems, newest change first (fields only; the list is audited as a search)."""
    with session_scope(engine) as session:
        query = select(Problem).where(Problem.agency_id == actor.agency_id)
        if not include_closed:
            query = query.where(Problem.stage != "closed")
        problems = session.scalars(query.order_by(Problem.updated_at.desc(), Problem.id.desc())).all()
        names = _usernames(session, {p.owner_id for p in problems})
        record_event(
            session,
            action="search",
            object_type="problems",
            actor=actor,
            details={"include_closed": include_closed, "results": len(problems)},
        )
        return [summary_view(p, names.get(p.owner_id, "")) for p in problems]


def problem_view(session: Session, problem: Problem) -> dict[str, Any]:
    """Everything about a problem (worksheet, notes, attachments without content, interventions,
    comparison areas, evaluations without charts, history) as a JSON-ready mapping."""
    pid = problem.id
    sheet = session.get(ProblemWorksheet, pid)
    notes = session.scalars(select(ProblemNote).where(ProblemNote.problem_id == pid).order_by(ProblemNote.id)).all()
    attachments = session.scalars(
        select(ProblemAttachment).where(ProblemAttachment.problem_id == pid).order_by(ProblemAttachment.id)
    ).all()
    interventions = session.scalars(
        select(ProblemIntervention).where(ProblemIntervention.problem_id == pid).order_by(ProblemIntervention.id)
    ).all()
    areas = session.scalars(
        select(ProblemComparisonArea).where(ProblemComparisonArea.problem_id == pid).order_by(ProblemComparisonArea.id)
    ).all()
    evaluations = session.scalars(
        select(ProblemEvaluation).where(ProblemEvaluation.problem_id == pid).order_by(ProblemEvaluation.id)
    ).all()
    history = session.scalars(
        select(ProblemHistory).where(ProblemHistory.problem_id == pid).order_by(ProblemHistory.id)
    ).all()
    names = _usernames(
        session,
        {problem.owner_id}
        | {n.author_id for n in notes}
        | {a.created_by_id for a in attachments}
        | {i.created_by_id for i in interventions}
        | {e.created_by_id for e in evaluations}
        | {a.updated_by_id for a in areas},
    )
    view = summary_view(problem, names.get(problem.owner_id, ""))
    view["worksheet"] = {name: getattr(sheet, name) if sheet else "" for name in WORKSHEET_FIELDS}
    view["notes"] = [
        {"id": n.id, "author": names.get(n.author_id or 0, ""), "body": n.body, "created_at": _iso(n.created_at)}
        for n in notes
    ]
    view["attachments"] = [
        {
            "id": a.id,
            "kind": a.kind,
            "title": a.title,
            "parameters": json.loads(a.parameters),
            "content_type": a.content_type,
            "file_path": a.file_path,
            "created_by": names.get(a.created_by_id or 0, ""),
            "created_at": _iso(a.created_at),
        }
        for a in attachments
    ]
    view["interventions"] = [
        {
            "id": i.id,
            "kind": i.kind,
            "description": i.description,
            "area": json.loads(i.area_geojson) if i.area_geojson else None,
            "start": str(i.start_date),
            "end": str(i.end_date),
            "dosage_value": i.dosage_value,
            "dosage_unit": i.dosage_unit,
            "created_by": names.get(i.created_by_id or 0, ""),
        }
        for i in interventions
    ]
    view["comparison_areas"] = {
        a.role: {
            "origin": a.origin,
            "area": json.loads(a.geojson),
            "details": json.loads(a.details),
            "updated_by": names.get(a.updated_by_id or 0, ""),
            "updated_at": _iso(a.updated_at),
        }
        for a in areas
    }
    view["evaluations"] = [
        {
            "id": e.id,
            "kind": e.kind,
            "report": json.loads(e.report),
            "has_chart": e.chart_svg is not None,
            "created_by": names.get(e.created_by_id or 0, ""),
            "created_at": _iso(e.created_at),
        }
        for e in evaluations
    ]
    view["history"] = [
        {"at": _iso(h.at), "user": h.username, "action": h.action, "details": json.loads(h.details)} for h in history
    ]
    return view


def get_problem(engine: Engine, actor: UserInfo, problem_id: int) -> dict[str, Any]:
    """One problem with everything attached (:func:`problem_view`); the read is audited."""
    with session_scope(engine) as session:
        problem = load_problem(session, actor, problem_id)
        view = problem_view(session, problem)
        record_event(session, action="read", object_type="problem", object_id=str(problem.id), actor=actor)
        return view
