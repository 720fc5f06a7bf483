"""Near-repeat alerts: the places and days at elevated risk after recent incidents.

A fitted Knox table (:meth:`openilp.analysis.nearrepeat.KnoxTest.table`) says, for each space
band × time band, how much more often than chance a second event follows a first one. Its
significant cells (p < ``alpha`` and Knox ratio ≥ ``min_ratio``, Ratcliffe's practical flag)
turn every recent incident into a set of *risk rings*: an annulus ``distance_from_m …
distance_to_m`` around the incident, elevated from ``incident_day + days_from`` until
``incident_day + days_to`` (exclusive), with the Knox ratio as the risk multiplier. This is the
"near-repeat alert" of Johnson et al. (2007) and of the Near Repeat Calculator's follow-up
practice (Ratcliffe 2009): warn the households around a burglary during the weeks its pattern
says risk stays high.

Geometry is returned in the metric coordinates given (the agency's projected CRS);
:func:`alerts_geojson` draws circles/annuli and can take any transformer with a
``transform(x, y)`` method (e.g. ``pyproj.Transformer.from_crs(crs, "EPSG:4326",
always_xy=True)``) to return longitude/latitude.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from openilp.analysis.nearrepeat import DEFAULT_MIN_RATIO

__all__ = ["alert_zones", "alerts_geojson", "elevated_bands", "near_repeat_alerts", "zone_members"]


class CoordinateTransformer(Protocol):
    """Anything with ``transform(x, y) -> (x2, y2)``, such as a ``pyproj.Transformer``."""

    def transform(self, xx: Any, yy: Any) -> tuple[Any, Any]: ...


_BAND_COLUMNS = ("distance_from_m", "distance_to_m", "days_from", "days_to", "knox_ratio", "p_value", "same_location")


def elevated_bands(
    knox_table: pd.DataFrame, *, alpha: float = 0.05, min_ratio: float = DEFAULT_MIN_RATIO
) -> pd.DataFrame:
    """The cells of a Knox table at elevated risk: p < ``alpha`` and Knox ratio ≥ ``min_ratio``.

    Examples
    --------
    >>> table = pd.DataFrame({"distance_from_m": [0.0, 100.0], "distance_to_m": [100.0, 200.0],
    ...     "days_from": [0.0, 0.0], "days_to": [7.0, 7.0], "knox_ratio": [1.8, 1.05],
    ...     "p_value": [0.001, 0.2], "same_location": [False, False]})
    >>> len(elevated_bands(table))
    1
    """
    missing = [c for c in _BAND_COLUMNS if c not in knox_table.columns]
    if missing:
        raise ValueError(f"knox_table lacks columns {missing}: pass KnoxTest.table()")
    keep = (knox_table["p_value"] < alpha) & (knox_table["knox_ratio"] >= min_ratio)
    return knox_table.loc[keep, list(_BAND_COLUMNS)].reset_index(drop=True)


def near_repeat_alerts(
    knox_table: pd.DataFrame,
    x_m: ArrayLike,
    y_m: ArrayLike,
    t_days: ArrayLike,
    as_of_day: float,
    *,
    incident_ids: ArrayLike | None = None,
    alpha: float = 0.05,
    min_ratio: float = DEFAULT_MIN_RATIO,
    origin: str | None = None,
) -> pd.DataFrame:
    """Risk rings still in force on ``as_of_day`` around each incident up to that day.

    Parameters
    ----------
    knox_table : DataFrame
        :meth:`KnoxTest.table` of the same kind of event (fitted on history).
    x_m, y_m : array_like of float
        Recent incidents, metres.
    t_days : array_like of float
        Their days, on the same scale as ``as_of_day`` (e.g. from :func:`event_days`).
    as_of_day : float
        Today. Incidents after it are ignored; rings already expired are left out.
    incident_ids : array_like, optional
        Identifiers carried to the output (default: position).
    alpha, min_ratio : float
        Which Knox cells count as elevated.
    origin : str, optional
        If given (e.g. ``"1970-01-01"``), adds ``risk_from_date`` and ``expires_date`` columns.

    Returns
    -------
    DataFrame
        One row per incident × elevated ring: ``incident_id, x_m, y_m, incident_day,
        distance_from_m, distance_to_m, risk_from_day, expires_day`` (exclusive),
        ``risk_multiplier`` (Knox ratio), ``active`` (in force on ``as_of_day``) and
        ``days_left``; sorted with the strongest active rings first.

    Examples
    --------
    >>> table = pd.DataFrame({"distance_from_m": [0.0], "distance_to_m": [200.0], "days_from": [0.0],
    ...     "days_to": [14.0], "knox_ratio": [1.6], "p_value": [0.001], "same_location": [False]})
    >>> alerts = near_repeat_alerts(table, [1000.0, 5000.0], [2000.0, 2000.0], [100.0, 80.0], 105.0)
    >>> alerts["incident_id"].tolist(), alerts["expires_day"].tolist(), alerts["days_left"].tolist()
    ([0], [114.0], [9.0])
    """
    x = np.asarray(x_m, dtype=float).ravel()
    y = np.asarray(y_m, dtype=float).ravel()
    t = np.asarray(t_days, dtype=float).ravel()
    if not (x.size == y.size == t.size):
        raise ValueError(f"x_m, y_m and t_days must have the same length, got {x.size}, {y.size}, {t.size}")
    ids = np.arange(x.size) if incident_ids is None else np.asarray(incident_ids).ravel()
    if ids.size != x.size:
        raise ValueError("incident_ids must have one entry per incident")
    bands = elevated_bands(knox_table, alpha=alpha, min_ratio=min_ratio)
    columns = [
        "incident_id",
        "x_m",
        "y_m",
        "incident_day",
        "distance_from_m",
        "distance_to_m",
        "same_location",
        "risk_from_day",
        "expires_day",
        "risk_multiplier",
        "active",
        "days_left",
    ]
    past = np.flatnonzero(np.isfinite(t) & (t <= as_of_day) & np.isfinite(x) & np.isfinite(y))
    if bands.empty or past.size == 0:
        return pd.DataFrame(columns=columns)
    inc = np.repeat(past, len(bands))
    band = np.tile(np.arange(len(bands)), past.size)
    start = t[inc] + bands["days_from"].to_numpy()[band]
    end = t[inc] + bands["days_to"].to_numpy()[band]
    frame = pd.DataFrame(
        {
            "incident_id": ids[inc],
            "x_m": x[inc],
            "y_m": y[inc],
            "incident_day": t[inc],
            "distance_from_m": bands["distance_from_m"].to_numpy()[band],
            "distance_to_m": bands["distance_to_m"].to_numpy()[band],
            "same_location": bands["same_location"].to_numpy()[band],
            "risk_from_day": start,
            "expires_day": end,
            "risk_multiplier": bands["knox_ratio"].to_numpy()[band],
        }
    )
    frame = frame[frame["expires_day"] > as_of_day].copy()
    frame["active"] = frame["risk_from_day"] <= as_of_day
    frame["days_left"] = frame["expires_day"] - as_of_day
    if origin is not None:
        base = pd.Timestamp(origin)
        frame["risk_from_date"] = base + pd.to_timedelta(frame["risk_from_day"], unit="D")
        frame["expires_date"] = base + pd.to_timedelta(frame["expires_day"], unit="D")
    frame = frame.sort_values(["active", "risk_multiplier", "incident_day"], ascending=[False, False, False])
    return frame.reset_index(drop=True)


def alert_zones(alerts: pd.DataFrame) -> pd.DataFrame:
    """One zone per incident from its active rings: a circle to brief and to map.

    The radius is the outer edge of the furthest active ring, the multiplier the largest
    active Knox ratio, the expiry the latest expiry of the active rings.

    Examples
    --------
    >>> alerts = pd.DataFrame({"incident_id": [7, 7], "x_m": [0.0, 0.0], "y_m": [0.0, 0.0],
    ...     "incident_day": [10.0, 10.0], "distance_from_m": [0.0, 100.0], "distance_to_m": [100.0, 200.0],
    ...     "expires_day": [17.0, 24.0], "risk_multiplier": [1.9, 1.3], "active": [True, True]})
    >>> zone = alert_zones(alerts).iloc[0]
    >>> int(zone["incident_id"]), float(zone["radius_m"]), float(zone["max_multiplier"]), float(zone["expires_day"])
    (7, 200.0, 1.9, 24.0)
    """
    active = alerts[alerts["active"].astype(bool)]
    if active.empty:
        return pd.DataFrame(columns=["incident_id", "x_m", "y_m", "incident_day", "radius_m", "max_multiplier"])
    zones = (
        active.groupby("incident_id", sort=False)
        .agg(
            x_m=("x_m", "first"),
            y_m=("y_m", "first"),
            incident_day=("incident_day", "first"),
            radius_m=("distance_to_m", "max"),
            max_multiplier=("risk_multiplier", "max"),
            expires_day=("expires_day", "max"),
        )
        .reset_index()
    )
    return zones.sort_values(["max_multiplier", "incident_day"], ascending=False).reset_index(drop=True)


def zone_members(zones: pd.DataFrame, x_m: ArrayLike, y_m: ArrayLike, incident_ids: ArrayLike) -> pd.DataFrame:
    """The incidents inside each zone's circle: one row per (zone, incident) pair.

    An incident is a member of a zone when its distance from the zone's incident (the trigger,
    ``zones.x_m, zones.y_m``) is at most the zone's ``radius_m``; the trigger is a member of its
    own zone (distance 0). Only the coordinates and ids given are read, so nothing but where an
    incident happened decides whether it belongs to a hot spot.

    Parameters
    ----------
    zones : DataFrame
        :func:`alert_zones` (``incident_id, x_m, y_m, radius_m``).
    x_m, y_m : array_like of float
        Candidate incidents, metres (the same projected CRS as the zones).
    incident_ids : array_like of int
        Their ids.

    Returns
    -------
    DataFrame
        ``zone_incident_id, incident_id, distance_m``, by zone (in the order of ``zones``), then
        distance, then incident id.

    Examples
    --------
    >>> zones = pd.DataFrame({"incident_id": [7], "x_m": [0.0], "y_m": [0.0], "radius_m": [200.0]})
    >>> members = zone_members(zones, [0.0, 120.0, 160.0, 300.0], [0.0, 0.0, 120.0, 0.0], [7, 8, 9, 10])
    >>> members["incident_id"].tolist(), members["distance_m"].tolist()
    ([7, 8, 9], [0.0, 120.0, 200.0])
    """
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    ids = np.asarray(incident_ids)
    if not (len(x) == len(y) == len(ids)):
        raise ValueError("x_m, y_m and incident_ids must have the same length")
    rows: list[tuple[int, int, float]] = []
    columns = zip(
        zones["incident_id"].to_numpy(dtype=np.int64),
        zones["x_m"].to_numpy(dtype=float),
        zones["y_m"].to_numpy(dtype=float),
        zones["radius_m"].to_numpy(dtype=float),
        strict=True,
    )
    for zone_id, zone_x, zone_y, radius in columns:
        distance = np.hypot(x - zone_x, y - zone_y)
        inside = np.flatnonzero(distance <= radius + 1e-9)
        order = sorted(inside, key=lambda k: (distance[k], int(ids[k])))
        rows += [(int(zone_id), int(ids[k]), round(float(distance[k]), 3)) for k in order]
    return pd.DataFrame(rows, columns=["zone_incident_id", "incident_id", "distance_m"])


def _ring(cx: float, cy: float, radius: float, segments: int) -> np.ndarray:
    angle = np.linspace(0.0, 2 * np.pi, segments + 1)
    ring = np.column_stack([cx + radius * np.cos(angle), cy + radius * np.sin(angle)])
    ring[-1] = ring[0]
    return ring


def alerts_geojson(
    zones: pd.DataFrame,
    *,
    transformer: CoordinateTransformer | None = None,
    segments: int = 48,
    min_radius_m: float = 25.0,
    radius_column: str = "radius_m",
    inner_radius_column: str | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of circles (or annuli) around alert zones or rings.

    Parameters
    ----------
    zones : DataFrame
        :func:`alert_zones` (circles) or :func:`near_repeat_alerts` with
        ``radius_column="distance_to_m", inner_radius_column="distance_from_m"`` (annuli).
    transformer : object with ``transform(x, y)``, optional
        Reprojects the metric coordinates (e.g. to EPSG:4326 with ``always_xy=True``).
        Without one the coordinates stay in the metric CRS.
    segments : int
        Vertices per circle.
    min_radius_m : float
        Smallest radius drawn (a "same location" ring of 0 m still needs to be seen).

    Examples
    --------
    >>> zones = pd.DataFrame({"incident_id": [1], "x_m": [0.0], "y_m": [0.0], "radius_m": [200.0],
    ...     "max_multiplier": [1.9], "expires_day": [24.0]})
    >>> fc = alerts_geojson(zones, segments=8)
    >>> fc["type"], len(fc["features"][0]["geometry"]["coordinates"][0])
    ('FeatureCollection', 9)
    """
    features = []
    for row in zones.to_dict("records"):
        outer = max(float(row[radius_column]), min_radius_m)
        rings = [_ring(row["x_m"], row["y_m"], outer, segments)]
        if inner_radius_column is not None and float(row[inner_radius_column]) > 0:
            rings.append(_ring(row["x_m"], row["y_m"], float(row[inner_radius_column]), segments)[::-1])
        coordinates = []
        for ring in rings:
            xs, ys = ring[:, 0], ring[:, 1]
            if transformer is not None:
                xs, ys = transformer.transform(xs, ys)
            coordinates.append(np.column_stack([xs, ys]).round(7).tolist())
        properties = {
            key: (value.item() if isinstance(value, np.generic) else value)
            for key, value in row.items()
            if not isinstance(value, pd.Timestamp)
        }
        properties.update({key: str(value) for key, value in row.items() if isinstance(value, pd.Timestamp)})
        features.append(
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": coordinates}, "properties": properties}
        )
    return {"type": "FeatureCollection", "features": features}
