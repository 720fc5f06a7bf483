"""Gang and enterprise designations: ``/networks/designations`` (list, form, review) and its JSON API.

Thin over :mod:`openilp.services.networks.designations`: the form sends the person (and, picked
from the entity suggestions, the known person entity), the organisation, up to four criteria
(code, source, date) and the review date; the service refuses anything short of two documented
criteria, never takes network association as one, and checks that the user may see a picked entity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.core import OpenILP
from openilp.intel.designations import CRITERIA, CriterionInput
from openilp.security.actors import UserInfo
from openilp.services.networks import (
    DecideDesignationRequest,
    DesignationRequest,
    ReviewDesignationRequest,
    decide_designation,
    designate_member,
    list_designations,
    review_designation,
)
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render

__all__ = ["api", "pages"]

READ = require("designations:read")
WRITE = require("designations:write")

api = APIRouter(prefix="/api/v1/networks/designations", tags=["networks"])
pages = APIRouter(prefix="/networks/designations", include_in_schema=False)

#: Rows of criteria the form offers.
FORM_CRITERIA = 4


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


@api.get("")
def list_api(core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> dict[str, Any]:
    """The agency's active designations with their criteria, those due for review first."""
    return list_designations(core, user).as_dict()


def _page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    error: str | None = None,
    status: int = 200,
    notice: str = "",
    filled: dict[str, Any] | None = None,
) -> Response:
    listed = list_designations(core, user).as_dict()
    return render(
        request,
        "networks/designations.html",
        user=user,
        designations=listed["designations"],
        proposals=listed["proposals"],
        notice=notice,
        criteria=CRITERIA,
        rows=range(FORM_CRITERIA),
        can_write=user.can("designations:write"),
        can_pick=user.can("entities:read"),
        error=error,
        status_code=status,
        filled=filled or {"criteria": []},
        error_field="person_entity_id" if error and error.startswith("person_entity_id:") else "",
    )


@pages.get("", response_class=HTMLResponse)
def list_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> Response:
    """Active designations (review overdue first) and, for supervisors and reviewers, the form."""
    return _page(request, core, user)


@pages.post("", response_class=HTMLResponse)
def designate_page(
    request: Request,
    csrf_token: str = Form(""),
    person: str = Form("", max_length=200),
    organisation: str = Form("", max_length=200),
    review_due_on: str = Form("", max_length=20),
    notes: str = Form("", max_length=20_000),
    person_entity_id: str = Form("", max_length=20),
    criterion_code: list[str] = Form([]),
    criterion_source: list[str] = Form([]),
    criterion_date: list[str] = Form([]),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    """Designate a member on the documented criteria of the form (refusals shown with every reason)."""
    check_csrf(request, csrf_token)
    # a refused proposal shows the form again as it was sent, so a wrong pick costs no retyping
    filled = {
        "person": person,
        "organisation": organisation,
        "review_due_on": review_due_on,
        "notes": notes,
        "person_entity_id": person_entity_id,
        "criteria": list(zip(criterion_code, criterion_source, criterion_date, strict=False))[:FORM_CRITERIA],
    }
    picked = person_entity_id.strip()
    if picked and not (picked.isascii() and picked.isdigit()):
        error = "person_entity_id: give the number of a known person entity (digits only), or leave it empty"
        return _page(request, core, user, error=error, status=400, filled=filled)
    criteria = tuple(
        CriterionInput(code, source, _day(day))
        for code, source, day in zip(criterion_code, criterion_source, criterion_date, strict=False)
        if code.strip()
    )
    outcome = attempt(
        lambda: designate_member(
            core,
            user,
            DesignationRequest(
                person, organisation, criteria, _day(review_due_on), notes, int(picked) if picked else None
            ),
        )
    )
    if outcome.value is None:
        return _page(request, core, user, error=outcome.error, status=outcome.status_code, filled=filled)
    return RedirectResponse("/networks/designations", status_code=303)


@api.post("/{designation_id}/decide")
def decide_api(
    designation_id: Id,
    decision: str = Body(..., max_length=10),
    reason: str = Body(..., max_length=2000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> dict[str, Any]:
    """A second supervisor or reviewer approves (active, with the notice for the person) or rejects
    (purged at once) a proposed designation; the proposer is notified; audited."""
    return decide_designation(core, user, DecideDesignationRequest(designation_id, decision, reason)).as_dict()


@pages.post("/{designation_id}/decide", response_class=HTMLResponse)
def decide_page(
    designation_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    decision: str = Form("", max_length=10),
    reason: str = Form("", max_length=2000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    """Approve or reject a proposal (not one's own); an approval shows the notice to send the person."""
    check_csrf(request, csrf_token)
    outcome = attempt(
        lambda: decide_designation(core, user, DecideDesignationRequest(designation_id, decision, reason))
    )
    if outcome.value is None:
        return _page(request, core, user, error=outcome.error, status=outcome.status_code)
    return _page(request, core, user, notice=outcome.value.person_notice)


@pages.post("/{designation_id}/review", response_class=HTMLResponse)
def review_page(
    designation_id: Id,
    request: Request,
    csrf_token: str = Form(""),
    outcome_choice: str = Form("", alias="outcome", max_length=10),
    reason: str = Form("", max_length=2000),
    next_review_on: str = Form("", max_length=20),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> Response:
    """Keep a designation until a new review date, or end it (purged at once), with a reason."""
    check_csrf(request, csrf_token)
    outcome = attempt(
        lambda: review_designation(
            core,
            user,
            ReviewDesignationRequest(designation_id, outcome_choice, reason, _day(next_review_on)),
        )
    )
    if outcome.value is None:
        return _page(request, core, user, error=outcome.error, status=outcome.status_code)
    return RedirectResponse("/networks/designations", status_code=303)
