"""Rolling-origin backtests on Spark: one task per agency × category × origin, the forecasters unchanged.

A backtest refits every forecaster at every origin on the events known then, so its origins are
independent: :func:`spark_backtests` sends each job's events, grid and forecasters to the executors
once (a broadcast) and runs one task per (job, origin) that calls the pure
:func:`openilp.analysis.backtest.rolling_origin_backtest` on that origin alone. The driver puts the
per-origin rows back in origin order and averages the coverage curves in that order, so the
:class:`~openilp.analysis.backtest.BacktestResult` equals the local one (``fit_s`` aside, a timing).

A forecaster with ``warm_start`` reuses its earlier fits, so its origins are not independent: a job
with one runs its origins in order within one task (fanned out per agency × category only).
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from openilp.analysis.backtest import CURVE_POINTS, BacktestResult, rolling_origin_backtest
from openilp.analysis.evaluation import DEFAULT_COVERAGES
from openilp.analysis.forecast import Forecaster, to_utc_naive
from openilp.analysis.grids import SquareGrid

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["BacktestJob", "spark_backtests"]


@dataclass(frozen=True)
class BacktestJob:
    """One backtest: the arguments of :func:`~openilp.analysis.backtest.rolling_origin_backtest`."""

    events: pd.DataFrame
    grid: SquareGrid
    forecasters: Mapping[str, Forecaster]
    origins: Sequence[dt.datetime | pd.Timestamp]
    horizon_days: float = 7.0
    coverages: Sequence[float] = DEFAULT_COVERAGES
    reference_days: float = 365.0
    context_events: pd.DataFrame | None = None
    timezone: str = "UTC"

    @property
    def sequential(self) -> bool:
        """Whether a forecaster reuses earlier fits (``warm_start``), so origins must run in order."""
        return any(bool(getattr(f, "warm_start", False)) for f in self.forecasters.values())

    def run(self, origins: Sequence[pd.Timestamp]) -> BacktestResult:
        """The local backtest of these origins with fresh copies of the forecasters."""
        return rolling_origin_backtest(
            self.events,
            self.grid,
            copy.deepcopy(dict(self.forecasters)),
            origins,
            horizon_days=self.horizon_days,
            coverages=self.coverages,
            reference_days=self.reference_days,
            context_events=self.context_events,
            timezone=self.timezone,
        )


def spark_backtests(session: SparkSession, jobs: Mapping[Hashable, BacktestJob]) -> dict[Hashable, BacktestResult]:
    """Every job's backtest, tasks per (job, origin) on Spark; results keyed as ``jobs``.

    Each result equals ``rolling_origin_backtest(...)`` of the job run locally, except the
    ``fit_s`` column (seconds, measured where the task ran).
    """
    from pyspark.sql.types import BinaryType, LongType, StructField, StructType

    keys = list(jobs)
    ordered = {i: sorted(to_utc_naive(o) for o in jobs[key].origins) for i, key in enumerate(keys)}
    tasks = []
    for i, key in enumerate(keys):
        if jobs[key].sequential:
            tasks.append((i, -1))
        else:
            tasks.extend((i, k) for k in range(len(ordered[i])))
    shared = session.sparkContext.broadcast({i: jobs[key] for i, key in enumerate(keys)})

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        everything = shared.value
        for batch in batches:
            out = []
            for job_id, origin_pos in zip(batch["job"].tolist(), batch["origin"].tolist(), strict=True):
                job = everything[job_id]
                origins = sorted(to_utc_naive(o) for o in job.origins)
                chosen = origins if origin_pos < 0 else [origins[origin_pos]]
                result = job.run(chosen)
                out.append((job_id, origin_pos, pickle.dumps(_Piece.of(result, single=origin_pos >= 0))))
            yield pd.DataFrame(out, columns=["job", "origin", "payload"])

    schema = StructType(
        [
            StructField("job", LongType(), False),
            StructField("origin", LongType(), False),
            StructField("payload", BinaryType(), False),
        ]
    )
    frame = session.createDataFrame(pd.DataFrame(tasks, columns=["job", "origin"]))
    rows = frame.repartition(max(1, len(tasks))).mapInPandas(run, schema).collect()
    shared.unpersist()
    payloads: dict[int, list[tuple[int, _Piece]]] = {i: [] for i in ordered}
    for row in rows:
        payloads[int(row["job"])].append((int(row["origin"]), pickle.loads(row["payload"])))
    results: dict[Hashable, BacktestResult] = {}
    for i, key in enumerate(keys):
        job = jobs[key]
        pieces = [piece for _, piece in sorted(payloads[i], key=lambda p: p[0])]
        if job.sequential:
            results[key] = pieces[0].whole  # type: ignore[assignment]
            continue
        curves = {}
        for name in job.forecasters:
            kept = [piece.curves[name] for piece in pieces if name in piece.curves]
            curves[name] = np.mean(kept, axis=0) if kept else np.full(len(CURVE_POINTS), np.nan)
        results[key] = BacktestResult(
            scores=pd.concat([piece.scores for piece in pieces], ignore_index=True),
            curves=curves,
            horizon_days=job.horizon_days,
            coverages=tuple(job.coverages),
            n_cells=job.grid.n_units,
            cell_size_m=job.grid.cell_size_m,
        )
    return results


@dataclass(frozen=True)
class _Piece:
    """What a task sends back: one origin's score rows and coverage curves, or a whole backtest."""

    scores: pd.DataFrame
    #: The origin's curve per method, only where its test period held events (as the local mean).
    curves: dict[str, NDArray[np.float64]]
    whole: BacktestResult | None = None

    @classmethod
    def of(cls, result: BacktestResult, single: bool) -> _Piece:
        if not single:
            return cls(result.scores, {}, result)
        return cls(result.scores, {m: c for m, c in result.curves.items() if np.isfinite(c).all()})
