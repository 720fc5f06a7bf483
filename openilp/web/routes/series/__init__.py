"""Crime series: the JSON API under ``/api/v1/series`` and the pages under ``/series``.

Thin adapters over :mod:`openilp.services.series`: a page and its API endpoint call the same
service function with the same request. Reading needs ``series:read``, saving ``series:write``,
confirming or rejecting ``series:review``; every form carries the CSRF token.

* :mod:`~openilp.web.routes.series.api` — similar incidents, possible series, saved series, review;
* :mod:`~openilp.web.routes.series.pages` — the list with the possible-series alerts, "crimes like
  this one" with its map and timeline, one saved series with its review form.
"""

from openilp.web.routes.series import api as api_routes
from openilp.web.routes.series import pages as page_routes

__all__ = ["api", "pages"]

api = api_routes.router
pages = page_routes.router
