"""Networks and link charts: the JSON API under ``/api/v1/networks`` and the page ``/networks``.

Thin adapters over :mod:`openilp.services.networks`: the page draws what the API returns, and the
API and the exports call the same service function with the same request. Reading needs
``networks:read``; each viewer sees only the nodes and links of records they may read.

* :mod:`~openilp.web.routes.networks.api` — the chart as JSON, and its GraphML / Analyst's Notebook export;
* :mod:`~openilp.web.routes.networks.pages` — the link chart (Cytoscape.js, built from npm);
* :mod:`~openilp.web.routes.networks.designations` — gang and enterprise designations: list, form, review.
"""

from openilp.web.routes.networks import api as api_routes
from openilp.web.routes.networks import designations as designation_routes
from openilp.web.routes.networks import pages as page_routes

__all__ = ["api", "designations_api", "designations_pages", "pages"]

api = api_routes.router
pages = page_routes.router
designations_api = designation_routes.api
designations_pages = designation_routes.pages
