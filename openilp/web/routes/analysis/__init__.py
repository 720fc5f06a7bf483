"""Analysis in the web app: hot spots, near repeats, trends, forecasts and deployment lists.

Mirrors :mod:`openilp.services.analysis`: each module holds the JSON API and the page of one
analysis, both thin over the same service call (:mod:`~openilp.web.routes.analysis.common` holds
what they share).

* :mod:`~openilp.web.routes.analysis.hotspots` — ``/api/v1/analysis/hotspots.*``, ``/analysis/hotspots``;
* :mod:`~openilp.web.routes.analysis.nearrepeat` — ``/api/v1/analysis/knox.*``,
  ``/api/v1/analysis/near-repeat-alerts.geojson``, ``/analysis/near-repeat``;
* :mod:`~openilp.web.routes.analysis.trends` — ``/api/v1/analysis/trends.*``, ``/analysis/trends``;
* :mod:`~openilp.web.routes.analysis.forecast` — ``/api/v1/forecast/weekly.geojson``, ``/forecast``;
* :mod:`~openilp.web.routes.analysis.tasking` — ``/api/v1/deploy.json``, ``/deploy``, ``/deploy/print``;
* :mod:`~openilp.web.routes.analysis.civil_rights` — ``/api/v1/civil-rights/concentration.json``,
  ``/civil-rights/concentration``, ``/api/v1/civil-rights/feedback.json``, ``/civil-rights/feedback``;
* ``/api/v1/jobs/{job_id}`` — progress of the analyses the pages run in the background
  (:func:`~openilp.web.routes.analysis.common.run_in_background`).
"""

from fastapi import APIRouter

from openilp.web.routes.analysis import civil_rights, forecast, hotspots, nearrepeat, tasking, trends
from openilp.web.routes.analysis.common import jobs_api

__all__ = ["ROUTERS"]

#: The routers in the order the app includes them (each API before its pages).
ROUTERS: tuple[APIRouter, ...] = (
    hotspots.api,
    nearrepeat.api,
    trends.api,
    hotspots.pages,
    nearrepeat.pages,
    trends.pages,
    forecast.api,
    forecast.pages,
    tasking.api,
    tasking.pages,
    civil_rights.api,
    civil_rights.pages,
    jobs_api,
)
