"""Sign-in and sign-out pages (``/login``, ``/logout``)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openilp.db import session_scope
from openilp.services.users import LOCKOUT_MINUTES, MAX_FAILED_LOGINS, authenticate
from openilp.web.auth import SESSION_USER_KEY, safe_next
from openilp.web.context import get_context
from openilp.web.csrf import check_csrf, rotate_csrf_token
from openilp.web.rendering import render

__all__ = ["router", "FAILED_SIGN_IN_MESSAGE"]

router = APIRouter()
log = logging.getLogger("openilp.web.auth")

#: The one message for every failed sign-in, so it does not reveal which usernames exist.
FAILED_SIGN_IN_MESSAGE = (
    "Sign-in failed: check your username and password. After "
    f"{MAX_FAILED_LOGINS} failed attempts an account is locked for {LOCKOUT_MINUTES} minutes."
)


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
    """Check the credentials; on success start a fresh session and go to ``next``."""
    check_csrf(request, csrf_token)
    with session_scope(get_context(request).engine) as session:
        result = authenticate(session, username, password)
    if not result.ok or result.user is None:
        log.info("sign-in failed for %r: %s", username[:80], result.outcome.value)
        return render(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            username=username[:80],
            error=FAILED_SIGN_IN_MESSAGE,
        )
    request.session.clear()
    request.session[SESSION_USER_KEY] = result.user.id
    rotate_csrf_token(request)
    log.info("sign-in: %s", result.user.username)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    """End the session and return to the sign-in page."""
    check_csrf(request, csrf_token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
