"""A learned forecaster: gradient-boosted trees on lagged counts at several scales.

For every cell and a series of past *training origins* ``o`` (weekly, before the as-of moment),
features are computed from the events known at ``o`` and the target is the number of events in
``(o, o + horizon]``; a Poisson-loss histogram gradient-boosting model (scikit-learn's
``HistGradientBoostingRegressor``, after LightGBM) learns the mapping, and is applied to the
features at the as-of moment. The features (:data:`FEATURE_NAMES`) are:

* counts in the cell over the last 7, 28, 91, 365 and 730 days and in the year before the last;
* counts in the 3 × 3 and 7 × 7 cell neighbourhoods over 28 and 365 days (spatial scales of
  about 0.5 and 1 km on 150 m cells);
* near-repeat pressure: events in the 3 × 3 neighbourhood weighted ``exp(-age / 7 days)``
  (Johnson et al. 2007: risk near a burglary is raised for about two weeks), the same over the
  7 × 7 neighbourhood with a 14-day decay, and days since the cell's last event;
* seasonality: the 3 × 3 count in the same weeks one year earlier, and the day of year (sine and
  cosine) of the origin;
* the city-wide level: events per day in the last 28 and 365 days;
* **context**: incidents of every category (``context_events``, see
  :mod:`openilp.analysis.forecast._base`) in the cell over 28, 365 and 730 days and in the 3 × 3 and
  7 × 7 neighbourhoods over 365 days. Crime of all kinds marks busy places (shops, car parks,
  nightlife) whose property-crime risk a year of the category's own counts estimates noisily; on
  St. Louis 2017, a validation year before the reported backtest, these inputs raised the PAI at
  5 % coverage of the learned model by about 2 % for all property crime and 6 % for burglary.
  Without context events the category's own events stand in for them.

Only where and when events happened enter (see :mod:`openilp.analysis.forecast._base`); there is
no demographic or protected attribute. Training targets end at or before the as-of moment and the
features of a training origin use only events known at that origin, so the model never sees the
test period. Risk-terrain and machine-learning studies find such models beat prior counts modestly
(Wheeler & Steenbeek 2021); the backtest measures by how much.

``warm_start=True`` with ``retrain_every_days`` keeps the trees of the previous fit while the new
as-of moment is less than that many days later, and only recomputes the features: the trees were
trained on even older data, so no information from after the new as-of moment can enter, and a
weekly backtest retrains once every four weeks. The forecast then averages the models of the last
``ensemble_size`` trainings (each drew its own random share of the empty cell-weeks): an ensemble
over past retrainings that damps the variance of any one subsample at no extra training cost
(chosen on St. Louis 2017; only models trained at or before the as-of moment are ever used).

References
----------
Ke, G. et al. (2017). LightGBM: a highly efficient gradient boosting decision tree. *NeurIPS* 30.
Wheeler, A. P. & Steenbeek, W. (2021). Mapping the risk terrain for crime using machine learning.
*Journal of Quantitative Criminology* 37, 445–480.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from openilp.analysis.forecast._base import EventHistory, Forecaster, positive, raster_counts

__all__ = ["GradientBoostingForecaster", "FEATURE_NAMES", "box_sum"]

FEATURE_NAMES = (
    "cell_7d",
    "cell_28d",
    "cell_91d",
    "cell_365d",
    "cell_prev_year",
    "cell_730d",
    "near3_28d",
    "near3_365d",
    "near7_28d",
    "near7_365d",
    "near_repeat_pressure",
    "near_repeat_pressure_wide",
    "days_since_last",
    "same_weeks_last_year",
    "doy_sin",
    "doy_cos",
    "city_28d_per_day",
    "city_365d_per_day",
    "context_cell_28d",
    "context_cell_365d",
    "context_cell_730d",
    "context_near3_365d",
    "context_near7_365d",
)

#: A trained model of the ensemble: the booster, its feature bin edges and the as-of moment it was trained at.
_Member = tuple[HistGradientBoostingRegressor, list[NDArray[np.float64]], pd.Timestamp]


def box_sum(raster: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Sum of ``raster`` over the ``size`` × ``size`` cells centred on each cell (0 beyond the edge).

    >>> box_sum(np.eye(3), 3).tolist()
    [[2.0, 2.0, 1.0], [2.0, 3.0, 2.0], [1.0, 2.0, 2.0]]
    """
    total = uniform_filter(raster, size=size, mode="constant", cval=0.0) * (size * size)
    return np.asarray(np.clip(np.round(total, 9), 0.0, None), dtype=np.float64)


class GradientBoostingForecaster(Forecaster):
    """Poisson gradient-boosted trees on multi-scale lagged counts (see the module docstring).

    Parameters
    ----------
    training_origins : int
        Number of weekly training origins before the as-of moment (default 52: a year of weeks).
    origin_step_days : float
        Days between training origins (default 7).
    horizon_days : float
        Horizon the model is trained for (default 7); ``predict`` rescales other horizons.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf
        Passed to ``HistGradientBoostingRegressor`` (75 trees at a rate of 0.1: as accurate as 150 at
        0.05 on St. Louis 2017, in half the time).
    zero_share : float
        Share of the cell-periods without any event kept for training (weighted by its inverse;
        default 0.1).
    random_state : int
    n_threads : int
        OpenMP threads for the booster (default 1: on a shared 2-core machine more threads were
        twenty times slower, not faster).
    warm_start : bool
        Reuse the trees of the previous fit when it is recent (see ``retrain_every_days``) and was
        trained with the same kind of context (given or not).
    retrain_every_days : float
        With ``warm_start``, retrain only when the as-of moment moved this many days (default 28).
    ensemble_size : int
        With ``warm_start``, average the predictions of the models of the last this many trainings
        (default 3; trained at or before the as-of moment, with the same kind of context).

    Attributes
    ----------
    model_ : HistGradientBoostingRegressor
        The latest trained model.
    ensemble_ : list of (HistGradientBoostingRegressor, bin edges, trained as-of moment)
        The models whose predictions are averaged, oldest first.
    trained_as_of_ : Timestamp
        The as-of moment of the fit that trained ``model_``.
    trained_with_context_ : bool
        Whether ``model_`` was trained with context events.
    features_ : ndarray (n_cells, n_features)
        Features at the as-of moment.
    """

    name = "learned"
    uses_context = True
    trained_as_of_: pd.Timestamp
    trained_with_context_: bool
    ensemble_: list[_Member]
    origin_features_: tuple[object, bool, dict[pd.Timestamp, NDArray[np.float64]]]

    def __init__(
        self,
        *,
        training_origins: int = 52,
        origin_step_days: float = 7.0,
        horizon_days: float = 7.0,
        max_iter: int = 75,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        zero_share: float = 0.1,
        random_state: int = 0,
        n_threads: int = 1,
        warm_start: bool = False,
        retrain_every_days: float = 28.0,
        ensemble_size: int = 3,
    ) -> None:
        self.training_origins = training_origins
        self.origin_step_days = origin_step_days
        self.horizon_days = horizon_days
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.zero_share = zero_share
        self.random_state = random_state
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.retrain_every_days = retrain_every_days
        self.ensemble_size = ensemble_size

    def _validate(self) -> None:
        if not (isinstance(self.training_origins, int) and self.training_origins >= 1):
            raise ValueError("training_origins must be a positive integer")
        if not (isinstance(self.ensemble_size, int) and self.ensemble_size >= 1):
            raise ValueError("ensemble_size must be a positive integer")
        for name in ("origin_step_days", "horizon_days", "learning_rate", "retrain_every_days", "zero_share"):
            positive(name, getattr(self, name))

    def _features(self, history: EventHistory, lag_days: float) -> NDArray[np.float64]:
        """Features of every active cell at the origin ``lag_days`` before the as-of moment,
        from the events (and context events) known then."""
        grid = self.grid_
        rows, cols = grid.cell_rows, grid.cell_cols

        def known_at_origin(events: EventHistory) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
            known = events.end_age_days >= lag_days
            # Ages from the origin, rounded to a tenth of a second, so they do not depend on the as-of moment.
            return np.round(events.age_days[known] - lag_days, 6), events.cell[known]

        age, cell = known_at_origin(history)

        def raster(select: NDArray[np.bool_], weights: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
            return raster_counts(grid, cell[select], None if weights is None else weights[select])

        def at(r: NDArray[np.float64]) -> NDArray[np.float64]:
            return r[rows, cols]

        columns: list[NDArray[np.float64]] = []
        windows = {d: raster(age <= d) for d in (7, 28, 91, 365)}
        columns += [at(windows[d]) for d in (7, 28, 91, 365)]
        columns.append(at(raster((age > 365) & (age <= 730))))
        columns.append(at(raster(age <= 730)))
        for size in (3, 7):
            columns += [at(box_sum(windows[28], size)), at(box_sum(windows[365], size))]
        columns.append(at(box_sum(raster(age <= 56, np.exp(-age / 7.0)), 3)))
        columns.append(at(box_sum(raster(age <= 112, np.exp(-age / 14.0)), 7)))
        last = np.full(grid.n_units, np.inf)
        recent = age <= 730
        np.minimum.at(last, cell[recent], age[recent])
        columns.append(np.minimum(last, 730.0))
        same = (age > 365 - self.horizon_days - 7) & (age <= 365 + 7)
        columns.append(at(box_sum(raster(same), 3)))
        day_of_year = (self.as_of_ - np.timedelta64(int(lag_days * 86400), "s")).day_of_year
        angle = 2 * np.pi * day_of_year / 365.25
        n = grid.n_units
        columns += [np.full(n, np.sin(angle)), np.full(n, np.cos(angle))]
        columns += [np.full(n, windows[28].sum() / 28.0), np.full(n, windows[365].sum() / 365.0)]
        context = self.context_history_
        context_age, context_cell = (age, cell) if context is None else known_at_origin(context)
        context_windows = {d: raster_counts(grid, context_cell[context_age <= d]) for d in (28, 365, 730)}
        columns += [at(context_windows[d]) for d in (28, 365, 730)]
        columns += [at(box_sum(context_windows[365], size)) for size in (3, 7)]
        return np.column_stack(columns)

    def _fit(self, history: EventHistory) -> None:
        self.features_ = self._features(history, 0.0)
        with_context = self.context_history_ is not None
        previous: list[_Member] = []
        if self.warm_start and hasattr(self, "model_") and self.trained_with_context_ == with_context:
            # Never a model trained after the as-of moment (a backtest run backwards, say).
            previous = [member for member in self.ensemble_ if member[2] <= self.as_of_]
            moved = (self.as_of_ - self.trained_as_of_) / np.timedelta64(1, "D")
            if previous and 0 <= moved < self.retrain_every_days:
                self.ensemble_ = previous
                return
        self.n_trainings_ = getattr(self, "n_trainings_", 0) + 1 if self.warm_start else 1
        h = self.horizon_days
        cache = self._origin_cache(with_context)
        xs, ys = [], []
        for k in range(self.training_origins):
            lag = h + k * self.origin_step_days
            target = (history.age_days < lag) & (history.age_days >= lag - h)
            ys.append(np.bincount(history.cell[target], minlength=self.grid_.n_units).astype(np.float64))
            origin = self.as_of_ - pd.Timedelta(days=lag)
            if origin not in cache:
                cache[origin] = self._features(history, lag)
            xs.append(cache[origin])
        oldest = self.as_of_ - pd.Timedelta(days=h + (self.training_origins - 1) * self.origin_step_days)
        for origin in [o for o in cache if o < oldest]:
            del cache[origin]
        x, y = np.vstack(xs), np.concatenate(ys)
        if y.sum() == 0:
            raise ValueError("no events in the training targets: too little history for the learned model")
        # Keep every cell-week with an event and a random share of the empty ones, weighted by the
        # inverse of that share: the Poisson loss stays unbiased and training is ~10x faster.
        rng = np.random.default_rng([self.random_state, self.n_trainings_])
        share = min(1.0, self.zero_share)
        keep = (y > 0) | (rng.random(len(y)) < share)
        weight = np.where(y > 0, 1.0, 1.0 / share)
        # Quantile bins computed here (unweighted), so the booster's own weighted binning, slow in
        # scikit-learn >= 1.8, sees at most 255 distinct values per feature and is skipped.
        levels = np.linspace(0.0, 1.0, 256)[1:-1]
        bin_edges = [np.unique(np.quantile(column, levels)) for column in x[keep].T]
        model = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            early_stopping=False,
            random_state=self.random_state + self.n_trainings_,
        )
        with threadpool_limits(limits=self.n_threads):
            self.model_ = model.fit(_binned(x[keep], bin_edges), y[keep], sample_weight=weight[keep])
        self.trained_as_of_ = self.as_of_
        self.trained_with_context_ = with_context
        keep_last = self.ensemble_size - 1 if self.warm_start else 0
        self.ensemble_ = previous[-keep_last:] if keep_last else []
        self.ensemble_.append((self.model_, bin_edges, self.as_of_))

    def _origin_cache(self, with_context: bool) -> dict[pd.Timestamp, NDArray[np.float64]]:
        """Features of past training origins, kept between warm-started fits.

        The features of an origin use only the events known at that origin, so a later fit on the
        same, grown, event history (a backtest) finds them unchanged: like the reused trees, they
        assume successive fits see one history. Cleared without ``warm_start`` and when the grid
        or the presence of context changes.
        """
        state = getattr(self, "origin_features_", None)
        if not self.warm_start or state is None or state[0] is not self.grid_ or state[1] != with_context:
            state = (self.grid_, with_context, {})
            self.origin_features_ = state
        return state[2]

    def _predict(self, horizon_days: float) -> NDArray[np.float64]:
        with threadpool_limits(limits=self.n_threads):
            predictions = [model.predict(_binned(self.features_, edges)) for model, edges, _ in self.ensemble_]
        return np.asarray(np.mean(predictions, axis=0), dtype=np.float64) * (horizon_days / self.horizon_days)


def _binned(x: NDArray[np.float64], bin_edges: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """Each feature replaced by its bin number (edges from the training data)."""
    return np.column_stack(
        [np.searchsorted(edges, column, side="right") for edges, column in zip(bin_edges, x.T, strict=True)]
    ).astype(np.float64)
