"""Intelligence pages for signed-in staff: submit, search, read, review, disseminate, comply.

Server-rendered forms over the same services as the JSON API (:mod:`openilp.services.intel`).
Every form carries the CSRF token. A refused form is shown again with the reason (status 400)
through :func:`openilp.web.actions.attempt`; the service has already rolled the action back and
kept any audited refusal (a missing purpose). Searches are POSTed so that subject names never
appear in addresses, browser history or proxy logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.core import OpenILP
from openilp.intel.markings import TLP_MEANINGS
from openilp.intel.rules import submission_field_errors
from openilp.security.actors import UserInfo
from openilp.services.intel.audience import AudienceRequest, preview_release
from openilp.services.intel.compliance import compliance_report
from openilp.services.intel.dissemination import (
    RELEASABLE_ITEMS,
    DisseminationRequest,
    disseminate,
    disseminations_of,
    mark_notifications_read,
    notifications_for,
    received_disseminations,
)
from openilp.services.intel.groups import list_groups
from openilp.services.intel.options import release_recipients, submission_options
from openilp.services.intel.reading import SearchRequest, ViewRecordRequest, search_records, view_record
from openilp.services.intel.records import (
    ReviewRequest,
    SubmitRecordRequest,
    approve_record,
    reject_record,
    submit_record,
)
from openilp.services.intel.retention import ValidationRequest, review_queue, validate_record
from openilp.web.actions import Outcome, attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render
from openilp.web.routes.intel.forms import SubmissionForm, empty_submission_values, submission_form

__all__ = ["router", "REVIEW_PURPOSE", "record_url", "after_action", "show_record", "submission_page"]

router = APIRouter(include_in_schema=False)
_CORE = Depends(get_core)

#: The purpose pre-filled when a reviewer opens a record from the review queue.
REVIEW_PURPOSE = "28 CFR Part 23 review of this record"


def record_url(record_id: Id, purpose: str) -> str:
    """The address of the page that asks for the purpose of reading a record, pre-filled with ``purpose``.

    Opening the record is a POST of that form (:func:`open_record_page`): a read that needs a
    purpose is never a GET, so a link from another site cannot record a read in the viewer's
    name with a purpose of its choosing.
    """
    return f"/intel/records/{record_id}?{urlencode({'purpose': purpose})}"


# --- submission ---------------------------------------------------------------------------------


def submission_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    action: str,
    values: dict[str, Any],
    refusal: Outcome[Any] | None = None,
    heading: str = "Submit intelligence",
    tip_id: str | None = None,
) -> Response:
    """Render the submission form (also used to convert a tip); after a ``refusal``, the values as
    they were filled in with every bad field marked next to its control."""
    options = submission_options(core, user)
    values = empty_submission_values(**values)
    field_errors: dict[str, str] = {}
    if refusal is not None and refusal.status_code == 400:
        submitted = SubmissionForm("", values).submission(options.scheme.name)
        field_errors = submission_field_errors(submitted)
        if not field_errors and refusal.field and refusal.error:
            field_errors = {refusal.field: refusal.error}
    return render(
        request,
        "intel/record_form.html",
        user=user,
        status_code=400 if refusal is not None else 200,
        options=options,
        values=values,
        error=refusal.error if refusal is not None else None,
        field_errors=field_errors,
        action=action,
        heading=heading,
        tip_id=tip_id,
    )


@router.get("/intel/records/new", response_class=HTMLResponse)
def new_record_form(
    request: Request, user: UserInfo = Depends(require("intel:submit")), core: OpenILP = _CORE
) -> Response:
    """The submission form: predicate, attestation, labels, subjects, protected activity."""
    return submission_page(request, core, user, action="/intel/records", values={})


@router.post("/intel/records", response_class=HTMLResponse)
def submit_record_page(
    request: Request,
    form: SubmissionForm = Depends(submission_form),
    user: UserInfo = Depends(require("intel:submit")),
    core: OpenILP = _CORE,
) -> Response:
    """Submit through the predicate gate; a refused form is shown again with the reason."""
    check_csrf(request, form.csrf_token)
    outcome = attempt(lambda: submit_record(core, user, SubmitRecordRequest(form.submission(), use_agency_scheme=True)))
    if outcome.value is None:
        return submission_page(request, core, user, action="/intel/records", values=form.values, refusal=outcome)
    record = outcome.value
    return show_record(request, core, user, record.id, f"submission {record.source_reference}", done="submitted")


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
    core: OpenILP = _CORE,
) -> Response:
    """Access-aware search; other agencies' records come back as the service returns them."""
    check_csrf(request, csrf_token)
    outcome = attempt(lambda: search_records(core, user, SearchRequest(q, purpose)))
    if outcome.value is None:
        return _search_page(request, user, query=q, purpose=purpose, error=outcome.error)
    result = outcome.value
    return _search_page(request, user, query=result.query, purpose=result.purpose, result=result.as_dict())


# --- one record ---------------------------------------------------------------------------------


def show_record(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    record_id: Id,
    purpose: str,
    *,
    error: str | None = None,
    done: str = "",
    form: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None,
) -> Response:
    view = view_record(core, user, ViewRecordRequest(record_id, purpose))
    log = disseminations_of(core, user, record_id).rows() if view.own and user.can("intel:disseminate") else None
    groups = (
        [(g.id, g.name, ", ".join(g.member_codes)) for g in list_groups(core, user).groups] if log is not None else []
    )
    return render(
        request,
        "intel/record.html",
        user=user,
        status_code=400 if error else 200,
        record=view.as_dict(),
        purpose=purpose,
        own=view.own,
        log=log,
        recipients=list(release_recipients(core, user).recipients) if log is not None else [],
        items=RELEASABLE_ITEMS,
        groups=groups,
        tlp_levels=TLP_MEANINGS,
        preview=preview,
        error=error,
        done=done[:20],
        form=form or {},
    )


@router.get("/intel/records/{record_id}", response_class=HTMLResponse)
def record_page(
    request: Request,
    record_id: Id,
    purpose: str = Query(default="", max_length=1000),
    user: UserInfo = Depends(require("intel:read")),
) -> Response:
    """Ask for the purpose of reading the record (pre-filled from ``?purpose=``); reads nothing."""
    return render(request, "intel/purpose.html", user=user, record_id=record_id, purpose=purpose[:500], error=None)


@router.post("/intel/records/{record_id}/open", response_class=HTMLResponse)
def open_record_page(
    request: Request,
    record_id: Id,
    csrf_token: str = Form(""),
    purpose: str = Form("", max_length=1000),
    user: UserInfo = Depends(require("intel:read")),
    core: OpenILP = _CORE,
) -> Response:
    """The record (an audited read with the purpose posted from this site's form)."""
    check_csrf(request, csrf_token)
    shown = attempt(lambda: show_record(request, core, user, record_id, purpose))
    if shown.value is not None:
        return shown.value
    if shown.status_code != 400:
        raise HTTPException(status_code=shown.status_code, detail=shown.error)
    # No purpose: the service has kept the audited refusal; ask again.
    return render(
        request, "intel/purpose.html", user=user, record_id=record_id, purpose="", error=shown.error, status_code=400
    )


def after_action(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    record_id: Id,
    view_purpose: str,
    action: Callable[[], object],
    done: str,
    form: dict[str, str],
) -> Response:
    """Run a record action; show the record page with its confirmation, or again with the reason.

    The page is the POST's answer (no redirect to a GET that would read the record again).
    """
    outcome = attempt(action)
    if outcome.ok:
        return show_record(request, core, user, record_id, view_purpose, done=done)
    return show_record(request, core, user, record_id, view_purpose, error=outcome.error, form=form)


@router.post("/intel/records/{record_id}/approve", response_class=HTMLResponse)
def approve_page(
    request: Request,
    record_id: Id,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    reason: str = Form(""),
    approve_nexus: str = Form(""),
    retention_days: str = Form("", max_length=10),
    user: UserInfo = Depends(require("intel:review")),
    core: OpenILP = _CORE,
) -> Response:
    """Approve a pending record (trained second person; explicit nexus approval when needed)."""
    check_csrf(request, csrf_token)
    decision = ReviewRequest(record_id, reason, approve_nexus == "yes", retention_days)
    return after_action(
        request,
        core,
        user,
        record_id,
        view_purpose,
        lambda: approve_record(core, user, decision),
        "approved",
        {"decision_reason": reason, "retention_days": retention_days},
    )


@router.post("/intel/records/{record_id}/reject", response_class=HTMLResponse)
def reject_page(
    request: Request,
    record_id: Id,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    reason: str = Form(""),
    user: UserInfo = Depends(require("intel:review")),
    core: OpenILP = _CORE,
) -> Response:
    """Reject a pending record; its content is erased."""
    check_csrf(request, csrf_token)
    return after_action(
        request,
        core,
        user,
        record_id,
        view_purpose,
        lambda: reject_record(core, user, ReviewRequest(record_id, reason)),
        "rejected",
        {"decision_reason": reason},
    )


@router.post("/intel/records/{record_id}/validate", response_class=HTMLResponse)
def validate_page(
    request: Request,
    record_id: Id,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    reason: str = Form(""),
    still_suspected: str = Form(""),
    factual_basis: str = Form(""),
    retention_days: str = Form("", max_length=10),
    user: UserInfo = Depends(require("intel:review")),
    core: OpenILP = _CORE,
) -> Response:
    """Validate before expiry: reason, fresh predicate check, new period ≤ 5 years."""
    check_csrf(request, csrf_token)
    validation = ValidationRequest(record_id, reason, still_suspected == "yes", factual_basis, retention_days)
    return after_action(
        request,
        core,
        user,
        record_id,
        view_purpose,
        lambda: validate_record(core, user, validation),
        "validated",
        {"validation_reason": reason, "validation_basis": factual_basis, "retention_days": retention_days},
    )


@router.post("/intel/records/{record_id}/disseminate", response_class=HTMLResponse)
def disseminate_page(
    request: Request,
    record_id: Id,
    csrf_token: str = Form(""),
    view_purpose: str = Form("", max_length=1000),
    purpose: str = Form("", max_length=1000),
    recipient: str = Form("", max_length=120),
    recipient_agency: str = Form("", max_length=32),
    recipient_username: str = Form("", max_length=80),
    need_to_know: str = Form(""),
    items: list[str] = Form([]),
    tlp: str = Form("", max_length=20),
    action: str = Form("release", max_length=10),
    user: UserInfo = Depends(require("intel:disseminate")),
    core: OpenILP = _CORE,
) -> Response:
    """Release to a named user of another agency or to a sharing group, or preview who would receive it.

    The form picks the recipient from a list (``recipient`` = ``AGENCY/username`` or ``group:ID``);
    ``action=preview`` shows "who will see this" (the same computation the release uses) and
    releases nothing.
    """
    check_csrf(request, csrf_token)
    group_id: int | None = None
    if recipient.startswith("group:"):
        number = recipient.removeprefix("group:")
        group_id = int(number) if number.isdigit() and len(number) < 10 else 0
        recipient_agency = recipient_username = ""
    elif recipient:
        recipient_agency, _, recipient_username = recipient.partition("/")
    form = {
        "release_purpose": purpose,
        "recipient": recipient,
        "recipient_agency": recipient_agency,
        "recipient_username": recipient_username,
        "need_to_know": need_to_know,
        "release_items": ",".join(items[:10]),
        "tlp": tlp,
    }
    if action == "preview":
        audience = AudienceRequest(record_id, recipient_agency, recipient_username, group_id, tlp)
        outcome = attempt(lambda: preview_release(core, user, audience))
        if outcome.value is None:
            return show_record(request, core, user, record_id, view_purpose, error=outcome.error, form=form)
        shown = outcome.value.as_dict() | {"recipient_count": outcome.value.recipient_count}
        return show_record(request, core, user, record_id, view_purpose, form=form, preview=shown)
    release = DisseminationRequest(
        record_id,
        recipient_agency=recipient_agency,
        recipient_username=recipient_username,
        purpose=purpose,
        need_to_know=need_to_know,
        items=tuple(items[:10]),
        sharing_group_id=group_id,
        tlp=tlp,
    )
    return after_action(
        request, core, user, record_id, view_purpose, lambda: disseminate(core, user, release), "disseminated", form
    )


# --- queues and reports -------------------------------------------------------------------------


@router.get("/intel/review", response_class=HTMLResponse)
def review_page(request: Request, user: UserInfo = Depends(require("intel:review")), core: OpenILP = _CORE) -> Response:
    """Pending submissions to approve or reject, and records whose review is due."""
    queue = review_queue(core, user).as_dict()
    return render(request, "intel/review.html", user=user, queue=queue, review_purpose=REVIEW_PURPOSE)


@router.get("/intel/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request, user: UserInfo = Depends(require("intel:compliance")), core: OpenILP = _CORE
) -> Response:
    """The compliance report of the agency (28 CFR 23.20(b), (h), (l))."""
    return render(request, "intel/compliance.html", user=user, report=compliance_report(core, user).as_dict())


@router.get("/intel/received", response_class=HTMLResponse)
def received_page(
    request: Request, user: UserInfo = Depends(require("intel:received")), core: OpenILP = _CORE
) -> Response:
    """Intelligence other agencies released to yours."""
    return render(request, "intel/received.html", user=user, rows=received_disseminations(core, user).rows())


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request, user: UserInfo = Depends(require("notifications:read")), core: OpenILP = _CORE
) -> Response:
    """Your notices: corrections, purges, restricted hits, releases received, tips."""
    return render(request, "intel/notifications.html", user=user, notes=notifications_for(core, user).rows())


@router.post("/notifications/read", response_class=HTMLResponse)
def notifications_read(
    request: Request,
    csrf_token: str = Form(""),
    user: UserInfo = Depends(require("notifications:read")),
    core: OpenILP = _CORE,
) -> Response:
    """Mark your personal notices read."""
    check_csrf(request, csrf_token)
    mark_notifications_read(core, user)
    return RedirectResponse("/notifications", status_code=303)
