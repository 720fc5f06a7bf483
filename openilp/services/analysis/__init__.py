"""Crime analysis workflows over the store: every public function takes the core, the actor and one request.

* :mod:`~openilp.services.analysis.events` — incidents as analysis-ready event tables (where and when only);
* :mod:`~openilp.services.analysis.common` — who may ask, the agency, study areas, grids, limits, the cache;
* :mod:`~openilp.services.analysis.hotspots` — kernel density and Gi* hot spots;
* :mod:`~openilp.services.analysis.nearrepeat` — the Knox test and near-repeat alerts;
* :mod:`~openilp.services.analysis.trends` — CompStat trend alerts with drill-down;
* :mod:`~openilp.services.analysis.forecasting` — forecasts, backtests and this week's forecast;
* :mod:`~openilp.services.analysis.tasking` — a shift's deployment list and its disparity check;
* :mod:`~openilp.services.analysis.incidents` — the incident map and category lists;
* :mod:`~openilp.services.analysis.stats` — counts of the store by category, year and source.

The web routes mirror this package in :mod:`openilp.web.routes.analysis`; the command line's
``hotspots``, ``knox``, ``near-repeat-alerts``, ``trends`` (:mod:`openilp.cli.analysis`) and
``forecast``, ``backtest``, ``deploy`` (:mod:`openilp.cli.forecast`) call the same functions.
Submodules are imported where used (nothing is imported here), so a command loads only what it needs.
"""
