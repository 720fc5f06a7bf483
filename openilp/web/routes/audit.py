"""The audit log for auditors (and administrators): ``/audit`` (page), ``/api/v1/audit`` (JSON).

Read-only: there is no route that changes the log. Every view and every verification is itself
recorded in the log (:mod:`openilp.services.audit_view`).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from openilp.security.actors import UserInfo
from openilp.security.audit import entry_as_dict
from openilp.services.audit_view import MAX_PAGE_SIZE, parse_audit_filter, verify_audit_log, view_audit_log
from openilp.web.auth import require
from openilp.web.context import db_session
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
    offset: int = Query(0, ge=0),
    verify: bool = Query(False, description="Also verify the hash chain."),
    user: UserInfo = Depends(require("audit:read")),
    session: Session = db_session,
) -> Response:
    """Filterable, newest-first view of the audit log; optional chain verification."""
    raw = {"date_from": date_from[:10], "date_to": date_to[:10]}
    try:
        filters = parse_audit_filter(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            date_from=date_from,
            date_to=date_to,
        )
    except ValueError as exc:
        return render(
            request,
            "audit.html",
            user=user,
            status_code=400,
            error=str(exc),
            filters=parse_audit_filter(),
            raw=raw,
            entries=[],
            total=0,
            offset=0,
            verification=None,
        )
    verification = verify_audit_log(session, user) if verify else None
    entries, total = view_audit_log(session, user, filters, limit=100, offset=offset)
    rows = []
    for entry in entries:
        view = entry_as_dict(entry)
        view["details_text"] = json.dumps(view["details"], ensure_ascii=False, sort_keys=True)
        rows.append(view)
    return render(
        request,
        "audit.html",
        user=user,
        error=None,
        filters=filters,
        raw=raw,
        entries=rows,
        total=total,
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
    offset: int = Query(0, ge=0),
    user: UserInfo = Depends(require("audit:read")),
    session: Session = db_session,
) -> dict[str, Any]:
    """Audit entries of your agency (and those tied to no agency), newest first; the view is audited."""
    try:
        filters = parse_audit_filter(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            date_from=date_from,
            date_to=date_to,
        )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    entries, total = view_audit_log(session, user, filters, limit=limit, offset=offset, channel="api")
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "filters": filters.as_dict(),
        "entries": [entry_as_dict(entry) for entry in entries],
    }


@router.get("/api/v1/audit/verify", tags=["audit"])
def audit_verify_api(
    user: UserInfo = Depends(require("audit:read")), session: Session = db_session
) -> dict[str, object]:
    """Verify the whole hash chain: ``ok``, and the first bad entry and why when it is not."""
    return verify_audit_log(session, user, channel="api").as_dict()
