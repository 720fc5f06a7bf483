"""Error responses: JSON for the API, an HTML page for everything else."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from openilp.web.actions import install_service_error_handler
from openilp.web.auth import NotSignedIn, is_api_path, login_redirect_target
from openilp.web.rendering import render

__all__ = ["install_error_handlers"]

_TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not permitted",
    404: "Not found",
    405: "Method not allowed",
    422: "Bad request",
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body"))
        parts.append(f"{location}: {error.get('msg', 'invalid value')}")
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
        message = _validation_message(exc)
        if is_api_path(request.url.path):
            return JSONResponse({"detail": message, "errors": exc.errors()}, status_code=422)
        return render(request, "error.html", status_code=422, title="Bad request", message=message)
