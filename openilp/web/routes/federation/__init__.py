"""Federation between OpenILP instances: the partner API and the analyst's federated search.

``partner`` is the router under ``/federation/v1``: partner instances call it, and it is
authenticated **only** by the Ed25519 signature of each request (never by a user session; the
sign-in gate lets the prefix through and every route checks the signature first). ``api`` and
``pages`` are the signed-in analyst's federated search (``/api/v1/federation/search``,
``/federation/search``).
"""

from openilp.web.routes.federation import partner_api as partner_routes
from openilp.web.routes.federation import search as search_routes

__all__ = ["partner", "api", "pages"]

partner = partner_routes.router
api = search_routes.api
pages = search_routes.pages
