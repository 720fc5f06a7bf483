"""Public tip pages and API (no sign-in): submit, follow up with tip ID and secret, collect payout code.

Nothing here reads the client address or headers; :mod:`openilp.web.privacy` removes them before
this code runs and keeps them out of the access log. Secrets travel only in POST bodies, never in
URLs. Every failure to find a tip gives the same answer. The services
(:mod:`openilp.services.intel.tips`, :mod:`openilp.services.intel.rewards`) record no tipster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.errors import NotFound
from openilp.intel.images import MAX_ATTACHMENT_BYTES
from openilp.intel.tipcodes import SAR_CATEGORIES, TIP_KINDS
from openilp.services.intel.options import tip_agencies
from openilp.services.intel.rewards import collect_payout_code
from openilp.services.intel.tips import (
    TIP_NOT_FOUND,
    TipKey,
    TipMessageRequest,
    TipRequest,
    TipsterView,
    submit_tip,
    tipster_add_message,
    tipster_view,
)
from openilp.web.actions import Outcome, attempt
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render

__all__ = ["router", "api_router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/public/tips", tags=["public tips"])
_CORE = Depends(get_core)
T = TypeVar("T")


async def _files(files: list[UploadFile]) -> tuple[bytes, ...]:
    """The chosen files' bytes, each read up to one byte past the size limit (the service checks)."""
    return tuple([await f.read(MAX_ATTACHMENT_BYTES + 1) for f in files if f.filename])


def _form(request: Request, core: OpenILP, status_code: int = 200, **context: Any) -> Response:
    values = {
        "agency": "",
        "kind": "tip",
        "narrative": "",
        "behaviour_category": "",
        "error": None,
        "field_errors": {},
        **context,
    }
    return render(
        request,
        "tips/new.html",
        status_code=status_code,
        agencies=list(tip_agencies(core).agencies),
        kinds=TIP_KINDS,
        sar_categories=SAR_CATEGORIES,
        **values,
    )


@router.get("/tips", response_class=HTMLResponse)
def tip_form(request: Request, core: OpenILP = _CORE) -> Response:
    """The public tip form."""
    return _form(request, core)


@router.post("/tips", response_class=HTMLResponse)
async def tip_submit(
    request: Request,
    csrf_token: str = Form(""),
    agency: str = Form(""),
    kind: str = Form("tip"),
    narrative: str = Form(""),
    behaviour_category: str = Form(""),
    attachments: list[UploadFile] = File(default=[]),
    core: OpenILP = _CORE,
) -> Response:
    """Store the tip; show the tip ID and secret once."""
    check_csrf(request, csrf_token)
    tip = TipRequest(agency, kind, narrative, behaviour_category or None, await _files(attachments))
    outcome = attempt(lambda: submit_tip(core, None, tip))
    if outcome.value is None:
        # Every bad field at once, each next to its control; the service's reason on top.
        field_errors = tip.field_errors() if outcome.status_code == 400 else {}
        if not field_errors and outcome.field and outcome.error:
            field_errors = {outcome.field: outcome.error}
        return _form(
            request,
            core,
            status_code=400,
            error=outcome.error,
            field_errors=field_errors,
            agency=agency[:40],
            kind=kind[:8],
            narrative=narrative[:10_000],
            behaviour_category=behaviour_category[:40],
        )
    return render(request, "tips/created.html", tip_id=outcome.value.tip_id, secret=outcome.value.secret)


@router.get("/tips/follow-up", response_class=HTMLResponse)
def follow_up_form(request: Request) -> Response:
    """Ask for the tip ID and secret."""
    return render(request, "tips/follow_up.html", tip=None, error=None, tip_id="", secret="", payout_code=None)


def _follow_up(
    request: Request, core: OpenILP, tip_id: str, secret: str, view: TipsterView | None = None, **context: Any
) -> Response:
    """The follow-up page; ``view`` when the step just taken already checked the secret (one check a request)."""
    if view is not None:
        shown = Outcome(view)
    else:
        shown = _attempt_known(lambda: tipster_view(core, None, TipKey(tip_id, secret)))
    if shown.value is None:
        return render(
            request,
            "tips/follow_up.html",
            status_code=404,
            tip=None,
            error=TIP_NOT_FOUND,
            tip_id="",
            secret="",
            payout_code=None,
        )
    values = {"error": None, "payout_code": None, **context}
    tip = shown.value.as_dict()
    return render(request, "tips/follow_up.html", tip=tip, tip_id=tip["tip_id"], secret=secret, **values)


@router.post("/tips/follow-up", response_class=HTMLResponse)
def follow_up(
    request: Request,
    csrf_token: str = Form(""),
    tip_id: str = Form("", max_length=40),
    secret: str = Form("", max_length=200),
    core: OpenILP = _CORE,
) -> Response:
    """Show the tip's status and dialogue to whoever holds its ID and secret."""
    check_csrf(request, csrf_token)
    return _follow_up(request, core, tip_id, secret)


@router.post("/tips/follow-up/message", response_class=HTMLResponse)
async def follow_up_message(
    request: Request,
    csrf_token: str = Form(""),
    tip_id: str = Form("", max_length=40),
    secret: str = Form("", max_length=200),
    body: str = Form(""),
    attachments: list[UploadFile] = File(default=[]),
    core: OpenILP = _CORE,
) -> Response:
    """Add information to the tip (an unknown tip ID or secret gets the follow-up page's 404)."""
    check_csrf(request, csrf_token)
    message = TipMessageRequest(tip_id, secret, body, await _files(attachments))
    outcome = _attempt_known(lambda: tipster_add_message(core, None, message))
    view = outcome.value.view if outcome.value is not None else None
    return _follow_up(request, core, tip_id, secret, view, error=outcome.error)


@router.post("/tips/follow-up/payout-code", response_class=HTMLResponse)
def follow_up_payout_code(
    request: Request,
    csrf_token: str = Form(""),
    tip_id: str = Form("", max_length=40),
    secret: str = Form("", max_length=200),
    core: OpenILP = _CORE,
) -> Response:
    """Collect the payout code of an approved reward (shown once)."""
    check_csrf(request, csrf_token)
    outcome = _attempt_known(lambda: collect_payout_code(core, None, TipKey(tip_id, secret)))
    code = outcome.value.code if outcome.value is not None else None
    view = outcome.value.view if outcome.value is not None else None
    return _follow_up(request, core, tip_id, secret, view, error=outcome.error, payout_code=code)


def _attempt_known(action: Callable[[], T]) -> Outcome[T]:
    """:func:`~openilp.web.actions.attempt`, where an unknown tip gives an empty outcome.

    The follow-up page answers "no tip matches" itself (status 404, the same page for an unknown
    ID and a wrong secret) instead of the generic error page.
    """
    try:
        return attempt(action)
    except NotFound:
        return Outcome()


# --- JSON API ------------------------------------------------------------------------------------


class TipIn(BaseModel):
    agency: str = Field(max_length=32)
    kind: str = Field(default="tip", max_length=8)
    narrative: str = Field(max_length=10_000)
    behaviour_category: str | None = Field(default=None, max_length=40)


class TipKeyIn(BaseModel):
    tip_id: str = Field(max_length=40)
    secret: str = Field(max_length=200)


class TipMessageIn(TipKeyIn):
    body: str = Field(max_length=10_000)


@api_router.post("", status_code=201)
def api_submit(payload: TipIn, core: OpenILP = _CORE) -> dict[str, str]:
    """Submit a tip; returns ``tip_id`` and ``secret`` (keep both: the secret is not stored)."""
    new = submit_tip(
        core, None, TipRequest(payload.agency, payload.kind, payload.narrative, payload.behaviour_category)
    )
    return {"tip_id": new.tip_id, "secret": new.secret}


@api_router.post("/read")
def api_read(payload: TipKeyIn, core: OpenILP = _CORE) -> dict[str, Any]:
    """The tip's status, dialogue and reward (tip ID and secret in the body)."""
    return tipster_view(core, None, TipKey(payload.tip_id, payload.secret)).as_dict()


@api_router.post("/messages", status_code=201)
def api_message(payload: TipMessageIn, core: OpenILP = _CORE) -> dict[str, str]:
    """Add information to a tip."""
    tipster_add_message(core, None, TipMessageRequest(payload.tip_id, payload.secret, payload.body))
    return {"status": "added"}
