"""Runaway-feedback simulation of the project's own forecaster and deployment code (Ensign et al. 2018).

Ensign, Friedler, Neville, Scheidegger & Venkatasubramanian (2018) modelled predictive policing as
a generalised Pólya urn: patrol goes where the model predicts crime, and incidents *discovered* by
police (drug and weapon finds, warrants, stops) are observed only where patrol goes, so they feed the
model's belief back into itself. With discovered crime in the training data the allocation does not
learn the true rates: it runs away towards the areas patrolled first, even when every area has the
same true rate. Crime *reported* by the public is observed everywhere, whatever the patrol, and does
not feed back.

:func:`simulate_feedback` runs that experiment with OpenILP's own code, not a stand-in: each cycle
(one week) a forecaster from :mod:`openilp.analysis.forecast` is fitted on the incidents recorded so
far and :func:`openilp.tasking.plan_deployment` turns its scores into a shift's patrol plan, which is
kept for the week. Then the week's true crimes happen:

* ``n_areas`` square areas of ``area_cells`` × ``area_cells`` cells side by side, each with a known
  true rate (crimes per week, spread uniformly over the area);
* each crime is **reported** with probability ``reporting_rate``, wherever it happens;
* in a patrolled cell, police **discover** officer-initiated incidents at ``discoveries_per_hour``
  per patrol hour (scaled by the area's true rate relative to the mean), and nowhere else;
* the next cycle's forecaster trains on the reported incidents only (``training="reported"``,
  OpenILP's default), on reported and discovered incidents unweighted (``"all"``: the naive model
  whose drift the test shows), or on reported incidents plus discovered ones kept by
  inverse-propensity sampling (``"propensity"``, see :func:`inverse_propensity_sample`).

The result gives every area's **patrol share** (its share of the on-scene minutes of the cycles)
and its **fair share** (its share of the true rates). With equal true rates a sound model keeps each
share near ``1 / n_areas``; a runaway loop does not.

>>> result = simulate_feedback(cycles=30, method="naive", warmup_weeks=26, seed=1)
>>> result.n_cycles, len(result.patrol_share), round(sum(result.patrol_share), 6)
(30, 4, 1.0)

Only where and when incidents happened reach the forecaster (its contract reads
``FORECAST_INPUT_COLUMNS``); the simulation has no residents and no protected attribute at all.

References
----------
Ensign, D., Friedler, S. A., Neville, S., Scheidegger, C. & Venkatasubramanian, S. (2018). Runaway
feedback loops in predictive policing. *Proceedings of the 1st Conference on Fairness,
Accountability and Transparency*, PMLR 81, 160–171.
Lum, K. & Isaac, W. (2016). To predict and serve? *Significance* 13(5), 14–19.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from openilp.analysis.forecast import make_forecaster
from openilp.analysis.grids import SquareGrid
from openilp.tasking import plan_deployment

__all__ = [
    "TRAINING_CHOICES",
    "FeedbackResult",
    "inverse_propensity_sample",
    "simulate_feedback",
]

Training = Literal["reported", "all", "propensity"]
#: What the forecaster may train on, each cycle.
TRAINING_CHOICES: tuple[str, ...] = ("reported", "all", "propensity")

_WEEK = pd.Timedelta(days=7)
_START = pd.Timestamp("2000-01-03")


@dataclass(frozen=True)
class FeedbackResult:
    """Patrol shares of a simulation, overall and per cycle.

    ``patrol_share[a]`` is area ``a``'s share of the on-scene minutes of the last ``window`` cycles
    (all cycles by default); ``fair_share[a]`` its share of the true rates; ``shares_by_cycle`` one
    row per cycle.
    """

    method: str
    training: str
    n_cycles: int
    window: int
    true_rates: tuple[float, ...]
    fair_share: tuple[float, ...]
    patrol_share: tuple[float, ...]
    shares_by_cycle: NDArray[np.float64] = field(repr=False)
    reported: int = 0
    discovered: int = 0
    discovered_trained: int = 0

    @property
    def max_deviation(self) -> float:
        """Largest ``|patrol share − fair share|`` over the areas."""
        return float(max(abs(p - f) for p, f in zip(self.patrol_share, self.fair_share, strict=True)))

    def within(self, tolerance: float = 0.1) -> bool:
        """Whether every area's patrol share lies within ``tolerance`` of its fair share."""
        return self.max_deviation <= tolerance

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "training": self.training,
            "cycles": self.n_cycles,
            "window": self.window,
            "true_rates": list(self.true_rates),
            "fair_share": list(self.fair_share),
            "patrol_share": list(self.patrol_share),
            "max_deviation": self.max_deviation,
            "reported": self.reported,
            "discovered": self.discovered,
            "discovered_trained": self.discovered_trained,
        }


def inverse_propensity_sample(
    propensity: Sequence[float] | NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.bool_]:
    """Which discovered incidents to keep: each with probability ``min(P) / P`` (Ensign et al. 2018).

    ``propensity`` is, for each discovered incident, the probability that patrol was where it was
    discovered (logged with the plan). Keeping an incident with probability proportional to
    ``1 / P`` is inverse-propensity weighting by sampling: in expectation every place contributes
    discovered incidents in proportion to its true rate, not to the patrol it received, and the
    forecasters need no weight column. Propensities must be in (0, 1]; an incident found where patrol
    had no chance to be (``P = 0``) cannot be corrected and is refused.

    >>> keep = inverse_propensity_sample([1.0, 0.5, 0.5, 0.25], np.random.default_rng(0))
    >>> keep.dtype == bool, keep.shape
    (True, (4,))
    """
    p = np.asarray(propensity, dtype=np.float64)
    if p.size == 0:
        return np.zeros(0, dtype=bool)
    if not (np.all(np.isfinite(p)) and np.all(p > 0) and np.all(p <= 1)):
        raise ValueError("propensities must lie in (0, 1]; a discovered incident without one cannot be weighted")
    return np.asarray(rng.random(p.size) < p.min() / p, dtype=bool)


def _area_grid(n_areas: int, area_cells: int, cell_size_m: float) -> tuple[SquareGrid, NDArray[np.int64]]:
    side = area_cells * cell_size_m
    grid = SquareGrid.from_bounds((0.0, 0.0, n_areas * side, side), cell_size_m)
    x, y = grid.centres_m()
    area_of_cell = np.minimum((np.asarray(x) // side).astype(np.int64), n_areas - 1)
    del y
    return grid, area_of_cell


def simulate_feedback(
    *,
    true_rates: Sequence[float] | None = None,
    n_areas: int = 4,
    area_cells: int = 5,
    cell_size_m: float = 150.0,
    cycles: int = 1000,
    method: str = "learned",
    method_params: dict[str, Any] | None = None,
    training: Training = "reported",
    reporting_rate: float = 0.5,
    discoveries_per_hour: float = 0.1,
    officer_minutes: float = 960.0,
    shift_hours: float = 8.0,
    visit_minutes: int = 15,
    travel_minutes: int = 10,
    revisit_every_minutes: int = 120,
    warmup_weeks: int = 104,
    history_days: float = 1100.0,
    window: int | None = None,
    seed: int = 0,
) -> FeedbackResult:
    """Run ``cycles`` weekly forecast → plan → observe cycles (see the module docstring).

    Parameters
    ----------
    true_rates : sequence of float, optional
        True crimes per week in each area (default: 12 in each of ``n_areas`` areas).
    n_areas, area_cells, cell_size_m : int, int, float
        Areas side by side, each ``area_cells`` × ``area_cells`` cells of ``cell_size_m`` metres
        (the deployment default of 150 m).
    method, method_params : str, dict
        The forecaster (:func:`openilp.analysis.forecast.make_forecaster`); the deployment default
        is ``"toprank"`` (the blocking test runs it). The learned model is refitted from its
        previous trees (``warm_start``) as in the backtests, so a thousand weekly cycles stay
        affordable.
    training : {"reported", "all", "propensity"}
        What the forecaster trains on (see the module docstring).
    reporting_rate : float
        Share of true crimes the public reports (0–1).
    discoveries_per_hour : float
        Officer-initiated incidents discovered per patrol hour in a cell of average true rate.
    officer_minutes, shift_hours, visit_minutes, travel_minutes, revisit_every_minutes
        The shift given to :func:`openilp.tasking.plan_deployment` (the deployment defaults); the
        plan is worked every day of the week.
    warmup_weeks : int
        Weeks of reported crime before the first cycle (no patrol yet).
    history_days : float
        Days of incidents handed to the forecaster (older ones are dropped; every method looks back
        at most about three years).
    window : int, optional
        Patrol shares are measured over the last ``window`` cycles (default: all of them).
    seed : int
        Seed of the crimes, the reports, the discoveries and the plans' visit orders.
    """
    if true_rates is None:
        true_rates = [12.0] * n_areas
    rates = np.asarray(true_rates, dtype=np.float64)
    n_areas = len(rates)
    if n_areas < 2 or not np.all(np.isfinite(rates)) or np.any(rates < 0) or rates.sum() <= 0:
        raise ValueError("give at least two areas with non-negative true rates, not all zero")
    if training not in TRAINING_CHOICES:
        raise ValueError(f"training must be one of {', '.join(TRAINING_CHOICES)}, got {training!r}")
    if not 0 < reporting_rate <= 1 or discoveries_per_hour < 0:
        raise ValueError("reporting_rate must be in (0, 1] and discoveries_per_hour non-negative")
    if cycles < 1 or warmup_weeks < 1 or area_cells < 1:
        raise ValueError("cycles, warmup_weeks and area_cells must be positive")
    window = cycles if window is None else int(window)
    if not 1 <= window <= cycles:
        raise ValueError("window must be between 1 and the number of cycles")

    rng = np.random.default_rng(seed)
    grid, area_of_cell = _area_grid(n_areas, area_cells, cell_size_m)
    side = area_cells * cell_size_m
    cells_per_area = np.bincount(area_of_cell, minlength=n_areas)
    params = dict(method_params or {})
    if method == "learned":
        params.setdefault("warm_start", True)
    forecaster = make_forecaster(method, **params)

    # Incident store, as columns: x, y, time (ns since epoch), kind (0 reported, 1 discovered), kept.
    xs: list[NDArray[np.float64]] = []
    ys: list[NDArray[np.float64]] = []
    ts: list[NDArray[np.int64]] = []
    trained: list[NDArray[np.bool_]] = []
    counts = {"reported": 0, "discovered": 0, "discovered_trained": 0}

    def crimes_of_week(week_start: pd.Timestamp) -> None:
        n = rng.poisson(rates)
        area = np.repeat(np.arange(n_areas), n)
        reported = rng.random(area.size) < reporting_rate
        area = area[reported]
        add(area * side + rng.random(area.size) * side, rng.random(area.size) * side, week_start, True)
        counts["reported"] += int(area.size)

    def add(
        x: NDArray[np.float64], y: NDArray[np.float64], week_start: pd.Timestamp, train: bool | NDArray[np.bool_]
    ) -> None:
        offset = (rng.random(x.size) * _WEEK.value).astype(np.int64)
        xs.append(np.asarray(x, dtype=np.float64))
        ys.append(np.asarray(y, dtype=np.float64))
        ts.append(week_start.value + offset)
        trained.append(np.broadcast_to(np.asarray(train, dtype=bool), x.shape).copy())

    for week in range(warmup_weeks):
        crimes_of_week(_START + week * _WEEK)

    shares = np.zeros((cycles, n_areas), dtype=np.float64)
    mean_rate_per_cell = float(rates.sum() / grid.n_units)
    cell_x, cell_y = (np.asarray(v) for v in grid.centres_m())
    half = cell_size_m / 2.0
    for cycle in range(cycles):
        as_of = _START + (warmup_weeks + cycle) * _WEEK
        t = np.concatenate(ts)
        keep = np.concatenate(trained) & (t >= (as_of - pd.Timedelta(days=history_days)).value)
        stamps = pd.to_datetime(t[keep])
        events = pd.DataFrame(
            {
                "x_m": np.concatenate(xs)[keep],
                "y_m": np.concatenate(ys)[keep],
                "occurred_from": stamps,
                "occurred_to": stamps,
            }
        )
        scores = forecaster.fit(events, grid=grid, as_of=as_of).predict(7.0)
        plan = plan_deployment(
            scores,
            officer_minutes=officer_minutes,
            shift_hours=shift_hours,
            visit_minutes=visit_minutes,
            travel_minutes=travel_minutes,
            revisit_every_minutes=revisit_every_minutes,
            seed=seed + cycle,
        )
        minutes = np.zeros(grid.n_units, dtype=np.float64)
        for cell, on_scene in plan.minutes_by_cell().items():
            minutes[int(cell)] = on_scene
        by_area = np.bincount(area_of_cell, weights=minutes, minlength=n_areas)
        shares[cycle] = by_area / by_area.sum()

        crimes_of_week(as_of)
        # Discoveries: only in patrolled cells, in proportion to patrol hours and the area's true rate.
        patrolled = np.flatnonzero(minutes > 0)
        cell_rate = rates[area_of_cell[patrolled]] / cells_per_area[area_of_cell[patrolled]]
        expected = discoveries_per_hour * minutes[patrolled] * 7.0 / 60.0 * cell_rate / mean_rate_per_cell
        found = rng.poisson(expected)
        cells = np.repeat(patrolled, found)
        counts["discovered"] += int(cells.size)
        if cells.size:
            if training == "all":
                kept: bool | NDArray[np.bool_] = True
            elif training == "propensity":
                # The plan is deterministic given the scores, so the logged propensity of a patrolled
                # cell is its share of the week's patrol relative to the most patrolled cell.
                propensity = minutes[cells] / minutes.max()
                kept = inverse_propensity_sample(propensity, rng)
            else:
                kept = False
            counts["discovered_trained"] += (
                int(np.sum(kept)) if not isinstance(kept, bool) else (cells.size if kept else 0)
            )
            add(
                cell_x[cells] - half + rng.random(cells.size) * cell_size_m,
                cell_y[cells] - half + rng.random(cells.size) * cell_size_m,
                as_of,
                kept,
            )
    fair = rates / rates.sum()
    last = shares[-window:].mean(axis=0)
    return FeedbackResult(
        method=method,
        training=training,
        n_cycles=cycles,
        window=window,
        true_rates=tuple(float(r) for r in rates),
        fair_share=tuple(float(f) for f in fair),
        patrol_share=tuple(float(s) for s in last),
        shares_by_cycle=shares,
        reported=counts["reported"],
        discovered=counts["discovered"],
        discovered_trained=counts["discovered_trained"],
    )
