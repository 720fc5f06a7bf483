"""Errors of the intelligence workflows, within the one error family of :mod:`openilp.errors`.

The shells map them like every service error: 400 rule broken or purpose missing, 403 not
permitted, 404 not found (:func:`openilp.errors.status_code_for`).
"""

from __future__ import annotations

from openilp.errors import NotFound, NotPermitted, PurposeRequired

__all__ = ["IntelForbidden", "IntelNotFound", "PurposeRequired"]


class IntelForbidden(NotPermitted):
    """The user may not do this (role, agency, training, two-person rule, missing agreement)."""


class IntelNotFound(NotFound):
    """No such item, or one the user may not know exists (the same answer on purpose)."""
