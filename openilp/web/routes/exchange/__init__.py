"""Exchange downloads: the JSON API's ``/api/v1/exports`` (a thin adapter over :mod:`openilp.services.exchange`)."""

from openilp.web.routes.exchange import api as api_routes

__all__ = ["api"]

api = api_routes.router
