"""The audit log for auditors (and administrators): ``/audit`` (page), ``/api/v1/audit`` (JSON).

Read-only: there is no route that changes the log. Every view and every verification is itself
recorded in the log (:mod:`openilp.services.accounts.audit_log`).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.accounts.audit_log import (
    MAX_PAGE_SIZE,
    AuditLogRequest,
    VerifyAuditRequest,
    parse_audit_filter,
    verify_audit_log,
    view_audit_log,
)
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.params import MAX_ID
from openilp.web.rendering import render

__all__ = ["router"]

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    actor: str = Query("", max_length=1000),
    action: str = Query("", max_length=1000),
    object_type: str = Query("", max_length=1000),
    object_id: str = Query("", max_length=1000),
    date_from: str = Query("", max_length=1000),
    date_to: str = Query("", max_length=1000),
    offset: int = Query(0, ge=0, le=MAX_ID),
    verify: bool = Query(False, description="Also verify the hash chain and its anchors."),
    user: UserInfo = Depends(require("audit:read")),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Filterable, newest-first view of the audit log; optional chain verification."""
    raw = {"date_from": date_from[:10], "date_to": date_to[:10]}
    wanted = AuditLogRequest(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        date_from=date_from,
        date_to=date_to,
        limit=100,
        offset=offset,
    )
    outcome = attempt(wanted.validate)
    if outcome.value is None:
        return render(
            request,
            "audit.html",
            user=user,
            status_code=outcome.status_code,
            error=outcome.error,
            filters=parse_audit_filter(),
            raw=raw,
            entries=[],
            total=0,
            offset=0,
            verification=None,
        )
    verification = verify_audit_log(core, user, VerifyAuditRequest()) if verify else None
    page = view_audit_log(core, user, wanted)
    rows = [
        {**entry, "details_text": json.dumps(entry["details"], ensure_ascii=False, sort_keys=True)}
        for entry in page.entries
    ]
    return render(
        request,
        "audit.html",
        user=user,
        error=None,
        filters=page.filters,
        raw=raw,
        entries=rows,
        total=page.total,
        offset=offset,
        verification=verification,
    )


@router.get("/api/v1/audit", tags=["audit"])
def audit_api(
    actor: str = Query("", description="Username of the actor.", max_length=1000),
    action: str = Query("", description="login, login_failed, search, read, …", max_length=1000),
    object_type: str = Query("", description="incident, user, session, audit_log, …", max_length=1000),
    object_id: str = Query("", max_length=1000),
    date_from: str = Query("", description="First day, YYYY-MM-DD (UTC).", max_length=1000),
    date_to: str = Query("", description="Last day (inclusive), YYYY-MM-DD (UTC).", max_length=1000),
    limit: int = Query(100, ge=1, le=MAX_PAGE_SIZE),
    offset: int = Query(0, ge=0, le=MAX_ID),
    user: UserInfo = Depends(require("audit:read")),
    core: OpenILP = Depends(get_core),
) -> dict[str, Any]:
    """Audit entries of your agency (and those tied to no agency), newest first; the view is audited."""
    request = AuditLogRequest(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        offset=offset,
        channel="api",
    )
    return view_audit_log(core, user, request).as_dict()


@router.get("/api/v1/audit/verify", tags=["audit"])
def audit_verify_api(
    user: UserInfo = Depends(require("audit:read")), core: OpenILP = Depends(get_core)
) -> dict[str, object]:
    """Verify the whole hash chain and the signed anchors: ``ok``, and the first problem when it is not."""
    return verify_audit_log(core, user, VerifyAuditRequest(channel="api")).as_dict()
