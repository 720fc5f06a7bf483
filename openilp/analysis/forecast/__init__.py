"""Place-based crime forecasters behind one contract, and a registry by name.

Every forecaster is a :class:`~openilp.analysis.forecast._base.Forecaster`: keyword parameters in
``__init__``, ``fit(events, grid=..., as_of=...)`` on the events known strictly before the as-of
moment, ``predict(horizon_days)`` → one risk score per active grid cell.

=============  ======================================================  ==============================
name           method                                                  reference
=============  ======================================================  ==============================
naive          events per cell in the last year                        baseline
kde            retrospective kernel density (quartic, 400 m, 1 year)   Chainey, Tompson & Uhlig 2008
prospective    prospective hot-spotting (400 m, 8 weeks)               Bowers, Johnson & Pease 2004
sepp           self-exciting point process, EM                         Mohler et al. 2011
learned        gradient-boosted trees on multi-scale lagged counts     Ke et al. 2017; Wheeler & Steenbeek 2021
blend          prospective + β × 1-year counts, tuned on past weeks    analytics reference §8.1 (baseline)
toprank        long-memory rates + near-repeat boost, tuned for 1–2 %  Bowers et al. 2004; Johnson et al. 2007
=============  ======================================================  ==============================

:data:`DEFAULT_FORECAST_METHOD` (``toprank``) is the method used when none is given: at the 1–2 % of
a city a shift can patrol it ranks best on every city measured (docs/forecasting.md).
"""

from __future__ import annotations

from typing import Any

from openilp.analysis.forecast._base import (
    FORECAST_INPUT_COLUMNS,
    EventHistory,
    Forecaster,
    known_mask,
    to_utc_naive,
)
from openilp.analysis.forecast.blend import TunedProspectiveBlend
from openilp.analysis.forecast.kde import RetrospectiveKDE
from openilp.analysis.forecast.learned import GradientBoostingForecaster
from openilp.analysis.forecast.naive import NaiveCounts
from openilp.analysis.forecast.prospective import ProspectiveHotspot
from openilp.analysis.forecast.sepp import SelfExcitingPointProcess
from openilp.analysis.forecast.toprank import TopRankBlend
from openilp.constants import DEFAULT_FORECAST_METHOD, FORECAST_METHODS

__all__ = [
    "FORECAST_INPUT_COLUMNS",
    "FORECASTERS",
    "BASELINES",
    "DEFAULT_FORECAST_METHOD",
    "EventHistory",
    "Forecaster",
    "GradientBoostingForecaster",
    "NaiveCounts",
    "ProspectiveHotspot",
    "RetrospectiveKDE",
    "SelfExcitingPointProcess",
    "TopRankBlend",
    "TunedProspectiveBlend",
    "known_mask",
    "make_forecaster",
    "to_utc_naive",
]

#: Forecaster classes by their short name.
FORECASTERS: dict[str, type[Forecaster]] = {
    "naive": NaiveCounts,
    "kde": RetrospectiveKDE,
    "prospective": ProspectiveHotspot,
    "sepp": SelfExcitingPointProcess,
    "learned": GradientBoostingForecaster,
    "blend": TunedProspectiveBlend,
    "toprank": TopRankBlend,
}
assert tuple(FORECASTERS) == FORECAST_METHODS
#: The simple methods a new method must beat (``blend``: the tuned blend of prospective
#: hot-spotting and one-year counts, tuned on past weeks only).
BASELINES = ("naive", "kde", "prospective", "blend")


def make_forecaster(name: str, **params: Any) -> Forecaster:
    """A forecaster by name with keyword parameters; a clear error for unknown names.

    >>> make_forecaster("naive", window_days=180)
    NaiveCounts(window_days=180)
    """
    try:
        cls = FORECASTERS[name]
    except KeyError:
        raise ValueError(f"unknown forecasting method {name!r}; choose from {', '.join(FORECASTERS)}") from None
    return cls(**params)
