"""A limit on the size of request bodies, enforced before they are read.

Without it a client can send a 50 MB body and have it parsed, validated and echoed back in a
422. :class:`BodySizeLimitMiddleware` answers 413 at once when the declared ``Content-Length`` is
over the limit (nothing of the body is read), and stops a body sent without a length (chunked)
as soon as it passes the limit. Uploads (``multipart/form-data``: the tip form's photos) get the
larger ``max_upload_bytes``, everything else ``max_body_bytes``.

>>> limit_for({"headers": [(b"content-type", b"multipart/form-data; boundary=x")]}, 100, 1000)
1000
>>> limit_for({"headers": [(b"content-type", b"application/json")]}, 100, 1000)
100
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimitMiddleware", "limit_for"]


def limit_for(scope: Scope, max_body_bytes: int, max_upload_bytes: int) -> int:
    """The byte limit of the request in ``scope``: uploads get the larger one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return max_upload_bytes if value.lower().startswith(b"multipart/form-data") else max_body_bytes
    return max_body_bytes


def _too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit:,} bytes."


class BodySizeLimitMiddleware:
    """413 for request bodies over the limit (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        if max_body_bytes < 1 or max_upload_bytes < 1:
            raise ValueError("body size limits must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope, self.max_body_bytes, self.max_upload_bytes)
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, 400, "The Content-Length header is not a number.")
                return
            if int(declared) > limit:
                await self._refuse(send, 413, _too_large_message(limit))
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the body read: FastAPI passes HTTPException through its body
                    # parsing, and the app's error handler answers 413.
                    raise HTTPException(413, _too_large_message(limit))
            return message

        await self.app(scope, counting_receive, send)

    @staticmethod
    async def _refuse(send: Send, status: int, message: str) -> None:
        body = json.dumps({"detail": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
