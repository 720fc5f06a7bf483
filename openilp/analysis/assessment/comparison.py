"""Comparison areas for a place-based response: a displacement catchment and a control area.

Following Bowers & Johnson (2003) and Guerette (2009, POP Center Tool Guide 10), a response
area T is assessed against

* a **buffer (displacement) catchment** D: a ring around T where displaced crime, or a
  diffusion of benefits, would show first (default 400 m, a few street blocks);
* a **control area** C: similar baseline crime, subject to the same city-wide trends, but *not*
  adjacent to T or D, so that it is not contaminated by the response or by displacement;
* for the WDD (Wheeler & Ratcliffe 2018), the buffer's own control Dc: a ring around C.

:func:`propose_comparison_areas` proposes all three from candidate polygons (e.g. the city's
neighbourhoods) and their baseline counts; analysts may replace any of them, and
:func:`validate_areas` then refuses overlapping areas with a clear message. Geometries are
shapely polygons in the agency's projected CRS (metres).

>>> import shapely
>>> target = shapely.box(0, 0, 100, 100)
>>> ring = buffer_catchment(target, 50)
>>> round(ring.area), ring.intersection(target).area
(27804, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

__all__ = [
    "ComparisonAreas",
    "DEFAULT_BUFFER_M",
    "baseline_trend",
    "buffer_catchment",
    "points_in_areas",
    "polygonal",
    "propose_comparison_areas",
    "rank_control_candidates",
    "validate_areas",
]

#: Default width of the displacement catchment (metres): a few city blocks.
DEFAULT_BUFFER_M = 400.0

#: Overlap below this many square metres is treated as shared boundary noise.
_OVERLAP_TOLERANCE_M2 = 1.0


def buffer_catchment(target: shapely.Geometry, width_m: float = DEFAULT_BUFFER_M) -> shapely.Geometry:
    """The ring of ``width_m`` metres around ``target`` (the target itself excluded)."""
    if not width_m > 0:
        raise ValueError(f"the buffer width must be positive metres, got {width_m}")
    if target is None or shapely.is_empty(target) or shapely.area(target) <= 0:
        raise ValueError("the target area must be a non-empty polygon")
    return polygonal(shapely.difference(shapely.buffer(target, width_m), target))


@dataclass(frozen=True)
class ComparisonAreas:
    """Treated area, its displacement catchment, a control area and the control's catchment."""

    target: shapely.Geometry
    buffer: shapely.Geometry
    control: shapely.Geometry
    control_buffer: shapely.Geometry
    #: Identifier of the candidate polygon chosen as control (None when given by hand).
    control_id: Any = None
    #: All candidates with their baseline counts, distance and why they were (not) eligible.
    candidates: pd.DataFrame | None = None

    def geometries(self) -> dict[str, shapely.Geometry]:
        return {
            "target": self.target,
            "buffer": self.buffer,
            "control": self.control,
            "control_buffer": self.control_buffer,
        }


def _overlap(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return float(shapely.area(shapely.intersection(a, b)))


def validate_areas(
    target: shapely.Geometry,
    buffer: shapely.Geometry | None = None,
    control: shapely.Geometry | None = None,
    control_buffer: shapely.Geometry | None = None,
) -> None:
    """Raise ValueError when areas that must be separate overlap (more than 1 m²).

    The buffer must not overlap the target; the control and its buffer must not overlap the
    target or its buffer (a contaminated control hides the effect).

    >>> import shapely
    >>> validate_areas(shapely.box(0, 0, 10, 10), control=shapely.box(5, 5, 20, 20))
    Traceback (most recent call last):
    ...
    ValueError: the control area overlaps the target area by 25 m²: comparison areas must not overlap the target
    """
    named = {"target area": target, "buffer area": buffer, "control area": control, "control buffer": control_buffer}
    for name, geom in named.items():
        if geom is not None and (shapely.is_empty(geom) or shapely.area(geom) <= 0):
            raise ValueError(f"the {name} is empty: give a polygon with an area")
    pairs = [
        ("buffer area", "target area"),
        ("control area", "target area"),
        ("control area", "buffer area"),
        ("control buffer", "target area"),
        ("control buffer", "buffer area"),
    ]
    for first, second in pairs:
        a, b = named[first], named[second]
        if a is None or b is None:
            continue
        shared = _overlap(a, b)
        if shared > _OVERLAP_TOLERANCE_M2:
            raise ValueError(
                f"the {first} overlaps the {second} by {shared:,.0f} m²: comparison areas must not overlap the target"
                + ("" if second == "target area" else " or its buffer")
            )


def rank_control_candidates(
    target: shapely.Geometry,
    candidates: Sequence[shapely.Geometry] | ArrayLike,
    candidate_ids: Sequence[Any],
    candidate_baselines: ArrayLike,
    target_baseline: float,
    *,
    exclusion: shapely.Geometry | None = None,
    min_gap_m: float = 0.0,
    min_baseline: float = 1.0,
    candidate_trends: ArrayLike | None = None,
    target_trend: float | None = None,
) -> pd.DataFrame:
    """Rank candidate control polygons by how close their baseline (level and trend) is to the target's.

    A candidate is eligible when it does not touch ``exclusion`` (the target and its buffer)
    or lies further than ``min_gap_m`` metres from it, and has at least ``min_baseline``
    crimes. The score is ``|ln(candidate / target)|`` (0 = the same baseline) plus, when trends
    are given, ``|trend_candidate − trend_target|`` where a trend is the log ratio of the later to
    the earlier half of the baseline (:func:`baseline_trend`): a control should share the target's
    level *and* its pre-period direction (the parallel-trends assumption of any DiD).

    Returns a frame with ``id``, ``baseline``, ``ratio``, ``distance_m``, ``eligible``,
    ``reason`` and ``score``, best eligible candidate first.
    """
    geoms = np.asarray(candidates, dtype=object)
    ids = list(candidate_ids)
    base = np.asarray(candidate_baselines, dtype=float)
    if not (len(geoms) == len(ids) == len(base)) or len(ids) == 0:
        raise ValueError("give one id and one baseline count per candidate polygon")
    if not target_baseline > 0:
        raise ValueError("the target area has no crimes in the baseline window: there is nothing to match a control to")
    exclude = exclusion if exclusion is not None else target
    distance = shapely.distance(geoms, exclude)
    reasons = np.full(len(ids), "", dtype=object)
    reasons[base < min_baseline] = f"fewer than {min_baseline:g} baseline crimes"
    too_close = distance <= min_gap_m
    reasons[too_close] = "adjacent to or overlapping the target or its buffer"
    eligible = reasons == ""
    with np.errstate(divide="ignore"):
        ratio = base / target_baseline
        score = np.where(base > 0, np.abs(np.log(np.where(base > 0, ratio, 1.0))), np.inf)
    trend_gap = np.zeros(len(ids))
    if candidate_trends is not None:
        if target_trend is None:
            raise ValueError("give target_trend with candidate_trends")
        trend_gap = np.abs(np.asarray(candidate_trends, dtype=float) - target_trend)
        score = score + trend_gap
    table = pd.DataFrame(
        {
            "id": ids,
            "baseline": base,
            "ratio": ratio,
            "distance_m": distance,
            "eligible": eligible,
            "reason": reasons,
            "trend_gap": trend_gap,
            "score": score,
        }
    )
    return table.sort_values(["eligible", "score", "distance_m"], ascending=[False, True, True]).reset_index(drop=True)


def propose_comparison_areas(
    target: shapely.Geometry,
    candidates: Mapping[Any, shapely.Geometry],
    candidate_baselines: Mapping[Any, float],
    target_baseline: float,
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
    min_gap_m: float = 0.0,
    candidate_trends: Mapping[Any, float] | None = None,
    target_trend: float | None = None,
    study_area: shapely.Geometry | None = None,
) -> ComparisonAreas:
    """Propose a displacement catchment, a control area and the control's catchment.

    Parameters
    ----------
    target : polygon
        The response area (metres).
    candidates : mapping id -> polygon
        Polygons a control can be chosen from (e.g. neighbourhoods). Parts of a candidate that
        overlap the target are not removed: such candidates are simply ineligible.
    candidate_baselines, target_baseline
        Crimes in the baseline window in each candidate and in the target.
    buffer_m : float
        Width of both catchment rings (metres).
    min_gap_m : float
        Least distance between the control and the target's catchment (0 = not touching).
    candidate_trends, target_trend : optional
        Baseline trends (:func:`baseline_trend`) to match as well as the level.
    study_area : polygon, optional
        Where incidents are recorded (the jurisdiction): catchment rings are clipped to it, so a
        ring does not reach across the city limit into places without data.

    Raises
    ------
    ValueError
        When no candidate is eligible, or the control's catchment would overlap the target's.
    """
    ids = list(candidates)
    buffer = _clip(buffer_catchment(target, buffer_m), study_area)
    exclusion = shapely.union(target, shapely.buffer(target, buffer_m))
    table = rank_control_candidates(
        target,
        [candidates[i] for i in ids],
        ids,
        [float(candidate_baselines.get(i, 0.0)) for i in ids],
        target_baseline,
        exclusion=exclusion,
        min_gap_m=min_gap_m,
        candidate_trends=None if candidate_trends is None else [candidate_trends.get(i, 0.0) for i in ids],
        target_trend=target_trend,
    )
    for row in table.itertuples():
        if not row.eligible:
            break
        control = candidates[row.id]
        control_buffer = _clip(buffer_catchment(control, buffer_m), study_area)
        # The control's catchment must stay clear of the target and its catchment as well.
        if _overlap(control_buffer, exclusion) > _OVERLAP_TOLERANCE_M2:
            table.loc[table["id"] == row.id, "reason"] = "its catchment overlaps the target's"
            continue
        validate_areas(target, buffer, control, control_buffer)
        return ComparisonAreas(target, buffer, control, control_buffer, control_id=row.id, candidates=table)
    raise ValueError(
        "no candidate control area is both similar and separate from the target and its buffer; "
        "draw one by hand or widen the candidate set"
    )


def _clip(ring: shapely.Geometry, study_area: shapely.Geometry | None) -> shapely.Geometry:
    return ring if study_area is None else polygonal(shapely.intersection(ring, study_area))


def polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of ``geometry``: a Polygon or MultiPolygon, lines and points dropped.

    Clipping a ring to a city limit, or repairing a self-touching polygon, can leave slivers of
    zero area (shared edges, touching corners) beside the polygons, and shapely returns a
    GeometryCollection. An area is its polygons; the rest has no area and holds no incident.

    >>> import shapely
    >>> mixed = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(2, 2), (3, 3)])])
    >>> polygonal(mixed).geom_type
    'Polygon'
    >>> polygonal(shapely.LineString([(0, 0), (1, 1)])).is_empty
    True
    """
    kind = shapely.get_type_id(geometry)
    if kind in (3, 6):  # Polygon, MultiPolygon
        return geometry
    parts = shapely.get_parts(geometry)
    if kind == 7:  # GeometryCollection: its members may be multi-part themselves
        parts = np.concatenate([shapely.get_parts(p) for p in parts]) if len(parts) else parts
    polygons = [p for p in parts if shapely.get_type_id(p) == 3 and shapely.area(p) > 0]
    if not polygons:
        return shapely.MultiPolygon()
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def baseline_trend(early: ArrayLike, late: ArrayLike) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Log ratio of the later to the earlier half of a baseline window, ``ln((late + ½) / (early + ½))``.

    >>> baseline_trend([10, 20], [10, 10]).round(3).tolist()
    [0.0, -0.669]
    """
    e = np.asarray(early, dtype=float)
    l_ = np.asarray(late, dtype=float)
    return np.asarray(np.log((l_ + 0.5) / (e + 0.5)), dtype=np.float64)


def points_in_areas(
    x_m: ArrayLike, y_m: ArrayLike, areas: Mapping[str, shapely.Geometry]
) -> dict[str, np.ndarray[Any, np.dtype[np.bool_]]]:
    """For each named area, a boolean mask of the points that fall inside it (boundary included).

    >>> import shapely
    >>> masks = points_in_areas([1, 5, 50], [1, 5, 50], {"a": shapely.box(0, 0, 10, 10)})
    >>> masks["a"].tolist()
    [True, True, False]
    """
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    result = {}
    for name, geom in areas.items():
        mask = np.zeros(len(x), dtype=bool)
        if finite.any():
            shapely.prepare(geom)
            mask[finite] = shapely.intersects_xy(geom, x[finite], y[finite])
        result[name] = mask
    return result
