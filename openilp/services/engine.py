"""The engine a service runs its heavy analysis on: ``local`` (numpy here) or ``spark`` (the settings).

Every function takes the core and does the same thing on either engine, with the same result, so a
service calls one function and never branches on the engine itself:

* :func:`count_in_units`: events per grid cell or polygon (Gi* and Moran's I inputs);
* :func:`fit_knox`: the Knox test's pair counts;
* :func:`backtest`: a rolling-origin backtest, fanned out per origin on Spark;
* :func:`matcher_options`: the backend of entity resolution (DuckDB here, Splink's Spark backend).

On Spark the statistics that follow the counts (Gi*, FDR, Knox p-values, the scores of a backtest)
are those of the local path, computed on the same numbers (``docs/scale.md``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from openilp.analysis.backtest import BacktestResult, rolling_origin_backtest
from openilp.analysis.evaluation import DEFAULT_COVERAGES
from openilp.analysis.forecast import Forecaster
from openilp.analysis.grids import SquareGrid
from openilp.analysis.nearrepeat import KnoxTest
from openilp.analysis.units import SpatialUnits
from openilp.core import OpenILP

__all__ = [
    "MatcherBackend",
    "backtest",
    "count_in_units",
    "fit_knox",
    "matcher_options",
    "on_spark",
    "spark_session_of",
]


def on_spark(core: OpenILP) -> bool:
    """Whether the settings send the heavy analyses to Spark."""
    return core.settings.engine == "spark"


def spark_session_of(core: OpenILP) -> Any:
    """The SparkSession of the settings (started on first use; one per process)."""
    from openilp.spark.session import session_from_settings

    return session_from_settings(core.settings)


def count_in_units(
    core: OpenILP, units: SpatialUnits, x_m: NDArray[np.float64], y_m: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Events per unit, as ``units.count(x_m, y_m)``."""
    if not on_spark(core):
        return units.count(x_m, y_m)
    from openilp.spark.units import spark_unit_counts

    frame = pd.DataFrame({"x_m": np.asarray(x_m, dtype=np.float64), "y_m": np.asarray(y_m, dtype=np.float64)})
    return spark_unit_counts(spark_session_of(core), frame, units)


def fit_knox(
    core: OpenILP, knox: KnoxTest, x_m: NDArray[np.float64], y_m: NDArray[np.float64], t_days: NDArray[np.float64]
) -> KnoxTest:
    """``knox.fit(x_m, y_m, t_days)``, with the pairs counted on the settings' engine."""
    if not on_spark(core):
        return knox.fit(x_m, y_m, t_days)
    from openilp.spark.knox import spark_knox_fit

    frame = pd.DataFrame(
        {
            "x_m": np.asarray(x_m, dtype=np.float64),
            "y_m": np.asarray(y_m, dtype=np.float64),
            "t_days": np.asarray(t_days, dtype=np.float64),
        }
    )
    return spark_knox_fit(spark_session_of(core), knox, frame)


def backtest(
    core: OpenILP,
    events: pd.DataFrame,
    grid: SquareGrid,
    forecasters: Mapping[str, Forecaster],
    origins: Sequence[dt.datetime | pd.Timestamp],
    *,
    horizon_days: float = 7.0,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    context_events: pd.DataFrame | None = None,
    timezone: str = "UTC",
) -> BacktestResult:
    """:func:`~openilp.analysis.backtest.rolling_origin_backtest` on the settings' engine."""
    if not on_spark(core):
        return rolling_origin_backtest(
            events,
            grid,
            forecasters,
            origins,
            horizon_days=horizon_days,
            coverages=coverages,
            context_events=context_events,
            timezone=timezone,
        )
    from openilp.spark.backtest import BacktestJob, spark_backtests

    job = BacktestJob(
        events=events,
        grid=grid,
        forecasters=forecasters,
        origins=origins,
        horizon_days=horizon_days,
        coverages=coverages,
        context_events=context_events,
        timezone=timezone,
    )
    return spark_backtests(spark_session_of(core), {"backtest": job})["backtest"]


@dataclass(frozen=True)
class MatcherBackend:
    """Where :class:`openilp.entities.PersonMatcher` runs: ``"duckdb"`` (embedded) or ``"spark"``.

    ``spark_session`` is the settings' SparkSession on Spark and None otherwise; pass both to the
    matcher (``PersonMatcher(backend=..., spark_session=...)``).

    >>> MatcherBackend()
    MatcherBackend(backend='duckdb', spark_session=None)
    """

    backend: str = "duckdb"
    spark_session: Any = None


def matcher_options(core: OpenILP) -> MatcherBackend:
    """The backend of :class:`openilp.entities.PersonMatcher` for the settings' engine."""
    if not on_spark(core):
        return MatcherBackend()
    return MatcherBackend("spark", spark_session_of(core))
