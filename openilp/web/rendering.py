"""Rendering HTML pages: every template gets the user, the CSRF token and the app name."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from openilp.security.actors import UserInfo
from openilp.web.context import get_context
from openilp.web.csrf import csrf_token

__all__ = ["render"]


def render(
    request: Request,
    template: str,
    user: UserInfo | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with ``context`` plus ``user``, ``csrf_token`` and ``settings``."""
    web = get_context(request)
    return web.templates.TemplateResponse(
        request,
        template,
        {"user": user, "csrf_token": csrf_token(request), "settings": web.settings, **context},
        status_code=status_code,
    )
