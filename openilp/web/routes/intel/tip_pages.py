"""Tip triage and reward pages for signed-in staff (the public tip pages are in ``tips_public``).

Triage (``tips:triage``): the inbox, one tip with its dialogue, reply, link to an incident,
convert into an intelligence submission (through the same predicate gate and review as any
other) and close. Rewards (``tips:rewards``): approve an amount and record a payout against the
payout code the tipster presents. The payout code is shown only to the tipster, on the public
follow-up page; staff pages never hold it (only its hash exists). A refused form is shown again
with the reason (status 400) and nothing of it is stored (a wrong payout code is still counted:
the service keeps the count).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.core import OpenILP
from openilp.intel.tipcodes import normalise_tip_id
from openilp.security.actors import UserInfo
from openilp.services.intel.rewards import (
    PayoutRequest,
    RewardRequest,
    UnlockRequest,
    approve_reward,
    list_rewards,
    record_payout,
    reward_view,
    unlock_reward,
)
from openilp.services.intel.tip_images import TipImageRequest, tip_image
from openilp.services.intel.tip_triage import (
    CloseRequest,
    ConvertRequest,
    LinkRequest,
    ReplyRequest,
    close_tip,
    convert_to_submission,
    link_incident,
    list_tips,
    staff_reply,
    staff_view,
)
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render
from openilp.web.routes.intel.forms import SubmissionForm, submission_form
from openilp.web.routes.intel.pages import show_record, submission_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_CORE = Depends(get_core)
_TRIAGE = require("tips:triage")
_REWARDS = require("tips:rewards")


def _tip_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    tip_id: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    tip = staff_view(core, user, tip_id).as_dict()
    return render(
        request, "intel/tip.html", user=user, tip=tip, error=error, form=form or {}, status_code=400 if error else 200
    )


def _tip_action(
    request: Request, core: OpenILP, user: UserInfo, tip_id: str, action: Callable[[], object], form: dict[str, str]
) -> Response:
    """Run a triage action; back to the tip page, or the page again with the reason."""
    outcome = attempt(action)
    if outcome.ok:
        return RedirectResponse(f"/intel/tips/{tip_id}", status_code=303)
    return _tip_page(request, core, user, tip_id, error=outcome.error, form=form)


@router.get("/intel/tips", response_class=HTMLResponse)
def tip_inbox(request: Request, user: UserInfo = Depends(_TRIAGE), core: OpenILP = _CORE) -> Response:
    """The tip inbox page."""
    return render(request, "intel/tips.html", user=user, tips=list_tips(core, user).as_dict()["tips"])


@router.get("/intel/tips/{tip_id}", response_class=HTMLResponse)
def tip_page(request: Request, tip_id: str, user: UserInfo = Depends(_TRIAGE), core: OpenILP = _CORE) -> Response:
    """One tip: narrative, dialogue, reply, link, convert and close forms."""
    return _tip_page(request, core, user, tip_id)


@router.get("/intel/tips/{tip_id}/attachments/{attachment_id}")
def tip_photo(tip_id: str, attachment_id: Id, user: UserInfo = Depends(_TRIAGE), core: OpenILP = _CORE) -> Response:
    """A tip's photo as stored: re-encoded without metadata when it arrived; every view is audited."""
    image = tip_image(core, user, TipImageRequest(tip_id, attachment_id))
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="{image.tip_id}-{image.attachment_id}"',
    }
    return Response(image.data, media_type=image.content_type, headers=headers)


@router.post("/intel/tips/{tip_id}/reply", response_class=HTMLResponse)
def tip_page_reply(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    body: str = Form(""),
    user: UserInfo = Depends(_TRIAGE),
    core: OpenILP = _CORE,
) -> Response:
    """Send a reply to the tipster from the tip page."""
    check_csrf(request, csrf_token)
    reply = ReplyRequest(tip_id, body)
    return _tip_action(request, core, user, tip_id, lambda: staff_reply(core, user, reply), {"body": body})


@router.post("/intel/tips/{tip_id}/close", response_class=HTMLResponse)
def tip_page_close(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    reason: str = Form(""),
    user: UserInfo = Depends(_TRIAGE),
    core: OpenILP = _CORE,
) -> Response:
    """Close the tip with a reason."""
    check_csrf(request, csrf_token)
    closing = CloseRequest(tip_id, reason)
    return _tip_action(request, core, user, tip_id, lambda: close_tip(core, user, closing), {"reason": reason})


@router.post("/intel/tips/{tip_id}/link", response_class=HTMLResponse)
def tip_page_link(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    incident_id: str = Form("", max_length=100),
    user: UserInfo = Depends(_TRIAGE),
    core: OpenILP = _CORE,
) -> Response:
    """Link the tip to one of the agency's incidents (by complaint number, or #record number)."""
    check_csrf(request, csrf_token)
    link = LinkRequest(tip_id, incident_id)
    return _tip_action(
        request, core, user, tip_id, lambda: link_incident(core, user, link), {"incident_id": incident_id}
    )


@router.post("/intel/tips/{tip_id}/named", response_class=HTMLResponse)
def tip_page_named(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    kind: str = Form("person", max_length=20),
    name: str = Form("", max_length=200),
    identifiers: str = Form("", max_length=200),
    user: UserInfo = Depends(_TRIAGE),
    core: OpenILP = _CORE,
) -> Response:
    """Record a person or thing the tip names, as an entity mention."""
    from openilp.services.entities import NameInTipRequest, name_in_tip

    check_csrf(request, csrf_token)
    named = NameInTipRequest(tip_id, kind, name, identifiers)
    return _tip_action(
        request, core, user, tip_id, lambda: name_in_tip(core, user, named), {"name": name, "identifiers": identifiers}
    )


def _convert_heading(tip_id: str) -> str:
    return f"Convert tip {tip_id} into an intelligence submission"


@router.get("/intel/tips/{tip_id}/convert", response_class=HTMLResponse)
def tip_convert_form(
    request: Request, tip_id: str, user: UserInfo = Depends(_TRIAGE), core: OpenILP = _CORE
) -> Response:
    """The submission form, pre-filled from the tip (collection method *tip*, tip ID as reference)."""
    tip = staff_view(core, user, tip_id)
    values = {"summary": tip.narrative, "source_reference": tip.tip_id, "collection_method": "tip"}
    return submission_page(
        request,
        core,
        user,
        action=f"/intel/tips/{tip.tip_id}/convert",
        values=values,
        heading=_convert_heading(tip.tip_id),
        tip_id=tip.tip_id,
    )


@router.post("/intel/tips/{tip_id}/convert", response_class=HTMLResponse)
def tip_convert(
    request: Request,
    tip_id: str,
    form: SubmissionForm = Depends(submission_form),
    user: UserInfo = Depends(_TRIAGE),
    core: OpenILP = _CORE,
) -> Response:
    """Convert through the predicate gate: the record is pending until a trained reviewer approves it."""
    check_csrf(request, form.csrf_token)
    conversion = ConvertRequest(tip_id, form.submission(), use_agency_scheme=True)
    outcome = attempt(lambda: convert_to_submission(core, user, conversion))
    if outcome.value is None:
        return submission_page(
            request,
            core,
            user,
            action=f"/intel/tips/{tip_id}/convert",
            values=form.values,
            refusal=outcome,
            heading=_convert_heading(tip_id),
            tip_id=tip_id,
        )
    return show_record(request, core, user, outcome.value.id, f"conversion of tip {tip_id}", done="submitted")


# --- rewards -------------------------------------------------------------------------------------


def _reward_page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    tip_id: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    tip = reward_view(core, user, tip_id).as_dict()
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
    request: Request,
    core: OpenILP,
    user: UserInfo,
    tip_id: str,
    action: Callable[[], object],
    form: dict[str, str],
    done: str,
) -> Response:
    outcome = attempt(action)
    if outcome.ok:
        return RedirectResponse(f"/intel/tips/{tip_id}/reward?done={done}", status_code=303)
    return _reward_page(request, core, user, tip_id, error=outcome.error, form=form)


@router.get("/intel/rewards", response_class=HTMLResponse)
def rewards_page(
    request: Request,
    tip_id: str = Query(default="", max_length=40),
    user: UserInfo = Depends(_REWARDS),
    core: OpenILP = _CORE,
) -> Response:
    """Reward decisions of the agency, and a box to open a tip by the ID a tipster presents."""
    if tip_id.strip():
        return RedirectResponse(f"/intel/tips/{quote(normalise_tip_id(tip_id), safe='')}/reward", status_code=303)
    return render(request, "intel/rewards.html", user=user, rewards=list_rewards(core, user).as_dict()["rewards"])


@router.get("/intel/tips/{tip_id}/reward", response_class=HTMLResponse)
def reward_page(
    request: Request,
    tip_id: str,
    done: str = Query(default="", max_length=20),
    user: UserInfo = Depends(_REWARDS),
    core: OpenILP = _CORE,
) -> Response:
    """A tip's reward: approve an amount, or record the payout against the tipster's code."""
    return _reward_page(request, core, user, tip_id, done=done)


@router.post("/intel/tips/{tip_id}/reward", response_class=HTMLResponse)
def reward_approve(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    amount: str = Form("", max_length=20),
    reason: str = Form(""),
    user: UserInfo = Depends(_REWARDS),
    core: OpenILP = _CORE,
) -> Response:
    """Approve a reward amount (board or supervisor decision); the tipster is told on the follow-up page."""
    check_csrf(request, csrf_token)
    decision = RewardRequest(tip_id, amount, reason)
    return _reward_action(
        request,
        core,
        user,
        tip_id,
        lambda: approve_reward(core, user, decision),
        {"amount": amount, "reason": reason},
        "approved",
    )


@router.post("/intel/tips/{tip_id}/payout", response_class=HTMLResponse)
def reward_payout(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    payout_code: str = Form("", max_length=40),
    user: UserInfo = Depends(_REWARDS),
    core: OpenILP = _CORE,
) -> Response:
    """Pay whoever presents the tip ID and the matching payout code (identity never asked)."""
    check_csrf(request, csrf_token)
    payout = PayoutRequest(tip_id, payout_code)
    return _reward_action(request, core, user, tip_id, lambda: record_payout(core, user, payout), {}, "paid")


@router.post("/intel/tips/{tip_id}/unlock", response_class=HTMLResponse)
def reward_unlock(
    request: Request,
    tip_id: str,
    csrf_token: str = Form(""),
    reason: str = Form("", max_length=1000),
    user: UserInfo = Depends(require("tips:unlock")),
    core: OpenILP = _CORE,
) -> Response:
    """Unlock a reward locked after too many wrong payout codes (administrators; audited)."""
    check_csrf(request, csrf_token)
    unlocking = UnlockRequest(tip_id, reason)
    return _reward_action(
        request,
        core,
        user,
        tip_id,
        lambda: unlock_reward(core, user, unlocking),
        {"unlock_reason": reason},
        "unlocked",
    )
