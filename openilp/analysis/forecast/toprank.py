"""Top-rank blend: long-memory event rates plus a near-repeat boost, tuned for the top 1–2 %.

A shift covers about 1–2 % of a city with directed patrol, so what matters is which few hundred
cells rank first. Two signals decide it for burglary:

* **where crime keeps happening**: each cell's event rate with exponential forgetting,
  ``Σ exp(−age / τ) / τ`` (events per day), over up to ``max_history_days`` (4 years by
  default) and lightly smoothed over the neighbouring cells (a Gaussian of ``σ`` cells, peak 1).
  Long memories (τ of one to four years) estimate a place's stable rate with less Poisson noise
  than one year of counts: at 150 m, Chicago has about 0.2–0.5 burglaries per cell and year;
* **near repeats**: the same rate over a short memory (τ of two to four weeks), smoothed over
  about 150–250 m: risk near a burglary is raised for a few weeks and a few hundred metres
  (Bowers, Johnson & Pease 2004; Johnson et al. 2007).

The forecast is ``long(τ_L, σ_L) + w × short(τ_S, σ_S)``, with ``(τ_L, σ_L, τ_S, σ_S, w)``
chosen by :func:`~openilp.analysis.forecast.tuning.select_on_folds` at every fit, on the
``tuning_weeks`` weeks before the as-of moment only (their pooled PAI at 1 % and 2 %; nested and
time-ordered, see :mod:`openilp.analysis.forecast.tuning`); ``coverage_weights`` and
``objective`` change that objective, and ``prospective_weeks`` offers prospective hot-spotting
surfaces as further boosts (options tried and not made the default, as is the ensemble: see
``docs/forecasting.md``). With ``ensemble = n > 1`` the forecast
averages the ``n`` best candidates on those weeks, each scaled to the same total (an ensemble over
the tuned parameters; not the default: see ``docs/forecasting.md`` for what it did on the
reported spans). The scores are scaled to the city's
events per day over the last year (the ranking is what is tuned; the scale only makes the
numbers readable as expected events).

Like every forecaster it reads only where and when events happened (no protected attribute) and
only the events known at the as-of moment. It benefits from more history than the usual two
years (:attr:`TopRankBlend.history_days`).

>>> import pandas as pd
>>> from openilp.analysis.grids import SquareGrid
>>> grid = SquareGrid.from_bounds((0, 0, 500, 100), 100.0)
>>> days = pd.date_range("2018-01-01", "2019-01-01", freq="3D")
>>> events = pd.DataFrame({"x_m": 50.0 + 100.0 * (days.day % 2 == 0), "y_m": 50.0, "occurred_from": days})
>>> events["occurred_to"] = events["occurred_from"]
>>> model = TopRankBlend(tuning_weeks=4).fit(events, grid=grid, as_of="2019-01-02")
>>> scores = model.predict(7)
>>> bool(scores[:2].min() > scores[2:].max()), sorted(model.chosen_)
(True, ['primary', 'secondary', 'weight'])

References
----------
Bowers, K. J., Johnson, S. D. & Pease, K. (2004). Prospective hot-spotting. *BJC* 44, 641–658.
Johnson, S. D. et al. (2007). Space–time patterns of risk. *JQC* 23, 201–219.
Mohler, G. & Porter, M. (2018). Rotational grid, PAI-maximizing crime forecasts. *SADM* 11, 227–236.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from openilp.analysis.forecast._base import EventHistory, positive, raster_counts, smooth
from openilp.analysis.forecast._blend import TunedBlendForecaster
from openilp.analysis.forecast.blend import prospective_surface

__all__ = ["TopRankBlend", "gaussian_kernel"]


def gaussian_kernel(sigma_cells: float) -> NDArray[np.float64]:
    """A Gaussian of ``sigma_cells`` cells with peak 1, truncated at 3 σ (1 × 1 for σ = 0).

    The peak stays 1, so the cell's own rate keeps its weight and σ only adds the neighbours'.

    >>> gaussian_kernel(0.5).round(3)[2].tolist()   # the middle row of a 5 × 5 kernel
    [0.0, 0.135, 1.0, 0.135, 0.0]
    """
    if sigma_cells <= 0:
        return np.ones((1, 1))
    radius = max(1, math.ceil(3 * sigma_cells))
    offsets = np.arange(-radius, radius + 1)
    return np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma_cells**2))


class TopRankBlend(TunedBlendForecaster):
    """Long-memory rates plus a near-repeat boost, tuned on past weeks (see the module docstring).

    Parameters
    ----------
    long_decays_days : tuple of float
        Candidate memories τ_L of the long-term rate, days (default one, two and four years).
    long_sigmas_cells : tuple of float
        Candidate smoothing σ_L of the long-term rate, in cells (0 = the cell alone).
    short_decays_days, short_sigmas_cells : tuple of float
        The same for the near-repeat boost (default two and four weeks; 1 and 1.5 cells).
    weights : tuple of float
        Candidate weights ``w`` of the boost (0 = no boost).
    prospective_weeks : tuple of int
        Windows (weeks) of prospective hot-spotting surfaces (bandwidth ``prospective_cells``) offered
        as further boosts beside the near-repeat ones, each scaled to the total of the last
        near-repeat surface (the longest and widest) so that ``w`` means the same share (default
        none; see ``docs/forecasting.md`` for what it did).
    prospective_cells : int
        Bandwidth of those surfaces, in cells (default 3, the analytics reference's).
    ensemble : int
        How many of the best candidates on the past weeks are averaged, each scaled to the same
        total (1 = the best alone).
    max_history_days : float
        Events older than this (from the origin) are ignored (default 1,461: four years).
    tuning_weeks : int
        Past weeks the choice is made on (default 52).
    target_coverages : tuple of float
        Shares of the area whose pooled PAI is maximised (default 1 % and 2 %).
    coverage_weights : tuple of float or None
        Weight of each target coverage in the objective (default 1 each).
    objective : {"pooled", "min_relative"}
        The weighted sum of the pooled PAIs, or the smallest over the coverages of the pooled PAI
        relative to the best candidate's there (:func:`~openilp.analysis.forecast.tuning.select_on_folds`).
    horizon_days : float
        Length of the tuning weeks (default 7).

    Attributes
    ----------
    chosen_ : dict
        The chosen long-term surface, boost and weight.
    tuning_ : DataFrame
        The objective of every candidate on the past weeks.
    """

    name = "toprank"
    #: Days of history before the first forecast this method can use (four years).
    history_days = 1461

    def __init__(
        self,
        *,
        long_decays_days: tuple[float, ...] = (365.0, 730.0, 1461.0),
        long_sigmas_cells: tuple[float, ...] = (0.0, 0.35, 0.5, 0.75),
        short_decays_days: tuple[float, ...] = (14.0, 30.0),
        short_sigmas_cells: tuple[float, ...] = (1.0, 1.5),
        weights: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2),
        prospective_weeks: tuple[int, ...] = (),
        prospective_cells: int = 3,
        ensemble: int = 1,
        max_history_days: float = 1461.0,
        tuning_weeks: int = 52,
        target_coverages: tuple[float, ...] = (0.01, 0.02),
        coverage_weights: tuple[float, ...] | None = None,
        objective: str = "pooled",
        horizon_days: float = 7.0,
    ) -> None:
        self.long_decays_days = long_decays_days
        self.long_sigmas_cells = long_sigmas_cells
        self.short_decays_days = short_decays_days
        self.short_sigmas_cells = short_sigmas_cells
        self.weights = weights
        self.prospective_weeks = prospective_weeks
        self.prospective_cells = prospective_cells
        self.ensemble = ensemble
        self.max_history_days = max_history_days
        self.tuning_weeks = tuning_weeks
        self.target_coverages = target_coverages
        self.coverage_weights = coverage_weights
        self.objective = objective
        self.horizon_days = horizon_days

    def _validate(self) -> None:
        super()._validate()
        positive("max_history_days", self.max_history_days)
        for name in ("long_decays_days", "short_decays_days"):
            values = getattr(self, name)
            if not values:
                raise ValueError(f"{name} needs at least one memory")
            for value in values:
                positive(name, value)
        for name in ("long_sigmas_cells", "short_sigmas_cells"):
            values = getattr(self, name)
            if not values or any(not (math.isfinite(v) and v >= 0) for v in values):
                raise ValueError(f"{name} must be non-negative numbers of cells")
        for weeks in self.prospective_weeks:
            positive("prospective_weeks", weeks)
        positive("prospective_cells", self.prospective_cells)

    def _rates(
        self, history: EventHistory, decays: tuple[float, ...], sigmas: tuple[float, ...], label: str
    ) -> dict[str, NDArray[np.float64]]:
        grid = self.grid_
        recent = history.age_days <= self.max_history_days
        age, cell = history.age_days[recent], history.cell[recent]
        out = {}
        for tau in decays:
            raster = raster_counts(grid, cell, np.exp(-age / tau) / tau)
            for sigma in sigmas:
                surface = smooth(raster, gaussian_kernel(sigma))
                out[f"{label} τ={tau:g} d σ={sigma:g} cells"] = surface[grid.cell_rows, grid.cell_cols]
        return out

    def _primary(self, history: EventHistory) -> dict[str, NDArray[np.float64]]:
        return self._rates(history, self.long_decays_days, self.long_sigmas_cells, "long")

    def _secondary(self, history: EventHistory) -> dict[str, NDArray[np.float64]]:
        out = self._rates(history, self.short_decays_days, self.short_sigmas_cells, "near-repeat")
        if self.prospective_weeks:
            # Scaled to the total of the last near-repeat surface (the longest and widest by default), so
            # a weight is the same share of either.
            reference = float(out[next(reversed(out))].sum())
            for weeks in self.prospective_weeks:
                surface = prospective_surface(self.grid_, history, weeks=weeks, bandwidth_cells=self.prospective_cells)
                total = float(surface.sum())
                scale = reference / total if total > 0 else 0.0
                out[f"prospective {self.prospective_cells} cells {weeks} weeks"] = surface * scale
        return out
