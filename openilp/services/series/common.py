"""What the series workflows share: permissions, the agency's incidents as a crime table, the prior
scoring model for data without offender truth, and the notes every page shows about the method."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from openilp.analysis.linkage.features import CrimeTable
from openilp.analysis.linkage.models import PriorBayesLinkage
from openilp.errors import NotPermitted
from openilp.security.actors import UserInfo

__all__ = [
    "LIMITATIONS",
    "SCORED_VARIABLES",
    "ScoringPrior",
    "crime_table",
    "fitted_prior_model",
    "require",
]

#: The evidence variables scored on incident data (what every source has).
SCORED_VARIABLES = ("spatial", "temporal", "same_category")

#: Said on every page and in every result that scores incidents.
LIMITATIONS = (
    "This source has no offender truth (no solved series), so the score is not a trained model: it is a log "
    "Bayes factor under a stated prior for crimes of one offender (distance, time gap, same offence category) "
    "against this agency's own random pairs of crimes.",
    "Only where, when and the offence category are compared: the source has no modus-operandi or property "
    "fields, and the store keeps no clearance status, so recent crimes are all treated as unsolved.",
    "Protected attributes are not stored on incidents and never enter the score.",
)


@dataclass(frozen=True)
class ScoringPrior:
    """The prior for linked crimes (see :class:`openilp.analysis.linkage.models.PriorBayesLinkage`)."""

    linked_distance_m: float = 1000.0
    linked_days: float = 14.0
    linked_same_category: float = 0.9


def require(actor: UserInfo | None, permission: str, what: str) -> UserInfo:
    """The actor when it holds ``permission``; NotPermitted naming ``what`` otherwise."""
    if actor is None or not actor.can(permission):
        role = actor.role if actor is not None else "anonymous"
        raise NotPermitted(f"your role ({role}) may not {what}")
    return actor


def crime_table(events: pd.DataFrame) -> CrimeTable:
    """Incidents (``load_events`` columns) as a crime table: metres, UTC windows, offence category."""
    frame = events.assign(occurred_to=events["occurred_to"].fillna(events["occurred_from"]))
    # an exclusive end (a date-only record ends at the next midnight): keep the window inside the day
    return CrimeTable.from_frame(frame, x="x_m", y="y_m", fields=["category"])


def fitted_prior_model(crimes: CrimeTable, prior: ScoringPrior, *, pairs: int = 20_000, seed: int = 0) -> Any:
    """The prior model with its unlinked distributions learned from random pairs of ``crimes``."""
    from openilp.analysis.linkage.features import pair_features

    rng = np.random.default_rng(seed)
    n = crimes.size
    i = rng.integers(0, n, size=pairs)
    j = rng.integers(0, n, size=pairs)
    keep = i != j
    features = pair_features(crimes, i[keep], j[keep])
    model = PriorBayesLinkage(
        linked_distance_m=prior.linked_distance_m,
        linked_days=prior.linked_days,
        linked_same_category=prior.linked_same_category,
    )
    return model.fit(features[list(SCORED_VARIABLES)])


def iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat() if value.tzinfo is None else value.isoformat()
    return str(value)
