"""Who is signed in, and what they may do.

Two layers, so that forgetting one on a new route does not open it:

1. :class:`SignInGateMiddleware` looks up the server-side session named by the cookie's token
   (:func:`openilp.services.accounts.sessions.check_session`): a session that was ended (sign-out,
   revocation, a role change, a deactivation) or has expired (idle longer than
   ``session_max_age_s``, or begun more than ``session_absolute_max_s`` ago; audited as
   ``session_expired``) signs the browser out. It then refuses any request outside
   :data:`PUBLIC_PATHS` without a live session (API: 401 JSON; pages: redirect to ``/login``). A
   user who gave the password but not yet the second factor is *pending* (kept in the cookie for
   :data:`PENDING_MAX_S` seconds) and reaches only the TOTP pages.
2. Route dependencies (:func:`current_user`, :func:`require`) take the user the gate found (loaded
   from the database on every request, so a deactivated account is signed out at once) and check
   the role's permissions.

The cookie itself holds only a random token: a copied cookie stops working the moment its
session is ended on the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from openilp.security.actors import UserInfo
from openilp.security.roles import PERMISSIONS
from openilp.services.accounts.sessions import CheckSessionRequest, check_session
from openilp.web.context import WebContext

__all__ = [
    "PUBLIC_PATHS",
    "PUBLIC_PREFIXES",
    "SESSION_TOKEN_KEY",
    "SESSION_PENDING_KEY",
    "SESSION_ISSUED_KEY",
    "PENDING_MAX_S",
    "pending_expired",
    "NotSignedIn",
    "SignInGateMiddleware",
    "current_user",
    "signed_in_user",
    "is_api_path",
    "login_redirect_target",
    "require",
    "safe_next",
]

#: Paths anyone may request (the TOTP steps check the pending sign-in themselves).
PUBLIC_PATHS: frozenset[str] = frozenset(
    {
        "/tips",
        "/login",
        "/healthz",
        "/login/totp",
        "/login/totp/setup",
        "/transparency",
        "/transparency.csv",
        "/transparency.pdf",
    }
)
#: Path prefixes anyone may request (static assets). ``/federation/v1/`` is for partner instances:
#: no session, every route checks the request's Ed25519 signature (:mod:`openilp.security.federation`).
PUBLIC_PREFIXES: tuple[str, ...] = ("/static/", "/tips/", "/api/v1/public/", "/federation/v1/")
#: The token of the server-side session (random; only its SHA-256 is stored).
SESSION_TOKEN_KEY = "sid"
#: The id of a user who gave the right password and still owes the second factor.
SESSION_PENDING_KEY = "pending_user_id"
#: When the pending sign-in began: POSIX seconds.
SESSION_ISSUED_KEY = "issued_at"
#: Where the gate leaves the signed-in user for the route dependencies (``request.state``).
STATE_USER = "openilp_user"
#: Seconds a pending sign-in may wait for its TOTP code.
PENDING_MAX_S = 300


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


def pending_expired(session: MutableMapping[str, Any], context: WebContext) -> bool:
    """Whether a pending sign-in (password given, code owed) is older than :data:`PENDING_MAX_S`."""
    issued = session.get(SESSION_ISSUED_KEY)
    if not isinstance(issued, int | float):
        return True
    return context.clock().timestamp() - issued > PENDING_MAX_S


def _live_user(context: WebContext, token: str) -> UserInfo | None:
    return check_session(context.core, None, CheckSessionRequest(token)).user


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
        user: UserInfo | None = None
        token = session.get(SESSION_TOKEN_KEY)
        if scope["path"].startswith("/static/"):
            pass  # stylesheets and scripts: no session lookup (no database read per asset)
        elif isinstance(token, str):
            user = await run_in_threadpool(_live_user, context, token)
            if user is None:
                session.clear()  # ended or expired on the server (an expiry is audited there)
            else:
                scope.setdefault("state", {})[STATE_USER] = user
        elif SESSION_PENDING_KEY in session and pending_expired(session, context):
            session.clear()
        if is_public(scope["path"]) or user is not None:
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


def current_user(request: Request) -> UserInfo:
    """The signed-in, active user of a live session (a dependency); raises :class:`NotSignedIn` otherwise."""
    user = getattr(request.state, STATE_USER, None)
    if not isinstance(user, UserInfo):
        raise NotSignedIn()
    return user


def signed_in_user(request: Request) -> UserInfo | None:
    """The user of the request's live session, or None (for pages anyone may open)."""
    user = getattr(request.state, STATE_USER, None)
    return user if isinstance(user, UserInfo) else None


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
