"""What the analysis routes share: the permission, query parameters, page outcomes, downloads.

A page and its API endpoint build the same service request from the same query parameters and
call the same service with the core and the signed-in user; the service checks the role and the
agency, validates the request (400 with the reason) and caches the result. Pages run the service
through :func:`run_for_page`: "nothing matches" becomes a notice beside the form (200), any other
refusal an error message (400). Pages whose analysis can take long run it through
:func:`run_in_background`: when it is not done within ``page_wait_ms`` the page answers with a
progress bar that polls ``/api/v1/jobs/{job_id}`` and reloads itself when the job ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response

from openilp.core import OpenILP
from openilp.core.jobs import ProgressFn
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import NoEventsError
from openilp.web.actions import attempt
from openilp.web.auth import current_user, require
from openilp.web.context import get_core
from openilp.web.rendering import render

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
    "jobs_api",
    "run_for_page",
    "run_in_background",
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


def run_in_background(
    request: Request, core: OpenILP, user: UserInfo, action: Callable[[ProgressFn], T], *, title: str
) -> PageRun[T] | Response:
    """:func:`run_for_page` on a worker thread: its outcome when it ends within ``page_wait_ms``, else a
    progress page (``title`` names the work) that polls the job and reloads the page when it is done.

    The job is keyed by the user and the page's URL, so a reload joins the running job, and a page
    asked for twice computes once.
    """
    job = core.jobs.submit(
        (user.id, str(request.url)), str(user.id), lambda progress: run_for_page(lambda: action(progress))
    )
    if job.wait(core.settings.page_wait_ms / 1000.0):
        core.jobs.forget(job)
        if job.error is not None:
            raise job.error
        outcome: PageRun[T] = job.result
        return outcome
    return render(request, "analysis/working.html", user=user, job=job.as_dict(), title=title, status_code=202)


jobs_api = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@jobs_api.get("/{job_id}")
def job_status(
    job_id: str, user: UserInfo = Depends(current_user), core: OpenILP = Depends(get_core)
) -> dict[str, object]:
    """State and progress of a background job the signed-in user started (404 for anyone else's)."""
    job = core.jobs.get(job_id, str(user.id)) if len(job_id) <= 64 else None
    if job is None:
        raise HTTPException(status_code=404, detail="no such job (it may have finished long ago): reload the page")
    return job.as_dict()
