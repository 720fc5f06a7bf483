"""Who is signed in, and what they may do.

Two layers, so that forgetting one on a new route does not open it:

1. :class:`SignInGateMiddleware` ends sessions that were idle longer than ``session_max_age_s``
   or began more than ``session_absolute_max_s`` ago (audited as ``session_expired``), then
   refuses any request outside :data:`PUBLIC_PATHS` whose session has no fully signed-in user
   (API: 401 JSON; pages: redirect to ``/login``). A user who gave the password but not yet the
   second factor is *pending* and reaches only the TOTP pages.
2. Route dependencies (:func:`current_user`, :func:`require`) load the user from the database on
   every request (a deactivated account is signed out at once), refuse a session without the
   second factor its user now needs, and check the role's permissions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from openilp.db import session_scope
from openilp.security.audit import record_event
from openilp.security.roles import PERMISSIONS
from openilp.services.totp import totp_required
from openilp.services.users import UserInfo, get_user_info
from openilp.web.context import WebContext, db_session

__all__ = [
    "PUBLIC_PATHS",
    "PUBLIC_PREFIXES",
    "SESSION_USER_KEY",
    "SESSION_PENDING_KEY",
    "SESSION_ISSUED_KEY",
    "SESSION_SEEN_KEY",
    "SESSION_MFA_KEY",
    "PENDING_MAX_S",
    "session_expiry",
    "NotSignedIn",
    "SignInGateMiddleware",
    "current_user",
    "is_api_path",
    "login_redirect_target",
    "require",
    "safe_next",
]

#: Paths anyone may request (the TOTP steps check the pending sign-in themselves).
PUBLIC_PATHS: frozenset[str] = frozenset({"/tips", "/login", "/healthz", "/login/totp", "/login/totp/setup"})
#: Path prefixes anyone may request (static assets).
PUBLIC_PREFIXES: tuple[str, ...] = ("/static/", "/tips/", "/api/v1/public/")
#: The fully signed-in user's id.
SESSION_USER_KEY = "user_id"
#: The id of a user who gave the right password and still owes the second factor.
SESSION_PENDING_KEY = "pending_user_id"
#: When the session (or the pending sign-in) began, and when it was last used: POSIX seconds.
SESSION_ISSUED_KEY = "issued_at"
SESSION_SEEN_KEY = "last_seen"
#: True when the session's sign-in included a TOTP code.
SESSION_MFA_KEY = "mfa"
#: Seconds a pending sign-in may wait for its TOTP code.
PENDING_MAX_S = 300

log = logging.getLogger("openilp.web.auth")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_api_path(path: str) -> bool:
    """Whether ``path`` belongs to the JSON API (answers with JSON, never redirects)."""
    return path.startswith("/api/") or path == "/healthz"


def safe_next(target: str | None) -> str:
    """A same-site path to return to after sign-in; anything else becomes ``/``.

    >>> safe_next("/map?category=robbery")
    '/map?category=robbery'
    >>> safe_next("https://evil.example/")
    '/'
    >>> safe_next("//evil.example/")
    '/'
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def login_redirect_target(path: str, query: str) -> str:
    """``/login?next=...`` for a page the visitor asked for before signing in."""
    wanted = path + (f"?{query}" if query else "")
    return "/login" if wanted == "/" else f"/login?next={quote(wanted, safe='')}"


class NotSignedIn(Exception):
    """Raised by :func:`current_user`; answered with 401 (API) or a redirect (pages)."""


def session_expiry(session: MutableMapping[str, Any], context: WebContext) -> str | None:
    """Why the session must end now (``"idle"``, ``"absolute"``, ``"pending"``), or None.

    A signed-in session ends after ``session_max_age_s`` seconds without a request or
    ``session_absolute_max_s`` seconds after sign-in; a pending sign-in after :data:`PENDING_MAX_S`.
    """
    if SESSION_USER_KEY not in session and SESSION_PENDING_KEY not in session:
        return None
    now = context.clock().timestamp()
    issued = session.get(SESSION_ISSUED_KEY)
    seen = session.get(SESSION_SEEN_KEY)
    if not isinstance(issued, int | float) or not isinstance(seen, int | float):
        return "absolute"
    settings = context.settings
    if SESSION_USER_KEY not in session:
        return "pending" if now - issued > PENDING_MAX_S else None
    if now - issued > settings.session_absolute_max_s:
        return "absolute"
    if now - seen > settings.session_max_age_s:
        return "idle"
    return None


def _audit_expiry(context: WebContext, user_id: int, reason: str) -> None:
    with session_scope(context.engine) as session:
        user = get_user_info(session, user_id)
        record_event(
            session,
            action="session_expired",
            object_type="session",
            actor=user,
            details={"reason": reason},
        )


class SignInGateMiddleware:
    """Default-deny: requests to non-public paths need a fully signed-in user in a live session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = scope.get("session")
        if session is None:
            session = {}
        context: WebContext = scope["app"].state.openilp
        reason = session_expiry(session, context)
        if reason is not None:
            user_id = session.get(SESSION_USER_KEY) or session.get(SESSION_PENDING_KEY)
            session.clear()
            if isinstance(user_id, int) and reason != "pending":
                await run_in_threadpool(_audit_expiry, context, user_id, reason)
                log.info("session of user %s expired (%s)", user_id, reason)
        elif SESSION_USER_KEY in session:
            session[SESSION_SEEN_KEY] = int(context.clock().timestamp())
        if is_public(scope["path"]) or isinstance(session.get(SESSION_USER_KEY), int):
            await self.app(scope, receive, send)
            return
        if is_api_path(scope["path"]):
            body = json.dumps({"detail": "Sign in required."}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        query = scope.get("query_string", b"").decode("latin-1")
        location = login_redirect_target(scope["path"], query)
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def current_user(request: Request, session: Session = db_session) -> UserInfo:
    """The signed-in, active user (a dependency); raises :class:`NotSignedIn` otherwise."""
    user_id = request.session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        raise NotSignedIn()
    user = get_user_info(session, user_id)
    if user is None or not user.is_active:
        request.session.clear()
        raise NotSignedIn()
    if totp_required(user) and request.session.get(SESSION_MFA_KEY) is not True:
        # The role changed to one that needs a second factor since this session began.
        request.session.clear()
        raise NotSignedIn()
    return user


def require(permission: str) -> Callable[..., UserInfo]:
    """A dependency: the signed-in user, or 403 when their role lacks ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def dependency(user: UserInfo = Depends(current_user)) -> UserInfo:
        if not user.can(permission):
            raise HTTPException(status_code=403, detail=f"Your role ({user.role}) does not permit this.")
        return user

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency
