"""``/federation/v1/...``: calls from partner instances, authenticated only by their signature.

Each route reads the raw body (the signature covers its exact bytes), hands method, path, headers
and body to a service, and answers its JSON. A refused signature is 401 with the reason, audited
by the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from openilp.core import OpenILP
from openilp.errors import ServiceError, status_code_for
from openilp.services.deconfliction import answer_partner_check, answer_partner_closure
from openilp.services.federation import IncomingCall, answer_hello, answer_notice, answer_search
from openilp.web.context import get_core

__all__ = ["router", "PREFIX"]

PREFIX = "/federation/v1"

router = APIRouter(prefix=PREFIX, tags=["federation"], include_in_schema=False)


async def _call(request: Request) -> IncomingCall:
    query = request.url.query
    path = request.url.path + (f"?{query}" if query else "")
    return IncomingCall(request.method, path, dict(request.headers), await request.body())


async def _answer(
    service: Callable[[OpenILP, IncomingCall], dict[str, Any]], core: OpenILP, call: IncomingCall
) -> JSONResponse:
    try:
        payload = await run_in_threadpool(service, core, call)
    except (ServiceError, ValueError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=status_code_for(exc))
    return JSONResponse(payload)


@router.post("/hello")
async def hello(request: Request, core: OpenILP = Depends(get_core)) -> JSONResponse:
    """A partner checks that its key and clock are accepted: this instance's name and the caller."""
    return await _answer(answer_hello, core, await _call(request))


@router.post("/search")
async def search(request: Request, core: OpenILP = Depends(get_core)) -> JSONResponse:
    """A partner's federated search for a person, vehicle, phone or address (pointer-first)."""
    return await _answer(answer_search, core, await _call(request))


@router.post("/notices")
async def notices(request: Request, core: OpenILP = Depends(get_core)) -> JSONResponse:
    """A partner's correction or purge notice about a record this instance's users were shown."""
    return await _answer(answer_notice, core, await _call(request))


@router.post("/deconfliction/check")
async def deconfliction_check(request: Request, core: OpenILP = Depends(get_core)) -> JSONResponse:
    """A partner's planned event checked against this instance's active events (contacts only)."""
    return await _answer(answer_partner_check, core, await _call(request))


@router.post("/deconfliction/closed")
async def deconfliction_closed(request: Request, core: OpenILP = Depends(get_core)) -> JSONResponse:
    """A partner's notice that events it told this instance of were cancelled or ended."""
    return await _answer(answer_partner_closure, core, await _call(request))
