"""The errors every OpenILP workflow raises, shared by the library, the services and both shells.

A service refuses a request by raising one of these; the shells translate them, never the
services: the web app maps them to a status code or a page with the message
(:mod:`openilp.web.actions`), the command line prints the message and exits non-zero. The
messages are written for the person who asked: what is wrong and how to fix it.

This module imports nothing from the package, so every layer may use it.

>>> issubclass(NotFound, LookupError), issubclass(InvalidRequest, ValueError)
(True, True)
>>> status_code_for(PurposeRequired("state a purpose"))
400
"""

from __future__ import annotations

__all__ = [
    "ServiceError",
    "InvalidRequest",
    "PurposeRequired",
    "NotPermitted",
    "NotFound",
    "Conflict",
    "status_code_for",
    "ViewFromAnotherSite",
]


class ServiceError(Exception):
    """Base of every refusal a workflow gives on purpose (not a bug): the message is for the user."""

    #: The HTTP status the web app answers with.
    status_code: int = 400


class InvalidRequest(ServiceError, ValueError):
    """A parameter is missing, malformed or out of range; the message names it and the fix."""

    status_code = 400


class PurposeRequired(InvalidRequest):
    """A read, search or release without a stated purpose; the refusal has been audited."""


class NotPermitted(ServiceError, PermissionError):
    """The actor may not do this (role, agency, training, two-person rule, missing agreement)."""

    status_code = 403


class ViewFromAnotherSite(NotPermitted):
    """A view that would be audited in the viewer's name was opened from a link on another site.

    The unit of work refuses to record such a read or search (see
    :func:`openilp.core.unit_of_work.navigation_from_another_site`): another site could otherwise
    write entries into the audit log in the name of whoever follows its link. Opened again from
    OpenILP itself, the view proceeds and is audited as usual.
    """


class NotFound(ServiceError, LookupError):
    """No such item, or one the actor may not know exists (the same answer on purpose)."""

    status_code = 404


class Conflict(ServiceError):
    """The request clashes with the current state (a duplicate, a stale version)."""

    status_code = 409


def status_code_for(error: BaseException) -> int:
    """The HTTP status for ``error``: its own for a :class:`ServiceError`, 400 for a plain ValueError."""
    if isinstance(error, ServiceError):
        return error.status_code
    if isinstance(error, PermissionError):
        return 403
    if isinstance(error, LookupError):
        return 404
    if isinstance(error, ValueError):
        return 400
    return 500
