"""Errors of the intelligence workflows; the web layer maps them to 403, 404 and 400."""

from __future__ import annotations

__all__ = ["IntelForbidden", "IntelNotFound", "PurposeRequired", "RecordedRefusal"]


class IntelForbidden(PermissionError):
    """The user may not do this (role, agency, training, two-person rule, missing agreement)."""


class IntelNotFound(LookupError):
    """No such item, or one the user may not know exists (the same answer on purpose)."""


class PurposeRequired(ValueError):
    """A read, search or release without a stated purpose; the refusal has been audited."""


class RecordedRefusal(IntelForbidden):
    """A refusal that changed the store (a counter, a lock, an audit entry): commit before answering."""
