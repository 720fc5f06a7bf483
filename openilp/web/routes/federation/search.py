"""The analyst's federated search: ``POST /api/v1/federation/search`` and the page ``/federation/search``.

Both call :func:`openilp.services.federation.federated_search` (the same call as ``openilp
federation search``): every partner instance is asked in parallel, and the answer names the
partners that did not answer in time. Needs ``intel:search`` and a stated purpose.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.federation import FederatedSearchRequest, federated_search
from openilp.services.federation.search import SEARCH_KINDS
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render

__all__ = ["api", "pages"]

_CORE = Depends(get_core)
SEARCH_DEP = Depends(require("intel:search"))

api = APIRouter(prefix="/api/v1/federation", tags=["federation"])
pages = APIRouter(tags=["federation"])


class FederatedSearchIn(BaseModel):
    """What to look for across the partner instances, and why."""

    kind: str = Field("person", max_length=20)
    query: str = Field(max_length=200)
    purpose: str = Field(max_length=500)


@api.post("/search")
def api_search(payload: FederatedSearchIn, user: UserInfo = SEARCH_DEP, core: OpenILP = _CORE) -> dict[str, Any]:
    """Ask every partner instance; hits are summaries (open) or pointers (agency name only)."""
    return federated_search(core, user, FederatedSearchRequest(payload.kind, payload.query, payload.purpose)).as_dict()


def _page(request: Request, user: UserInfo, **values: Any) -> Response:
    values.setdefault("kind", "person")
    values.setdefault("query", "")
    values.setdefault("purpose", "")
    values.setdefault("result", None)
    values.setdefault("error", None)
    return render(
        request,
        "federation/search.html",
        user=user,
        status_code=400 if values["error"] else 200,
        kinds=list(SEARCH_KINDS),
        **values,
    )


@pages.get("/federation/search", response_class=HTMLResponse)
def search_form(request: Request, user: UserInfo = SEARCH_DEP) -> Response:
    """The form: what to look for, and the purpose recorded with the search."""
    return _page(request, user)


@pages.post("/federation/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    csrf_token: str = Form(""),
    kind: str = Form("person", max_length=20),
    q: str = Form("", max_length=1000),
    purpose: str = Form("", max_length=1000),
    user: UserInfo = SEARCH_DEP,
    core: OpenILP = _CORE,
) -> Response:
    """Ask every partner instance; show what came back and who did not answer."""
    check_csrf(request, csrf_token)
    outcome = attempt(lambda: federated_search(core, user, FederatedSearchRequest(kind, q, purpose)))
    if outcome.value is None:
        return _page(request, user, kind=kind, query=q, purpose=purpose, error=outcome.error)
    result = outcome.value
    return _page(request, user, kind=result.kind, query=result.query, purpose=result.purpose, result=result.as_dict())
