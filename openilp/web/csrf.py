"""CSRF protection for HTML forms: a per-session token, sent back in a hidden field.

The token lives in the signed session cookie; every POST form carries it in ``csrf_token`` and
the handler compares the two in constant time. A cross-site page cannot read the token, so it
cannot forge a form the app accepts. (The SameSite=Lax cookie is a second line of defence.)
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request

__all__ = ["CSRF_FIELD", "csrf_token", "rotate_csrf_token", "check_csrf"]

CSRF_FIELD = "csrf_token"
_SESSION_KEY = "csrf"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = token
    return token


def rotate_csrf_token(request: Request) -> str:
    """Replace the token (after sign-in, so a token seen before sign-in is useless after)."""
    request.session[_SESSION_KEY] = secrets.token_urlsafe(32)
    return str(request.session[_SESSION_KEY])


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise 403 unless ``submitted`` equals the session's token."""
    expected = request.session.get(_SESSION_KEY)
    if not isinstance(expected, str) or not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise HTTPException(
            status_code=403,
            detail="The form has expired or did not come from this site. Reload the page and try again.",
        )
