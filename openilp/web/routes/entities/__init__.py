"""Entities: the JSON API under ``/api/v1/entities`` and the pages under ``/entities`` (thin over
:mod:`openilp.services.entities`).

Searching and reading need ``entities:read`` and return only the mentions the user may see
(28 CFR Part 23); the review queue and decisions need ``entities:review``.
"""

from openilp.web.routes.entities import api as api_routes
from openilp.web.routes.entities import pages as page_routes

__all__ = ["api", "pages"]

api = api_routes.router
pages = page_routes.router
