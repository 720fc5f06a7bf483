"""Deployment lists in the web app: plan a shift from the forecast and the near-repeat alerts, print it.

* ``GET /deploy`` (``tasking:plan``: analysts and supervisors): the form; with a budget it plans the
  shift (:func:`openilp.services.analysis.tasking.deployment`) and shows the map of the planned cells beside
  the list in visiting order and the disparity check. Every list made is written to the audit log.
* ``GET /deploy/print?plan=…`` (``tasking:read``: also patrol officers): the printable list of a plan
  issued on ``/deploy``. The link carries the plan's parameters signed with the app's secret key, so
  an officer can open the plan a planner issued but cannot make one; the list is recomputed (the same
  data and seed give the same list) and a warning shows if the store has changed its places since.

The disparity check runs when ``<data_dir>/disparity/<AGENCY>.toml`` names the agency's demographic
data (:func:`openilp.services.analysis.tasking.disparity_source_for`); otherwise the page says why it is absent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from openilp.analysis.forecast import FORECASTERS
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.services.analysis.common import cached, latest_incident_date
from openilp.services.analysis.forecasting import CATEGORY_SETS
from openilp.services.analysis.incidents import parse_iso_date
from openilp.services.analysis.tasking import Deployment, DisparitySource, deployment, disparity_source_for
from openilp.web.auth import require
from openilp.web.context import WebContext, db_session, get_context
from openilp.web.rendering import render

__all__ = ["pages", "DeployParameters"]

pages = APIRouter(include_in_schema=False)
_SALT = "openilp.deployment-plan"


@dataclass(frozen=True)
class DeployParameters:
    """What a planner chose; checked by :meth:`parse` (ValueError with a message for the page)."""

    category: str
    as_of: str
    officer_minutes: float
    shift_hours: float
    shift_start: str
    method: str
    near_repeat: bool
    visit_minutes: int
    travel_minutes: int

    @classmethod
    def parse(
        cls,
        *,
        category: str,
        as_of: dt.date,
        officer_minutes: str,
        shift_hours: str,
        shift_start: str,
        method: str,
        near_repeat: str,
        visit_minutes: str,
        travel_minutes: str,
    ) -> DeployParameters:
        if category not in CATEGORY_SETS:
            raise ValueError(f"unknown category {category!r}; choose from {', '.join(CATEGORY_SETS)}")
        if method not in FORECASTERS:
            raise ValueError(f"unknown forecasting method {method!r}; choose from {', '.join(FORECASTERS)}")
        budget = _number(officer_minutes, "officer-minutes")
        if not 0 < budget <= 100_000:
            raise ValueError(f"the budget must be more than 0 and at most 100,000 officer-minutes, got {budget:g}")
        hours = _number(shift_hours, "shift length")
        if not 1 <= hours <= 24:
            raise ValueError(f"the shift must last between 1 and 24 hours, got {hours:g}")
        visit = int(_number(visit_minutes, "minutes per visit"))
        travel = int(_number(travel_minutes, "travel minutes"))
        if not 1 <= visit <= 60 or not 0 <= travel <= 120:
            raise ValueError("visits last 1-60 minutes (Koper: 10-15) and travel 0-120 minutes")
        start = shift_start.strip()
        if start:
            try:
                start = dt.time.fromisoformat(start).strftime("%H:%M")
            except ValueError:
                raise ValueError(f"the shift start must be a time such as 07:00, got {shift_start!r}") from None
        if near_repeat not in ("on", "off"):
            raise ValueError("near-repeat alerts must be on or off")
        return cls(category, str(as_of), budget, hours, start, method, near_repeat == "on", visit, travel)

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.as_of)

    @property
    def start_time(self) -> dt.time | None:
        return dt.time.fromisoformat(self.shift_start) if self.shift_start else None


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"the {name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"the {name} must be a finite number")
    return value


def _serializer(web: WebContext) -> URLSafeSerializer:
    return URLSafeSerializer(web.settings.secret_key, salt=_SALT)


def _compute(web: WebContext, user: UserInfo, params: DeployParameters) -> tuple[Deployment, str]:
    """The deployment (through the result cache) and why the disparity check is absent ('' if present)."""
    layer = web.boundaries.layer_for(user.agency_code)
    study = str(layer.path) if layer else None
    source, why_not = disparity_source_for(web.settings.data_dir, user.agency_code)
    neighbourhoods = None
    if source is not None:
        neighbourhoods = source.neighbourhoods_path or (layer.path if layer else None)
        if neighbourhoods is None:
            source, why_not = None, f"no neighbourhood polygons for {user.agency_code}: add a boundary layer"
    key = (params, study, source)

    def compute() -> Deployment:
        return _run(web, user, params, study, source, neighbourhoods)

    result = cached(web.core, "deployment", user.agency_code, key, compute)
    return result, why_not


def _run(
    web: WebContext,
    user: UserInfo,
    params: DeployParameters,
    study: str | None,
    source: DisparitySource | None,
    neighbourhoods: Any,
) -> Deployment:
    return deployment(
        web.core,
        agency_code=user.agency_code,
        categories=CATEGORY_SETS[params.category],
        as_of=params.day,
        officer_minutes=params.officer_minutes,
        method=params.method,
        shift_hours=params.shift_hours,
        visit_minutes=params.visit_minutes,
        travel_minutes=params.travel_minutes,
        near_repeat=params.near_repeat,
        study_area_path=study,
        place_names_path=study,
        neighbourhoods_path=neighbourhoods if source else None,
        neighbourhood_id=source.id_column if source else "NHD_NUM",
        demographics_path=source.demographics_path if source else None,
        group_columns=source.group_columns if source else (),
        population_path=source.population_path if source else None,
        population_column=source.population_column if source else None,
        keep_list_without_disparity=True,
    )


def _plan_ref(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _audit_details(params: DeployParameters, result: Deployment) -> dict[str, object]:
    report = result.disparity
    return {
        "parameters": asdict(params),
        "places": [p["cell_id"] for p in result.places],
        "alert_places": [p["cell_id"] for p in result.places if p["alert"]],
        "minutes_used": result.plan.minutes_used,
        "disparity_flagged": None if report is None else report.flagged,
        "flagged_groups": []
        if report is None
        else [g.group for g in report.groups if g.population_ratio_flag or g.crime_ratio_flag],
    }


def _view(result: Deployment, params: DeployParameters, why_not: str, agency_code: str) -> dict[str, Any]:
    """What both templates show."""
    rounds: dict[int, dict[str, Any]] = {}
    for row in result.schedule_rows(params.start_time):
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
        "result": result,
        "facts": result.cells.get("forecast", {}),
        "places": result.places,
        "rounds": rounds,
        "report": result.disparity,
        "why_no_disparity": why_not or result.disparity_error,
        "alerts_facts": (result.alerts or {}).get("analysis"),
        "map_data": {
            "cells": {"type": "FeatureCollection", "features": result.cells["features"]},
            "alerts": result.alerts,
        },
        "boundary_url": f"/api/v1/boundaries/{agency_code}.geojson",
    }


@pages.get("/deploy", response_class=HTMLResponse)
def deploy_page(
    request: Request,
    category: str = "burglary",
    as_of: str = "",
    officer_minutes: str = "",
    shift_hours: str = "8",
    shift_start: str = "",
    method: str = "learned",
    near_repeat: str = "on",
    visit_minutes: str = "15",
    travel_minutes: str = "10",
    user: UserInfo = Depends(require("tasking:plan")),
    session: Session = db_session,
) -> Response:
    """The form; with a budget, the shift's plan: map, list in visiting order, disparity check."""
    web = get_context(request)
    error = None
    view: dict[str, Any] = {}
    print_url = ""
    status = 200
    day_text = as_of
    if not as_of:
        latest = latest_incident_date(web.engine, user.agency_code)
        day_text = str(latest + dt.timedelta(days=1)) if latest else ""
    if officer_minutes.strip():
        try:
            day = parse_iso_date(as_of, "as_of")
            if day is None:
                raise ValueError("give the date of the shift")
            params = DeployParameters.parse(
                category=category,
                as_of=day,
                officer_minutes=officer_minutes,
                shift_hours=shift_hours,
                shift_start=shift_start,
                method=method,
                near_repeat=near_repeat,
                visit_minutes=visit_minutes,
                travel_minutes=travel_minutes,
            )
            result, why_not = _compute(web, user, params)
        except ValueError as exc:  # shown on the page: the budget, the dates, the category
            error, status = str(exc), 400
        else:
            payload = {
                "agency": user.agency_code,
                "parameters": asdict(params),
                "cells": [p["cell_id"] for p in result.places],
                "issued_by": user.username,
                "issued_at": f"{web.clock():%Y-%m-%d %H:%M} UTC",
            }
            reference = _plan_ref(payload)
            payload["reference"] = reference
            token = _serializer(web).dumps(payload)
            print_url = f"/deploy/print?plan={token}"
            record_event(
                session,
                action="create",
                object_type="deployment_plan",
                object_id=reference,
                actor=user,
                details=_audit_details(params, result),
            )
            view = {**_view(result, params, why_not, user.agency_code), "reference": reference}
    return render(
        request,
        "deploy.html",
        user=user,
        status_code=status,
        error=error,
        print_url=print_url,
        categories=list(CATEGORY_SETS),
        methods=list(FORECASTERS),
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
        leaflet_available=web.leaflet_available,
        **view,
    )


@pages.get("/deploy/print", response_class=HTMLResponse)
def deploy_print(
    request: Request,
    plan: str = "",
    user: UserInfo = Depends(require("tasking:read")),
    session: Session = db_session,
) -> Response:
    """The printable list of a plan issued on ``/deploy`` (its signed link)."""
    web = get_context(request)
    try:
        payload = _serializer(web).loads(plan) if plan else None
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
    params = DeployParameters(**payload["parameters"])
    try:
        result, why_not = _compute(web, user, params)
    except ValueError as exc:
        return render(request, "deploy_print.html", user=user, status_code=400, error=str(exc))
    changed = [p["cell_id"] for p in result.places] != payload["cells"]
    record_event(
        session,
        action="read",
        object_type="deployment_plan",
        object_id=str(payload["reference"]),
        actor=user,
        details={"printable": True, "changed_since_issue": changed},
    )
    return render(
        request,
        "deploy_print.html",
        user=user,
        error=None,
        params=params,
        issued_by=payload["issued_by"],
        issued_at=payload["issued_at"],
        reference=payload["reference"],
        changed=changed,
        **_view(result, params, why_not, user.agency_code),
    )
