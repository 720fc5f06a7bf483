"""Record pages for changing a record after the fact: correct it, or release it in an emergency.

``/intel/records/{id}/correct`` shows the correctable fields and each subject's identifiers
pre-filled; posting calls the same services as the JSON API
(:func:`openilp.services.intel.records.correct_record` and
:func:`openilp.services.intel.records.update_identifiers`), in one transaction, so every past
recipient is notified (23.20(h)). ``/intel/records/{id}/emergency-release`` posts the
imminent-danger form of the record page to :func:`openilp.services.intel.emergency.emergency_release`
(23.20(f)(2)).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from openilp.intel.errors import IntelForbidden, IntelNotFound, PurposeRequired
from openilp.intel.grading import HANDLING_CODES, SCHEMES
from openilp.intel.rules import SENSITIVITIES, SubmissionError
from openilp.security.actors import UserInfo
from openilp.services.intel.emergency import emergency_release
from openilp.services.intel.records import CORRECTABLE_FIELDS, correct_record, update_identifiers, view_record
from openilp.web.auth import require
from openilp.web.context import db_session
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render
from openilp.web.routes.intel.api import run
from openilp.web.routes.intel.pages import after_action, record_url

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
#: Errors shown on the form instead of an error page.
_SHOWN = (SubmissionError, ValueError, IntelForbidden)


def _current(record: dict[str, Any]) -> dict[str, str]:
    return {
        "title": record.get("title", ""),
        "summary": record.get("summary", ""),
        "source_grade": record["grading"]["source"],
        "information_grade": record["grading"]["information"],
        "sensitivity": record["sensitivity"],
        "handling_code": record["handling_code"],
        "handling_conditions": record["handling_conditions"],
    }


def _correct_page(
    request: Request,
    session: Session,
    user: UserInfo,
    record_id: int,
    view_purpose: str,
    *,
    form: dict[str, str] | None = None,
    identifiers: dict[int, str] | None = None,
    error: str | None = None,
) -> Response:
    record = run(session, lambda: view_record(session, user, record_id, purpose=view_purpose))
    if record["agency"]["id"] != user.agency_id or record["status"] not in ("pending", "approved"):
        raise HTTPException(status_code=404, detail="no such record")
    subjects = [*record.get("subjects", []), *record.get("identifying_information", [])]
    return render(
        request,
        "intel/correct.html",
        user=user,
        status_code=400 if error else 200,
        record=record,
        purpose=view_purpose,
        values={**_current(record), **(form or {})},
        subjects=subjects,
        identifiers=identifiers or {s["id"]: s["identifiers"] for s in subjects},
        scheme=SCHEMES[record["grading"]["scheme"]],
        sensitivities=SENSITIVITIES,
        handling_codes=HANDLING_CODES,
        error=error,
    )


@router.get("/intel/records/{record_id}/correct", response_class=HTMLResponse)
def correct_form(
    request: Request,
    record_id: int,
    purpose: str = Query(default="", max_length=1000),
    user: UserInfo = Depends(require("intel:submit")),
    session: Session = db_session,
) -> Response:
    """The correction form: content, grades, labels and subjects' identifiers, pre-filled."""
    return _correct_page(request, session, user, record_id, purpose)


@router.post("/intel/records/{record_id}/correct", response_class=HTMLResponse)
async def correct_page(
    request: Request,
    record_id: int,
    user: UserInfo = Depends(require("intel:submit")),
    session: Session = db_session,
) -> Response:
    """Apply what changed; every past recipient is notified. Nothing is stored when a rule fails."""
    posted = await request.form()
    check_csrf(request, str(posted.get("csrf_token", "")))
    view_purpose = str(posted.get("view_purpose", ""))[:1000]
    reason = str(posted.get("correction_purpose", ""))[:1000]
    form = {name: str(posted.get(name, ""))[:10_000] for name in CORRECTABLE_FIELDS}
    identifiers: dict[int, str] = {}
    for key, value in posted.items():
        if key.startswith("identifiers_") and key[12:].isdigit() and len(key) < 24:
            identifiers[int(key[12:])] = str(value)[:1000]

    def apply() -> None:
        record = view_record(session, user, record_id, purpose=view_purpose)
        current = _current(record)
        changes = {k: v for k, v in form.items() if v.strip() != current[k].strip()}
        known = {
            s["id"]: s["identifiers"] for s in [*record.get("subjects", []), *record.get("identifying_information", [])]
        }
        changed = {i: v for i, v in identifiers.items() if i in known and v.strip() != known[i].strip()}
        if not changes and not changed:
            raise SubmissionError("nothing to correct: change a field or a subject's identifiers first")
        if changes:
            correct_record(session, user, record_id, changes, purpose=reason)
        for subject_id, value in changed.items():
            update_identifiers(session, user, record_id, subject_id, value, purpose=reason)

    try:
        apply()
    except PurposeRequired as exc:
        session.commit()  # the refusal stays in the audit log
        return _correct_page(
            request, session, user, record_id, view_purpose, form=form, identifiers=identifiers, error=str(exc)
        )
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except _SHOWN as exc:
        session.rollback()
        return _correct_page(
            request, session, user, record_id, view_purpose, form=form, identifiers=identifiers, error=str(exc)
        )
    return RedirectResponse(record_url(record_id, view_purpose, "corrected"), status_code=303)


@router.post("/intel/records/{record_id}/emergency-release", response_class=HTMLResponse)
def emergency_release_page(
    request: Request,
    record_id: int,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    justification: str = Form("", max_length=10_000),
    recipient_name: str = Form("", max_length=200),
    recipient_organisation: str = Form("", max_length=200),
    assessment: str = Form("", max_length=10_000),
    user: UserInfo = Depends(require("intel:emergency_release")),
    session: Session = db_session,
) -> Response:
    """Release an assessment to avoid imminent danger to life or property (23.20(f)(2))."""
    check_csrf(request, csrf_token)
    return after_action(
        request,
        session,
        user,
        record_id,
        view_purpose,
        lambda: emergency_release(
            session,
            user,
            record_id,
            justification=justification,
            recipient_name=recipient_name,
            recipient_organisation=recipient_organisation,
            assessment=assessment,
        ),
        "emergency release",
        {
            "justification": justification,
            "recipient_name": recipient_name,
            "recipient_organisation": recipient_organisation,
            "assessment": assessment,
        },
    )
