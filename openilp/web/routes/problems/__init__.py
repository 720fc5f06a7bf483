"""Problems (SARA): the JSON API under ``/api/v1/problems`` and the pages under ``/problems``.

Thin adapters over :mod:`openilp.services.problems`: a page and its API endpoint call the same
service function with the same request. Reading needs ``problems:read``, changing
``problems:write``; every form carries the CSRF token. Refusals are the services' errors: the
app's handler answers the API with their status and message (400, 403, 404), and a form is shown
again with the reason (:func:`openilp.web.actions.attempt`).

* :mod:`~openilp.web.routes.problems.records_api` — open, list, read, change, stage, worksheet,
  notes, the map;
* :mod:`~openilp.web.routes.problems.response_api` — scanning, products, interventions,
  comparison areas, power check, assessment and its chart;
* :mod:`~openilp.web.routes.problems.views` — the list with the dashboard, the new-problem form
  with scanning, the detail page;
* :mod:`~openilp.web.routes.problems.forms` — the detail page's forms.
"""

from fastapi import APIRouter

from openilp.web.routes.problems import forms, records_api, response_api, views

__all__ = ["api", "pages"]

#: The JSON API (the scanning route comes before ``/{problem_id}``).
api = APIRouter()
api.include_router(response_api.scan_router)
api.include_router(records_api.router)
api.include_router(response_api.router)

#: The pages and their forms.
pages = APIRouter()
pages.include_router(views.router)
pages.include_router(forms.router)
