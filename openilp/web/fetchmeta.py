"""Fetch Metadata: the JSON API refuses requests another site's page makes in the browser.

The session cookie is SameSite=Lax, so it travels with a top-level GET from any other site. A
link to ``/api/v1/incidents.geojson?purpose=…`` on another site would then run an audited search
in the viewer's name with a purpose of the other site's choosing. Browsers say where a request
comes from in ``Sec-Fetch-Site``; :class:`CrossSiteApiMiddleware` answers 403 to API requests
marked ``cross-site`` before any code runs. Scripts and command-line clients send no such header
and are not affected.

Pages may still be linked to from anywhere (reads of criminal intelligence are POSTs behind a CSRF
token, see :mod:`openilp.web.routes.intel.pages`), but a page whose view is audited in the viewer's
name (a tip, the audit log, a printable deployment list, a problem) must not record that view when
another site's link opened it: the middleware runs such navigations inside
:func:`openilp.core.unit_of_work.navigation_from_another_site`, so the service's audited read is
refused (:class:`openilp.errors.ViewFromAnotherSite`, 403) and the error page offers the same
address as a link from OpenILP itself, which opens it and audits it as usual.

>>> def scope(path, site):
...     return {"type": "http", "path": path, "headers": [(b"sec-fetch-site", site)]}
>>> is_cross_site_api(scope("/api/v1/incidents.geojson", b"cross-site"))
True
>>> is_cross_site_api(scope("/api/v1/incidents.geojson", b"same-origin"))
False
>>> is_cross_site_api(scope("/map", b"cross-site"))
False
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from openilp.core.unit_of_work import navigation_from_another_site

__all__ = ["API_PREFIX", "CrossSiteApiMiddleware", "is_cross_site_api", "is_cross_site"]

#: Paths of the JSON API.
API_PREFIX = "/api/"


def is_cross_site(scope: Scope) -> bool:
    """Whether ``scope`` is an HTTP request that a page of another site started in the browser."""
    if scope.get("type") != "http":
        return False
    return any(name == b"sec-fetch-site" and value == b"cross-site" for name, value in scope.get("headers", ()))


def is_cross_site_api(scope: Scope) -> bool:
    """Whether ``scope`` is an API request that a page of another site made in the browser."""
    return str(scope.get("path", "")).startswith(API_PREFIX) and is_cross_site(scope)


class CrossSiteApiMiddleware:
    """403 for API requests marked ``Sec-Fetch-Site: cross-site``; pages opened so audit no view (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_cross_site(scope):
            await self.app(scope, receive, send)
            return
        if not is_cross_site_api(scope):
            # A page opened from another site: it renders, but records no view in the viewer's name.
            with navigation_from_another_site():
                await self.app(scope, receive, send)
            return
        body = b'{"detail":"The API does not answer requests made by another site\'s page."}'
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
