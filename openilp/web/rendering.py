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
    """Render ``template`` with ``context`` plus ``user``, ``csrf_token``, ``settings`` and
    ``streets_url`` (the signed-in agency's street layer for the maps, empty when it has none)."""
    web = get_context(request)
    streets = web.boundaries.streets_for(user.agency_code) if user is not None else None
    streets_url = f"/api/v1/streets/{user.agency_code}.geojson" if user is not None and streets else ""
    return web.templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf_token": csrf_token(request),
            "settings": web.settings,
            "streets_url": streets_url,
            "streets_attribution": streets.attribution if streets else "",
            **context,
        },
        status_code=status_code,
    )
