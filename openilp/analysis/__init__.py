"""Crime analysis: pure numerics over numpy arrays and data frames.

Nothing here imports the database, the web app or the CLI: functions take coordinates in
metres (the agency's projected CRS), times as numpy datetime64 or days, and return arrays,
frames or small result objects. Services load incidents and call these; the CLI and web
app show the results.

The names below are imported on first use (PEP 562), so that a service needing one module (trend
alerts, say) does not load numba for the Knox kernel or statsmodels for the assessment models:
that alone is about 200 MB of a process's memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    # Spatial units and hot spots (grids, polygons, weights, KDE, Getis-Ord Gi*).
    "PolygonAreas": "openilp.analysis.areas",
    "HexGrid": "openilp.analysis.grids",
    "SquareGrid": "openilp.analysis.grids",
    "GiStarResult": "openilp.analysis.hotspots",
    "benjamini_hochberg": "openilp.analysis.hotspots",
    "gi_star": "openilp.analysis.hotspots",
    "hotspot_stability": "openilp.analysis.hotspots",
    "rate_per_1000_residents": "openilp.analysis.hotspots",
    "rate_per_km2": "openilp.analysis.hotspots",
    "default_bandwidth_m": "openilp.analysis.kde",
    "kernel_density": "openilp.analysis.kde",
    "SpatialWeights": "openilp.analysis.weights",
    # Near repeats (Knox test and alerts) and CompStat trend alerts.
    "KnoxTest": "openilp.analysis.nearrepeat",
    "event_days": "openilp.analysis.nearrepeat",
    "knox_counts_bruteforce": "openilp.analysis.nearrepeat",
    "alert_zones": "openilp.analysis.nearrepeat_alerts",
    "alerts_geojson": "openilp.analysis.nearrepeat_alerts",
    "elevated_bands": "openilp.analysis.nearrepeat_alerts",
    "near_repeat_alerts": "openilp.analysis.nearrepeat_alerts",
    "etest_pvalue": "openilp.analysis.trends",
    "poisson_z": "openilp.analysis.trends",
    "trend_alerts": "openilp.analysis.trends",
}

__all__ = [
    "GiStarResult",
    "HexGrid",
    "KnoxTest",
    "PolygonAreas",
    "SpatialWeights",
    "SquareGrid",
    "alert_zones",
    "alerts_geojson",
    "benjamini_hochberg",
    "default_bandwidth_m",
    "elevated_bands",
    "etest_pvalue",
    "event_days",
    "gi_star",
    "hotspot_stability",
    "kernel_density",
    "knox_counts_bruteforce",
    "near_repeat_alerts",
    "poisson_z",
    "rate_per_1000_residents",
    "rate_per_km2",
    "trend_alerts",
]

if TYPE_CHECKING:
    from openilp.analysis.areas import PolygonAreas
    from openilp.analysis.grids import HexGrid, SquareGrid
    from openilp.analysis.hotspots import (
        GiStarResult,
        benjamini_hochberg,
        gi_star,
        hotspot_stability,
        rate_per_1000_residents,
        rate_per_km2,
    )
    from openilp.analysis.kde import default_bandwidth_m, kernel_density
    from openilp.analysis.nearrepeat import KnoxTest, event_days, knox_counts_bruteforce
    from openilp.analysis.nearrepeat_alerts import alert_zones, alerts_geojson, elevated_bands, near_repeat_alerts
    from openilp.analysis.trends import etest_pvalue, poisson_z, trend_alerts
    from openilp.analysis.weights import SpatialWeights


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'openilp.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
