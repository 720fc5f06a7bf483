"""Networks and link charts: the JSON API under ``/api/v1/networks`` and the page ``/networks``.

Thin adapters over :mod:`openilp.services.networks`: the page draws what the API returns, and the
API and the exports call the same service function with the same request. Reading needs
``networks:read``; each viewer sees only the nodes and links of records they may read.

* :mod:`~openilp.web.routes.networks.api` — the chart as JSON, and its GraphML / Analyst's Notebook export;
* :mod:`~openilp.web.routes.networks.pages` — the link chart (Cytoscape.js, built from npm).
"""

from openilp.web.routes.networks import api as api_routes
from openilp.web.routes.networks import pages as page_routes

__all__ = ["api", "pages"]

api = api_routes.router
pages = page_routes.router
