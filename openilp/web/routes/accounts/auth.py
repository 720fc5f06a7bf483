"""Sign-in (password, then a TOTP code for the roles that need one) and sign-out.

``/login`` checks the password. Users who need a second factor
(:func:`~openilp.services.accounts.totp.totp_required`) are then *pending*: they reach only
``/login/totp`` (enter a code) or, before they have enrolled, ``/login/totp/setup`` (scan the
secret, confirm with a code). A completed sign-in opens a server-side session
(:mod:`openilp.services.accounts.sessions`) whose random token is the only thing the cookie
holds; ``/logout`` ends it on the server (with ``everywhere``: every session of the user). Every
outcome is audited by the services.
"""

from __future__ import annotations

import logging

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.errors import ServiceError
from openilp.security.actors import UserInfo
from openilp.services.accounts.sessions import EndSessionRequest, StartSessionRequest, end_session, start_session
from openilp.services.accounts.signin import LOCKOUT_MINUTES, MAX_FAILED_LOGINS, SignInRequest, authenticate
from openilp.services.accounts.totp import (
    CodeRequest,
    EnrolmentRequest,
    TotpOutcome,
    begin_enrolment,
    totp_required,
    verify_code,
)
from openilp.services.accounts.users import AccountRequest, account
from openilp.web.auth import SESSION_ISSUED_KEY, SESSION_PENDING_KEY, SESSION_TOKEN_KEY, safe_next, signed_in_user
from openilp.web.context import get_context, get_core
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


def _start_session(request: Request, user: UserInfo, target: str, *, second_factor: bool) -> Response:
    """Open a server-side session (audited ``login``), keep only its token in the cookie, go on."""
    started = start_session(get_core(request), user, StartSessionRequest(second_factor=second_factor))
    request.session.clear()
    request.session[SESSION_TOKEN_KEY] = started.token
    rotate_csrf_token(request)
    log.info("sign-in: %s", user.username)
    return RedirectResponse(safe_next(target), status_code=303)


def _pending_user(request: Request) -> UserInfo | None:
    user_id = request.session.get(SESSION_PENDING_KEY)
    if not isinstance(user_id, int):
        return None
    try:
        user = account(get_core(request), None, AccountRequest(user_id=user_id)).user
    except ServiceError:
        return None
    return user if user.is_active else None


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form (signed-in users go straight on)."""
    if signed_in_user(request) is not None:
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
    username = username[:_MAX_FIELD]
    result = authenticate(get_core(request), None, SignInRequest(username, password))
    if result.ok and result.user is not None:
        user = result.user
        if not totp_required(user):
            return _start_session(request, user, target, second_factor=False)
        request.session.clear()
        request.session.update({SESSION_PENDING_KEY: user.id, SESSION_ISSUED_KEY: _now_ts(request), _NEXT_KEY: target})
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
    core = get_core(request)
    user = _pending_user(request)
    if user is None:
        return _not_pending()
    if setup and user.totp_enabled:
        return RedirectResponse("/login/totp", status_code=303)
    outcome = verify_code(core, None, CodeRequest(user_id=user.id, code=code[:64])).outcome
    if outcome is TotpOutcome.OK:
        target = request.session.get(_NEXT_KEY)
        return _start_session(request, user, target if isinstance(target, str) else "/", second_factor=True)
    if outcome in (TotpOutcome.LOCKED, TotpOutcome.NOT_ENROLLED):
        request.session.clear()
        return render(request, "login.html", status_code=401, next="/", username="", error=FAILED_SIGN_IN_MESSAGE)
    status = 401 if outcome is not TotpOutcome.MALFORMED else 400
    if setup:
        enrolment = begin_enrolment(core, None, EnrolmentRequest(user_id=user.id))
        return render(
            request,
            "totp_setup.html",
            status_code=status,
            secret=enrolment.secret,
            uri=enrolment.uri,
            qr_svg=_qr_svg(enrolment.uri),
            error=FAILED_CODE_MESSAGE,
        )
    return render(request, "totp.html", status_code=status, error=FAILED_CODE_MESSAGE)


@router.get("/login/totp", response_class=HTMLResponse, include_in_schema=False)
def totp_form(request: Request) -> Response:
    """Second step of sign-in: the authenticator code."""
    if signed_in_user(request) is not None:
        return RedirectResponse("/", status_code=303)
    user = _pending_user(request)
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
    if signed_in_user(request) is not None:
        return RedirectResponse("/", status_code=303)
    user = _pending_user(request)
    if user is None:
        return _not_pending()
    if user.totp_enabled:
        return RedirectResponse("/login/totp", status_code=303)
    enrolment = begin_enrolment(get_core(request), None, EnrolmentRequest(user_id=user.id))
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
def logout(request: Request, csrf_token: str = Form(""), everywhere: str = Form("")) -> Response:
    """End the session on the server (audited); with ``everywhere``, every session of the user."""
    check_csrf(request, csrf_token)
    user = signed_in_user(request)
    token = request.session.get(SESSION_TOKEN_KEY)
    if user is not None and isinstance(token, str):
        end_session(get_core(request), user, EndSessionRequest(token=token, everywhere=bool(everywhere)))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
