"""A rate limit for the anonymous write paths (tip submission, tip follow-ups, sign-in attempts).

Anyone can post a tip without signing in, so a script could flood the store or tie up the
workers. Members of the public are anonymous by design (:mod:`openilp.web.privacy` removes their
address before any code sees it), so the limit cannot be per person: it is one token bucket for
all anonymous writes together, refilled at ``public_rate_per_s`` tokens a second up to
``public_burst``. A request that finds the bucket empty is answered at once with 429 and a
``Retry-After`` header, before its body is read, so an attacker costs the server almost nothing.
Reads (GET) and signed-in staff are not limited here. Sign-in attempts share the same bucket,
on top of the per-account lockout.

>>> bucket = TokenBucket(rate_per_s=1.0, burst=2, clock=iter([0.0, 0.0, 0.0, 0.5, 1.0]).__next__)
>>> [bucket.take() for _ in range(5)]
[0.0, 0.0, 1.0, 0.5, 0.0]
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from openilp.web.privacy import is_anonymous_path

__all__ = ["TokenBucket", "AnonymousRateLimitMiddleware", "LIMITED_METHODS", "SIGN_IN_PATHS"]

#: Methods that write (and cost): only these are limited.
LIMITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Paths outside the anonymous prefixes whose writes come from people not yet signed in.
SIGN_IN_PATHS = frozenset({"/login", "/login/totp", "/api/v1/login"})


def monotonic_now() -> float:
    """Seconds on the monotonic clock: the buckets' default clock (looked up at each call, so tests can stop it)."""
    return time.monotonic()


class TokenBucket:
    """A thread-safe token bucket: ``take()`` returns 0.0 when a token was taken, else the seconds to wait."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] | None = None) -> None:
        if not (rate_per_s > 0 and burst >= 1):
            raise ValueError("the rate must be positive and the burst at least 1")
        self.rate_per_s = float(rate_per_s)
        self.burst = int(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated: float | None = None
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = (self._clock or monotonic_now)()
            if self._updated is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate_per_s


class AnonymousRateLimitMiddleware:
    """429 for anonymous writes once the shared bucket is empty (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, rate_per_s: float, burst: int, clock: Callable[[], float] | None = None):
        self.app = app
        self.bucket = TokenBucket(rate_per_s, burst, clock)

    @staticmethod
    def limited(scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method", "GET") not in LIMITED_METHODS:
            return False
        path = scope.get("path", "")
        return is_anonymous_path(path) or path in SIGN_IN_PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limited(scope):
            wait = self.bucket.take()
            if wait > 0:
                body = b'{"detail":"Too many requests: please try again in a moment."}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 429,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(max(1, math.ceil(wait))).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
