"""Anonymity for the public tip paths: no IP address, user agent or referrer is seen or logged.

Two measures, both installed by :func:`openilp.web.app.create_app`:

1. :class:`AnonymousPathsMiddleware` (outermost) blanks ``scope["client"]`` and drops identifying
   headers (User-Agent, X-Forwarded-For, Forwarded, X-Real-IP, Referer, …) before any other code
   runs, for every path under :data:`ANONYMOUS_PREFIXES`. Uvicorn's access log reads the same
   scope, so it records no client address for these requests either.
2. :class:`DropAnonymousAccessLog` is a logging filter on the ``uvicorn.access`` logger that drops
   the access-log line of those paths altogether.

Behind a reverse proxy, turn off its access log for ``/tips`` and ``/api/v1/public/`` too
(docs/intelligence.md shows an nginx example): this module cannot reach the proxy's logs.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "ANONYMOUS_PREFIXES",
    "IDENTIFYING_HEADERS",
    "is_anonymous_path",
    "AnonymousPathsMiddleware",
    "DropAnonymousAccessLog",
    "install_access_log_filter",
]

#: Paths a member of the public uses without signing in; nothing identifying is kept for them.
ANONYMOUS_PREFIXES: tuple[str, ...] = ("/tips", "/api/v1/public/")
#: Request headers removed on those paths.
IDENTIFYING_HEADERS: frozenset[bytes] = frozenset(
    {
        b"user-agent",
        b"x-forwarded-for",
        b"x-real-ip",
        b"forwarded",
        b"referer",
        b"true-client-ip",
        b"cf-connecting-ip",
        b"x-client-ip",
        b"via",
        b"from",
    }
)


def is_anonymous_path(path: str) -> bool:
    """Whether ``path`` is a public tip path.

    >>> is_anonymous_path("/tips/follow-up"), is_anonymous_path("/intel/tips")
    (True, False)
    """
    return path == "/tips" or path.startswith(("/tips/", "/api/v1/public/"))


class AnonymousPathsMiddleware:
    """Remove the client address and identifying headers from public tip requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_anonymous_path(scope.get("path", "")):
            scope["client"] = None
            scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() not in IDENTIFYING_HEADERS]
        await self.app(scope, receive, send)


class DropAnonymousAccessLog(logging.Filter):
    """Drop uvicorn access-log records of public tip paths (args: client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return not is_anonymous_path(args[2].split("?", 1)[0])
        return True


def install_access_log_filter() -> None:
    """Add :class:`DropAnonymousAccessLog` to the ``uvicorn.access`` logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropAnonymousAccessLog) for f in logger.filters):
        logger.addFilter(DropAnonymousAccessLog())
