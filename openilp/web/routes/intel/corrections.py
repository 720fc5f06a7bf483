"""Record pages for changing a record after the fact: correct it, or release it in an emergency.

``/intel/records/{id}/correct/form`` (a POST from the record page) shows the correctable fields
and each subject's identifiers pre-filled; posting ``/intel/records/{id}/correct`` calls
:func:`openilp.services.intel.corrections.apply_record_corrections`, which applies what changed
in one transaction, so every past recipient is notified (23.20(h)).
``/intel/records/{id}/emergency-release`` posts the imminent-danger form of the record page to
:func:`openilp.services.intel.emergency.emergency_release` (23.20(f)(2)).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from openilp.core import OpenILP
from openilp.intel.grading import HANDLING_CODES, SCHEMES
from openilp.intel.rules import SENSITIVITIES
from openilp.security.actors import UserInfo
from openilp.services.intel.corrections import (
    CORRECTABLE_FIELDS,
    RecordCorrectionsRequest,
    apply_record_corrections,
    current_values,
)
from openilp.services.intel.emergency import EmergencyReleaseRequest, emergency_release
from openilp.services.intel.reading import ViewRecordRequest, view_record
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render
from openilp.web.routes.intel.pages import after_action, show_record

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_CORE = Depends(get_core)


def _correct_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    record_id: Id,
    view_purpose: str,
    *,
    form: dict[str, str] | None = None,
    identifiers: dict[int, str] | None = None,
    error: str | None = None,
) -> Response:
    view = view_record(core, user, ViewRecordRequest(record_id, view_purpose))
    if not view.own or view.status not in ("pending", "approved"):
        raise HTTPException(status_code=404, detail="no such record")
    record = view.as_dict()
    return render(
        request,
        "intel/correct.html",
        user=user,
        status_code=400 if error else 200,
        record=record,
        purpose=view_purpose,
        values={**current_values(record), **(form or {})},
        subjects=view.subjects,
        identifiers=identifiers or {s["id"]: s["identifiers"] for s in view.subjects},
        scheme=SCHEMES[record["grading"]["scheme"]],
        sensitivities=SENSITIVITIES,
        handling_codes=HANDLING_CODES,
        error=error,
    )


@router.post("/intel/records/{record_id}/correct/form", response_class=HTMLResponse)
def correct_form(
    request: Request,
    record_id: Id,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    user: UserInfo = Depends(require("intel:submit")),
    core: OpenILP = _CORE,
) -> Response:
    """The correction form: content, grades, labels and subjects' identifiers, pre-filled (an audited read)."""
    check_csrf(request, csrf_token)
    return _correct_page(request, core, user, record_id, view_purpose)


@router.post("/intel/records/{record_id}/correct", response_class=HTMLResponse)
async def correct_page(
    request: Request,
    record_id: Id,
    user: UserInfo = Depends(require("intel:submit")),
    core: OpenILP = _CORE,
) -> Response:
    """Apply what changed; every past recipient is notified. Nothing is stored when a rule fails."""
    posted = await request.form()
    check_csrf(request, str(posted.get("csrf_token", "")))
    view_purpose = str(posted.get("view_purpose", ""))[:1000]
    form = {name: str(posted.get(name, ""))[:10_000] for name in CORRECTABLE_FIELDS}
    identifiers: dict[int, str] = {}
    for key, value in posted.items():
        if key.startswith("identifiers_") and key[12:].isdigit() and len(key) < 24:
            identifiers[int(key[12:])] = str(value)[:1000]
    corrections = RecordCorrectionsRequest(
        record_id,
        view_purpose=view_purpose,
        purpose=str(posted.get("correction_purpose", ""))[:1000],
        fields=form,
        identifiers=identifiers,
    )
    outcome = attempt(lambda: apply_record_corrections(core, user, corrections))
    if outcome.ok:
        return show_record(request, core, user, record_id, view_purpose, done="corrected")
    return _correct_page(
        request, core, user, record_id, view_purpose, form=form, identifiers=identifiers, error=outcome.error
    )


@router.post("/intel/records/{record_id}/emergency-release", response_class=HTMLResponse)
def emergency_release_page(
    request: Request,
    record_id: Id,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    justification: str = Form("", max_length=10_000),
    recipient_name: str = Form("", max_length=200),
    recipient_organisation: str = Form("", max_length=200),
    assessment: str = Form("", max_length=10_000),
    user: UserInfo = Depends(require("intel:emergency_release")),
    core: OpenILP = _CORE,
) -> Response:
    """Release an assessment to avoid imminent danger to life or property (23.20(f)(2))."""
    check_csrf(request, csrf_token)
    release = EmergencyReleaseRequest(record_id, justification, recipient_name, recipient_organisation, assessment)
    return after_action(
        request,
        core,
        user,
        record_id,
        view_purpose,
        lambda: emergency_release(core, user, release),
        "emergency release",
        {
            "justification": justification,
            "recipient_name": recipient_name,
            "recipient_organisation": recipient_organisation,
            "assessment": assessment,
        },
    )
