"""Intelligence pages for signed-in staff: submit, search, read, review, disseminate, comply.

Server-rendered forms over the same services as the JSON API (``openilp.services.intel_*``).
Every form carries the CSRF token. A refused form is shown again with the reason (status 400)
after the session is rolled back, so nothing of it is stored; a refusal for a missing purpose
is committed first, because the refusal itself belongs in the audit log. Searches are POSTed so
that subject names never appear in addresses, browser history or proxy logs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from openilp.intel.errors import IntelForbidden, IntelNotFound, PurposeRequired
from openilp.intel.rules import SubmissionError
from openilp.security.actors import UserInfo
from openilp.services.intel.common import agency_grading_scheme
from openilp.services.intel.compliance import compliance_report
from openilp.services.intel.dissemination import (
    RELEASABLE_ITEMS,
    disseminate,
    disseminations_of,
    mark_notifications_read,
    notifications_for,
    received_disseminations,
)
from openilp.services.intel.options import partner_agencies, submission_options
from openilp.services.intel.records import (
    approve_record,
    reject_record,
    search_records,
    submit_record,
    view_record,
)
from openilp.services.intel.retention import review_queue, validate_record
from openilp.web.auth import require
from openilp.web.context import db_session
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render
from openilp.web.routes.intel.api import run
from openilp.web.routes.intel.forms import SubmissionForm, empty_submission_values, submission_form

__all__ = ["router", "REVIEW_PURPOSE", "record_url", "after_action"]

router = APIRouter(include_in_schema=False)

#: The purpose pre-filled when a reviewer opens a record from the review queue.
REVIEW_PURPOSE = "28 CFR Part 23 review of this record"
#: Errors shown on a page instead of an error page.
_SHOWN = (SubmissionError, ValueError, IntelForbidden)


def record_url(record_id: int, purpose: str, done: str = "") -> str:
    """The record page address with its purpose (and an optional confirmation)."""
    query = {"purpose": purpose, **({"done": done} if done else {})}
    return f"/intel/records/{record_id}?{urlencode(query)}"


def _retention_days(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 5:
        raise SubmissionError("retention days must be a whole number of days")
    return int(text)


# --- submission ---------------------------------------------------------------------------------


def submission_page(
    request: Request,
    session: Session,
    user: UserInfo,
    *,
    action: str,
    values: dict[str, Any],
    error: str | None = None,
    heading: str = "Submit intelligence",
    tip_id: str | None = None,
) -> Response:
    """Render the submission form (also used to convert a tip)."""
    return render(
        request,
        "intel/record_form.html",
        user=user,
        status_code=400 if error else 200,
        options=submission_options(session, user),
        values=empty_submission_values(**values),
        error=error,
        action=action,
        heading=heading,
        tip_id=tip_id,
    )


@router.get("/intel/records/new", response_class=HTMLResponse)
def new_record_form(
    request: Request, user: UserInfo = Depends(require("intel:submit")), session: Session = db_session
) -> Response:
    """The submission form: predicate, attestation, labels, subjects, protected activity."""
    return submission_page(request, session, user, action="/intel/records", values={})


@router.post("/intel/records", response_class=HTMLResponse)
def submit_record_page(
    request: Request,
    form: SubmissionForm = Depends(submission_form),
    user: UserInfo = Depends(require("intel:submit")),
    session: Session = db_session,
) -> Response:
    """Submit through the predicate gate; a refused form is shown again with the reason."""
    check_csrf(request, form.csrf_token)
    try:
        record = submit_record(session, user, form.submission(agency_grading_scheme(session, user.agency_id)))
    except _SHOWN as exc:
        session.rollback()
        return submission_page(request, session, user, action="/intel/records", values=form.values, error=str(exc))
    return RedirectResponse(record_url(record.id, f"submission {record.source_reference}", "submitted"), 303)


# --- search -------------------------------------------------------------------------------------


def _search_page(
    request: Request,
    user: UserInfo,
    *,
    query: str = "",
    purpose: str = "",
    result: Any = None,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "intel/search.html",
        user=user,
        status_code=400 if error else 200,
        query=query,
        purpose=purpose,
        result=result,
        error=error,
    )


@router.get("/intel/search", response_class=HTMLResponse)
def search_form(request: Request, user: UserInfo = Depends(require("intel:search"))) -> Response:
    """The search form: search text and a required purpose or case number."""
    return _search_page(request, user)


@router.post("/intel/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    csrf_token: str = Form(""),
    q: str = Form("", max_length=1000),
    purpose: str = Form("", max_length=1000),
    user: UserInfo = Depends(require("intel:search")),
    session: Session = db_session,
) -> Response:
    """Access-aware search; other agencies' records come back as the service returns them."""
    check_csrf(request, csrf_token)
    try:
        result = search_records(session, user, q, purpose=purpose)
    except PurposeRequired as exc:
        session.commit()  # the refusal stays in the audit log
        return _search_page(request, user, query=q, purpose=purpose, error=str(exc))
    except _SHOWN as exc:
        session.rollback()
        return _search_page(request, user, query=q, purpose=purpose, error=str(exc))
    return _search_page(request, user, query=result.query, purpose=result.purpose, result=result.as_dict())


# --- one record ---------------------------------------------------------------------------------


def _record_page(
    request: Request,
    session: Session,
    user: UserInfo,
    record_id: int,
    purpose: str,
    *,
    error: str | None = None,
    done: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    record = run(session, lambda: view_record(session, user, record_id, purpose=purpose))
    own = record["agency"]["id"] == user.agency_id
    log = disseminations_of(session, user, record_id) if own and user.can("intel:disseminate") else None
    return render(
        request,
        "intel/record.html",
        user=user,
        status_code=400 if error else 200,
        record=record,
        purpose=purpose,
        own=own,
        log=log,
        agencies=partner_agencies(session, user) if log is not None else [],
        items=RELEASABLE_ITEMS,
        error=error,
        done=done[:20],
        form=form or {},
    )


@router.get("/intel/records/{record_id}", response_class=HTMLResponse)
def record_page(
    request: Request,
    record_id: int,
    purpose: str | None = Query(default=None, max_length=1000),
    done: str = Query(default="", max_length=20),
    user: UserInfo = Depends(require("intel:read")),
    session: Session = db_session,
) -> Response:
    """A record (audited read with a purpose); without one, the page asks for it first."""
    if purpose is None:
        return render(request, "intel/purpose.html", user=user, record_id=record_id, error=None)
    try:
        return _record_page(request, session, user, record_id, purpose, done=done)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        # No purpose: run() has committed the audited refusal; ask again.
        return render(
            request, "intel/purpose.html", user=user, record_id=record_id, error=str(exc.detail), status_code=400
        )


def after_action(
    request: Request,
    session: Session,
    user: UserInfo,
    record_id: int,
    view_purpose: str,
    action: Any,
    done: str,
    form: dict[str, str],
) -> Response:
    """Run a record action; redirect to the record page, or show it again with the reason."""
    try:
        action()
    except PurposeRequired as exc:
        session.commit()
        return _record_page(request, session, user, record_id, view_purpose, error=str(exc), form=form)
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except _SHOWN as exc:
        session.rollback()
        return _record_page(request, session, user, record_id, view_purpose, error=str(exc), form=form)
    return RedirectResponse(record_url(record_id, view_purpose, done), status_code=303)


@router.post("/intel/records/{record_id}/approve", response_class=HTMLResponse)
def approve_page(
    request: Request,
    record_id: int,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    reason: str = Form(""),
    approve_nexus: str = Form(""),
    retention_days: str = Form("", max_length=10),
    user: UserInfo = Depends(require("intel:review")),
    session: Session = db_session,
) -> Response:
    """Approve a pending record (trained second person; explicit nexus approval when needed)."""
    check_csrf(request, csrf_token)
    return after_action(
        request,
        session,
        user,
        record_id,
        view_purpose,
        lambda: approve_record(
            session,
            user,
            record_id,
            reason=reason,
            approve_nexus=approve_nexus == "yes",
            retention_days=_retention_days(retention_days),
        ),
        "approved",
        {"decision_reason": reason, "retention_days": retention_days},
    )


@router.post("/intel/records/{record_id}/reject", response_class=HTMLResponse)
def reject_page(
    request: Request,
    record_id: int,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    reason: str = Form(""),
    user: UserInfo = Depends(require("intel:review")),
    session: Session = db_session,
) -> Response:
    """Reject a pending record; its content is erased."""
    check_csrf(request, csrf_token)
    return after_action(
        request,
        session,
        user,
        record_id,
        view_purpose,
        lambda: reject_record(session, user, record_id, reason=reason),
        "rejected",
        {"decision_reason": reason},
    )


@router.post("/intel/records/{record_id}/validate", response_class=HTMLResponse)
def validate_page(
    request: Request,
    record_id: int,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    reason: str = Form(""),
    still_suspected: str = Form(""),
    factual_basis: str = Form(""),
    retention_days: str = Form("", max_length=10),
    user: UserInfo = Depends(require("intel:review")),
    session: Session = db_session,
) -> Response:
    """Validate before expiry: reason, fresh predicate check, new period ≤ 5 years."""
    check_csrf(request, csrf_token)
    return after_action(
        request,
        session,
        user,
        record_id,
        view_purpose,
        lambda: validate_record(
            session,
            user,
            record_id,
            reason=reason,
            still_suspected=still_suspected == "yes",
            factual_basis=factual_basis,
            retention_days=_retention_days(retention_days),
        ),
        "validated",
        {"validation_reason": reason, "validation_basis": factual_basis, "retention_days": retention_days},
    )


@router.post("/intel/records/{record_id}/disseminate", response_class=HTMLResponse)
def disseminate_page(
    request: Request,
    record_id: int,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    purpose: str = Form("", max_length=1000),
    recipient_agency: str = Form("", max_length=32),
    recipient_username: str = Form("", max_length=80),
    need_to_know: str = Form(""),
    items: list[str] = Form([]),
    user: UserInfo = Depends(require("intel:disseminate")),
    session: Session = db_session,
) -> Response:
    """Release to a named user of another agency; the release joins the dissemination log."""
    check_csrf(request, csrf_token)
    return after_action(
        request,
        session,
        user,
        record_id,
        view_purpose,
        lambda: disseminate(
            session,
            user,
            record_id,
            recipient_agency_code=recipient_agency,
            recipient_username=recipient_username,
            purpose=purpose,
            need_to_know=need_to_know,
            items=items[:10],
        ),
        "disseminated",
        {
            "release_purpose": purpose,
            "recipient_agency": recipient_agency,
            "recipient_username": recipient_username,
            "need_to_know": need_to_know,
            "release_items": ",".join(items[:10]),
        },
    )


# --- queues and reports -------------------------------------------------------------------------


@router.get("/intel/review", response_class=HTMLResponse)
def review_page(
    request: Request, user: UserInfo = Depends(require("intel:review")), session: Session = db_session
) -> Response:
    """Pending submissions to approve or reject, and records whose review is due."""
    queue = run(session, lambda: review_queue(session, user))
    return render(request, "intel/review.html", user=user, queue=queue, review_purpose=REVIEW_PURPOSE)


@router.get("/intel/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request, user: UserInfo = Depends(require("intel:compliance")), session: Session = db_session
) -> Response:
    """The compliance report of the agency (28 CFR 23.20(b), (h), (l))."""
    report = run(session, lambda: compliance_report(session, user))
    return render(request, "intel/compliance.html", user=user, report=report)


@router.get("/intel/received", response_class=HTMLResponse)
def received_page(
    request: Request, user: UserInfo = Depends(require("intel:received")), session: Session = db_session
) -> Response:
    """Intelligence other agencies released to yours."""
    rows = run(session, lambda: received_disseminations(session, user))
    return render(request, "intel/received.html", user=user, rows=rows)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request, user: UserInfo = Depends(require("notifications:read")), session: Session = db_session
) -> Response:
    """Your notices: corrections, purges, restricted hits, releases received, tips."""
    return render(request, "intel/notifications.html", user=user, notes=notifications_for(session, user))


@router.post("/notifications/read", response_class=HTMLResponse)
def notifications_read(
    request: Request,
    csrf_token: str = Form(""),
    user: UserInfo = Depends(require("notifications:read")),
    session: Session = db_session,
) -> Response:
    """Mark your personal notices read."""
    check_csrf(request, csrf_token)
    mark_notifications_read(session, user)
    return RedirectResponse("/notifications", status_code=303)
