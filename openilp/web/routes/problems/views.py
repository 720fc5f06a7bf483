"""Problem pages: the list with the commanders' dashboard, the new-problem form (with scanning
first when asked) and the detail page through the SARA stages."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import problems
from openilp.web.actions import attempt
from openilp.web.context import get_context, get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render
from openilp.web.routes.problems.common import READ, WRITE, to_problem

__all__ = ["detail", "router"]

router = APIRouter(prefix="/problems", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def list_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> Response:
    """Problems of the agency, and the commanders' dashboard of open problems' progress."""
    return render(
        request,
        "problems/list.html",
        user=user,
        dashboard=problems.dashboard(core, user).as_dict()["dashboard"],
        problems=problems.list_problems(core, user).as_dict()["problems"],
    )


def _new_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
    field_errors: dict[str, str] | None = None,
) -> Response:
    scan: dict[str, Any] | None = None
    scan_error = None
    params = request.query_params
    if params.get("scan"):
        defaults = problems.ScanRequest()

        def run() -> problems.ScanResult:
            request_ = problems.ScanRequest(
                categories=tuple(params.getlist("category") or defaults.categories),
                as_of=params.get("as_of"),
                periods=int(params.get("periods") or defaults.periods),
                period_days=int(params.get("period_days") or defaults.period_days),
            )
            return problems.scan_candidates(core, user, request_)

        outcome = attempt(run)
        scan, scan_error = (outcome.value.as_dict() if outcome.value else None), outcome.error
    return render(
        request,
        "problems/new.html",
        user=user,
        status_code=status,
        error=error,
        form=form or {},
        field_errors=field_errors or {},
        scan=scan,
        scan_error=scan_error,
        scan_json={c["unit"]: json.dumps(c["area"]) for c in (scan or {}).get("candidates", [])},
        categories=_category_choices(core, user),
        **_map_context(request, core, user),
    )


def _map_context(request: Request, core: OpenILP, user: UserInfo) -> dict[str, Any]:
    """What the pages' map and area pickers need: the boundary layer's URL, names and attribution."""
    choices = problems.area_choices(core, user)
    return {
        "unit_names": choices.units,
        "boundary_name": choices.layer,
        "boundary_attribution": choices.attribution,
        "boundary_url": f"/api/v1/boundaries/{user.agency_code}.geojson" if choices.units else "",
        "leaflet_available": get_context(request).leaflet_available,
    }


def _category_choices(core: OpenILP, user: UserInfo) -> list[dict[str, Any]]:
    """Categories and crime groups the agency has incidents of (for the pickers)."""
    choices = problems.agency_categories(core, user)
    return [{"code": g, "label": f"all {g} crime"} for g in choices.groups] + [c.as_dict() for c in choices.categories]


@router.get("/new", response_class=HTMLResponse)
def new_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)) -> Response:
    """The form to open a problem; with ``?scan=1`` the candidate problems from scanning first."""
    return _new_page(request, core, user)


@router.post("", response_class=HTMLResponse)
def create_page(
    request: Request,
    csrf_token: str = Form(""),
    title: str = Form("", max_length=200),
    categories: str = Form("", max_length=1000),
    target_reduction_pct: str = Form("", max_length=20),
    baseline_start: str = Form("", max_length=10),
    evaluation_start: str = Form("", max_length=10),
    evaluation_end: str = Form("", max_length=10),
    area: str = Form("", max_length=2 * problems.MAX_AREA_BYTES),
    area_units: list[str] = Form([], max_length=200),
    area_name: str = Form("", max_length=200),
    goal: str = Form("", max_length=20_000),
    origin: str = Form("analyst", max_length=20),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    """Open a problem from the form (or from a scanning candidate)."""
    check_csrf(request, csrf_token)
    form = {
        "title": title,
        "categories": categories,
        "target_reduction_pct": target_reduction_pct,
        "baseline_start": baseline_start,
        "evaluation_start": evaluation_start,
        "evaluation_end": evaluation_end,
        "area": area,
        "area_units": area_units,
        "area_name": area_name,
        "goal": goal,
    }
    data = problems.OpenProblemRequest(
        title=title,
        categories=categories,
        target_reduction_pct=target_reduction_pct,
        baseline_start=baseline_start,
        evaluation_start=evaluation_start,
        evaluation_end=evaluation_end,
        area=area,
        area_units=tuple(area_units),
        area_name=area_name,
        goal=goal,
        origin=origin,
    )
    outcome = attempt(lambda: problems.open_problem(core, user, data))
    if outcome.value is None:
        # Every bad field at once, each next to its control; the service's reason on top.
        errors = data.field_errors() if outcome.status_code == 400 else {}
        if not errors and outcome.error and "categor" in outcome.error:
            errors = {"categories": outcome.error}
        return _new_page(
            request, core, user, error=outcome.error, form=form, status=outcome.status_code, field_errors=errors
        )
    return to_problem(outcome.value.id)


def detail(
    request: Request, core: OpenILP, user: UserInfo, problem_id: Id, *, error: str | None = None, status: int = 200
) -> Response:
    """The detail page of a problem, with ``error`` above the forms when a form was refused."""
    view = problems.get_problem(core, user, problem_id)
    progress = None
    if view.stage != "closed":
        outcome = attempt(lambda: problems.goal_progress(core, user, problems.ProgressRequest(problem_id)))
        progress = outcome.value.as_dict() if outcome.value is not None else None
    page = view.as_dict()
    power = [e for e in page["evaluations"] if e["kind"] == "power"]
    assessments = [e for e in page["evaluations"] if e["kind"] == "assessment"]
    return render(
        request,
        "problems/detail.html",
        user=user,
        status_code=status,
        error=error,
        problem=page,
        progress=progress,
        power=power[-1] if power else None,
        assessment=assessments[-1] if assessments else None,
        stages=problems.STAGES,
        worksheet_fields=problems.WORKSHEET_FIELDS,
        products=problems.PRODUCT_KINDS,
        roles=problems.COMPARISON_ROLES,
        role_names=problems.ROLE_NAMES,
        can_write=user.can("problems:write"),
        categories=_category_choices(core, user),
        **_map_context(request, core, user),
    )


@router.get("/{problem_id}", response_class=HTMLResponse)
def detail_page(
    problem_id: Id, request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)
) -> Response:
    """One problem through its SARA stages: goal and progress, worksheet, products, responses, evaluation."""
    return detail(request, core, user, problem_id)
