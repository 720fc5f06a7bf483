"""Intelligence administration for administrators and supervisors (``intel:settings``).

Partner sharing agreements (28 CFR 23.20(f)(1)) and the agency's grading scheme: the JSON API
under ``/api/v1/intel/agreements`` and ``/api/v1/intel/grading-scheme``, and the page
``/intel/settings`` with its forms. Thin adapters over :mod:`openilp.services.intel.agreements`;
a refused form is shown again with the field at fault named (status 400) and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from openilp.db.models import utcnow
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.rules import SubmissionError
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import (
    AGREEMENT_SCOPES,
    FieldError,
    add_agreement,
    agreement_dict,
    choose_grading_scheme,
    grading_scheme_settings,
    list_agreements,
    parse_moment,
    revoke_agreement,
)
from openilp.services.intel.options import partner_agencies
from openilp.web.auth import require
from openilp.web.context import db_session
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render
from openilp.web.routes.intel.api import run

__all__ = ["api", "pages"]

api = APIRouter(prefix="/api/v1", tags=["intelligence administration"])
pages = APIRouter(include_in_schema=False)

_ADMIN = require("intel:settings")


class AgreementIn(BaseModel):
    partner_agency: str = Field(max_length=32)
    reference: str = Field(max_length=200)
    valid_from: str = Field(max_length=40)
    valid_to: str = Field(default="", max_length=40)
    scope: str = Field(default="releases_and_search", max_length=24)
    version: str = Field(default="1", max_length=40)


class RevocationIn(BaseModel):
    reason: str = Field(max_length=500)


class GradingSchemeIn(BaseModel):
    grading_scheme: str = Field(max_length=16)


def _add(session: Session, user: UserInfo, values: dict[str, str]) -> Any:
    valid_to = values.get("valid_to", "").strip()
    return add_agreement(
        session,
        user,
        partner_agency_code=values.get("partner_agency", ""),
        reference=values.get("reference", ""),
        valid_from=parse_moment(values.get("valid_from"), "valid_from"),
        valid_to=parse_moment(valid_to, "valid_to", end_of_day=True) if valid_to else None,
        scope=values.get("scope", ""),
        version=values.get("version", ""),
    )


# --- JSON API -----------------------------------------------------------------------------------


@api.get("/intel/agreements")
def api_agreements(user: UserInfo = Depends(_ADMIN), session: Session = db_session) -> dict[str, Any]:
    """Your agency's sharing agreements with their status (current, not yet valid, expired, revoked)."""
    return {"agreements": run(session, lambda: list_agreements(session, user)), "scopes": AGREEMENT_SCOPES}


@api.post("/intel/agreements", status_code=201)
def api_add_agreement(
    payload: AgreementIn, user: UserInfo = Depends(_ADMIN), session: Session = db_session
) -> dict[str, Any]:
    """Put a partner agency's signed agreement on file (audited); 400 names the field at fault."""
    row = run(session, lambda: _add(session, user, payload.model_dump()))
    return agreement_dict(session, row, utcnow())


@api.post("/intel/agreements/{agreement_id}/revoke")
def api_revoke_agreement(
    agreement_id: int, payload: RevocationIn, user: UserInfo = Depends(_ADMIN), session: Session = db_session
) -> dict[str, Any]:
    """Revoke an agreement at once, with a reason (audited)."""
    row = run(session, lambda: revoke_agreement(session, user, agreement_id, reason=payload.reason))
    return agreement_dict(session, row, utcnow())


@api.get("/intel/grading-scheme")
def api_grading_scheme(user: UserInfo = Depends(_ADMIN), session: Session = db_session) -> dict[str, Any]:
    """Your agency's grading scheme and the schemes it may choose."""
    return run(session, lambda: grading_scheme_settings(session, user))


@api.post("/intel/grading-scheme")
def api_set_grading_scheme(
    payload: GradingSchemeIn, user: UserInfo = Depends(_ADMIN), session: Session = db_session
) -> dict[str, Any]:
    """Choose the grading scheme for new submissions (audited); existing records keep theirs."""
    run(session, lambda: choose_grading_scheme(session, user, payload.grading_scheme))
    return grading_scheme_settings(session, user)


# --- pages --------------------------------------------------------------------------------------

_SHOWN = (SubmissionError, ValueError, IntelForbidden)


def _settings_page(
    request: Request,
    session: Session,
    user: UserInfo,
    *,
    error: FieldError | Exception | None = None,
    form: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    return render(
        request,
        "intel/settings.html",
        user=user,
        status_code=400 if error else 200,
        agreements=list_agreements(session, user),
        grading=grading_scheme_settings(session, user),
        partners=partner_agencies(session, user),
        scopes=AGREEMENT_SCOPES,
        error=str(error) if error else None,
        error_field=getattr(error, "field", ""),
        form=form or {},
        done=done[:20],
    )


def _settings_action(
    request: Request, session: Session, user: UserInfo, action: Any, form: dict[str, str], done: str
) -> Response:
    try:
        action()
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except _SHOWN as exc:
        session.rollback()
        return _settings_page(request, session, user, error=exc, form=form)
    return RedirectResponse(f"/intel/settings?done={done}", status_code=303)


@pages.get("/intel/settings", response_class=HTMLResponse)
def settings_page(
    request: Request, done: str = "", user: UserInfo = Depends(_ADMIN), session: Session = db_session
) -> Response:
    """Sharing agreements (list, add, revoke) and the agency's grading scheme."""
    return _settings_page(request, session, user, done=done)


@pages.post("/intel/settings/agreements", response_class=HTMLResponse)
def add_agreement_page(
    request: Request,
    csrf_token: str = Form(""),
    partner_agency: str = Form("", max_length=32),
    scope: str = Form("", max_length=24),
    reference: str = Form("", max_length=1000),
    version: str = Form("", max_length=100),
    valid_from: str = Form("", max_length=40),
    valid_to: str = Form("", max_length=40),
    user: UserInfo = Depends(_ADMIN),
    session: Session = db_session,
) -> Response:
    """Put an agreement on file from the settings page."""
    check_csrf(request, csrf_token)
    values = {
        "partner_agency": partner_agency,
        "scope": scope,
        "reference": reference,
        "version": version,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    return _settings_action(request, session, user, lambda: _add(session, user, values), values, "agreement added")


@pages.post("/intel/settings/agreements/{agreement_id}/revoke", response_class=HTMLResponse)
def revoke_agreement_page(
    request: Request,
    agreement_id: int,
    csrf_token: str = Form(""),
    reason: str = Form("", max_length=1000),
    user: UserInfo = Depends(_ADMIN),
    session: Session = db_session,
) -> Response:
    """Revoke an agreement from the settings page."""
    check_csrf(request, csrf_token)
    return _settings_action(
        request,
        session,
        user,
        lambda: revoke_agreement(session, user, agreement_id, reason=reason),
        {"revoke_id": str(agreement_id), "revoke_reason": reason},
        "agreement revoked",
    )


@pages.post("/intel/settings/grading-scheme", response_class=HTMLResponse)
def grading_scheme_page(
    request: Request,
    csrf_token: str = Form(""),
    grading_scheme: str = Form("", max_length=16),
    user: UserInfo = Depends(_ADMIN),
    session: Session = db_session,
) -> Response:
    """Choose the grading scheme for new submissions."""
    check_csrf(request, csrf_token)
    return _settings_action(
        request,
        session,
        user,
        lambda: choose_grading_scheme(session, user, grading_scheme),
        {"grading_scheme": grading_scheme},
        "scheme saved",
    )
