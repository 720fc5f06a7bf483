"""Scanning (the S of SARA): candidate problems from persistent hot spots and trend alerts.

Over the agency's boundary polygons (e.g. the 88 St. Louis neighbourhoods), for the chosen
categories and the ``periods`` × ``period_days`` days up to ``as_of``:

* **Hot spots that last.** Getis-Ord Gi* with queen contiguity in each period (permutation
  p-values, Benjamini-Hochberg FDR; Getis & Ord 1992, Ord & Getis 1995), then
  :func:`openilp.analysis.hotspots.hotspot_stability`: ``persistent`` (hot in every period) and
  ``emerging`` (hot from some period to the last) units become candidates.
* **Trend alerts.** :func:`openilp.analysis.trends.trend_alerts` on the last 28 days against the
  mean of the ``rolling_periods`` 28-day periods before (Poisson z and E-test with FDR; Wheeler
  2016): units with an upward ``alert`` become candidates.

Each candidate carries the unit's outline (GeoJSON), its counts, why it was proposed and a goal
an analyst can adopt as it is or edit (e.g. "reduce burglary in Dutchtown by 20% over 6 months").
Its time frame lies inside the data, so that it can be assessed at once: the evaluation period is
the last ``evaluation_days`` days up to ``as_of`` and the baseline the 364 days before it (from
the first day with data when the data start later). The analyst edits the dates on the problem's
page when the response starts later.
Nothing is stored: an analyst opens a problem from a candidate. The boundary polygons are the
agency's layer in the core's registry (:attr:`openilp.core.OpenILP.boundaries`); no request field
names a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from openilp.analysis.hotspots import gi_star, hotspot_stability
from openilp.analysis.trends import trend_alerts
from openilp.core import OpenILP, Request, Result
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import boundary_areas, latest_incident_date, local_times
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.problems.areas import unit_name
from openilp.services.problems.common import parse_day, refusals, require_read

__all__ = ["ScanRequest", "ScanResult", "scan_candidates"]


@dataclass(frozen=True)
class ScanRequest(Request):
    """What to scan. ``as_of`` (a local day or ``YYYY-MM-DD``) defaults to the day of the latest
    located incident."""

    categories: tuple[str, ...] = ("burglary",)
    as_of: dt.date | str | None = None
    #: Consecutive periods for the stability of hot spots (2 to 12) and their length in days.
    periods: int = 3
    period_days: int = 182
    permutations: int = 9999
    alpha: float = 0.05
    #: 28-day periods in the rolling baseline of the trend alerts.
    rolling_periods: int = 3
    seed: int = 0
    #: Proposed goal: reduction (%) over the proposed evaluation period: the last ``evaluation_days``
    #: days up to ``as_of``, measured against the year before (or from the first day with data).
    goal_pct: float = 20.0
    evaluation_days: int = 182

    def validate(self) -> ScanRequest:
        categories = tuple(dict.fromkeys(c.strip() for c in self.categories if c and c.strip()))
        if not categories:
            raise InvalidRequest("choose at least one category or crime group to scan")
        if len(categories) > 50:
            raise InvalidRequest(f"choose at most 50 categories or crime groups, got {len(categories)}")
        if self.periods < 2:
            raise InvalidRequest("scanning needs at least 2 periods to tell persistent hot spots from passing ones")
        if self.periods > 12:
            raise InvalidRequest(f"periods must be at most 12, got {self.periods}")
        if not 7 <= self.period_days <= 366:
            raise InvalidRequest(f"period_days must be between 7 and 366, got {self.period_days}")
        if not 99 <= self.permutations <= 9999:
            raise InvalidRequest(f"permutations must be between 99 and 9,999, got {self.permutations}")
        if not 0 < self.alpha < 1:
            raise InvalidRequest(f"alpha must be between 0 and 1, got {self.alpha}")
        if not 1 <= self.rolling_periods <= 13:
            raise InvalidRequest(f"rolling_periods must be between 1 and 13, got {self.rolling_periods}")
        if not 0 < self.goal_pct < 100:
            raise InvalidRequest(f"goal_pct must be a percentage between 0 and 100, got {self.goal_pct}")
        if not 7 <= self.evaluation_days <= 1096:
            raise InvalidRequest(f"evaluation_days must be between 7 and 1,096, got {self.evaluation_days}")
        return dataclasses.replace(self, categories=categories, as_of=parse_day(self.as_of, "as_of"))


@dataclass(frozen=True)
class ScanResult(Result):
    """Candidate problems of one scan, strongest first.

    Each candidate has ``unit`` (index in the boundary layer), ``name``, ``reasons``,
    ``stability``, ``period_counts``, ``gi_z_last``, ``trend`` (the 28-day alert row or None), a
    proposed ``title`` / ``goal`` / time frame and the unit's ``area`` (GeoJSON geometry,
    longitude/latitude), ready to open a problem from.
    """

    as_of: str
    categories: tuple[str, ...]
    #: ``(first day, last day)`` of each period, oldest first.
    periods: tuple[tuple[str, str], ...]
    #: Units per stability class (``persistent``, ``emerging``, …).
    classes: Mapping[str, int]
    trend_alerts: int
    candidates: tuple[Mapping[str, Any], ...]


def complete_from(days: pd.Series) -> dt.date:
    """The first day of the first calendar month with at least half the median monthly count.

    Exports by report date hold a thin tail of old incidents reported late (a file of 2019 has a
    few burglaries of 2018): a baseline starting in that tail would be too low. A month with half
    the usual count or more is taken as covered.

    >>> import pandas as pd, datetime as dt
    >>> days = pd.Series([dt.date(2018, 11, 3)] + [dt.date(2019, m, 1) for m in (1, 2) for _ in range(5)])
    >>> complete_from(days)
    datetime.date(2019, 1, 1)
    """
    months = pd.Series(pd.to_datetime(days).dt.to_period("M")).value_counts().sort_index()
    covered = months[months >= 0.5 * float(months.median())]
    first: dt.date = covered.index[0].to_timestamp().date()
    return max(first, min(days))


@refusals
def scan_candidates(core: OpenILP, actor: UserInfo | None, request: ScanRequest) -> ScanResult:
    """Candidate problems for the actor's agency over its boundary layer (audited as a search).

    Raises InvalidRequest for bad parameters, unknown categories, no data or an agency without a
    boundary layer.
    """
    actor = require_read(actor)
    request = request.validate()
    code = actor.agency_code
    layer = core.boundaries.layer_for(code)
    if layer is None:
        raise InvalidRequest(f"agency {code} has no boundary layer to scan: add <data_dir>/boundaries/{code}.geojson")
    boundary_path: Path = layer.path
    engine = core.engine
    as_of = parse_day(request.as_of, "as_of") or latest_incident_date(engine, code)
    if as_of is None:
        raise InvalidRequest(f"agency {code} has no located incidents to scan")
    trend_days = 28 * (request.rolling_periods + 1)
    scan_days = request.periods * request.period_days
    # The proposed time frame lies in the data: the evaluation is the last ``evaluation_days`` up to
    # ``as_of`` and the baseline the year before it (or from the first day with data).
    evaluation_start = as_of - dt.timedelta(days=request.evaluation_days - 1)
    first = min(as_of - dt.timedelta(days=max(scan_days, trend_days) - 1), evaluation_start - dt.timedelta(days=364))
    loaded, agency = load_events(engine, EventQuery(code, request.categories, first, as_of))
    if loaded.empty:
        raise InvalidRequest(f"no located incidents of {', '.join(request.categories)} between {first} and {as_of}")
    all_days = local_times(loaded, agency.timezone).dt.date
    baseline_start = max(evaluation_start - dt.timedelta(days=364), complete_from(all_days))
    if baseline_start >= evaluation_start:
        raise InvalidRequest(
            f"the data start on {baseline_start}, too late for a baseline before an evaluation of the last "
            f"{request.evaluation_days} days up to {as_of}: choose fewer evaluation days or an earlier as_of"
        )
    scanned = (all_days >= as_of - dt.timedelta(days=max(scan_days, trend_days) - 1)).to_numpy()
    events = loaded[scanned].reset_index(drop=True)
    units = boundary_areas(boundary_path, agency.crs)
    unit = units.assign(events["x_m"].to_numpy(), events["y_m"].to_numpy())
    day = all_days[scanned].to_numpy()
    weights = units.weights("queen")
    flags, counts, z_last, bounds = [], [], None, []
    for k in range(request.periods):
        end = as_of - dt.timedelta(days=(request.periods - 1 - k) * request.period_days)
        start = end - dt.timedelta(days=request.period_days - 1)
        bounds.append((str(start), str(end)))
        inside = (day >= start) & (day <= end) & (unit >= 0)
        period_counts = np.bincount(unit[inside], minlength=units.n_units)
        result = gi_star(period_counts, weights, permutations=request.permutations, seed=request.seed + k)
        flags.append(result.hot_spots(request.alpha))
        counts.append(period_counts)
        z_last = result.z
    stability = hotspot_stability(flags)
    label = "+".join(request.categories)
    frame = pd.DataFrame({"time": pd.to_datetime(pd.Series(day)), "area": unit.astype(str), "category": label})[
        unit >= 0
    ]
    alerts = trend_alerts(
        frame,
        pd.Timestamp(as_of),
        periods=["28d"],
        baselines=["rolling"],
        rolling_periods=request.rolling_periods,
        include_all_areas=False,
        fdr=request.alpha,
    )
    rising = alerts[(alerts["severity"] == "alert") & (alerts["direction"] == "up")]
    trend_by_unit = {int(row["area"]): row for row in json.loads(rising.to_json(orient="records", date_format="iso"))}
    collection = json.loads(boundary_path.read_text(encoding="utf-8"))
    features = collection.get("features") or []
    evaluation_end = as_of
    candidates = []
    for i in range(units.n_units):
        reasons = []
        if stability[i] in ("persistent", "emerging"):
            reasons.append(f"{stability[i]} Gi* hot spot over {request.periods} periods of {request.period_days} days")
        trend = trend_by_unit.get(i)
        if trend is not None:
            reasons.append(
                f"rising: {trend['current']} in the last 28 days against {trend['expected']:.1f} expected "
                f"(z = {trend['z']:.1f})"
            )
        if not reasons:
            continue
        name = unit_name(units.properties[i], i)
        what = label.replace("_", " ")
        candidates.append(
            {
                "unit": i,
                "name": name,
                "reasons": reasons,
                "stability": str(stability[i]),
                "period_counts": [int(c[i]) for c in counts],
                "gi_z_last": None if z_last is None or not np.isfinite(z_last[i]) else round(float(z_last[i]), 2),
                "trend": trend,
                "title": f"{what.capitalize()} in {name}",
                "goal": f"Reduce {what} in {name} by {request.goal_pct:g}% over {request.evaluation_days // 30} months",
                "categories": list(request.categories),
                "target_reduction_pct": request.goal_pct,
                "baseline_start": str(baseline_start),
                "evaluation_start": str(evaluation_start),
                "evaluation_end": str(evaluation_end),
                "area": features[int(units.ids[i])]["geometry"],
            }
        )
    rank = {"persistent": 0, "emerging": 1}
    candidates.sort(key=lambda c: (rank.get(c["stability"], 2), -sum(c["period_counts"])))
    classes = {str(c): int(np.sum(stability == c)) for c in np.unique(stability)}
    with core.unit_of_work(actor) as uow:
        uow.audit(
            action="search",
            object_type="problem_scan",
            details={"categories": list(request.categories), "as_of": str(as_of), "candidates": len(candidates)},
        )
    return ScanResult(
        as_of=str(as_of),
        categories=tuple(request.categories),
        periods=tuple(bounds),
        classes=classes,
        trend_alerts=len(trend_by_unit),
        candidates=tuple(candidates),
    )
