"""Public tip pages and API (no sign-in): submit, follow up with tip ID and secret, collect payout code.

Nothing here reads the client address or headers; :mod:`openilp.web.privacy` removes them before
this code runs and keeps them out of the access log. Secrets travel only in POST bodies, never in
URLs. Every failure to find a tip gives the same answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.models import Agency
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.images import MAX_ATTACHMENT_BYTES
from openilp.intel.rules import SubmissionError
from openilp.intel.tipcodes import SAR_CATEGORIES, TIP_KINDS
from openilp.services.intel.tips import (
    MAX_ATTACHMENTS,
    collect_payout_code,
    submit_tip,
    tipster_add_message,
    tipster_view,
)
from openilp.web.context import db_session
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render

__all__ = ["router", "api_router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/public/tips", tags=["public tips"])


def _agencies(session: Session) -> list[tuple[str, str]]:
    return [(a.code, a.name) for a in session.scalars(select(Agency).order_by(Agency.name))]


async def _files(files: list[UploadFile]) -> list[bytes]:
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_ATTACHMENTS:
        raise SubmissionError(f"at most {MAX_ATTACHMENTS} attachments")
    return [await f.read(MAX_ATTACHMENT_BYTES + 1) for f in chosen]


def _form(request: Request, session: Session, status_code: int = 200, **context: Any) -> Response:
    values = {"agency": "", "kind": "tip", "narrative": "", "behaviour_category": "", "error": None, **context}
    return render(
        request,
        "tips/new.html",
        status_code=status_code,
        agencies=_agencies(session),
        kinds=TIP_KINDS,
        sar_categories=SAR_CATEGORIES,
        **values,
    )


@router.get("/tips", response_class=HTMLResponse)
def tip_form(request: Request, session: Session = db_session) -> Response:
    """The public tip form."""
    return _form(request, session)


@router.post("/tips", response_class=HTMLResponse)
async def tip_submit(
    request: Request,
    csrf_token: str = Form(""),
    agency: str = Form(""),
    kind: str = Form("tip"),
    narrative: str = Form(""),
    behaviour_category: str = Form(""),
    attachments: list[UploadFile] = File(default=[]),
    session: Session = db_session,
) -> Response:
    """Store the tip; show the tip ID and secret once."""
    check_csrf(request, csrf_token)
    try:
        files = await _files(attachments)
        new = submit_tip(
            session,
            agency_code=agency,
            kind=kind,
            narrative=narrative,
            behaviour_category=behaviour_category or None,
            attachments=files,
        )
    except SubmissionError as exc:
        session.rollback()
        return _form(
            request,
            session,
            status_code=400,
            error=str(exc),
            agency=agency[:40],
            kind=kind[:8],
            narrative=narrative[:10_000],
            behaviour_category=behaviour_category[:40],
        )
    return render(request, "tips/created.html", tip_id=new.tip_id, secret=new.secret)


@router.get("/tips/follow-up", response_class=HTMLResponse)
def follow_up_form(request: Request) -> Response:
    """Ask for the tip ID and secret."""
    return render(request, "tips/follow_up.html", tip=None, error=None, tip_id="", secret="", payout_code=None)


def _follow_up(request: Request, session: Session, tip_id: str, secret: str, **context: Any) -> Response:
    try:
        tip = tipster_view(session, tip_id, secret)
    except IntelNotFound as exc:
        return render(
            request,
            "tips/follow_up.html",
            status_code=404,
            tip=None,
            error=str(exc),
            tip_id="",
            secret="",
            payout_code=None,
        )
    values = {"error": None, "payout_code": None, **context}
    return render(request, "tips/follow_up.html", tip=tip, tip_id=tip["tip_id"], secret=secret, **values)


@router.post("/tips/follow-up", response_class=HTMLResponse)
def follow_up(
    request: Request,
    csrf_token: str = Form(""),
    tip_id: str = Form("", max_length=40),
    secret: str = Form("", max_length=200),
    session: Session = db_session,
) -> Response:
    """Show the tip's status and dialogue to whoever holds its ID and secret."""
    check_csrf(request, csrf_token)
    return _follow_up(request, session, tip_id, secret)


@router.post("/tips/follow-up/message", response_class=HTMLResponse)
async def follow_up_message(
    request: Request,
    csrf_token: str = Form(""),
    tip_id: str = Form("", max_length=40),
    secret: str = Form("", max_length=200),
    body: str = Form(""),
    attachments: list[UploadFile] = File(default=[]),
    session: Session = db_session,
) -> Response:
    """Add information to the tip."""
    check_csrf(request, csrf_token)
    try:
        tipster_add_message(session, tip_id, secret, body, attachments=await _files(attachments))
    except IntelNotFound:
        return _follow_up(request, session, tip_id, secret)
    except SubmissionError as exc:
        session.rollback()
        return _follow_up(request, session, tip_id, secret, error=str(exc))
    return _follow_up(request, session, tip_id, secret)


@router.post("/tips/follow-up/payout-code", response_class=HTMLResponse)
def follow_up_payout_code(
    request: Request,
    csrf_token: str = Form(""),
    tip_id: str = Form("", max_length=40),
    secret: str = Form("", max_length=200),
    session: Session = db_session,
) -> Response:
    """Collect the payout code of an approved reward (shown once)."""
    check_csrf(request, csrf_token)
    try:
        code = collect_payout_code(session, tip_id, secret)
    except IntelNotFound:
        return _follow_up(request, session, tip_id, secret)
    except IntelForbidden as exc:
        return _follow_up(request, session, tip_id, secret, error=str(exc))
    return _follow_up(request, session, tip_id, secret, payout_code=code)


# --- JSON API ------------------------------------------------------------------------------------


class TipIn(BaseModel):
    agency: str = Field(max_length=32)
    kind: str = Field(default="tip", max_length=8)
    narrative: str = Field(max_length=10_000)
    behaviour_category: str | None = Field(default=None, max_length=40)


class TipKey(BaseModel):
    tip_id: str = Field(max_length=40)
    secret: str = Field(max_length=200)


class TipMessageIn(TipKey):
    body: str = Field(max_length=10_000)


@api_router.post("", status_code=201)
def api_submit(payload: TipIn, session: Session = db_session) -> dict[str, str]:
    """Submit a tip; returns ``tip_id`` and ``secret`` (keep both: the secret is not stored)."""
    try:
        new = submit_tip(
            session,
            agency_code=payload.agency,
            kind=payload.kind,
            narrative=payload.narrative,
            behaviour_category=payload.behaviour_category,
        )
    except SubmissionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return {"tip_id": new.tip_id, "secret": new.secret}


@api_router.post("/read")
def api_read(payload: TipKey, session: Session = db_session) -> dict[str, Any]:
    """The tip's status, dialogue and reward (tip ID and secret in the body)."""
    try:
        return tipster_view(session, payload.tip_id, payload.secret)
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@api_router.post("/messages", status_code=201)
def api_message(payload: TipMessageIn, session: Session = db_session) -> dict[str, str]:
    """Add information to a tip."""
    try:
        tipster_add_message(session, payload.tip_id, payload.secret, payload.body)
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except SubmissionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return {"status": "added"}
