"""Crime analysis: pure numerics over numpy arrays and data frames.

Nothing here imports the database, the web app or the CLI: functions take coordinates in
metres (the agency's projected CRS), times as numpy datetime64 or days, and return arrays,
frames or small result objects. Services load incidents and call these; the CLI and web
app show the results.
"""

# Spatial units and hot spots (grids, polygons, weights, KDE, Getis-Ord Gi*).
from openilp.analysis.areas import PolygonAreas  # noqa: E402, F401
from openilp.analysis.grids import HexGrid, SquareGrid  # noqa: E402, F401
from openilp.analysis.hotspots import (  # noqa: E402, F401
    GiStarResult,
    benjamini_hochberg,
    gi_star,
    hotspot_stability,
    rate_per_1000_residents,
    rate_per_km2,
)
from openilp.analysis.kde import default_bandwidth_m, kernel_density  # noqa: E402, F401
from openilp.analysis.weights import SpatialWeights  # noqa: E402, F401

# isort: split
# Near repeats (Knox test and alerts) and CompStat trend alerts.
from openilp.analysis.nearrepeat import KnoxTest, event_days, knox_counts_bruteforce  # noqa: E402, F401
from openilp.analysis.nearrepeat_alerts import (  # noqa: E402, F401
    alert_zones,
    alerts_geojson,
    elevated_bands,
    near_repeat_alerts,
)
from openilp.analysis.trends import etest_pvalue, poisson_z, trend_alerts  # noqa: E402, F401
