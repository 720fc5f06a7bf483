"""The forms of a problem's detail page: each posts one service request; a refusal shows the page
again with the reason (400), success goes back to the page (303)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import problems
from openilp.web.actions import attempt
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.routes.problems.common import WRITE, to_problem
from openilp.web.routes.problems.views import detail

__all__ = ["router"]

router = APIRouter(prefix="/problems", include_in_schema=False)


def _act(
    request: Request, core: OpenILP, user: UserInfo, problem_id: Id, csrf_token: str, action: Callable[[], object]
) -> Response:
    check_csrf(request, csrf_token)
    outcome = attempt(action)
    if not outcome.ok:
        return detail(request, core, user, problem_id, error=outcome.error, status=400)
    return to_problem(problem_id)


@router.post("/{problem_id}/stage", response_class=HTMLResponse)
def stage_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    stage: str = Form("", max_length=20),
    reason: str = Form("", max_length=2000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = problems.StageRequest(problem_id, stage, reason)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.set_stage(core, user, data))


@router.post("/{problem_id}/worksheet", response_class=HTMLResponse)
def worksheet_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    offender: str = Form("", max_length=20_000),
    target_victim: str = Form("", max_length=20_000),
    place: str = Form("", max_length=20_000),
    handlers: str = Form("", max_length=20_000),
    guardians: str = Form("", max_length=20_000),
    managers: str = Form("", max_length=20_000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    fields = {
        "offender": offender,
        "target_victim": target_victim,
        "place": place,
        "handlers": handlers,
        "guardians": guardians,
        "managers": managers,
    }
    data = problems.WorksheetRequest(problem_id, fields)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.update_worksheet(core, user, data))


@router.post("/{problem_id}/notes", response_class=HTMLResponse)
def note_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    body: str = Form("", max_length=20_000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = problems.NoteRequest(problem_id, body)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.add_note(core, user, data))


@router.post("/{problem_id}/attachments", response_class=HTMLResponse)
def attach_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    kind: str = Form("", max_length=20),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = problems.ProductRequest(problem_id, kind)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.attach_product(core, user, data))


@router.post("/{problem_id}/edit", response_class=HTMLResponse)
def edit_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    title: str = Form("", max_length=200),
    goal: str = Form("", max_length=20_000),
    categories: str = Form("", max_length=1000),
    target_reduction_pct: str = Form("", max_length=20),
    baseline_start: str = Form("", max_length=10),
    evaluation_start: str = Form("", max_length=10),
    evaluation_end: str = Form("", max_length=10),
    area_name: str = Form("", max_length=200),
    area_units: list[str] = Form([], max_length=200),
    area: str = Form("", max_length=2 * problems.MAX_AREA_BYTES),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    """Change the goal, its measure and time frame, and (when one is chosen or drawn) the area."""
    changes: dict[str, object] = {
        "title": title,
        "goal": goal,
        "categories": categories,
        "target_reduction_pct": target_reduction_pct,
        "baseline_start": baseline_start,
        "evaluation_start": evaluation_start,
        "evaluation_end": evaluation_end,
        "area_name": area_name,
    }
    if area_units:
        changes["area_units"] = area_units
    if area.strip():
        changes["area"] = area
    data = problems.ChangeProblemRequest(problem_id, changes)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.update_problem(core, user, data))


def _intervention(
    problem_id: Id,
    kind: str,
    start: str,
    end: str,
    description: str,
    area: str,
    area_units: list[str],
    dosage_value: str,
    dosage_unit: str,
    intervention_id: Id | None = None,
) -> problems.InterventionRequest:
    return problems.InterventionRequest(
        problem_id=problem_id,
        kind=kind,
        start=start,
        end=end,
        description=description,
        area=area or None,
        dosage_value=dosage_value,
        dosage_unit=dosage_unit,
        area_units=tuple(area_units),
        intervention_id=intervention_id,
    )


@router.post("/{problem_id}/interventions", response_class=HTMLResponse)
def intervention_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    kind: str = Form("", max_length=60),
    start: str = Form("", max_length=10),
    end: str = Form("", max_length=10),
    description: str = Form("", max_length=5000),
    area: str = Form("", max_length=2 * problems.MAX_AREA_BYTES),
    area_units: list[str] = Form([], max_length=200),
    dosage_value: str = Form("", max_length=20),
    dosage_unit: str = Form("", max_length=60),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = _intervention(problem_id, kind, start, end, description, area, area_units, dosage_value, dosage_unit)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.add_intervention(core, user, data))


@router.post("/{problem_id}/interventions/{intervention_id}", response_class=HTMLResponse)
def change_intervention_page(
    problem_id: Id,
    intervention_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    kind: str = Form("", max_length=60),
    start: str = Form("", max_length=10),
    end: str = Form("", max_length=10),
    description: str = Form("", max_length=5000),
    area: str = Form("", max_length=2 * problems.MAX_AREA_BYTES),
    area_units: list[str] = Form([], max_length=200),
    dosage_value: str = Form("", max_length=20),
    dosage_unit: str = Form("", max_length=60),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = _intervention(
        problem_id, kind, start, end, description, area, area_units, dosage_value, dosage_unit, intervention_id
    )
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.change_intervention(core, user, data))


@router.post("/{problem_id}/interventions/{intervention_id}/delete", response_class=HTMLResponse)
def remove_intervention_page(
    problem_id: Id,
    intervention_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    reason: str = Form("", max_length=2000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = problems.RemoveInterventionRequest(problem_id, intervention_id, reason)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.remove_intervention(core, user, data))


@router.post("/{problem_id}/comparison-areas", response_class=HTMLResponse)
def propose_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    buffer_m: float = Form(problems.ProposeAreasRequest(problem_id=0).buffer_m, gt=0, le=5000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = problems.ProposeAreasRequest(problem_id, buffer_m)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.propose_areas(core, user, data))


@router.post("/{problem_id}/comparison-areas/{role}", response_class=HTMLResponse)
def area_page(
    problem_id: Id,
    role: str,
    request: Request,
    csrf_token: str = Form(""),
    area: str = Form("", max_length=2 * problems.MAX_AREA_BYTES),
    units: list[str] = Form([], max_length=200),
    redraw_control_buffer: bool = Form(False),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    """Replace a comparison area with polygons of the boundary layer (picked in the list or on the
    map) or a polygon drawn on the map."""
    data = problems.ComparisonAreaRequest(
        problem_id, role, area, units=tuple(units), redraw_control_buffer=redraw_control_buffer
    )
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.set_comparison_area(core, user, data))


@router.post("/{problem_id}/power", response_class=HTMLResponse)
def power_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = problems.PowerCheckRequest(problem_id)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.power_check(core, user, data))


@router.post("/{problem_id}/assessments", response_class=HTMLResponse)
def assess_page(
    problem_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    data = problems.RunAssessmentRequest(problem_id)
    return _act(request, core, user, problem_id, csrf_token, lambda: problems.run_assessment(core, user, data))
