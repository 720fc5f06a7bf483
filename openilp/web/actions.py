"""One place where the web shell turns a service's refusal into what the user sees.

Services raise the errors of :mod:`openilp.errors` (their unit of work has already rolled the
action back and kept any audited refusal). The web shell maps them in two ways only:

* **JSON API and plain pages**: routes simply call the service. The app's exception handler
  (:func:`install_service_error_handler`) answers a :class:`~openilp.errors.ServiceError` with its
  status code (400, 403, 404, 409) and message: JSON under ``/api/``, the error page elsewhere.
* **Forms**: a page that shows the form again with the reason calls the service through
  :func:`attempt`, which returns an :class:`Outcome` instead of raising for the errors a user can
  fix (invalid input, a missing purpose, a refusal). "Not found" still raises (404 page).

>>> from openilp.errors import InvalidRequest
>>> def refuse() -> int:
...     raise InvalidRequest("cell size must be positive")
>>> outcome = attempt(refuse)
>>> outcome.ok, outcome.error, outcome.status_code
(False, 'cell size must be positive', 400)
>>> attempt(lambda: 42).value
42
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from openilp.errors import NotFound, ServiceError, ViewFromAnotherSite, status_code_for

__all__ = ["Outcome", "attempt", "install_service_error_handler", "SHOWN_ON_FORMS"]

T = TypeVar("T")

#: Errors a form shows next to its fields (the user can fix them); anything else propagates.
SHOWN_ON_FORMS: tuple[type[BaseException], ...] = (ServiceError, ValueError, PermissionError)

_TITLES = {400: "Bad request", 403: "Not permitted", 404: "Not found", 409: "Conflict"}


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a service call gave a form: its value, or the message and status of its refusal (and the
    form field at fault, when the refusal names one)."""

    value: T | None = None
    error: str | None = None
    status_code: int = 200
    field: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def attempt(action: Callable[[], T]) -> Outcome[T]:
    """Run ``action``; a refusal the user can fix becomes ``Outcome(error=…)``, "not found" raises."""
    try:
        return Outcome(value=action())
    except (NotFound, ViewFromAnotherSite):
        raise
    except SHOWN_ON_FORMS as exc:
        field = getattr(exc, "field", "")
        return Outcome(error=str(exc), status_code=status_code_for(exc), field=field if isinstance(field, str) else "")


def install_service_error_handler(app: FastAPI) -> None:
    """Answer every uncaught :class:`~openilp.errors.ServiceError` with its status and message."""
    from openilp.web.auth import is_api_path
    from openilp.web.rendering import render

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        status = status_code_for(exc)
        if is_api_path(request.url.path):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        # A view opened from another site's link: the same address, opened from here, proceeds.
        again = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        link = again if isinstance(exc, ViewFromAnotherSite) else None
        return render(
            request, "error.html", status_code=status, title=_TITLES.get(status, "Error"), message=str(exc), link=link
        )
