"""The tuned blend baseline: prospective hot-spotting plus a share of one year of counts.

What a crime analyst can tune in a quarter of an hour (analytics reference §8.1): the prospective
hot-spotting surface of Bowers, Johnson & Pease (2004) (weights ``1/(1+d) × 1/(1+w)``, ``d`` in
cells, ``w`` in weeks) plus ``β`` times each cell's events of the last 365 days. Its bandwidth,
window and ``β`` are chosen at every fit on the weeks before the as-of moment only (the pooled PAI
at 1 % and 2 %; :mod:`openilp.analysis.forecast.tuning`), the same nested, time-ordered choice
the other tuned methods get. On Chicago burglary, prospective hot-spotting over 3 cells and
16 weeks plus 0.5 × one-year counts, tuned on October–December 2016, reached PAI@1 % of 7.07 on
January–March 2017, ahead of every method of ``open_cp``. It is a baseline: a new method must
beat it, not only the naive counts.

>>> import pandas as pd
>>> from openilp.analysis.grids import SquareGrid
>>> grid = SquareGrid.from_bounds((0, 0, 500, 100), 100.0)
>>> days = pd.date_range("2018-06-01", "2019-01-01", freq="2D")
>>> events = pd.DataFrame({"x_m": 50.0, "y_m": 50.0, "occurred_from": days})
>>> events["occurred_to"] = events["occurred_from"]
>>> model = TunedProspectiveBlend(tuning_weeks=4).fit(events, grid=grid, as_of="2019-01-02")
>>> int(model.predict(7).argmax()), model.chosen_["primary"].startswith("prospective")
(0, True)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from openilp.analysis.forecast._base import EventHistory, positive, raster_counts, smooth
from openilp.analysis.forecast._blend import TunedBlendForecaster
from openilp.analysis.forecast.prospective import distance_weights
from openilp.analysis.grids import SquareGrid

__all__ = ["TunedProspectiveBlend", "prospective_surface"]


def prospective_surface(
    grid: SquareGrid, history: EventHistory, *, weeks: int, bandwidth_cells: int
) -> NDArray[np.float64]:
    """Prospective hot-spotting per active cell (Bowers, Johnson & Pease 2004): each event of the last
    ``weeks`` weeks weighs ``1/(1+w)`` (``w`` its age in whole weeks) spread by ``1/(1+d)`` over the
    cells within ``bandwidth_cells`` (``d`` in cells)."""
    recent = history.age_days <= 7.0 * weeks
    age_weeks = np.floor(history.age_days[recent] / 7.0)
    raster = raster_counts(grid, history.cell[recent], 1.0 / (1.0 + age_weeks))
    kernel = distance_weights(grid.cell_size_m, bandwidth_cells * grid.cell_size_m)
    return np.asarray(smooth(raster, kernel)[grid.cell_rows, grid.cell_cols], dtype=np.float64)


class TunedProspectiveBlend(TunedBlendForecaster):
    """Prospective hot-spotting + ``β`` × one-year counts, tuned on past weeks (the ``blend`` baseline).

    Parameters
    ----------
    bandwidths_cells : tuple of int
        Candidate bandwidths of the prospective surface, in cells (default 2, 3, 4).
    windows_weeks : tuple of int
        Candidate windows of the prospective surface, weeks (default 8, 12, 16, 24).
    weights : tuple of float
        Candidate ``β`` for the one-year counts (default 0 … 4).
    counts_days : float
        Window of the counts, days (default 365).
    tuning_weeks, target_coverages, horizon_days
        As for :class:`~openilp.analysis.forecast.toprank.TopRankBlend`.
    """

    name = "blend"

    def __init__(
        self,
        *,
        bandwidths_cells: tuple[int, ...] = (2, 3, 4),
        windows_weeks: tuple[int, ...] = (8, 12, 16, 24),
        weights: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
        counts_days: float = 365.0,
        tuning_weeks: int = 52,
        target_coverages: tuple[float, ...] = (0.01, 0.02),
        horizon_days: float = 7.0,
    ) -> None:
        self.bandwidths_cells = bandwidths_cells
        self.windows_weeks = windows_weeks
        self.weights = weights
        self.counts_days = counts_days
        self.tuning_weeks = tuning_weeks
        self.target_coverages = target_coverages
        self.horizon_days = horizon_days

    def _validate(self) -> None:
        super()._validate()
        positive("counts_days", self.counts_days)
        for name in ("bandwidths_cells", "windows_weeks"):
            values = getattr(self, name)
            if not values:
                raise ValueError(f"{name} needs at least one value")
            for value in values:
                positive(name, value)

    def _primary(self, history: EventHistory) -> dict[str, NDArray[np.float64]]:
        out = {}
        for weeks in self.windows_weeks:
            for cells in self.bandwidths_cells:
                surface = prospective_surface(self.grid_, history, weeks=weeks, bandwidth_cells=cells)
                out[f"prospective {cells} cells {weeks} weeks"] = surface
        return out

    def _secondary(self, history: EventHistory) -> dict[str, NDArray[np.float64]]:
        recent = history.recent(self.counts_days)
        counts = np.bincount(history.cell[recent], minlength=self.grid_.n_units).astype(np.float64)
        return {f"counts {self.counts_days:g} days": counts}
