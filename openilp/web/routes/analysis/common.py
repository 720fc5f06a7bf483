"""What the analysis routes share: the permission, query parameters, page outcomes, downloads.

A page and its API endpoint build the same service request from the same query parameters and
call the same service with the core and the signed-in user; the service checks the role and the
agency, validates the request (400 with the reason) and caches the result. Pages run the service
through :func:`run_for_page`: "nothing matches" becomes a notice beside the form (200), any other
refusal an error message (400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Depends, Query
from fastapi.responses import PlainTextResponse

from openilp.security.actors import UserInfo
from openilp.services.analysis.common import NoEventsError
from openilp.web.actions import attempt
from openilp.web.auth import require

__all__ = [
    "CATEGORY",
    "CSV",
    "DATE_FROM",
    "DATE_TO",
    "GEOJSON",
    "PageRun",
    "READER",
    "SEED",
    "boundary_url",
    "csv_download",
    "run_for_page",
]

T = TypeVar("T")

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"

#: The signed-in user, when their role may read analyses (403 otherwise).
READER = Depends(require("analysis:read"))

# Query parameters shared by the endpoints and pages.
CATEGORY = Query(default=[], description="Category code or crime group; repeat for several; none = all.")
DATE_FROM = Query(default="", description="First day, YYYY-MM-DD, agency local time.")
DATE_TO = Query(default="", description="Last day (inclusive), YYYY-MM-DD.")
SEED = Query(default=0, ge=0, le=2**32 - 1, description="Seed of the permutations.")


@dataclass(frozen=True)
class PageRun(Generic[T]):
    """A service call made for a page: its value, or a notice (nothing matched), or an error and its status."""

    value: T | None = None
    notice: str | None = None
    error: str | None = None
    status_code: int = 200


def run_for_page(action: Callable[[], T]) -> PageRun[T]:
    """Run ``action`` for a page: refusals become messages (:func:`openilp.web.actions.attempt`)."""

    def guarded() -> tuple[T | None, str | None]:
        try:
            return action(), None
        except NoEventsError as exc:
            return None, str(exc)

    outcome = attempt(guarded)
    if outcome.value is None:
        return PageRun(error=outcome.error, status_code=outcome.status_code)
    value, notice = outcome.value
    return PageRun(value=value, notice=notice)


def csv_download(content: str, name: str) -> PlainTextResponse:
    """``content`` as a CSV attachment called ``name``."""
    return PlainTextResponse(content, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def boundary_url(user: UserInfo, has_layer: bool) -> str:
    """The URL of the user's agency boundary layer ('' when the agency has none)."""
    return f"/api/v1/boundaries/{user.agency_code}.geojson" if has_layer else ""
