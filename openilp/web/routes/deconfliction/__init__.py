"""Officer-safety deconfliction: the JSON API under ``/api/v1/deconfliction``.

A thin adapter over :mod:`openilp.services.deconfliction` (the same calls as ``openilp
deconflict``): submit an event and get its conflicts, list the agency's events, cancel or end one.
All need ``deconfliction:submit``.
"""

from openilp.web.routes.deconfliction import api as api_routes

__all__ = ["api"]

api = api_routes.router
