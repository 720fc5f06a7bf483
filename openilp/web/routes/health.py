"""``/healthz``: liveness and database reachability, for load balancers (no sign-in)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openilp.web.context import get_core

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(request: Request) -> JSONResponse:
    """200 ``{"status": "ok"}`` when the database answers, else 503. Reveals nothing else."""
    if not get_core(request).store_reachable():
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
