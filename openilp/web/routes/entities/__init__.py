"""Entities: the JSON API under ``/api/v1/entities`` (thin over :mod:`openilp.services.entities`).

Searching and reading need ``entities:read`` and return only the mentions the user may see
(28 CFR Part 23); the review queue and decisions need ``entities:review``.
"""

from openilp.web.routes.entities import api as api_routes

__all__ = ["api"]

api = api_routes.router
