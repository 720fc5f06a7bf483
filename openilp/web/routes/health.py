"""``/healthz``: liveness and database reachability, for load balancers (no sign-in)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from openilp.web.context import get_context

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(request: Request) -> JSONResponse:
    """200 ``{"status": "ok"}`` when the database answers, else 503. Reveals nothing else."""
    try:
        with get_context(request).engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
