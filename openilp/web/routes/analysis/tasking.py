"""Deployment lists in the web app: plan a shift from the forecast and the near-repeat alerts, print it.

* ``GET /deploy`` (``tasking:plan``: analysts and supervisors): the form; with a budget it plans the
  shift and shows the map of the planned cells beside the list in visiting order and the disparity
  check. ``GET /api/v1/deploy.json`` answers the same request as JSON. Both call
  :func:`openilp.services.analysis.tasking.make_deployment`, which writes every list made to the
  audit log (as ``openilp deploy`` does).
* ``GET /deploy/print?plan=…`` (``tasking:read``: also patrol officers): the printable list of a plan
  issued on ``/deploy``. The link carries the plan's request signed with the app's secret key, so an
  officer can open the plan a planner issued but cannot make one; the list is re-made
  (:func:`~openilp.services.analysis.tasking.read_deployment`: the same data and seed give the same
  list) and a warning shows if the store has changed its places since.

* ``POST /deploy/override`` (``tasking:override``: supervisors): issue a plan held by the parity gate on a
  written reason (:func:`~openilp.services.analysis.tasking.override_deployment`, audited);
  ``POST /deploy/justify`` records a written justification of a model whose scores leak a
  demographic majority (:func:`~openilp.services.analysis.gates.justify_model`). A held plan has no
  printable list (:mod:`openilp.services.analysis.gates`).

The disparity check runs when ``<data_dir>/disparity/<AGENCY>.toml`` names the agency's demographic
data (:func:`openilp.services.analysis.tasking.disparity_source_for`); otherwise the page says why it is absent.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from openilp.analysis.forecast import FORECASTERS
from openilp.constants import CATEGORY_SETS, DEFAULT_FORECAST_METHOD
from openilp.core import OpenILP
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.security.roles import has_permission
from openilp.services.analysis.common import latest_day
from openilp.services.analysis.forecasting import split_categories
from openilp.services.analysis.gates import JustifyRequest, justify_model
from openilp.services.analysis.incidents import parse_iso_date
from openilp.services.analysis.tasking import (
    DeploymentReadRequest,
    DeploymentResult,
    DeployRequest,
    OverrideRequest,
    make_deployment,
    override_deployment,
    read_deployment,
)
from openilp.web.auth import require
from openilp.web.context import get_context, get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Offset
from openilp.web.rendering import render
from openilp.web.routes.analysis.common import run_for_page

__all__ = ["api", "deploy_request", "pages"]

api = APIRouter(prefix="/api/v1", tags=["tasking"])
pages = APIRouter(include_in_schema=False)
_SALT = "openilp.deployment-plan"
_HELD_SALT = "openilp.deployment-plan-held"
_CORE = Depends(get_core)
_PLANNER = Depends(require("tasking:plan"))


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidRequest(f"the {name} must be a number, got {text!r}") from None


def deploy_request(
    category: str = Query(default="burglary", description="Category codes or crime groups, comma-separated."),
    as_of: str = Query(default="", description="Date of the shift (default: the day after the latest incident)."),
    officer_minutes: str = Query(default="960", description="Patrol minutes of the shift over all officers."),
    shift_hours: str = Query(default="8", description="Shift length, hours (1 to 24)."),
    shift_start: str = Query(default="", description="Clock time the shift starts, HH:MM."),
    method: str = Query(default=DEFAULT_FORECAST_METHOD, description="Forecasting method."),
    near_repeat: str = Query(default="on", description="on or off: move places under a near-repeat alert ahead."),
    visit_minutes: str = Query(default="15", description="Minutes per visit (1 to 60)."),
    travel_minutes: str = Query(default="10", description="Travel minutes per visit (0 to 120)."),
) -> DeployRequest:
    """The request of the form's (or the API's) parameters; the service checks every bound."""
    if near_repeat not in ("on", "off"):
        raise InvalidRequest("near-repeat alerts must be on or off")
    return DeployRequest(
        categories=split_categories(category),
        as_of=parse_iso_date(as_of, "as_of"),
        officer_minutes=_number(officer_minutes, "officer-minutes"),
        method=method,
        shift_hours=_number(shift_hours, "shift length"),
        shift_start=shift_start,
        visit_minutes=int(_number(visit_minutes, "minutes per visit")),
        travel_minutes=int(_number(travel_minutes, "travel minutes")),
        near_repeat=near_repeat == "on",
    )


#: The deployment form's fields with values that pass every check (each field is checked alone against them).
_GOOD_FORM = {
    "category": "burglary",
    "as_of": "2000-01-03",
    "officer_minutes": "960",
    "shift_hours": "8",
    "shift_start": "",
    "method": DEFAULT_FORECAST_METHOD,
    "near_repeat": "on",
    "visit_minutes": "15",
    "travel_minutes": "10",
}


def deploy_field_errors(form: dict[str, str]) -> dict[str, str]:
    """Every bad field of the deployment form at once, by field name (empty when each passes alone).

    The request stops at its first problem; the form shows them all, each next to its control. Each
    field is checked with the others at values known to pass, by the same code as the request
    (categories are checked against the store by the service, not here).

    >>> sorted(deploy_field_errors({"officer_minutes": "lots", "shift_hours": "30", "as_of": ""}))
    ['as_of', 'officer_minutes', 'shift_hours']
    """
    errors: dict[str, str] = {}
    for name in _GOOD_FORM:
        value = form.get(name, _GOOD_FORM[name])
        if name == "as_of" and not str(value).strip():
            errors[name] = "give the date of the shift"
            continue
        try:
            deploy_request(**{**_GOOD_FORM, name: value}).validate()
        except (InvalidRequest, ValueError) as exc:
            errors[name] = str(exc)
    return errors


@api.get("/deploy.json")
def deploy_json(
    deploy: DeployRequest = Depends(deploy_request), core: OpenILP = _CORE, user: UserInfo = _PLANNER
) -> dict[str, Any]:
    """The shift's plan as JSON (audited like the page): places in priority order with their visits,
    the rounds, the alert cells, the disparity check (or why it is absent) and the plan's reference."""
    return make_deployment(core, user, deploy).as_dict()


@api.post("/deploy/override")
def deploy_override_api(
    deploy: DeployRequest = Depends(deploy_request),
    reference: str = Body(..., max_length=200),
    cells: list[Offset] = Body(..., max_length=10_000),
    reason: str = Body(..., max_length=4_000),
    core: OpenILP = _CORE,
    user: UserInfo = Depends(require("tasking:override")),
) -> dict[str, Any]:
    """Issue a plan held by the parity gate on a supervisor's written reason (``tasking:override``).

    The query parameters are those of ``/api/v1/deploy.json`` that gave the held plan; the body
    names its ``reference`` and ``cells`` (in order) as that answer gave them, and the ``reason``
    (at least the minimum length; audited, counted in the transparency report). The plan is made
    again and must be the same, else 400 asks to plan again."""
    held = OverrideRequest(deploy, reference, tuple(cells), reason)
    return override_deployment(core, user, held).as_dict()


@api.post("/deploy/justify")
def deploy_justify_api(
    method: str = Body(..., max_length=40),
    justification: str = Body(..., max_length=4_000),
    core: OpenILP = _CORE,
    user: UserInfo = Depends(require("tasking:override")),
) -> dict[str, Any]:
    """Record a written justification of a forecasting model whose scores leak a demographic
    majority (``tasking:override``; audited); plans held only for that may then be issued."""
    return justify_model(core, user, JustifyRequest(user.agency_code, method, justification)).as_dict()


def _serializer(core: OpenILP) -> URLSafeSerializer:
    return URLSafeSerializer(core.settings.secret_key, salt=_SALT)


def _view(result: DeploymentResult, agency_code: str) -> dict[str, Any]:
    """What both templates show."""
    plan = result.deployment
    rounds: dict[int, dict[str, Any]] = {}
    for row in plan.schedule_rows(result.request.start_time):
        entry = rounds.setdefault(
            row["round"],
            {
                "window": row.get("window")
                or f"minute {row['window_start_minute']}–{row['window_end_minute']} of the shift",
                "places": [],
            },
        )
        entry["places"].append(row["place"])
    return {
        "result": plan,
        "params": {**result.request.as_dict(), "category": ",".join(result.request.categories)},
        "facts": plan.cells.get("forecast", {}),
        "places": plan.places,
        "rounds": rounds,
        "report": plan.disparity,
        "harm_weights": plan.harm_weights,
        "why_no_disparity": result.why_no_disparity,
        "alerts_facts": (plan.alerts or {}).get("analysis"),
        "map_data": {"cells": {"type": "FeatureCollection", "features": plan.cells["features"]}, "alerts": plan.alerts},
        "boundary_url": f"/api/v1/boundaries/{agency_code}.geojson",
        "reference": result.reference,
        "issued_by": result.issued_by,
        "issued_at": result.issued_at,
        "status": result.status,
        "held_because": list(result.held_because),
        "held_gates": sorted({h["gate"] for h in result.held_because}),
        "override": result.override,
        "result_json": json.dumps(result.as_dict(), default=str).replace("</", "<\\/"),
    }


@pages.get("/deploy", response_class=HTMLResponse)
def deploy_page(
    request: Request,
    category: str = "burglary",
    as_of: str = "",
    officer_minutes: str = "",
    shift_hours: str = "8",
    shift_start: str = "",
    method: str = DEFAULT_FORECAST_METHOD,
    near_repeat: str = "on",
    visit_minutes: str = "15",
    travel_minutes: str = "10",
    user: UserInfo = _PLANNER,
    core: OpenILP = _CORE,
) -> Response:
    """The form; with a budget, the shift's plan: map, list in visiting order, disparity check."""
    day_text = as_of
    if not as_of:
        latest = latest_day(core, user, permission="tasking:plan")
        day_text = str(latest + dt.timedelta(days=1)) if latest else ""
    view: dict[str, Any] = {}
    error, status, print_url = None, 200, ""
    field_errors: dict[str, str] = {}
    submitted = {
        "category": category,
        "as_of": as_of,
        "officer_minutes": officer_minutes,
        "shift_hours": shift_hours,
        "shift_start": shift_start,
        "method": method,
        "near_repeat": near_repeat,
        "visit_minutes": visit_minutes,
        "travel_minutes": travel_minutes,
    }
    if officer_minutes.strip():

        def plan() -> DeploymentResult:
            if not as_of:
                raise InvalidRequest("give the date of the shift")
            values = (category, as_of, officer_minutes, shift_hours, shift_start, method, near_repeat)
            return make_deployment(core, user, deploy_request(*values, visit_minutes, travel_minutes))

        run = run_for_page(plan)
        error, status = run.error or run.notice, run.status_code
        if run.value is not None:
            print_url, view = _issued_view(core, user, run.value)
        elif status == 400:
            field_errors = deploy_field_errors(submitted)
    return _deploy_page(
        request,
        core,
        user,
        error=error,
        status=status,
        print_url=print_url,
        view=view,
        field_errors=field_errors,
        form={
            "category": category,
            "as_of": day_text,
            "officer_minutes": officer_minutes or "960",
            "shift_hours": shift_hours,
            "shift_start": shift_start,
            "method": method,
            "near_repeat": near_repeat,
            "visit_minutes": visit_minutes,
            "travel_minutes": travel_minutes,
        },
    )


def _issued_view(core: OpenILP, user: UserInfo, result: DeploymentResult) -> tuple[str, dict[str, Any]]:
    """The printable-list link of an issued plan ('' for a held one) and what the page shows."""
    payload = {
        "agency": user.agency_code,
        "request": result.request.as_dict(),
        "cells": [p["cell_id"] for p in result.deployment.places],
        "issued_by": result.issued_by,
        "issued_at": result.issued_at,
        "reference": result.reference,
    }
    view = _view(result, user.agency_code)
    if result.issued:
        return f"/deploy/print?plan={_serializer(core).dumps(payload)}", view
    view["held_token"] = URLSafeSerializer(core.settings.secret_key, salt=_HELD_SALT).dumps(payload)
    return "", view


def _deploy_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    error: str | None,
    status: int,
    print_url: str,
    view: dict[str, Any],
    form: dict[str, Any],
    field_errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "deploy.html",
        user=user,
        status_code=status,
        error=error,
        field_errors=field_errors or {},
        print_url=print_url,
        categories=list(dict.fromkeys([*CATEGORY_SETS, form["category"]])),
        methods=list(FORECASTERS),
        form=form,
        can_override=has_permission(user.role, "tasking:override"),
        request_url=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        leaflet_available=get_context(request).leaflet_available,
        **view,
    )


def _form_of(deploy: DeployRequest) -> dict[str, Any]:
    params = deploy.as_dict()
    return {
        "category": ",".join(deploy.categories),
        "as_of": str(deploy.as_of or ""),
        "officer_minutes": f"{deploy.officer_minutes:g}",
        "shift_hours": f"{deploy.shift_hours:g}",
        "shift_start": deploy.shift_start,
        "method": deploy.method,
        "near_repeat": "on" if params.get("near_repeat", True) else "off",
        "visit_minutes": str(deploy.visit_minutes),
        "travel_minutes": str(deploy.travel_minutes),
    }


@pages.post("/deploy/override", response_class=HTMLResponse)
def deploy_override(
    request: Request,
    plan: str = Form("", max_length=20_000),
    reason: str = Form("", max_length=4_000),
    csrf_token: str = Form(""),
    user: UserInfo = Depends(require("tasking:override")),
    core: OpenILP = _CORE,
) -> Response:
    """A supervisor issues a plan held by the parity gate, with a written reason (audited)."""
    check_csrf(request, csrf_token)
    try:
        payload = URLSafeSerializer(core.settings.secret_key, salt=_HELD_SALT).loads(plan) if plan else None
    except BadSignature:
        payload = None
    if not isinstance(payload, dict) or payload.get("agency") != user.agency_code:
        raise InvalidRequest("this is not a plan held for your agency: plan the shift again on the Deploy page")
    deploy = DeployRequest.from_dict(payload["request"])
    held = OverrideRequest(deploy, str(payload["reference"]), tuple(int(c) for c in payload["cells"]), reason)
    run = run_for_page(lambda: override_deployment(core, user, held))
    if run.value is None:
        return _deploy_page(
            request, core, user, error=run.error, status=run.status_code, print_url="", view={}, form=_form_of(deploy)
        )
    print_url, view = _issued_view(core, user, run.value)
    return _deploy_page(
        request, core, user, error=None, status=200, print_url=print_url, view=view, form=_form_of(deploy)
    )


@pages.post("/deploy/justify", response_class=HTMLResponse)
def deploy_justify(
    request: Request,
    method: str = Form("", max_length=40),
    justification: str = Form("", max_length=4_000),
    back: str = Form("/deploy", max_length=4_000),
    csrf_token: str = Form(""),
    user: UserInfo = Depends(require("tasking:override")),
    core: OpenILP = _CORE,
) -> Response:
    """A supervisor records the written justification of a model whose scores leak a majority (audited),
    then returns to the plan."""
    check_csrf(request, csrf_token)
    run = run_for_page(lambda: justify_model(core, user, JustifyRequest(user.agency_code, method, justification)))
    if run.value is None:
        raise InvalidRequest(run.error or "the justification was refused")
    target = back if back.startswith("/deploy?") else "/deploy"
    return RedirectResponse(target, status_code=303)


@pages.get("/deploy/print", response_class=HTMLResponse)
def deploy_print(
    request: Request,
    plan: str = "",
    user: UserInfo = Depends(require("tasking:read")),
    core: OpenILP = _CORE,
) -> Response:
    """The printable list of a plan issued on ``/deploy`` (its signed link)."""
    try:
        payload = _serializer(core).loads(plan) if plan else None
    except BadSignature:
        payload = None
    if not isinstance(payload, dict) or payload.get("agency") != user.agency_code:
        return render(
            request,
            "deploy_print.html",
            user=user,
            status_code=400,
            error="This is not the link of a deployment list issued to your agency: ask for the list's link "
            "from the Deploy page.",
        )

    def reread() -> DeploymentResult:
        read = DeploymentReadRequest(
            DeployRequest.from_dict(payload["request"]),
            str(payload["reference"]),
            tuple(payload["cells"]),
            str(payload["issued_by"]),
            str(payload["issued_at"]),
        )
        return read_deployment(core, user, read)

    run = run_for_page(reread)
    if run.value is None:
        return render(request, "deploy_print.html", user=user, status_code=run.status_code, error=run.error)
    return render(
        request,
        "deploy_print.html",
        user=user,
        error=None,
        changed=run.value.changed_since_issue,
        **_view(run.value, user.agency_code),
    )
