"""Problems (SARA): JSON API under ``/api/v1/problems`` and pages under ``/problems``.

Thin adapters over :mod:`openilp.services.problems`, :mod:`~openilp.services.problem_response`,
:mod:`~openilp.services.problem_products` and :mod:`~openilp.services.problem_scanning`: a page
and its API endpoint call the same function. Reading needs ``problems:read``, changing
``problems:write``; every form carries the CSRF token. Bad input answers 400 with the service's
message (a page shows it above the form); a problem of another agency is 404.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from openilp.security.actors import UserInfo
from openilp.services import problem_products, problem_response, problem_scanning, problems
from openilp.web.auth import require
from openilp.web.context import get_context
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render

__all__ = ["api", "pages"]

api = APIRouter(prefix="/api/v1/problems", tags=["problems"])
pages = APIRouter(prefix="/problems", include_in_schema=False)

T = TypeVar("T")
_READ = require("problems:read")
_WRITE = require("problems:write")


def _call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a service call; its errors become HTTP statuses (400, 403, 404)."""
    try:
        return function(*args, **kwargs)
    except problems.ProblemNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except PermissionError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def _boundary_path(request: Request, user: UserInfo) -> str:
    layer = get_context(request).boundaries.layer_for(user.agency_code)
    if layer is None:
        raise HTTPException(status_code=400, detail=f"agency {user.agency_code} has no boundary layer to work with")
    return str(layer.path)


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None or not str(value).strip():
        return None
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"{name} must be a date like 2019-07-01, got {value!r}") from exc


# ----------------------------------------------------------------------------------------- API


class ProblemBody(BaseModel):
    title: str = Field(max_length=200)
    categories: list[str] = Field(max_length=50)
    target_reduction_pct: float
    baseline_start: str
    evaluation_start: str
    evaluation_end: str
    area: dict[str, Any] = Field(description="GeoJSON polygon (longitude/latitude).")
    area_name: str = Field("", max_length=200)
    goal: str = Field("", max_length=20_000)
    stage: str = "scanning"


class StageBody(BaseModel):
    stage: str
    reason: str = Field("", max_length=2000)


class NoteBody(BaseModel):
    body: str = Field(max_length=20_000)


class ProductBody(BaseModel):
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)


class InterventionBody(BaseModel):
    kind: str = Field(max_length=60)
    start: str | None = None
    end: str | None = None
    description: str = Field("", max_length=5000)
    area: dict[str, Any] | None = None
    dosage_value: float | None = None
    dosage_unit: str = Field("", max_length=60)


class ProposeBody(BaseModel):
    buffer_m: float = Field(400.0, gt=0, le=5000)


class AreaBody(BaseModel):
    area: dict[str, Any]


def _problem_input(body: ProblemBody, origin: str = "analyst") -> problems.ProblemInput:
    return problems.ProblemInput(
        title=body.title,
        categories=body.categories,
        target_reduction_pct=body.target_reduction_pct,
        baseline_start=_date(body.baseline_start, "baseline_start"),
        evaluation_start=_date(body.evaluation_start, "evaluation_start"),
        evaluation_end=_date(body.evaluation_end, "evaluation_end"),
        area=body.area,
        area_name=body.area_name,
        goal=body.goal,
        stage=body.stage,
        origin=origin,
    )


@api.get("")
def list_api(request: Request, user: UserInfo = Depends(_READ)) -> dict[str, Any]:
    """The agency's problems, and the open ones with their progress toward the goal (the dashboard)."""
    engine = get_context(request).engine
    return {
        "problems": _call(problems.list_problems, engine, user),
        "dashboard": _call(problem_response.dashboard, engine, user),
    }


@api.post("", status_code=201)
def create_api(body: ProblemBody, request: Request, user: UserInfo = Depends(_WRITE)) -> dict[str, Any]:
    """Open a problem with a measurable goal."""
    problem_id = _call(lambda: problems.open_problem(get_context(request).engine, user, _problem_input(body)))
    return {"id": problem_id}


@api.get("/scan")
def scan_api(
    request: Request,
    category: list[str] = Query(["burglary"], max_length=50),
    as_of: str = Query("", max_length=10),
    periods: int = Query(3, ge=2, le=12),
    period_days: int = Query(182, ge=7, le=366),
    permutations: int = Query(9999, ge=99, le=9999),
    user: UserInfo = Depends(_READ),
) -> dict[str, Any]:
    """Candidate problems from persistent Gi* hot spots and rising trends (nothing is stored)."""
    boundary = _boundary_path(request, user)
    return _call(
        lambda: problem_scanning.scan_candidates(
            get_context(request).engine,
            user,
            problem_scanning.ScanRequest(
                categories=tuple(category),
                as_of=_date(as_of, "as_of"),
                periods=periods,
                period_days=period_days,
                permutations=permutations,
            ),
            boundary_path=boundary,
        )
    )


@api.get("/{problem_id}")
def get_api(problem_id: int, request: Request, user: UserInfo = Depends(_READ)) -> dict[str, Any]:
    """One problem with its worksheet, notes, attachments, interventions, areas, evaluations and history."""
    return _call(problems.get_problem, get_context(request).engine, user, problem_id)


@api.patch("/{problem_id}")
def update_api(
    problem_id: int, changes: dict[str, Any], request: Request, user: UserInfo = Depends(_WRITE)
) -> dict[str, Any]:
    """Change fields (title, goal, categories, target_reduction_pct, dates, area, area_name, owner)."""

    def run() -> None:
        values = dict(changes)
        for name in ("baseline_start", "evaluation_start", "evaluation_end"):
            if name in values:
                values[name] = _date(values[name], name)
        problems.update_problem(get_context(request).engine, user, problem_id, values)

    _call(run)
    return {"id": problem_id}


@api.post("/{problem_id}/stage")
def stage_api(problem_id: int, body: StageBody, request: Request, user: UserInfo = Depends(_WRITE)) -> dict[str, Any]:
    """Move the problem to another SARA stage (closing needs a reason)."""
    _call(problems.set_stage, get_context(request).engine, user, problem_id, body.stage, body.reason)
    return {"id": problem_id, "stage": body.stage}


@api.put("/{problem_id}/worksheet")
def worksheet_api(
    problem_id: int, fields: dict[str, str], request: Request, user: UserInfo = Depends(_WRITE)
) -> dict[str, Any]:
    """Fill in the problem analysis triangle (offender, target_victim, place, handlers, guardians, managers)."""
    _call(problems.update_worksheet, get_context(request).engine, user, problem_id, fields)
    return {"id": problem_id}


@api.post("/{problem_id}/notes", status_code=201)
def note_api(problem_id: int, body: NoteBody, request: Request, user: UserInfo = Depends(_WRITE)) -> dict[str, Any]:
    """Add a note."""
    return {"id": _call(problems.add_note, get_context(request).engine, user, problem_id, body.body)}


@api.post("/{problem_id}/attachments", status_code=201)
def attach_api(
    problem_id: int, body: ProductBody, request: Request, user: UserInfo = Depends(_WRITE)
) -> dict[str, Any]:
    """Generate and attach a product: knox_table, trend_chart, hotspot_map or incident_list."""
    boundary = get_context(request).boundaries.layer_for(user.agency_code)
    attachment_id = _call(
        problem_products.attach_product,
        get_context(request).engine,
        user,
        problem_id,
        body.kind,
        options=body.options,
        boundary_path=boundary.path if boundary else None,
    )
    return {"id": attachment_id}


@api.get("/{problem_id}/attachments/{attachment_id}")
def attachment_api(problem_id: int, attachment_id: int, request: Request, user: UserInfo = Depends(_READ)) -> Response:
    """The attached product itself (JSON, GeoJSON or SVG)."""
    content_type, content = _call(
        problem_products.attachment_content, get_context(request).engine, user, problem_id, attachment_id
    )
    return Response(content, media_type=content_type)


@api.post("/{problem_id}/interventions", status_code=201)
def intervention_api(
    problem_id: int, body: InterventionBody, request: Request, user: UserInfo = Depends(_WRITE)
) -> dict[str, Any]:
    """Record an intervention: type, period (required), area (default: the problem's), dosage."""

    def run() -> int:
        data = problem_response.InterventionInput(
            kind=body.kind,
            start=_date(body.start, "start"),
            end=_date(body.end, "end"),
            description=body.description,
            area=body.area,
            dosage_value=body.dosage_value,
            dosage_unit=body.dosage_unit,
        )
        return problem_response.add_intervention(get_context(request).engine, user, problem_id, data)

    return {"id": _call(run)}


@api.post("/{problem_id}/comparison-areas")
def propose_api(
    problem_id: int, body: ProposeBody, request: Request, user: UserInfo = Depends(_WRITE)
) -> dict[str, Any]:
    """Propose the buffer, a control of similar baseline that is not adjacent, and the control's buffer."""
    boundary = _boundary_path(request, user)
    return _call(
        problem_response.propose_areas,
        get_context(request).engine,
        user,
        problem_id,
        boundary_path=boundary,
        buffer_m=body.buffer_m,
    )


@api.put("/{problem_id}/comparison-areas/{role}")
def area_api(
    problem_id: int, role: str, body: AreaBody, request: Request, user: UserInfo = Depends(_WRITE)
) -> dict[str, Any]:
    """Replace a comparison area (buffer, control, control_buffer) with your own polygon."""
    _call(problem_response.set_comparison_area, get_context(request).engine, user, problem_id, role, body.area)
    return {"id": problem_id, "role": role}


@api.post("/{problem_id}/power")
def power_api(problem_id: int, request: Request, user: UserInfo = Depends(_WRITE)) -> dict[str, Any]:
    """Before launch: the minimum detectable effect, with a warning when the goal is smaller."""
    return _call(problem_response.power_check, get_context(request).engine, user, problem_id)


@api.post("/{problem_id}/assessments", status_code=201)
def assess_api(problem_id: int, request: Request, user: UserInfo = Depends(_WRITE)) -> dict[str, Any]:
    """Run every assessment method; the report and the weekly chart are stored."""
    return _call(problem_response.run_assessment, get_context(request).engine, user, problem_id)


@api.get("/{problem_id}/evaluations/{evaluation_id}/chart.svg")
def chart_api(problem_id: int, evaluation_id: int, request: Request, user: UserInfo = Depends(_READ)) -> Response:
    """The weekly chart of a stored assessment (SVG)."""
    svg = _call(problem_response.evaluation_chart, get_context(request).engine, user, problem_id, evaluation_id)
    return Response(svg, media_type="image/svg+xml")


@api.get("/{problem_id}/map.geojson")
def map_api(problem_id: int, request: Request, user: UserInfo = Depends(_READ)) -> Response:
    """The problem's area, comparison areas and intervention areas as one FeatureCollection."""
    view = _call(problems.get_problem, get_context(request).engine, user, problem_id)
    features = [
        {"type": "Feature", "properties": {"role": "target", "label": "Problem area"}, "geometry": view["area"]}
    ]
    for role, area in view["comparison_areas"].items():
        label = f"{role.replace('_', ' ')} ({area['origin']})"
        features.append({"type": "Feature", "properties": {"role": role, "label": label}, "geometry": area["area"]})
    for item in view["interventions"]:
        if item["area"]:
            label = f"{item['kind']} {item['start']} – {item['end']}"
            properties = {"role": "intervention", "label": label}
            features.append({"type": "Feature", "properties": properties, "geometry": item["area"]})
    body = json.dumps({"type": "FeatureCollection", "features": features})
    return Response(body, media_type="application/geo+json")


# --------------------------------------------------------------------------------------- pages


@pages.get("", response_class=HTMLResponse)
def list_page(request: Request, user: UserInfo = Depends(_READ)) -> Response:
    """Problems of the agency, and the commanders' dashboard of open problems' progress."""
    engine = get_context(request).engine
    return render(
        request,
        "problems/list.html",
        user=user,
        dashboard=problem_response.dashboard(engine, user),
        problems=problems.list_problems(engine, user),
    )


def _new_page(
    request: Request, user: UserInfo, *, error: str | None = None, form: dict[str, Any] | None = None, status: int = 200
) -> Response:
    scan = None
    scan_error = None
    params = request.query_params
    if params.get("scan"):
        try:
            scan = problem_scanning.scan_candidates(
                get_context(request).engine,
                user,
                problem_scanning.ScanRequest(
                    categories=tuple(params.getlist("category") or ["burglary"]),
                    as_of=_date(params.get("as_of"), "as_of"),
                    periods=int(params.get("periods") or 3),
                    period_days=int(params.get("period_days") or 182),
                ),
                boundary_path=_boundary_path(request, user),
            )
        except (ValueError, HTTPException) as exc:
            scan_error = exc.detail if isinstance(exc, HTTPException) else str(exc)
    return render(
        request,
        "problems/new.html",
        user=user,
        status_code=status,
        error=error,
        form=form or {},
        scan=scan,
        scan_error=scan_error,
        scan_json={c["unit"]: json.dumps(c["area"]) for c in (scan or {}).get("candidates", [])},
    )


@pages.get("/new", response_class=HTMLResponse)
def new_page(request: Request, user: UserInfo = Depends(_WRITE)) -> Response:
    """The form to open a problem; with ``?scan=1`` the candidate problems from scanning first."""
    return _new_page(request, user)


@pages.post("", response_class=HTMLResponse)
def create_page(
    request: Request,
    csrf_token: str = Form(""),
    title: str = Form("", max_length=200),
    categories: str = Form("", max_length=1000),
    target_reduction_pct: str = Form("", max_length=20),
    baseline_start: str = Form("", max_length=10),
    evaluation_start: str = Form("", max_length=10),
    evaluation_end: str = Form("", max_length=10),
    area: str = Form("", max_length=2_000_000),
    area_name: str = Form("", max_length=200),
    goal: str = Form("", max_length=20_000),
    origin: str = Form("analyst", max_length=20),
    user: UserInfo = Depends(_WRITE),
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
        "area_name": area_name,
        "goal": goal,
    }
    try:
        try:
            reduction = float(target_reduction_pct)
        except ValueError as exc:
            raise ValueError(f"the target reduction must be a number of percent, got {target_reduction_pct!r}") from exc
        data = problems.ProblemInput(
            title=title,
            categories=[c for c in categories.replace(";", ",").split(",") if c.strip()],
            target_reduction_pct=reduction,
            baseline_start=_date(baseline_start, "the baseline start"),
            evaluation_start=_date(evaluation_start, "the evaluation start"),
            evaluation_end=_date(evaluation_end, "the evaluation end"),
            area=area,
            area_name=area_name,
            goal=goal,
            origin=origin if origin in ("analyst", "hotspot", "trend", "scan") else "analyst",
        )
        problem_id = problems.open_problem(get_context(request).engine, user, data)
    except ValueError as exc:
        return _new_page(request, user, error=str(exc), form=form, status=400)
    return RedirectResponse(f"/problems/{problem_id}", status_code=303)


def _detail(
    request: Request, user: UserInfo, problem_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    engine = get_context(request).engine
    view = _call(problems.get_problem, engine, user, problem_id)
    with_progress = None
    if view["stage"] != "closed":
        try:
            from openilp.db import session_scope

            with session_scope(engine) as session:
                problem = problems.load_problem(session, user, problem_id)
                session.expunge(problem)
            with_progress = problem_response.goal_progress(engine, problem)
        except ValueError:
            with_progress = None
    power = [e for e in view["evaluations"] if e["kind"] == "power"]
    assessments = [e for e in view["evaluations"] if e["kind"] == "assessment"]
    context = get_context(request)
    boundary = context.boundaries.layer_for(user.agency_code)
    return render(
        request,
        "problems/detail.html",
        user=user,
        status_code=status,
        error=error,
        problem=view,
        progress=with_progress,
        power=power[-1] if power else None,
        assessment=assessments[-1] if assessments else None,
        stages=problems.STAGES,
        worksheet_fields=problems.WORKSHEET_FIELDS,
        products=problem_products.PRODUCT_KINDS,
        roles=problem_response.COMPARISON_ROLES,
        boundary=boundary,
        boundary_url=f"/api/v1/boundaries/{user.agency_code}.geojson" if boundary else "",
        leaflet_available=context.leaflet_available,
        can_write=user.can("problems:write"),
    )


@pages.get("/{problem_id}", response_class=HTMLResponse)
def detail_page(problem_id: int, request: Request, user: UserInfo = Depends(_READ)) -> Response:
    """One problem through its SARA stages: goal and progress, worksheet, products, responses, evaluation."""
    return _detail(request, user, problem_id)


def _act(request: Request, user: UserInfo, problem_id: int, csrf_token: str, action: Callable[[], object]) -> Response:
    check_csrf(request, csrf_token)
    try:
        action()
    except problems.ProblemNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except (ValueError, PermissionError) as exc:
        return _detail(request, user, problem_id, error=str(exc), status=400)
    return RedirectResponse(f"/problems/{problem_id}", status_code=303)


@pages.post("/{problem_id}/stage", response_class=HTMLResponse)
def stage_page(
    problem_id: int,
    request: Request,
    csrf_token: str = Form(""),
    stage: str = Form("", max_length=20),
    reason: str = Form("", max_length=2000),
    user: UserInfo = Depends(_WRITE),
) -> Response:
    engine = get_context(request).engine
    return _act(
        request, user, problem_id, csrf_token, lambda: problems.set_stage(engine, user, problem_id, stage, reason)
    )


@pages.post("/{problem_id}/worksheet", response_class=HTMLResponse)
def worksheet_page(
    problem_id: int,
    request: Request,
    csrf_token: str = Form(""),
    offender: str = Form("", max_length=20_000),
    target_victim: str = Form("", max_length=20_000),
    place: str = Form("", max_length=20_000),
    handlers: str = Form("", max_length=20_000),
    guardians: str = Form("", max_length=20_000),
    managers: str = Form("", max_length=20_000),
    user: UserInfo = Depends(_WRITE),
) -> Response:
    fields = {
        "offender": offender,
        "target_victim": target_victim,
        "place": place,
        "handlers": handlers,
        "guardians": guardians,
        "managers": managers,
    }
    engine = get_context(request).engine
    return _act(
        request, user, problem_id, csrf_token, lambda: problems.update_worksheet(engine, user, problem_id, fields)
    )


@pages.post("/{problem_id}/notes", response_class=HTMLResponse)
def note_page(
    problem_id: int,
    request: Request,
    csrf_token: str = Form(""),
    body: str = Form("", max_length=20_000),
    user: UserInfo = Depends(_WRITE),
) -> Response:
    engine = get_context(request).engine
    return _act(request, user, problem_id, csrf_token, lambda: problems.add_note(engine, user, problem_id, body))


@pages.post("/{problem_id}/attachments", response_class=HTMLResponse)
def attach_page(
    problem_id: int,
    request: Request,
    csrf_token: str = Form(""),
    kind: str = Form("", max_length=20),
    user: UserInfo = Depends(_WRITE),
) -> Response:
    engine = get_context(request).engine
    layer = get_context(request).boundaries.layer_for(user.agency_code)
    return _act(
        request,
        user,
        problem_id,
        csrf_token,
        lambda: problem_products.attach_product(
            engine, user, problem_id, kind, boundary_path=layer.path if layer else None
        ),
    )


@pages.post("/{problem_id}/interventions", response_class=HTMLResponse)
def intervention_page(
    problem_id: int,
    request: Request,
    csrf_token: str = Form(""),
    kind: str = Form("", max_length=60),
    start: str = Form("", max_length=10),
    end: str = Form("", max_length=10),
    description: str = Form("", max_length=5000),
    area: str = Form("", max_length=2_000_000),
    dosage_value: str = Form("", max_length=20),
    dosage_unit: str = Form("", max_length=60),
    user: UserInfo = Depends(_WRITE),
) -> Response:
    engine = get_context(request).engine

    def run() -> None:
        try:
            dosage = float(dosage_value) if dosage_value.strip() else None
        except ValueError as exc:
            raise ValueError(f"the dosage must be a number, got {dosage_value!r}") from exc
        data = problem_response.InterventionInput(
            kind=kind,
            start=_date(start, "the start"),
            end=_date(end, "the end"),
            description=description,
            area=area or None,
            dosage_value=dosage,
            dosage_unit=dosage_unit,
        )
        problem_response.add_intervention(engine, user, problem_id, data)

    return _act(request, user, problem_id, csrf_token, run)


@pages.post("/{problem_id}/comparison-areas", response_class=HTMLResponse)
def propose_page(
    problem_id: int,
    request: Request,
    csrf_token: str = Form(""),
    buffer_m: float = Form(400.0, gt=0, le=5000),
    user: UserInfo = Depends(_WRITE),
) -> Response:
    engine = get_context(request).engine

    def run() -> None:
        boundary = _boundary_path(request, user)
        problem_response.propose_areas(engine, user, problem_id, boundary_path=boundary, buffer_m=buffer_m)

    return _act(request, user, problem_id, csrf_token, run)


@pages.post("/{problem_id}/comparison-areas/{role}", response_class=HTMLResponse)
def area_page(
    problem_id: int,
    role: str,
    request: Request,
    csrf_token: str = Form(""),
    area: str = Form("", max_length=2_000_000),
    user: UserInfo = Depends(_WRITE),
) -> Response:
    engine = get_context(request).engine
    return _act(
        request,
        user,
        problem_id,
        csrf_token,
        lambda: problem_response.set_comparison_area(engine, user, problem_id, role, area),
    )


@pages.post("/{problem_id}/power", response_class=HTMLResponse)
def power_page(
    problem_id: int, request: Request, csrf_token: str = Form(""), user: UserInfo = Depends(_WRITE)
) -> Response:
    engine = get_context(request).engine
    return _act(request, user, problem_id, csrf_token, lambda: problem_response.power_check(engine, user, problem_id))


@pages.post("/{problem_id}/assessments", response_class=HTMLResponse)
def assess_page(
    problem_id: int, request: Request, csrf_token: str = Form(""), user: UserInfo = Depends(_WRITE)
) -> Response:
    engine = get_context(request).engine
    return _act(
        request, user, problem_id, csrf_token, lambda: problem_response.run_assessment(engine, user, problem_id)
    )
