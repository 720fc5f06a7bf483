"""The concentration audit in the web app: ``GET /civil-rights/concentration`` and its JSON.

Both (``tasking:plan``: analysts and supervisors) call
:func:`openilp.services.analysis.concentration.concentration_audit` over the lists issued for the
shifts of a period (default: the last 365 days to today), and the audit is recorded.
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
