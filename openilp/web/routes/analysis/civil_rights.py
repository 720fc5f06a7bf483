"""The concentration audit and the live feedback check in the web app: ``GET /civil-rights/concentration``,
``GET /civil-rights/feedback`` and their JSON.

All (``tasking:plan``: analysts and supervisors) call a service over the lists issued for the shifts of
a period (default: the last 365 days to today):
:func:`openilp.services.analysis.concentration.concentration_audit` and
:func:`openilp.services.analysis.feedback_check.live_feedback_audit`; each run is recorded. The
feedback page shows its form until it is sent, since the check re-runs a forecast for every cycle.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.analysis.concentration import (
    MEASURES,
    ConcentrationAudit,
    ConcentrationRequest,
    concentration_audit,
)
from openilp.services.analysis.feedback_check import FeedbackRequest, LiveFeedbackAudit, live_feedback_audit
from openilp.services.analysis.incidents import parse_iso_date
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


@api.get("/civil-rights/feedback.json")
def feedback_json(
    date_from: str = Query(default="", alias="from", max_length=10),
    date_to: str = Query(default="", alias="to", max_length=10),
    core: OpenILP = _CORE,
    user: UserInfo = _PLANNER,
) -> dict[str, Any]:
    """The live feedback check of the lists issued for the period's shifts, as JSON (400 when refused)."""
    return live_feedback_audit(core, user, _feedback_request(core, date_from, date_to)).as_dict()


@pages.get("/civil-rights/feedback", response_class=HTMLResponse)
def feedback_page(
    request: Request,
    date_from: str = Query(default="", alias="from", max_length=10),
    date_to: str = Query(default="", alias="to", max_length=10),
    core: OpenILP = _CORE,
    user: UserInfo = _PLANNER,
) -> Response:
    """The page: the period's form and, once sent, the check with what it means."""
    form = {"from": date_from, "to": date_to}
    if not (date_from or date_to):
        return render(request, "civil_rights_feedback.html", user=user, error=None, view=None, form=form)
    run = run_for_page(lambda: live_feedback_audit(core, user, _feedback_request(core, date_from, date_to)))
    check: LiveFeedbackAudit | None = run.value
    if check is not None:
        form = {"from": str(check.request.date_from), "to": str(check.request.date_to)}
    return render(
        request,
        "civil_rights_feedback.html",
        user=user,
        status_code=run.status_code if check is None else 200,
        error=run.error,
        view=None if check is None else check.as_dict(),
        form=form,
    )
