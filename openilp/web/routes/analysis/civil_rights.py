"""The concentration audit and the live feedback check in the web app: ``GET /civil-rights/concentration``,
``GET /civil-rights/feedback`` and their JSON.

All (``tasking:plan``: analysts and supervisors) call a service over the lists issued for the shifts of
a period (default: the last 365 days to today):
:func:`openilp.services.analysis.concentration.concentration_audit` and
:func:`openilp.services.analysis.feedback_check.live_feedback_audit`; each request is recorded. The
feedback page shows its form until it is sent, since the check re-runs a forecast for every cycle.

The feedback check runs on the core's job runner (:mod:`openilp.core.jobs`): each request checks,
authorises and audits it at once (:func:`~openilp.services.analysis.feedback_check.prepare_feedback_check`:
refusals answer 400 or 403 as before), then starts, or joins, the job of the same user, period and
issued lists that runs the forecasts (:func:`~openilp.services.analysis.feedback_check.run_feedback_check`).
When the job has not ended within ``page_wait_ms`` the page answers 202 with the progress bar and the
JSON 202 with the job's status and its ``status_url``; asking again once it has ended gives the result,
kept for the runner's ``keep_s`` (ten minutes). A job that failed answers with its error (its status,
500 for an unexpected one) and is forgotten, so the next request tries again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from openilp.core import OpenILP
from openilp.core.jobs import Job
from openilp.errors import ServiceError, status_code_for
from openilp.security.actors import UserInfo
from openilp.services.analysis.concentration import (
    MEASURES,
    ConcentrationAudit,
    ConcentrationRequest,
    concentration_audit,
)
from openilp.services.analysis.feedback_check import (
    FeedbackRequest,
    LiveFeedbackAudit,
    prepare_feedback_check,
    run_feedback_check,
)
from openilp.services.analysis.incidents import parse_iso_date
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.rendering import render
from openilp.web.routes.analysis.common import run_for_page

__all__ = ["api", "pages"]

api = APIRouter(prefix="/api/v1", tags=["civil rights"])
pages = APIRouter(include_in_schema=False)
_CORE = Depends(get_core)
_PLANNER = Depends(require("tasking:plan"))


def _request(core: OpenILP, date_from: str, date_to: str, measure: str) -> ConcentrationRequest:
    last = parse_iso_date(date_to, "to") or core.clock().date()
    first = parse_iso_date(date_from, "from") or last - dt.timedelta(days=364)
    return ConcentrationRequest("", first, last, measure.strip() or "minutes")


@api.get("/civil-rights/concentration.json")
def concentration_json(
    date_from: str = Query(default="", alias="from", max_length=10),
    date_to: str = Query(default="", alias="to", max_length=10),
    measure: str = Query(default="minutes", max_length=10),
    core: OpenILP = _CORE,
    user: UserInfo = _PLANNER,
) -> dict[str, Any]:
    """The concentration audit of the lists issued for the period's shifts, as JSON."""
    return concentration_audit(core, user, _request(core, date_from, date_to, measure)).as_dict()


@pages.get("/civil-rights/concentration", response_class=HTMLResponse)
def concentration_page(
    request: Request,
    date_from: str = Query(default="", alias="from", max_length=10),
    date_to: str = Query(default="", alias="to", max_length=10),
    measure: str = Query(default="minutes", max_length=10),
    core: OpenILP = _CORE,
    user: UserInfo = _PLANNER,
) -> Response:
    """The page: the period's form, the counts of lists and places, and the tables."""
    run = run_for_page(lambda: concentration_audit(core, user, _request(core, date_from, date_to, measure)))
    audit: ConcentrationAudit | None = run.value
    form = {"from": date_from, "to": date_to, "measure": measure}
    if audit is not None:
        form = {
            "from": str(audit.request.date_from),
            "to": str(audit.request.date_to),
            "measure": audit.request.measure,
        }
    return render(
        request,
        "civil_rights_concentration.html",
        user=user,
        status_code=run.status_code if audit is None else 200,
        error=run.error,
        audit=audit,
        view=None if audit is None else audit.as_dict(),
        measures=MEASURES,
        form=form,
    )


def _feedback_request(core: OpenILP, date_from: str, date_to: str) -> FeedbackRequest:
    last = parse_iso_date(date_to, "to") or core.clock().date()
    first = parse_iso_date(date_from, "from") or last - dt.timedelta(days=364)
    return FeedbackRequest("", first, last)


def _feedback_job(core: OpenILP, user: UserInfo, date_from: str, date_to: str) -> Job:
    """Check, authorise and audit the request now; start or join its job and wait ``page_wait_ms`` for it.

    The job is keyed by the user and the prepared plan (agency, period and the issued lists' cycles), so
    the page and the JSON share it and a list issued since starts afresh. A failed job is returned once
    (to show its error) and forgotten."""
    plan = prepare_feedback_check(core, user, _feedback_request(core, date_from, date_to))
    job = core.jobs.submit(
        ("feedback_check", user.id, plan),
        str(user.id),
        lambda progress: run_feedback_check(core, plan, progress),
        rerun_failed=False,
    )
    job.wait(core.settings.page_wait_ms / 1000.0)
    if job.state == "failed":
        core.jobs.forget(job)
    return job


def _failure(job: Job) -> tuple[str, int]:
    """The message and status of a failed job: a refusal's own, any other failure's as a 500."""
    assert job.error is not None
    if isinstance(job.error, ServiceError):
        return str(job.error), status_code_for(job.error)
    return f"The check failed: {job.error}", 500


@api.get("/civil-rights/feedback.json", response_model=None)
def feedback_json(
    date_from: str = Query(default="", alias="from", max_length=10),
    date_to: str = Query(default="", alias="to", max_length=10),
    core: OpenILP = _CORE,
    user: UserInfo = _PLANNER,
) -> dict[str, Any] | JSONResponse:
    """The live feedback check of the lists issued for the period's shifts, as JSON (400 when refused);
    202 with the job's status and ``status_url`` while it runs: ask again for the result."""
    job = _feedback_job(core, user, date_from, date_to)
    if job.state == "running":
        status_url = f"/api/v1/jobs/{job.id}"
        return JSONResponse(
            {**job.as_dict(), "status_url": status_url}, status_code=202, headers={"Location": status_url}
        )
    if job.error is not None:
        message, status = _failure(job)
        return JSONResponse({"detail": message, "job": job.as_dict()}, status_code=status)
    audit: LiveFeedbackAudit = job.result
    return audit.as_dict()


@pages.get("/civil-rights/feedback", response_class=HTMLResponse)
def feedback_page(
    request: Request,
    date_from: str = Query(default="", alias="from", max_length=10),
    date_to: str = Query(default="", alias="to", max_length=10),
    core: OpenILP = _CORE,
    user: UserInfo = _PLANNER,
) -> Response:
    """The page: the period's form and, once sent, the check with what it means (a progress bar while it runs)."""
    form = {"from": date_from, "to": date_to}
    if not (date_from or date_to):
        return render(request, "civil_rights_feedback.html", user=user, error=None, view=None, form=form)
    started = attempt(lambda: _feedback_job(core, user, date_from, date_to))
    job = started.value
    error, status = started.error, started.status_code
    if job is not None and job.state == "running":
        return render(
            request,
            "analysis/working.html",
            user=user,
            job=job.as_dict(),
            title="Live feedback check",
            nav=False,
            note="The check re-runs the forecast of every shift day; its result is kept for ten minutes.",
            status_code=202,
        )
    if job is not None and job.error is not None:
        error, status = _failure(job)
    check: LiveFeedbackAudit | None = job.result if job is not None and job.error is None else None
    if check is not None:
        form = {"from": str(check.request.date_from), "to": str(check.request.date_to)}
    return render(
        request,
        "civil_rights_feedback.html",
        user=user,
        status_code=200 if check is not None else status,
        error=error,
        view=None if check is None else check.as_dict(),
        form=form,
    )
