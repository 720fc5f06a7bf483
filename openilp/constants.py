"""Constants shared by the services and the shells, in a module that imports nothing heavy.

The command line builds its options (defaults, help texts) from these at start-up, before any
command runs, so they must not pull in numpy, pandas, SQLAlchemy or the services. The services
re-export them under their historical names (e.g. ``nearrepeat_service.DEFAULT_SPACE_BANDS_M``).
"""

from __future__ import annotations

__all__ = [
    "AGREEMENT_SCOPES",
    "AREA_LEVELS",
    "AUDIT_MAX_PAGE_SIZE",
    "CATEGORY_SETS",
    "DEFAULT_FORECAST_METHOD",
    "DEFAULT_SPACE_BANDS_M",
    "DEFAULT_TIME_BANDS_DAYS",
    "FORECAST_METHODS",
]

#: The forecasting method used when none is named (command line, web pages, JSON API, service
#: requests, patrol plans): ``toprank``, long-memory rates with a near-repeat boost tuned on past
#: weeks for the top 1-2 % of the city, which leads the tuned blend and the naive counts at 1 %, 2 %
#: and 5 % on Chicago, St. Louis and Vancouver burglary (docs/forecasting.md, "The top 1-2 %").
DEFAULT_FORECAST_METHOD = "toprank"
#: The forecasting methods, in the order the shells list them.
FORECAST_METHODS: tuple[str, ...] = ("naive", "kde", "prospective", "sepp", "learned", "blend", "toprank")

#: Upper edges of the Knox distance bands, metres (near-repeat analysis default).
DEFAULT_SPACE_BANDS_M: tuple[float, ...] = (100.0, 200.0, 300.0, 400.0, 500.0)
#: Upper edges of the Knox time bands, days (near-repeat analysis default).
DEFAULT_TIME_BANDS_DAYS: tuple[float, ...] = (7.0, 14.0, 21.0, 28.0, 35.0, 42.0)

#: Area levels trend alerts are computed for (columns of the incidents table).
AREA_LEVELS: tuple[str, ...] = ("neighbourhood", "district", "beat")

#: Largest number of audit entries one page or API call returns.
AUDIT_MAX_PAGE_SIZE = 500

#: What an intelligence sharing agreement covers, in the order forms offer it.
AGREEMENT_SCOPES: dict[str, str] = {
    "releases_and_search": "Releases, and full search hits on open records",
    "releases": "Releases only (search shows the partner a pointer)",
}

#: The categories the backtest reports, as category codes or crime groups of the store.
CATEGORY_SETS: dict[str, tuple[str, ...]] = {
    "burglary": ("burglary",),
    "robbery": ("robbery",),
    "motor_vehicle_theft": ("motor_vehicle_theft",),
    "violent": ("violent",),
    "property": ("property",),
}
