"""Security headers added to every response, and the Content-Security-Policy they carry.

The policy allows only this origin (scripts, styles, images, fetches), plus the tile server's
origin for images when ``tile_url`` is set. Framing is forbidden (clickjacking), MIME sniffing
is off, and signed-in pages are never cached.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeadersMiddleware", "content_security_policy", "tile_origin"]


def tile_origin(tile_url: str) -> str:
    """The CSP source for a tile URL template.

    ``{s}`` subdomain placeholders become a wildcard label.

    >>> tile_origin("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    'https://*.tile.openstreetmap.org'
    >>> tile_origin("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png")
    'http://127.0.0.1:8080'
    """
    parts = urlsplit(tile_url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"tile_url must be an http(s) URL template, got {tile_url!r}")
    if "{" in parts.netloc or ("*" in parts.netloc and not parts.netloc.startswith("*.")):
        raise ValueError(f"tile_url may use a placeholder only as the first host label: {tile_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(tile_url: str = "") -> str:
    """The Content-Security-Policy header value (``tile_url`` adds the tile origin to img-src)."""
    images = "'self' data:" + (f" {tile_origin(tile_url)}" if tile_url else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """ASGI middleware adding security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, *, tile_url: str = "", https_only: bool = False) -> None:
        self.app = app
        headers = {
            "content-security-policy": content_security_policy(tile_url),
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
            "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
            "cross-origin-opener-policy": "same-origin",
            "cross-origin-resource-policy": "same-origin",
        }
        if https_only:
            headers["strict-transport-security"] = "max-age=31536000"
        self.headers = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                if not is_static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
