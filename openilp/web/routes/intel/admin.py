"""Intelligence administration for administrators and supervisors (``intel:settings``).

Partner sharing agreements (28 CFR 23.20(f)(1)) and the agency's grading scheme: the JSON API
under ``/api/v1/intel/agreements`` and ``/api/v1/intel/grading-scheme``, and the page
``/intel/settings`` with its forms. Thin adapters over :mod:`openilp.services.intel.agreements`;
a refused form is shown again with the field at fault named (status 400) and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import (
    AgreementRequest,
    GradingSchemeRequest,
    RevocationRequest,
    add_agreement,
    choose_grading_scheme,
    grading_scheme_settings,
    list_agreements,
    revoke_agreement,
)
from openilp.services.intel.options import partner_agencies
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render

__all__ = ["api", "pages"]

api = APIRouter(prefix="/api/v1", tags=["intelligence administration"])
pages = APIRouter(include_in_schema=False)

_ADMIN = require("intel:settings")
_CORE = Depends(get_core)


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


# --- JSON API -----------------------------------------------------------------------------------


@api.get("/intel/agreements")
def api_agreements(user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE) -> dict[str, Any]:
    """Your agency's sharing agreements with their status (current, not yet valid, expired, revoked)."""
    return list_agreements(core, user).as_dict()


@api.post("/intel/agreements", status_code=201)
def api_add_agreement(payload: AgreementIn, user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE) -> dict[str, Any]:
    """Put a partner agency's signed agreement on file (audited); 400 names the field at fault."""
    return add_agreement(core, user, AgreementRequest(**payload.model_dump())).as_dict()


@api.post("/intel/agreements/{agreement_id}/revoke")
def api_revoke_agreement(
    agreement_id: Id, payload: RevocationIn, user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Revoke an agreement at once, with a reason (audited)."""
    return revoke_agreement(core, user, RevocationRequest(agreement_id, payload.reason)).as_dict()


@api.get("/intel/grading-scheme")
def api_grading_scheme(user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE) -> dict[str, Any]:
    """Your agency's grading scheme and the schemes it may choose."""
    return grading_scheme_settings(core, user).as_dict()


@api.post("/intel/grading-scheme")
def api_set_grading_scheme(
    payload: GradingSchemeIn, user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Choose the grading scheme for new submissions (audited); existing records keep theirs."""
    return choose_grading_scheme(core, user, GradingSchemeRequest(payload.grading_scheme)).as_dict()


# --- pages --------------------------------------------------------------------------------------


def _settings_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    agreements = list_agreements(core, user)
    return render(
        request,
        "intel/settings.html",
        user=user,
        status_code=400 if error else 200,
        agreements=agreements.as_dict()["agreements"],
        grading=grading_scheme_settings(core, user).as_dict(),
        partners=list(partner_agencies(core, user).agencies),
        scopes=agreements.scopes,
        error=error,
        field_errors=field_errors or {},
        form=form or {},
        done=done[:20],
    )


def _settings_action(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    action: Callable[[], object],
    form: dict[str, str],
    done: str,
    check_fields: Callable[[], dict[str, str]] | None = None,
) -> Response:
    """Run ``action``; a refusal shows the page again with the form as filled in and, through
    ``check_fields``, every bad field marked next to its control."""
    outcome = attempt(action)
    if outcome.ok:
        return RedirectResponse(f"/intel/settings?done={done}", status_code=303)
    field = outcome.field if outcome.field in _FIELDS else ""
    field_errors = check_fields() if check_fields is not None and outcome.status_code == 400 else {}
    if not field_errors and field and outcome.error:
        field_errors = {field: outcome.error.removeprefix(f"{field}: ")}
    return _settings_page(request, core, user, error=outcome.error, field_errors=field_errors, form=form)


#: Form fields a refusal may name.
_FIELDS = frozenset(
    {
        "partner_agency",
        "scope",
        "reference",
        "version",
        "valid_from",
        "valid_to",
        "reason",
        "agreement",
        "grading_scheme",
    }
)


@pages.get("/intel/settings", response_class=HTMLResponse)
def settings_page(
    request: Request, done: str = "", user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE
) -> Response:
    """Sharing agreements (list, add, revoke) and the agency's grading scheme."""
    return _settings_page(request, core, user, done=done)


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
    core: OpenILP = _CORE,
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
    agreement = AgreementRequest(**values)
    return _settings_action(
        request,
        core,
        user,
        lambda: add_agreement(core, user, agreement),
        values,
        "agreement added",
        check_fields=agreement.field_errors,
    )


@pages.post("/intel/settings/agreements/{agreement_id}/revoke", response_class=HTMLResponse)
def revoke_agreement_page(
    request: Request,
    agreement_id: Id,
    csrf_token: str = Form(""),
    reason: str = Form("", max_length=1000),
    user: UserInfo = Depends(_ADMIN),
    core: OpenILP = _CORE,
) -> Response:
    """Revoke an agreement from the settings page."""
    check_csrf(request, csrf_token)
    return _settings_action(
        request,
        core,
        user,
        lambda: revoke_agreement(core, user, RevocationRequest(agreement_id, reason)),
        {"revoke_id": str(agreement_id), "revoke_reason": reason},
        "agreement revoked",
    )


@pages.post("/intel/settings/grading-scheme", response_class=HTMLResponse)
def grading_scheme_page(
    request: Request,
    csrf_token: str = Form(""),
    grading_scheme: str = Form("", max_length=16),
    user: UserInfo = Depends(_ADMIN),
    core: OpenILP = _CORE,
) -> Response:
    """Choose the grading scheme for new submissions."""
    check_csrf(request, csrf_token)
    return _settings_action(
        request,
        core,
        user,
        lambda: choose_grading_scheme(core, user, GradingSchemeRequest(grading_scheme)),
        {"grading_scheme": grading_scheme},
        "scheme saved",
    )
