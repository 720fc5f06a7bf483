"""Reading problems: the agency's list and one problem with everything attached (both audited)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Result
from openilp.db.models import (
    Problem,
    ProblemAttachment,
    ProblemComparisonArea,
    ProblemEvaluation,
    ProblemHistory,
    ProblemIntervention,
    ProblemNote,
    ProblemWorksheet,
)
from openilp.security.actors import UserInfo
from openilp.services.analysis.incidents import CRIME_GROUPS, CategoryOption, category_options
from openilp.services.problems.areas import unit_names
from openilp.services.problems.common import WORKSHEET_FIELDS, iso, load_problem, require_read, usernames

__all__ = [
    "AreaChoices",
    "CategoryChoices",
    "ProblemDetail",
    "ProblemList",
    "ProblemSummary",
    "agency_categories",
    "area_choices",
    "get_problem",
    "list_problems",
    "problem_detail",
]


@dataclass(frozen=True)
class ProblemSummary(Result):
    """The fields of a problem (no related records). Dates are ISO text, areas GeoJSON mappings."""

    id: int
    title: str
    goal: str
    owner: str
    stage: str
    origin: str
    categories: tuple[str, ...]
    target_reduction_pct: float
    #: ``{"start", "end"}`` of the baseline and of the evaluation period (ISO days, inclusive).
    baseline: Mapping[str, str]
    evaluation: Mapping[str, str]
    area_name: str
    #: The problem's area: GeoJSON geometry in longitude/latitude.
    area: Mapping[str, Any]
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, problem: Problem, owner: str) -> ProblemSummary:
        return cls(**_summary_fields(problem, owner))


def _summary_fields(problem: Problem, owner: str) -> dict[str, Any]:
    return {
        "id": problem.id,
        "title": problem.title,
        "goal": problem.goal,
        "owner": owner,
        "stage": problem.stage,
        "origin": problem.origin,
        "categories": tuple(json.loads(problem.categories)),
        "target_reduction_pct": problem.target_reduction_pct,
        "baseline": {"start": str(problem.baseline_start), "end": str(problem.baseline_end)},
        "evaluation": {"start": str(problem.evaluation_start), "end": str(problem.evaluation_end)},
        "area_name": problem.area_name,
        "area": json.loads(problem.area_geojson),
        "created_at": iso(problem.created_at),
        "updated_at": iso(problem.updated_at),
    }


@dataclass(frozen=True)
class ProblemDetail(ProblemSummary):
    """A problem with its worksheet, notes, attachments (without content), interventions,
    comparison areas (by role), evaluations (without charts) and history, oldest first."""

    worksheet: Mapping[str, str]
    notes: tuple[Mapping[str, Any], ...]
    attachments: tuple[Mapping[str, Any], ...]
    interventions: tuple[Mapping[str, Any], ...]
    comparison_areas: Mapping[str, Mapping[str, Any]]
    evaluations: tuple[Mapping[str, Any], ...]
    history: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class ProblemList(Result):
    """The agency's problems, newest change first."""

    problems: tuple[ProblemSummary, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"problems": [p.as_dict() for p in self.problems]}


def list_problems(core: OpenILP, actor: UserInfo | None, *, include_closed: bool = True) -> ProblemList:
    """The agency's problems, newest change first (fields only; the list is audited as a search)."""
    actor = require_read(actor)
    with core.unit_of_work(actor) as uow:
        query = select(Problem).where(Problem.agency_id == actor.agency_id)
        if not include_closed:
            query = query.where(Problem.stage != "closed")
        problems = uow.session.scalars(query.order_by(Problem.updated_at.desc(), Problem.id.desc())).all()
        names = usernames(uow.session, {p.owner_id for p in problems})
        uow.audit(
            action="search",
            object_type="problems",
            details={"include_closed": include_closed, "results": len(problems)},
        )
        return ProblemList(tuple(ProblemSummary.of(p, names.get(p.owner_id or 0, "")) for p in problems))


def _rows(session: Session, model: Any, problem_id: int) -> list[Any]:
    return list(session.scalars(select(model).where(model.problem_id == problem_id).order_by(model.id)).all())


def problem_detail(session: Session, problem: Problem) -> ProblemDetail:
    """Everything about ``problem`` as a :class:`ProblemDetail` (not audited: callers audit)."""
    pid = problem.id
    sheet = session.get(ProblemWorksheet, pid)
    notes = _rows(session, ProblemNote, pid)
    attachments = _rows(session, ProblemAttachment, pid)
    interventions = _rows(session, ProblemIntervention, pid)
    areas = _rows(session, ProblemComparisonArea, pid)
    evaluations = _rows(session, ProblemEvaluation, pid)
    history = _rows(session, ProblemHistory, pid)
    names = usernames(
        session,
        {problem.owner_id}
        | {n.author_id for n in notes}
        | {a.created_by_id for a in attachments}
        | {i.created_by_id for i in interventions}
        | {e.created_by_id for e in evaluations}
        | {a.updated_by_id for a in areas},
    )
    return ProblemDetail(
        **_summary_fields(problem, names.get(problem.owner_id or 0, "")),
        worksheet={name: getattr(sheet, name) if sheet else "" for name in WORKSHEET_FIELDS},
        notes=tuple(
            {"id": n.id, "author": names.get(n.author_id or 0, ""), "body": n.body, "created_at": iso(n.created_at)}
            for n in notes
        ),
        attachments=tuple(
            {
                "id": a.id,
                "kind": a.kind,
                "title": a.title,
                "parameters": json.loads(a.parameters),
                "content_type": a.content_type,
                "file_path": a.file_path,
                "created_by": names.get(a.created_by_id or 0, ""),
                "created_at": iso(a.created_at),
            }
            for a in attachments
        ),
        interventions=tuple(
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
        ),
        comparison_areas={
            a.role: {
                "origin": a.origin,
                "area": json.loads(a.geojson),
                "details": json.loads(a.details),
                "updated_by": names.get(a.updated_by_id or 0, ""),
                "updated_at": iso(a.updated_at),
            }
            for a in areas
        },
        evaluations=tuple(
            {
                "id": e.id,
                "kind": e.kind,
                "report": json.loads(e.report),
                "has_chart": e.chart_svg is not None,
                "created_by": names.get(e.created_by_id or 0, ""),
                "created_at": iso(e.created_at),
            }
            for e in evaluations
        ),
        history=tuple(
            {"at": iso(h.at), "user": h.username, "action": h.action, "details": json.loads(h.details)} for h in history
        ),
    )


def get_problem(core: OpenILP, actor: UserInfo | None, problem_id: int) -> ProblemDetail:
    """One problem with everything attached; the read is audited."""
    actor = require_read(actor)
    with core.unit_of_work(actor) as uow:
        problem = load_problem(uow.session, actor, problem_id)
        detail = problem_detail(uow.session, problem)
        uow.audit(action="read", object_type="problem", object_id=problem.id)
        return detail


@dataclass(frozen=True)
class AreaChoices(Result):
    """The polygons an analyst can pick areas from: the agency's boundary layer (names in file
    order, its display name and attribution; empty when the agency has none)."""

    layer: str
    attribution: str
    units: tuple[str, ...]


def area_choices(core: OpenILP, actor: UserInfo | None) -> AreaChoices:
    """The names of the agency's boundary polygons (e.g. the 88 St. Louis neighbourhoods), for pickers."""
    actor = require_read(actor)
    layer = core.boundaries.layer_for(actor.agency_code)
    if layer is None:
        return AreaChoices(layer="", attribution="", units=())
    return AreaChoices(layer=layer.name, attribution=layer.attribution, units=unit_names(layer.path))


@dataclass(frozen=True)
class CategoryChoices(Result):
    """The crime groups and offence categories the agency has incidents of, for pickers."""

    groups: tuple[str, ...]
    categories: tuple[CategoryOption, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"groups": list(self.groups), "categories": [c.as_dict() for c in self.categories]}


def agency_categories(core: OpenILP, actor: UserInfo | None) -> CategoryChoices:
    """Categories (and their crime groups) the actor's agency has incidents of."""
    actor = require_read(actor)
    with core.unit_of_work(actor) as uow:
        options = category_options(uow.session, [actor.agency_id])
    groups = tuple(g for g in CRIME_GROUPS if any(o.crime_group == g for o in options))
    return CategoryChoices(groups=groups, categories=tuple(options))
