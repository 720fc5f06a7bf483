"""JSON API of problem records: open, list with the dashboard, read, change, stage, worksheet,
notes, and the map of a problem's areas."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import problems
from openilp.web.context import get_core
from openilp.web.params import Id
from openilp.web.routes.problems.common import READ, WRITE

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/problems", tags=["problems"])


class ProblemBody(BaseModel):
    title: str = Field(max_length=200)
    categories: list[str] = Field(max_length=50)
    target_reduction_pct: float
    baseline_start: str = Field(max_length=10)
    evaluation_start: str = Field(max_length=10)
    evaluation_end: str = Field(max_length=10)
    area: dict[str, Any] = Field(description="GeoJSON polygon (longitude/latitude); never a file name.")
    area_name: str = Field("", max_length=200)
    goal: str = Field("", max_length=20_000)
    stage: str = "scanning"


class StageBody(BaseModel):
    stage: str = Field(max_length=20)
    reason: str = Field("", max_length=2000)


class NoteBody(BaseModel):
    body: str = Field(max_length=20_000)


@router.get("")
def list_api(core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> dict[str, Any]:
    """The agency's problems, and the open ones with their progress toward the goal (the dashboard)."""
    return problems.list_problems(core, user).as_dict() | problems.dashboard(core, user).as_dict()


@router.post("", status_code=201)
def create_api(body: ProblemBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)) -> dict[str, Any]:
    """Open a problem with a measurable goal."""
    return problems.open_problem(core, user, problems.OpenProblemRequest(**body.model_dump())).as_dict()


@router.get("/{problem_id}")
def get_api(problem_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> dict[str, Any]:
    """One problem with its worksheet, notes, attachments, interventions, areas, evaluations and history."""
    return problems.get_problem(core, user, problem_id).as_dict()


@router.patch("/{problem_id}")
def update_api(
    problem_id: Id, changes: dict[str, Any], core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Change fields (title, goal, categories, target_reduction_pct, dates, area, area_name, owner).

    ``area`` is a GeoJSON object; a file name or any other text is refused (400).
    """
    problems.update_problem(core, user, problems.ChangeProblemRequest(problem_id, changes))
    return {"id": problem_id}


@router.post("/{problem_id}/stage")
def stage_api(
    problem_id: Id, body: StageBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Move the problem to another SARA stage (closing needs a reason)."""
    problems.set_stage(core, user, problems.StageRequest(problem_id, body.stage, body.reason))
    return {"id": problem_id, "stage": body.stage}


@router.put("/{problem_id}/worksheet")
def worksheet_api(
    problem_id: Id, fields: dict[str, str], core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Fill in the problem analysis triangle (offender, target_victim, place, handlers, guardians, managers)."""
    problems.update_worksheet(core, user, problems.WorksheetRequest(problem_id, fields))
    return {"id": problem_id}


@router.post("/{problem_id}/notes", status_code=201)
def note_api(
    problem_id: Id, body: NoteBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Add a note."""
    return {"id": problems.add_note(core, user, problems.NoteRequest(problem_id, body.body)).id}


@router.get("/{problem_id}/map.geojson")
def map_api(problem_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> Response:
    """The problem's area, comparison areas and intervention areas as one FeatureCollection."""
    view = problems.get_problem(core, user, problem_id)
    features = [{"type": "Feature", "properties": {"role": "target", "label": "Problem area"}, "geometry": view.area}]
    for role, area in view.comparison_areas.items():
        label = f"{role.replace('_', ' ')} ({area['origin']})"
        features.append({"type": "Feature", "properties": {"role": role, "label": label}, "geometry": area["area"]})
    for item in view.interventions:
        if item["area"]:
            label = f"{item['kind']} {item['start']} – {item['end']}"
            properties = {"role": "intervention", "label": label}
            features.append({"type": "Feature", "properties": properties, "geometry": item["area"]})
    body = json.dumps({"type": "FeatureCollection", "features": features})
    return Response(body, media_type="application/geo+json")
