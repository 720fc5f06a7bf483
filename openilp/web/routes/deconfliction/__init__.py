"""Officer-safety deconfliction: the JSON API under ``/api/v1/deconfliction``.

A thin adapter over :mod:`openilp.services.deconfliction` (the same calls as ``openilp
deconflict``): submit an event and get its conflicts, list the agency's events, cancel or end one.
The planning page (``/deconfliction``) and the watch centre's page (``/deconfliction/watch``) call
the same services. Planning needs ``deconfliction:submit``, the watch centre ``deconfliction:watch``,
an exigency waiver ``deconfliction:waive``.
"""

from openilp.web.routes.deconfliction import api as api_routes
from openilp.web.routes.deconfliction import pages as page_routes

__all__ = ["api", "pages"]

api = api_routes.router
pages = page_routes.router
