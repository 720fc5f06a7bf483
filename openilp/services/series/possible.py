"""Possible series: recent crimes of a category grouped by agglomerative clustering on linkage scores.

The alert list an analyst reads each morning: the last ``days`` days of a category, candidate pairs
within ``max_distance_m`` and ``max_gap_days`` (KD-tree blocking), scored with the prior model, and
clustered with average linkage (``crimelinkage``'s ``crimeClust_hier``); clusters whose mean log
Bayes factor is at least ``threshold`` are listed, strongest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from openilp.core.contract import Request, Result, require
from openilp.errors import InvalidRequest
from openilp.services.series.common import (
    LIMITATIONS,
    SCORED_VARIABLES,
    ScoringPrior,
    crime_table,
    fitted_prior_model,
    iso,
)
from openilp.services.series.common import require as require_permission

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = ["PossibleSeries", "PossibleSeriesRequest", "find_possible_series", "possible_series"]


@dataclass(frozen=True)
class PossibleSeriesRequest(Request):
    """Category, the recent period (days up to ``as_of``), blocking limits and the alert threshold."""

    category: str = "burglary"
    days: int = 60
    as_of: dt.date | None = None
    max_distance_m: float = 1500.0
    max_gap_days: float = 30.0
    threshold: float = 3.0
    min_size: int = 3

    def validate(self) -> PossibleSeriesRequest:
        require(bool(self.category.strip()), "category: name an offence category or crime group (e.g. burglary)")
        require(7 <= self.days <= 365, "days: look back 7 to 365 days")
        require(50 <= self.max_distance_m <= 10_000, "max_distance_m: give 50 to 10,000 metres")
        require(1 <= self.max_gap_days <= 365, "max_gap_days: give 1 to 365 days")
        require(-20 <= self.threshold <= 50, "threshold: give a log Bayes factor between -20 and 50 (e.g. 3)")
        require(2 <= self.min_size <= 50, "min_size: give 2 to 50 crimes")
        return self


@dataclass(frozen=True)
class PossibleSeries(Result):
    """The possible series found, with their members, and what was compared."""

    category: str
    period: tuple[str, str]
    crimes: int
    pairs_scored: int
    series: tuple[dict[str, Any], ...]
    method: dict[str, Any]
    limitations: tuple[str, ...]


def possible_series(core: OpenILP, actor: UserInfo | None, request: PossibleSeriesRequest) -> PossibleSeries:
    """The alert list of possible series among the agency's recent crimes of one category."""
    actor = require_permission(actor, "series:read", "list possible series")
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        as_of = request.as_of or uow.now.date()
        uow.audit(
            action="series_possible",
            object_type="crime_series",
            details={"category": request.category, "days": request.days, "as_of": as_of.isoformat()},
            agency_id=actor.agency_id,
        )
    start, crimes, pairs_scored, series = find_possible_series(core, actor.agency_code, request, as_of)
    return PossibleSeries(
        category=request.category,
        period=(start.isoformat(), as_of.isoformat()),
        crimes=crimes,
        pairs_scored=pairs_scored,
        series=tuple(series),
        method={
            "score": "log Bayes factor under a prior (PriorBayesLinkage); unlinked distributions from a year of data",
            "variables": list(SCORED_VARIABLES),
            "clustering": "average linkage on the scores (crimeClust_hier)",
            "max_distance_m": request.max_distance_m,
            "max_gap_days": request.max_gap_days,
            "threshold": request.threshold,
        },
        limitations=LIMITATIONS,
    )


def find_possible_series(
    core: OpenILP, agency_code: str, request: PossibleSeriesRequest, as_of: dt.date
) -> tuple[dt.date, int, int, list[dict[str, Any]]]:
    """The clustering behind :func:`possible_series`, for callers that checked permissions themselves
    (a bulletin): the period's first day, the crimes compared, the pairs scored and the series found."""
    from openilp.analysis.linkage.candidates import candidate_pairs
    from openilp.analysis.linkage.clustering import MAX_CLUSTER_CRIMES, cluster_series
    from openilp.analysis.linkage.features import pair_features
    from openilp.services.analysis.events import EventQuery, load_events

    start = as_of - dt.timedelta(days=request.days - 1)
    try:
        recent, _ = load_events(
            core.engine,
            EventQuery(agency_code=agency_code, categories=(request.category,), date_from=start, date_to=as_of),
        )
        # the unlinked distributions come from a year of the same category (more pairs, same city)
        history, _ = load_events(
            core.engine,
            EventQuery(
                agency_code=agency_code,
                categories=(request.category,),
                date_from=as_of - dt.timedelta(days=364),
                date_to=as_of,
            ),
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    if len(recent) > MAX_CLUSTER_CRIMES:
        raise InvalidRequest(
            f"{len(recent):,} crimes in {request.days} days: cluster at most {MAX_CLUSTER_CRIMES:,} (shorten days)"
        )
    series: list[dict[str, Any]] = []
    pairs_scored = 0
    if len(recent) >= 2:
        crimes = crime_table(recent)
        model = fitted_prior_model(crime_table(history), ScoringPrior())
        i, j = candidate_pairs(crimes, max_distance=request.max_distance_m, max_days=request.max_gap_days)
        pairs_scored = int(i.size)
        scores = model.score(pair_features(crimes, i, j)) if i.size else np.empty(0)
        for cluster in cluster_series(
            crimes.size, i, j, scores, threshold=request.threshold, min_size=request.min_size
        ):
            members = recent.iloc[list(cluster.members)]
            series.append(
                {
                    "incident_ids": [int(v) for v in members["incident_id"]],
                    "size": len(cluster.members),
                    "mean_score": cluster.mean_score,
                    "min_score": cluster.min_score,
                    "first": iso(members["occurred_from"].min()),
                    "last": iso(members["occurred_from"].max()),
                    "lon": float(members["lon"].mean()),
                    "lat": float(members["lat"].mean()),
                    "neighbourhoods": sorted({str(v) for v in members["neighbourhood"].dropna()}),
                }
            )
    return start, len(recent), pairs_scored, series
