"""Linkage models: naive-Bayes log Bayes factors, logistic regression and gradient-boosted trees.

All three follow the scikit-learn shape: parameters in ``__init__``, ``fit(features, linked,
sample_weight)`` returns ``self``, ``score(features)`` returns one number per pair, larger meaning
"more likely the same offender". The naive-Bayes score is a log Bayes factor (Porter 2016):
``log P(evidence | linked) / P(evidence | unlinked)`` summed over the evidence variables, each
estimated from a histogram with shrinkage toward the no-evidence value 0. The logistic model is a
logistic additive model: each continuous variable enters through a natural-spline basis of its
``log1p`` (a logistic GAM in the spirit of Porter's ``crimelinkage``), with an L2 penalty. The
boosted model is scikit-learn's gradient boosting (depth 3, subsample 0.8, as ``crimelinkage``'s ``gbm``).

Scores come only from the evidence variables the caller passes, the columns of
:func:`openilp.analysis.linkage.features.pair_features`; protected attributes cannot be one of them.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MODEL_NAMES",
    "BoostedLinkage",
    "LinkageModel",
    "LogisticLinkage",
    "NaiveBayesLinkage",
    "PriorBayesLinkage",
    "make_model",
]

MODEL_NAMES = ("logistic", "naive_bayes", "boosted")
ModelName = Literal["logistic", "naive_bayes", "boosted"]


def _is_binary(values: NDArray[np.float64]) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


class LinkageModel:
    """Common interface of the linkage models."""

    feature_names_: list[str]

    def fit(self, features: pd.DataFrame, linked: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        raise NotImplementedError

    def score(self, features: pd.DataFrame) -> NDArray[np.float64]:
        raise NotImplementedError

    def _columns(self, features: pd.DataFrame) -> NDArray[np.float64]:
        missing = [c for c in self.feature_names_ if c not in features.columns]
        if missing:
            raise ValueError(f"features lack {missing}: compute them with the same fields as for fit()")
        return features[self.feature_names_].to_numpy(dtype=float)


def _prepare(features: pd.DataFrame, linked: ArrayLike, sample_weight: ArrayLike | None) -> tuple[Any, ...]:
    y = np.asarray(linked, dtype=bool)
    if y.shape[0] != len(features):
        raise ValueError(f"linked has {y.shape[0]} values for {len(features)} pairs")
    if y.all() or not y.any():
        raise ValueError("training pairs need both linked and unlinked pairs")
    w = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return features.to_numpy(dtype=float), y, w


class NaiveBayesLinkage(LinkageModel):
    """Porter's naive-Bayes linkage: per variable, a log Bayes factor from weighted histograms.

    Continuous variables are cut at ``bins`` quantiles of the training pairs; each bin's linked and
    unlinked weighted counts get ``shrinkage`` pseudo-pairs spread like the pooled data, which pulls
    thin bins toward a log Bayes factor of 0. Binary variables use their two values as bins.
    """

    def __init__(self, *, bins: int = 15, shrinkage: float = 2.0) -> None:
        self.bins = bins
        self.shrinkage = shrinkage

    def fit(self, features: pd.DataFrame, linked: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        x, y, w = _prepare(features, linked, sample_weight)
        self.feature_names_ = list(features.columns)
        self.edges_: list[NDArray[np.float64]] = []
        self.log_bf_: list[NDArray[np.float64]] = []
        w_link = np.where(y, w, 0.0)
        w_unlink = np.where(~y, 1.0, 0.0)
        for k in range(x.shape[1]):
            column = x[:, k]
            if _is_binary(column):
                edges = np.array([0.5])
            else:
                edges = np.unique(np.quantile(column, np.linspace(0, 1, self.bins + 1)[1:-1]))
            slot = np.searchsorted(edges, column, side="right")
            size = edges.size + 1
            linked_count = np.bincount(slot, weights=w_link, minlength=size)
            unlinked_count = np.bincount(slot, weights=w_unlink, minlength=size)
            pooled = (linked_count / linked_count.sum() + unlinked_count / unlinked_count.sum()) / 2
            p_link = (linked_count + self.shrinkage * pooled) / (linked_count.sum() + self.shrinkage)
            p_unlink = (unlinked_count + self.shrinkage * pooled) / (unlinked_count.sum() + self.shrinkage)
            self.edges_.append(edges)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_bf = np.where((p_link > 0) & (p_unlink > 0), np.log(p_link) - np.log(p_unlink), 0.0)
            self.log_bf_.append(log_bf)
        return self

    def score(self, features: pd.DataFrame) -> NDArray[np.float64]:
        x = self._columns(features)
        total = np.zeros(x.shape[0])
        for k, (edges, table) in enumerate(zip(self.edges_, self.log_bf_, strict=True)):
            total += table[np.searchsorted(edges, x[:, k], side="right")]
        return total


class LogisticLinkage(LinkageModel):
    """Penalised logistic additive model on ``log1p`` spline bases of the continuous variables."""

    def __init__(self, *, knots: int = 5, C: float = 1.0) -> None:
        self.knots = knots
        self.C = C

    def _design(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        parts = []
        for k, transformer in enumerate(self.splines_):
            column = x[:, k : k + 1]
            if transformer is None:
                parts.append(column)
            else:
                parts.append(transformer.transform(np.log1p(np.maximum(column, 0.0))))
        design = np.hstack(parts)
        return (design - self.center_) / self.scale_

    def fit(self, features: pd.DataFrame, linked: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import SplineTransformer

        x, y, w = _prepare(features, linked, sample_weight)
        self.feature_names_ = list(features.columns)
        self.splines_: list[Any] = []
        for k in range(x.shape[1]):
            column = x[:, k]
            if _is_binary(column):
                self.splines_.append(None)
            else:
                spline = SplineTransformer(n_knots=self.knots, degree=3, knots="quantile", extrapolation="linear")
                spline.fit(np.log1p(np.maximum(column, 0.0))[:, None])
                self.splines_.append(spline)
        self.center_ = np.zeros(1)
        self.scale_ = np.ones(1)
        raw = self._design(x)
        self.center_ = raw.mean(axis=0)
        self.scale_ = np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
        design = (raw - self.center_) / self.scale_
        # balance the classes: linked pairs carry their series weights, scaled to the unlinked total
        weight = np.where(y, w * ((~y).sum() / max(w[y].sum(), 1e-12)), 1.0)
        self.model_ = LogisticRegression(C=self.C, max_iter=2000)
        self.model_.fit(design, y, sample_weight=weight)
        return self

    def score(self, features: pd.DataFrame) -> NDArray[np.float64]:
        result: NDArray[np.float64] = self.model_.decision_function(self._design(self._columns(features)))
        return result


class BoostedLinkage(LinkageModel):
    """Gradient-boosted trees (depth 3), weighted like the logistic model."""

    def __init__(self, *, iterations: int = 300, learning_rate: float = 0.05, max_depth: int = 3, seed: int = 0):
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.seed = seed

    def fit(self, features: pd.DataFrame, linked: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        from sklearn.ensemble import GradientBoostingClassifier

        x, y, w = _prepare(features, linked, sample_weight)
        self.feature_names_ = list(features.columns)
        weight = np.where(y, w * ((~y).sum() / max(w[y].sum(), 1e-12)), 1.0)
        self.model_ = GradientBoostingClassifier(
            n_estimators=self.iterations,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            subsample=0.8,
            min_samples_leaf=10,
            random_state=self.seed,
        )
        self.model_.fit(x, y, sample_weight=weight)
        return self

    def score(self, features: pd.DataFrame) -> NDArray[np.float64]:
        result: NDArray[np.float64] = self.model_.decision_function(self._columns(features))
        return result


class PriorBayesLinkage(LinkageModel):
    """Log Bayes factors for data **without offender truth** (a city's open incident data).

    Without solved series, ``P(evidence | linked)`` cannot be learned. It is taken from a stated
    prior instead: the distance between two crimes of one offender is exponential with mean
    ``linked_distance_m`` and their time gap exponential with mean ``linked_days`` (serial
    burglars' short journeys and bursts, Bennell & Canter 2002; Tonkin et al. 2011), and they share
    the offence category with probability ``linked_same_category``. ``P(evidence | unlinked)`` is
    learned from the data themselves: the histogram of the variables over random pairs of the
    agency's crimes (almost all of which are unlinked). The score is the sum of the log ratios over
    the variables present, so it is a log Bayes factor under the stated prior, not a trained model;
    the page that shows it says so.
    """

    VARIABLES = ("spatial", "temporal", "same_category")

    def __init__(
        self,
        *,
        linked_distance_m: float = 1000.0,
        linked_days: float = 14.0,
        linked_same_category: float = 0.9,
        bins: int = 30,
    ) -> None:
        self.linked_distance_m = linked_distance_m
        self.linked_days = linked_days
        self.linked_same_category = linked_same_category
        self.bins = bins

    def fit(
        self, features: pd.DataFrame, linked: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Learn the unlinked distributions from ``features`` of random pairs (``linked`` is ignored)."""
        self.feature_names_ = [c for c in self.VARIABLES if c in features.columns]
        if not {"spatial", "temporal"} <= set(self.feature_names_):
            raise ValueError("the prior model needs the spatial and temporal variables")
        self.edges_: dict[str, NDArray[np.float64]] = {}
        self.unlinked_density_: dict[str, NDArray[np.float64]] = {}
        for name in ("spatial", "temporal"):
            values = features[name].to_numpy(dtype=float)
            edges = np.unique(np.quantile(values, np.linspace(0, 1, self.bins + 1)))
            counts, _ = np.histogram(values, bins=edges)
            widths = np.diff(edges)
            density = (counts + 0.5) / ((counts.sum() + 0.5 * counts.size) * np.where(widths > 0, widths, 1.0))
            self.edges_[name] = edges
            self.unlinked_density_[name] = density
        if "same_category" in self.feature_names_:
            self.unlinked_same_ = float(np.clip(features["same_category"].mean(), 1e-3, 1 - 1e-3))
        return self

    def score(self, features: pd.DataFrame) -> NDArray[np.float64]:
        total = np.zeros(len(features))
        for name, scale in (("spatial", self.linked_distance_m), ("temporal", self.linked_days)):
            values = features[name].to_numpy(dtype=float)
            edges = self.edges_[name]
            slot = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, edges.size - 2)
            unlinked = self.unlinked_density_[name][slot]
            # beyond the observed range the unlinked density is that of the last bin
            linked_log = -np.log(scale) - values / scale
            total += linked_log - np.log(unlinked)
        if "same_category" in self.feature_names_ and "same_category" in features.columns:
            same = features["same_category"].to_numpy(dtype=float) > 0.5
            p, q = self.linked_same_category, self.unlinked_same_
            total += np.where(same, np.log(p / q), np.log((1 - p) / (1 - q)))
        return total


def make_model(name: str, **params: Any) -> LinkageModel:
    """A fresh model by name: ``logistic``, ``naive_bayes`` or ``boosted``."""
    if name == "logistic":
        return LogisticLinkage(**params)
    if name == "naive_bayes":
        return NaiveBayesLinkage(**params)
    if name == "boosted":
        return BoostedLinkage(**params)
    raise ValueError(f"unknown linkage model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
