"""Tip triage and reward pages for signed-in staff (the public tip pages are in ``tips_public``).

Triage (``tips:triage``): the inbox, one tip with its dialogue, reply, link to an incident,
convert into an intelligence submission (through the same predicate gate and review as any
other) and close. Rewards (``tips:rewards``): approve an amount and record a payout against the
payout code the tipster presents. The payout code is shown only to the tipster, on the public
follow-up page; staff pages never hold it (only its hash exists). A refused form is shown again
with the reason (status 400) and nothing of it is stored.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from openilp.intel.errors import IntelForbidden, IntelNotFound, RecordedRefusal
from openilp.intel.rules import SubmissionError
from openilp.intel.tipcodes import normalise_tip_id
from openilp.security.actors import UserInfo
from openilp.services.intel import tips as intel_tips
from openilp.services.intel.common import agency_grading_scheme
from openilp.web.auth import require
from openilp.web.context import db_session
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render
from openilp.web.routes.intel.api import run
from openilp.web.routes.intel.forms import SubmissionForm, submission_form
from openilp.web.routes.intel.pages import record_url, submission_page

__all__ = ["router", "parse_amount"]

router = APIRouter(include_in_schema=False)
_AMOUNT = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
_SHOWN = (SubmissionError, ValueError, IntelForbidden)


def parse_amount(text: str) -> int:
    """A money amount such as ``"250"``, ``"250.5"`` or ``"1,250.00"`` in cents.

    >>> parse_amount("1,250.5")
    125050
    >>> parse_amount("12.345")
    Traceback (most recent call last):
    ...
    openilp.intel.rules.SubmissionError: enter the amount as a number such as 250 or 250.00
    """
    cleaned = text.strip().replace(",", "")
    if not _AMOUNT.match(cleaned):
        raise SubmissionError("enter the amount as a number such as 250 or 250.00")
    whole, _, cents = cleaned.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def _tip_page(
    request: Request,
    session: Session,
    user: UserInfo,
    tip_id: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    tip = run(session, lambda: intel_tips.staff_view(session, user, tip_id))
    return render(
        request, "intel/tip.html", user=user, tip=tip, error=error, form=form or {}, status_code=400 if error else 200
    )


def _tip_action(
    request: Request, session: Session, user: UserInfo, tip_id: str, action: Any, form: dict[str, str]
) -> Response:
    """Run a triage action; back to the tip page, or the page again with the reason."""
    try:
        action()
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except _SHOWN as exc:
        session.rollback()
        return _tip_page(request, session, user, tip_id, error=str(exc), form=form)
    return RedirectResponse(f"/intel/tips/{tip_id}", status_code=303)


@router.get("/intel/tips", response_class=HTMLResponse)
def tip_inbox(
    request: Request, user: UserInfo = Depends(require("tips:triage")), session: Session = db_session
) -> Response:
    """The tip inbox page."""
    return render(request, "intel/tips.html", user=user, tips=intel_tips.list_tips(session, user))


@router.get("/intel/tips/{tip_id}", response_class=HTMLResponse)
def tip_page(
    request: Request,
    tip_id: str,
    user: UserInfo = Depends(require("tips:triage")),
    session: Session = db_session,
) -> Response:
    """One tip: narrative, dialogue, reply, link, convert and close forms."""
    return _tip_page(request, session, user, tip_id)


@router.post("/intel/tips/{tip_id}/reply", response_class=HTMLResponse)
def tip_page_reply(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    body: str = Form(""),
    user: UserInfo = Depends(require("tips:triage")),
    session: Session = db_session,
) -> Response:
    """Send a reply to the tipster from the tip page."""
    check_csrf(request, csrf_token)
    return _tip_action(
        request, session, user, tip_id, lambda: intel_tips.staff_reply(session, user, tip_id, body), {"body": body}
    )


@router.post("/intel/tips/{tip_id}/close", response_class=HTMLResponse)
def tip_page_close(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    reason: str = Form(""),
    user: UserInfo = Depends(require("tips:triage")),
    session: Session = db_session,
) -> Response:
    """Close the tip with a reason."""
    check_csrf(request, csrf_token)
    return _tip_action(
        request, session, user, tip_id, lambda: intel_tips.close_tip(session, user, tip_id, reason), {"reason": reason}
    )


@router.post("/intel/tips/{tip_id}/link", response_class=HTMLResponse)
def tip_page_link(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    incident_id: str = Form("", max_length=20),
    user: UserInfo = Depends(require("tips:triage")),
    session: Session = db_session,
) -> Response:
    """Link the tip to one of the agency's incidents (by record number)."""
    check_csrf(request, csrf_token)

    def link() -> None:
        text = incident_id.strip().lstrip("#")
        if not text.isdigit() or len(text) > 12:
            raise SubmissionError("enter the incident's record number")
        intel_tips.link_incident(session, user, tip_id, int(text))

    return _tip_action(request, session, user, tip_id, link, {"incident_id": incident_id})


@router.get("/intel/tips/{tip_id}/convert", response_class=HTMLResponse)
def tip_convert_form(
    request: Request,
    tip_id: str,
    user: UserInfo = Depends(require("tips:triage")),
    session: Session = db_session,
) -> Response:
    """The submission form, pre-filled from the tip (collection method *tip*, tip ID as reference)."""
    tip = run(session, lambda: intel_tips.staff_view(session, user, tip_id))
    values = {"summary": tip["narrative"], "source_reference": tip["tip_id"], "collection_method": "tip"}
    return submission_page(
        request,
        session,
        user,
        action=f"/intel/tips/{tip['tip_id']}/convert",
        values=values,
        heading=f"Convert tip {tip['tip_id']} into an intelligence submission",
        tip_id=tip["tip_id"],
    )


@router.post("/intel/tips/{tip_id}/convert", response_class=HTMLResponse)
def tip_convert(
    request: Request,
    tip_id: str,
    form: SubmissionForm = Depends(submission_form),
    user: UserInfo = Depends(require("tips:triage")),
    session: Session = db_session,
) -> Response:
    """Convert through the predicate gate: the record is pending until a trained reviewer approves it."""
    check_csrf(request, form.csrf_token)
    submission = form.submission(agency_grading_scheme(session, user.agency_id))
    try:
        record_id = intel_tips.convert_to_submission(session, user, tip_id, submission)
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except _SHOWN as exc:
        session.rollback()
        return submission_page(
            request,
            session,
            user,
            action=f"/intel/tips/{tip_id}/convert",
            values=form.values,
            error=str(exc),
            heading=f"Convert tip {tip_id} into an intelligence submission",
            tip_id=tip_id,
        )
    return RedirectResponse(record_url(record_id, f"conversion of tip {tip_id}", "submitted"), status_code=303)


# --- rewards -------------------------------------------------------------------------------------


def _reward_page(
    request: Request,
    session: Session,
    user: UserInfo,
    tip_id: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    tip = run(session, lambda: intel_tips.reward_view(session, user, tip_id))
    return render(
        request,
        "intel/reward.html",
        user=user,
        tip=tip,
        error=error,
        form=form or {},
        done=done[:20],
        status_code=400 if error else 200,
    )


def _reward_action(
    request: Request, session: Session, user: UserInfo, tip_id: str, action: Any, form: dict[str, str], done: str
) -> Response:
    try:
        action()
    except IntelNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except RecordedRefusal as exc:
        session.commit()  # the wrong payout code is counted and audited
        return _reward_page(request, session, user, tip_id, error=str(exc), form=form)
    except _SHOWN as exc:
        session.rollback()
        return _reward_page(request, session, user, tip_id, error=str(exc), form=form)
    return RedirectResponse(f"/intel/tips/{tip_id}/reward?done={done}", status_code=303)


@router.get("/intel/rewards", response_class=HTMLResponse)
def rewards_page(
    request: Request,
    tip_id: str = Query(default="", max_length=40),
    user: UserInfo = Depends(require("tips:rewards")),
    session: Session = db_session,
) -> Response:
    """Reward decisions of the agency, and a box to open a tip by the ID a tipster presents."""
    if tip_id.strip():
        return RedirectResponse(f"/intel/tips/{quote(normalise_tip_id(tip_id), safe='')}/reward", status_code=303)
    return render(request, "intel/rewards.html", user=user, rewards=intel_tips.list_rewards(session, user))


@router.get("/intel/tips/{tip_id}/reward", response_class=HTMLResponse)
def reward_page(
    request: Request,
    tip_id: str,
    done: str = Query(default="", max_length=20),
    user: UserInfo = Depends(require("tips:rewards")),
    session: Session = db_session,
) -> Response:
    """A tip's reward: approve an amount, or record the payout against the tipster's code."""
    return _reward_page(request, session, user, tip_id, done=done)


@router.post("/intel/tips/{tip_id}/reward", response_class=HTMLResponse)
def reward_approve(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    amount: str = Form("", max_length=20),
    reason: str = Form(""),
    user: UserInfo = Depends(require("tips:rewards")),
    session: Session = db_session,
) -> Response:
    """Approve a reward amount (board or supervisor decision); the tipster is told on the follow-up page."""
    check_csrf(request, csrf_token)
    return _reward_action(
        request,
        session,
        user,
        tip_id,
        lambda: intel_tips.approve_reward(session, user, tip_id, amount_cents=parse_amount(amount), reason=reason),
        {"amount": amount, "reason": reason},
        "approved",
    )


@router.post("/intel/tips/{tip_id}/payout", response_class=HTMLResponse)
def reward_payout(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    payout_code: str = Form("", max_length=40),
    user: UserInfo = Depends(require("tips:rewards")),
    session: Session = db_session,
) -> Response:
    """Pay whoever presents the tip ID and the matching payout code (identity never asked)."""
    check_csrf(request, csrf_token)
    return _reward_action(
        request,
        session,
        user,
        tip_id,
        lambda: intel_tips.record_payout(session, user, tip_id, payout_code),
        {},
        "paid",
    )


@router.post("/intel/tips/{tip_id}/unlock", response_class=HTMLResponse)
def reward_unlock(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    reason: str = Form("", max_length=1000),
    user: UserInfo = Depends(require("tips:unlock")),
    session: Session = db_session,
) -> Response:
    """Unlock a reward locked after too many wrong payout codes (administrators; audited)."""
    check_csrf(request, csrf_token)
    return _reward_action(
        request,
        session,
        user,
        tip_id,
        lambda: intel_tips.unlock_reward(session, user, tip_id, reason=reason),
        {"unlock_reason": reason},
        "unlocked",
    )
