"""Sign-in (password, then a TOTP code for the roles that need one) and sign-out.

``/login`` checks the password. Users who need a second factor (:func:`~openilp.services.totp.totp_required`)
are then *pending*: they reach only ``/login/totp`` (enter a code) or, before they have enrolled,
``/login/totp/setup`` (scan the secret, confirm with a code). Every outcome is audited.
"""

from __future__ import annotations

import logging

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from openilp.db import session_scope
from openilp.security.audit import record_event
from openilp.services.totp import TotpOutcome, begin_enrolment, totp_required, verify_code
from openilp.services.users import (
    LOCKOUT_MINUTES,
    MAX_FAILED_LOGINS,
    UserInfo,
    authenticate,
    get_user_info,
)
from openilp.web.auth import (
    SESSION_ISSUED_KEY,
    SESSION_MFA_KEY,
    SESSION_PENDING_KEY,
    SESSION_SEEN_KEY,
    SESSION_USER_KEY,
    safe_next,
)
from openilp.web.context import get_context
from openilp.web.csrf import check_csrf, rotate_csrf_token
from openilp.web.rendering import render

__all__ = ["router", "FAILED_SIGN_IN_MESSAGE", "FAILED_CODE_MESSAGE"]

router = APIRouter()
log = logging.getLogger("openilp.web.auth")

#: The one message for every failed sign-in, so it does not reveal which usernames exist.
FAILED_SIGN_IN_MESSAGE = (
    "Sign-in failed: check your username and password. After "
    f"{MAX_FAILED_LOGINS} failed attempts an account is locked for {LOCKOUT_MINUTES} minutes."
)
#: Shown for a wrong, reused or malformed authenticator code.
FAILED_CODE_MESSAGE = (
    "That code was not accepted. Enter the current 6-digit code from your authenticator app "
    "(each code works once). Wrong codes count towards the account lockout."
)
_NEXT_KEY = "next"
#: Longest username or password text the form reads (longer input is refused, not stored).
_MAX_FIELD = 1024


def _now_ts(request: Request) -> int:
    return int(get_context(request).clock().timestamp())


def _start_session(request: Request, session: Session, user: UserInfo, target: str, *, second_factor: bool) -> Response:
    """Start a fresh, fully signed-in session, audit the ``login`` and go to ``target``."""
    request.session.clear()
    now = _now_ts(request)
    request.session.update(
        {SESSION_USER_KEY: user.id, SESSION_ISSUED_KEY: now, SESSION_SEEN_KEY: now, SESSION_MFA_KEY: second_factor}
    )
    rotate_csrf_token(request)
    record_event(session, action="login", object_type="session", actor=user, details={"second_factor": second_factor})
    log.info("sign-in: %s", user.username)
    return RedirectResponse(safe_next(target), status_code=303)


def _pending_user(request: Request, session: Session) -> UserInfo | None:
    user_id = request.session.get(SESSION_PENDING_KEY)
    if not isinstance(user_id, int):
        return None
    user = get_user_info(session, user_id)
    return user if user is not None and user.is_active else None


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form (signed-in users go straight on)."""
    if isinstance(request.session.get(SESSION_USER_KEY), int):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), username="", error=None)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the password; then either sign in, or ask for the second factor."""
    check_csrf(request, csrf_token)
    target = safe_next(next)
    with session_scope(get_context(request).engine) as session:
        if len(username) > _MAX_FIELD:
            username = username[:_MAX_FIELD]
        result = authenticate(session, username, password, now=get_context(request).clock())
        if result.ok and result.user is not None:
            user = result.user
            if not totp_required(user):
                return _start_session(request, session, user, target, second_factor=False)
            request.session.clear()
            now = _now_ts(request)
            request.session.update(
                {SESSION_PENDING_KEY: user.id, SESSION_ISSUED_KEY: now, SESSION_SEEN_KEY: now, _NEXT_KEY: target}
            )
            rotate_csrf_token(request)
            step = "/login/totp" if user.totp_enabled else "/login/totp/setup"
            return RedirectResponse(step, status_code=303)
    log.info("sign-in failed for %r: %s", username[:80], result.outcome.value)
    return render(
        request,
        "login.html",
        status_code=401,
        next=target,
        username=username[:80],
        error=FAILED_SIGN_IN_MESSAGE,
    )


def _not_pending() -> Response:
    return RedirectResponse("/login", status_code=303)


def _qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (drawn here; nothing is fetched)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=False))


def _code_step(request: Request, code: str, csrf_token: str, *, setup: bool) -> Response:
    check_csrf(request, csrf_token)
    context = get_context(request)
    with session_scope(context.engine) as session:
        user = _pending_user(request, session)
        if user is None:
            return _not_pending()
        if setup and user.totp_enabled:
            return RedirectResponse("/login/totp", status_code=303)
        outcome = verify_code(session, user.id, code[:64], context.secret_box, now=context.clock())
        if outcome is TotpOutcome.OK:
            target = request.session.get(_NEXT_KEY)
            return _start_session(
                request, session, user, target if isinstance(target, str) else "/", second_factor=True
            )
        if outcome in (TotpOutcome.LOCKED, TotpOutcome.NOT_ENROLLED):
            request.session.clear()
            return render(request, "login.html", status_code=401, next="/", username="", error=FAILED_SIGN_IN_MESSAGE)
        if setup:
            enrolment = begin_enrolment(session, user.id, context.secret_box)
            return render(
                request,
                "totp_setup.html",
                status_code=401 if outcome is not TotpOutcome.MALFORMED else 400,
                secret=enrolment.secret,
                uri=enrolment.uri,
                qr_svg=_qr_svg(enrolment.uri),
                error=FAILED_CODE_MESSAGE,
            )
        return render(
            request,
            "totp.html",
            status_code=401 if outcome is not TotpOutcome.MALFORMED else 400,
            error=FAILED_CODE_MESSAGE,
        )


@router.get("/login/totp", response_class=HTMLResponse, include_in_schema=False)
def totp_form(request: Request) -> Response:
    """Second step of sign-in: the authenticator code."""
    if isinstance(request.session.get(SESSION_USER_KEY), int):
        return RedirectResponse("/", status_code=303)
    with session_scope(get_context(request).engine) as session:
        user = _pending_user(request, session)
    if user is None:
        return _not_pending()
    if not user.totp_enabled:
        return RedirectResponse("/login/totp/setup", status_code=303)
    return render(request, "totp.html", error=None)


@router.post("/login/totp", response_class=HTMLResponse, include_in_schema=False)
def totp_submit(request: Request, code: str = Form(""), csrf_token: str = Form("")) -> Response:
    """Check the code; on success the session is fully signed in."""
    return _code_step(request, code, csrf_token, setup=False)


@router.get("/login/totp/setup", response_class=HTMLResponse, include_in_schema=False)
def totp_setup_form(request: Request) -> Response:
    """Enrolment: the secret, its ``otpauth://`` URI and a QR code, then a code to confirm."""
    if isinstance(request.session.get(SESSION_USER_KEY), int):
        return RedirectResponse("/", status_code=303)
    context = get_context(request)
    with session_scope(context.engine) as session:
        user = _pending_user(request, session)
        if user is None:
            return _not_pending()
        if user.totp_enabled:
            return RedirectResponse("/login/totp", status_code=303)
        enrolment = begin_enrolment(session, user.id, context.secret_box)
    return render(
        request,
        "totp_setup.html",
        secret=enrolment.secret,
        uri=enrolment.uri,
        qr_svg=_qr_svg(enrolment.uri),
        error=None,
    )


@router.post("/login/totp/setup", response_class=HTMLResponse, include_in_schema=False)
def totp_setup_submit(request: Request, code: str = Form(""), csrf_token: str = Form("")) -> Response:
    """Confirm the new authenticator with one code; that also completes the sign-in."""
    return _code_step(request, code, csrf_token, setup=True)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    """End the session (audited) and return to the sign-in page."""
    check_csrf(request, csrf_token)
    user_id = request.session.get(SESSION_USER_KEY)
    if isinstance(user_id, int):
        with session_scope(get_context(request).engine) as session:
            user = get_user_info(session, user_id)
            record_event(session, action="logout", object_type="session", actor=user)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
