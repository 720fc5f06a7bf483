"""Problems worked through the SARA cycle: open, change, move between stages, worksheet, notes.

A problem (Goldstein 1990; Eck & Spelman 1987) has an owner, a goal that can be measured — reduce
the incidents of some categories inside an area by a percentage over an evaluation period,
relative to a baseline period — and a stage: ``scanning``, ``analysis``, ``response``,
``assessment`` or ``closed``. Every change is written twice, in the service's unit of work: to the
problem's own history (shown on its page) and to the tamper-evident audit log.

Every function takes the core object, the acting user and one request; problems are visible to
users of their agency only, and changes need the ``problems:write`` permission.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, Problem, ProblemNote, ProblemWorksheet, User
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.events import expand_categories
from openilp.services.problems.areas import area_from_units, geojson_area, normalise_area, unit_choice
from openilp.services.problems.common import (
    OPEN_STAGES,
    STAGES,
    WORKSHEET_FIELDS,
    load_problem,
    parse_day,
    record_change,
    refusals,
    require_write,
    text,
)

__all__ = [
    "ORIGINS",
    "ChangeProblemRequest",
    "NoteAdded",
    "NoteRequest",
    "OpenProblemRequest",
    "ProblemChange",
    "StageRequest",
    "WorksheetRequest",
    "add_note",
    "open_problem",
    "set_stage",
    "update_problem",
    "update_worksheet",
]

#: Where a problem came from: an analyst's own, or a scanning candidate of either kind.
ORIGINS = ("analyst", "hotspot", "trend", "scan")
#: Fields :func:`update_problem` accepts.
UPDATABLE = (
    "title",
    "goal",
    "categories",
    "target_reduction_pct",
    "baseline_start",
    "evaluation_start",
    "evaluation_end",
    "area",
    "area_name",
    "area_units",
    "owner",
)


def _category_list(value: Sequence[str] | str | None) -> tuple[str, ...]:
    items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value or [])
    chosen = [str(c).strip() for c in items if c and str(c).strip()]
    if not chosen:
        raise InvalidRequest("choose at least one category or crime group for the goal")
    if len(chosen) > 50:
        raise InvalidRequest(f"choose at most 50 categories or crime groups, got {len(chosen)}")
    return tuple(dict.fromkeys(chosen))


def _reduction(value: float | str | None) -> float:
    try:
        number = float(value) if value is not None and str(value).strip() else None
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"the target reduction must be a number of percent, got {value!r}") from exc
    if number is None or not math.isfinite(number) or not 0 < number < 100:
        raise InvalidRequest(f"the target reduction must be a percentage between 0 and 100, got {value}")
    return number


def _dates(
    baseline_start: dt.date | None, evaluation_start: dt.date | None, evaluation_end: dt.date | None
) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    if baseline_start is None or evaluation_start is None or evaluation_end is None:
        raise InvalidRequest(
            "a measurable goal needs a time frame: the baseline start, the evaluation start and the evaluation end"
        )
    if not baseline_start < evaluation_start:
        raise InvalidRequest(f"the baseline must start before the evaluation: {baseline_start} >= {evaluation_start}")
    if evaluation_end < evaluation_start:
        raise InvalidRequest(f"the evaluation period ends ({evaluation_end}) before it starts ({evaluation_start})")
    return baseline_start, evaluation_start - dt.timedelta(days=1), evaluation_start, evaluation_end


def _area_or_units(area: str | Mapping[str, Any] | None, units: Sequence[str]) -> Mapping[str, Any] | None:
    """The parsed GeoJSON area, or None when polygons of the boundary layer are chosen instead."""
    blank = area is None or (isinstance(area, str) and not area.strip())
    if units and not blank:
        raise InvalidRequest("give the area either as polygons of the boundary layer or drawn, not both")
    return None if units else geojson_area(area)


def _known_categories(session: Session, categories: Sequence[str]) -> list[str]:
    expand_categories(session, list(categories))  # raises ValueError naming anything unknown
    return list(categories)


def _agency(session: Session, actor: UserInfo) -> Agency:
    agency = session.get(Agency, actor.agency_id)
    if agency is None:
        raise InvalidRequest(f"unknown agency of user {actor.username}")
    return agency


@dataclass(frozen=True)
class OpenProblemRequest(Request):
    """What an analyst gives to open a problem. Dates are local calendar days (or ``YYYY-MM-DD``).

    The baseline runs from ``baseline_start`` to the day before ``evaluation_start``; the goal is
    measured from ``evaluation_start`` to ``evaluation_end`` (inclusive). ``area`` is GeoJSON in
    longitude/latitude (a mapping or its text): Polygon/MultiPolygon geometry, Feature or
    FeatureCollection — never a file name. Instead of ``area``, ``area_units`` names polygons of
    the agency's boundary layer (e.g. neighbourhoods; a list or one text separated by ``;``): the
    area is their union. ``categories`` may be one comma-separated text.
    """

    title: str
    categories: Sequence[str] | str
    target_reduction_pct: float | str | None
    baseline_start: dt.date | str | None
    evaluation_start: dt.date | str | None
    evaluation_end: dt.date | str | None
    area: str | Mapping[str, Any] | None
    area_name: str = ""
    goal: str = ""
    stage: str = "scanning"
    origin: str = "analyst"
    area_units: Sequence[str] | str = ()

    def validate(self) -> OpenProblemRequest:
        if self.stage not in OPEN_STAGES:
            raise InvalidRequest(f"a problem opens in one of {', '.join(OPEN_STAGES)}, not {self.stage!r}")
        units = unit_choice(self.area_units)
        baseline_start, _, evaluation_start, evaluation_end = _dates(
            parse_day(self.baseline_start, "the baseline start"),
            parse_day(self.evaluation_start, "the evaluation start"),
            parse_day(self.evaluation_end, "the evaluation end"),
        )
        return dataclasses.replace(
            self,
            title=text(self.title, "a title", required=True, limit=200),
            categories=_category_list(self.categories),
            target_reduction_pct=_reduction(self.target_reduction_pct),
            baseline_start=baseline_start,
            evaluation_start=evaluation_start,
            evaluation_end=evaluation_end,
            area=_area_or_units(self.area, units),
            area_name=text(self.area_name or "; ".join(units), "the area name", limit=200),
            goal=text(self.goal, "the goal"),
            origin=self.origin if self.origin in ORIGINS else "analyst",
            area_units=units,
        )

    def field_errors(self) -> dict[str, str]:
        """Every bad field at once, by form field name (empty when :meth:`validate` would pass).

        :meth:`validate` stops at the first problem; a form shows them all, each next to its
        control. Categories are checked against the store by the service, not here.
        """
        errors: dict[str, str] = {}

        def check(name: str, test: Callable[[], object]) -> None:
            try:
                test()
            except InvalidRequest as exc:
                errors[name] = str(exc)

        check("title", lambda: text(self.title, "a title", required=True, limit=200))
        check("categories", lambda: _category_list(self.categories))
        check("target_reduction_pct", lambda: _reduction(self.target_reduction_pct))
        days: dict[str, dt.date | None] = {}
        for name, label in (
            ("baseline_start", "the baseline start"),
            ("evaluation_start", "the evaluation start"),
            ("evaluation_end", "the evaluation end"),
        ):
            try:
                days[name] = parse_day(getattr(self, name), label)
                if days[name] is None:
                    errors[name] = f"{label} is required (YYYY-MM-DD)"
            except InvalidRequest as exc:
                errors[name] = str(exc)
        if not errors.keys() & {"baseline_start", "evaluation_start", "evaluation_end"}:
            check("evaluation_start", lambda: _dates(*days.values()))
        check("area", lambda: _area_or_units(self.area, unit_choice(self.area_units)))
        check("area_name", lambda: text(self.area_name, "the area name", limit=200))
        check("goal", lambda: text(self.goal, "the goal"))
        return errors


@dataclass(frozen=True)
class ProblemOpened(Result):
    """The id of the new problem."""

    id: int


@dataclass(frozen=True)
class ProblemChange(Result):
    """What a change did to problem ``id``: the history action and the fields it changed."""

    id: int
    action: str
    fields: tuple[str, ...] = ()


@refusals
def open_problem(core: OpenILP, actor: UserInfo | None, request: OpenProblemRequest) -> ProblemOpened:
    """Open a problem with a measurable goal (audited as ``create``).

    Raises InvalidRequest for a missing title, area or time frame, unknown categories or a
    reduction outside (0, 100) %; NotPermitted when the actor may not change problems.
    """
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = _agency(session, actor)
        categories = _known_categories(session, list(request.categories))
        reduction = float(request.target_reduction_pct)  # type: ignore[arg-type]
        baseline_start, baseline_end, evaluation_start, evaluation_end = _dates(
            request.baseline_start,  # type: ignore[arg-type]
            request.evaluation_start,  # type: ignore[arg-type]
            request.evaluation_end,  # type: ignore[arg-type]
        )
        area = request.area or area_from_units(core, agency.code, list(request.area_units), "the problem area")
        area_text, _ = normalise_area(area, agency.crs)
        goal = request.goal or (
            f"Reduce {', '.join(categories)} in {request.area_name or 'the area'} by {reduction:g}% "
            f"between {evaluation_start} and {evaluation_end}, relative to {baseline_start} – {baseline_end}"
        )
        problem = Problem(
            agency_id=agency.id,
            owner_id=actor.id,
            title=request.title,
            goal=goal,
            categories=json.dumps(categories),
            target_reduction_pct=reduction,
            baseline_start=baseline_start,
            baseline_end=baseline_end,
            evaluation_start=evaluation_start,
            evaluation_end=evaluation_end,
            area_name=request.area_name,
            area_geojson=area_text,
            stage=request.stage,
            origin=request.origin,
            created_at=uow.now,
            updated_at=uow.now,
        )
        session.add(problem)
        session.flush()
        session.add(ProblemWorksheet(problem_id=problem.id, updated_at=uow.now, updated_by_id=actor.id))
        record_change(
            uow,
            problem,
            actor,
            "open",
            {
                "title": request.title,
                "categories": categories,
                "target_reduction_pct": reduction,
                "stage": request.stage,
            },
            audit_action="create",
        )
        return ProblemOpened(id=problem.id)


@dataclass(frozen=True)
class ChangeProblemRequest(Request):
    """Changes to problem ``problem_id``: any of :data:`UPDATABLE` (dates as days or ``YYYY-MM-DD``).

    ``owner`` is a username of the same agency; ``area`` is GeoJSON (never a file name). The whole
    change is refused when one value is bad.
    """

    problem_id: int
    changes: Mapping[str, Any] = field(default_factory=dict)

    def validate(self) -> ChangeProblemRequest:
        unknown = set(self.changes) - set(UPDATABLE)
        if unknown:
            raise InvalidRequest(f"cannot change {', '.join(sorted(unknown))}; changeable: {', '.join(UPDATABLE)}")
        values = dict(self.changes)
        if "title" in values:
            values["title"] = text(values["title"], "a title", required=True, limit=200)
        if "goal" in values:
            values["goal"] = text(values["goal"], "the goal")
        if "area_name" in values:
            values["area_name"] = text(values["area_name"], "the area name", limit=200)
        if "categories" in values:
            values["categories"] = _category_list(values["categories"])
        if "target_reduction_pct" in values:
            values["target_reduction_pct"] = _reduction(values["target_reduction_pct"])
        for name in ("baseline_start", "evaluation_start", "evaluation_end"):
            if name in values:
                values[name] = parse_day(values[name], name)
        if "area_units" in values:
            values["area_units"] = unit_choice(values["area_units"])
            if not values["area_units"]:
                del values["area_units"]
        if "area" in values:
            area = values.pop("area")
            if "area_units" in values:
                _area_or_units(area, values["area_units"])  # refuses both at once
            else:
                values["area"] = geojson_area(area)
        if "owner" in values:
            values["owner"] = text(str(values["owner"] or ""), "the owner", required=True, limit=200).lower()
        return dataclasses.replace(self, changes=values)


@refusals
def update_problem(core: OpenILP, actor: UserInfo | None, request: ChangeProblemRequest) -> ProblemChange:
    """Change fields of a problem; the history keeps the old and new values."""
    actor = require_write(actor)
    request = request.validate()
    changes = request.changes
    with core.unit_of_work(actor) as uow:
        session = uow.session
        problem = load_problem(session, actor, request.problem_id)
        agency = _agency(session, actor)
        before = _fields(problem)
        for name in ("title", "goal", "area_name", "target_reduction_pct"):
            if name in changes:
                setattr(problem, name, changes[name])
        if "categories" in changes:
            problem.categories = json.dumps(_known_categories(session, list(changes["categories"])))
        if {"baseline_start", "evaluation_start", "evaluation_end"} & set(changes):
            dates = _dates(
                changes.get("baseline_start", problem.baseline_start),
                changes.get("evaluation_start", problem.evaluation_start),
                changes.get("evaluation_end", problem.evaluation_end),
            )
            problem.baseline_start, problem.baseline_end, problem.evaluation_start, problem.evaluation_end = dates
        if "area" in changes:
            problem.area_geojson, _ = normalise_area(changes["area"], agency.crs)
        if "area_units" in changes:
            units = list(changes["area_units"])
            problem.area_geojson, _ = normalise_area(area_from_units(core, agency.code, units, "the area"), agency.crs)
        if "owner" in changes:
            owner = session.scalars(select(User).where(User.username == changes["owner"])).one_or_none()
            if owner is None or owner.agency_id != problem.agency_id or not owner.is_active:
                raise InvalidRequest(f"no active user {changes['owner']!r} in your agency to own the problem")
            problem.owner_id = owner.id
        after = _fields(problem)
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        if changed:
            record_change(uow, problem, actor, "update", {"fields": changed})
        return ProblemChange(id=problem.id, action="update", fields=tuple(changed))


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


@dataclass(frozen=True)
class StageRequest(Request):
    """Move problem ``problem_id`` to ``stage`` (one of :data:`STAGES`); closing needs a ``reason``."""

    problem_id: int
    stage: str
    reason: str = ""

    def validate(self) -> StageRequest:
        if self.stage not in STAGES:
            raise InvalidRequest(f"unknown stage {self.stage!r}; stages: {', '.join(STAGES)}")
        reason = text(self.reason, "the reason", limit=2000)
        if self.stage == "closed" and not reason:
            raise InvalidRequest("give a reason to close a problem (goal met, handed over, no longer a problem…)")
        return dataclasses.replace(self, reason=reason)


@refusals
def set_stage(core: OpenILP, actor: UserInfo | None, request: StageRequest) -> ProblemChange:
    """Move a problem to another SARA stage (or close or reopen it); the history records from → to."""
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        if problem.stage == request.stage:
            raise InvalidRequest(f"the problem is already in the {request.stage} stage")
        details = {"from": problem.stage, "to": request.stage, "reason": request.reason}
        problem.stage = request.stage
        record_change(uow, problem, actor, "stage", details)
        return ProblemChange(id=problem.id, action="stage", fields=("stage",))


@dataclass(frozen=True)
class WorksheetRequest(Request):
    """Text for any of :data:`WORKSHEET_FIELDS` of problem ``problem_id`` (the analysis triangle)."""

    problem_id: int
    fields: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> WorksheetRequest:
        unknown = set(self.fields) - set(WORKSHEET_FIELDS)
        if unknown:
            raise InvalidRequest(f"unknown worksheet fields {sorted(unknown)}; fields: {', '.join(WORKSHEET_FIELDS)}")
        values = {name: text(value, name.replace("_", "/")) for name, value in self.fields.items()}
        return dataclasses.replace(self, fields=values)


@refusals
def update_worksheet(core: OpenILP, actor: UserInfo | None, request: WorksheetRequest) -> ProblemChange:
    """Fill in the problem analysis triangle; only fields whose text changed are recorded."""
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        session = uow.session
        problem = load_problem(session, actor, request.problem_id)
        sheet = session.get(ProblemWorksheet, problem.id) or ProblemWorksheet(problem_id=problem.id)
        session.add(sheet)
        changed = []
        for name, value in request.fields.items():
            if (getattr(sheet, name) or "") != value:
                setattr(sheet, name, value)
                changed.append(name)
        if changed:
            sheet.updated_at = uow.now
            sheet.updated_by_id = actor.id
            record_change(uow, problem, actor, "worksheet", {"fields": changed})
        return ProblemChange(id=problem.id, action="worksheet", fields=tuple(changed))


@dataclass(frozen=True)
class NoteRequest(Request):
    """A note on problem ``problem_id`` (at most 20,000 characters)."""

    problem_id: int
    body: str

    def validate(self) -> NoteRequest:
        return dataclasses.replace(self, body=text(self.body, "the note", required=True))


@dataclass(frozen=True)
class NoteAdded(Result):
    """The id of the new note and its problem."""

    id: int
    problem_id: int


@refusals
def add_note(core: OpenILP, actor: UserInfo | None, request: NoteRequest) -> NoteAdded:
    """Add a note to a problem."""
    actor = require_write(actor)
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, request.problem_id)
        note = ProblemNote(problem_id=problem.id, author_id=actor.id, body=request.body, created_at=uow.now)
        uow.session.add(note)
        uow.session.flush()
        record_change(uow, problem, actor, "note", {"note_id": note.id, "characters": len(request.body)})
        return NoteAdded(id=note.id, problem_id=problem.id)
