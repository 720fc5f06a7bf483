"""Error responses: JSON for the API, an HTML page for everything else."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from openilp.web.actions import install_service_error_handler
from openilp.web.auth import NotSignedIn, is_api_path, login_redirect_target
from openilp.web.rendering import render

__all__ = ["MAX_ECHO_CHARS", "capped_text", "install_error_handlers", "validation_errors"]

_TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not permitted",
    404: "Not found",
    405: "Method not allowed",
    422: "Bad request",
}


#: Echoed input is cut to this many characters, then "…".
MAX_ECHO_CHARS = 200


def capped_text(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``value`` as text fit to echo: bytes decoded, lone surrogates replaced, cut to ``limit`` characters + "…".

    >>> capped_text(b"\\xff" + b"a" * 300)[-3:], len(capped_text("x" * 300))
    ('aa…', 201)
    >>> capped_text("a\\ud800b")
    'a?b'
    """
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: limit * 4]).decode("utf-8", errors="replace")
    else:
        text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "…"


def _echo(value: Any) -> Any:
    """A JSON-safe, bounded copy of a validation error's input."""
    if value is None or isinstance(value, bool | int | float):
        return value if not isinstance(value, int) or abs(value) < 2**63 else capped_text(value)
    return capped_text(value)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """The errors of ``exc`` as JSON: where, what and the input (capped), nothing else.

    Pydantic's ``input`` may be bytes (a body that was not JSON) or a whole 50 MB body, and its
    ``ctx`` may hold exception objects; none of that may reach the response unfiltered.
    """
    errors = []
    for error in exc.errors():
        entry: dict[str, Any] = {
            "type": str(error.get("type", "")),
            "loc": [p if isinstance(p, int) else capped_text(p, 100) for p in error.get("loc", ())],
            "msg": capped_text(error.get("msg", "invalid value"), 500),
        }
        if "input" in error:
            entry["input"] = _echo(error["input"])
        errors.append(entry)
    return errors


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error["loc"] if p not in ("query", "body"))
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app`` (service refusals: :mod:`openilp.web.actions`)."""
    install_service_error_handler(app)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if is_api_path(request.url.path):
            return JSONResponse({"detail": "Sign in required."}, status_code=401)
        return RedirectResponse(login_redirect_target(request.url.path, request.url.query), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if is_api_path(request.url.path):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        title = _TITLES.get(exc.status_code, "Error")
        return render(request, "error.html", status_code=exc.status_code, title=title, message=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc)
        message = _validation_message(errors)
        if is_api_path(request.url.path):
            return JSONResponse({"detail": message, "errors": errors}, status_code=422)
        return render(request, "error.html", status_code=422, title="Bad request", message=message)
