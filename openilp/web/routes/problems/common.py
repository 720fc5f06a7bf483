"""What the problem routes share: the permission dependencies and the redirect after a form."""

from __future__ import annotations

from fastapi.responses import RedirectResponse

from openilp.web.auth import require
from openilp.web.params import Id

__all__ = ["READ", "WRITE", "to_problem"]

READ = require("problems:read")
WRITE = require("problems:write")


def to_problem(problem_id: Id) -> RedirectResponse:
    """Back to the problem's page after a form was accepted (303: the browser GETs it)."""
    return RedirectResponse(f"/problems/{problem_id}", status_code=303)
