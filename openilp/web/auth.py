"""Who is signed in, and what they may do.

Two layers, so that forgetting one on a new route does not open it:

1. :class:`SignInGateMiddleware` refuses any request outside :data:`PUBLIC_PATHS` whose session
   has no user (API: 401 JSON; pages: redirect to ``/login``).
2. Route dependencies (:func:`current_user`, :func:`require`) load the user from the database on
   every request (a deactivated account is signed out at once) and check the role's permissions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from openilp.security.roles import PERMISSIONS
from openilp.services.users import UserInfo, get_user_info
from openilp.web.context import db_session

__all__ = [
    "PUBLIC_PATHS",
    "PUBLIC_PREFIXES",
    "SESSION_USER_KEY",
    "NotSignedIn",
    "SignInGateMiddleware",
    "current_user",
    "is_api_path",
    "login_redirect_target",
    "require",
    "safe_next",
]

#: Paths anyone may request.
PUBLIC_PATHS: frozenset[str] = frozenset({"/login", "/healthz"})
#: Path prefixes anyone may request (static assets).
PUBLIC_PREFIXES: tuple[str, ...] = ("/static/",)
SESSION_USER_KEY = "user_id"


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


class SignInGateMiddleware:
    """Default-deny: requests to non-public paths need a user in the signed session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        if isinstance(session.get(SESSION_USER_KEY), int):
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


def current_user(request: Request, session: Session = Depends(db_session)) -> UserInfo:
    """The signed-in, active user (a dependency); raises :class:`NotSignedIn` otherwise."""
    user_id = request.session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        raise NotSignedIn()
    user = get_user_info(session, user_id)
    if user is None or not user.is_active:
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
