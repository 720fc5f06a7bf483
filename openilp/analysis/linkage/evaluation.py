"""Out-of-sample evaluation of linkage models over repeated splits by crime group.

Protocol (``docs/series-and-networks.md``). Pairs are sampled with ``crimelinkage``'s design
(:func:`openilp.analysis.linkage.pairs.make_pairs`) and split, the model is fitted on the training
pairs only and scored on the held-out test pairs; this is repeated ``repeats`` times with different
seeds. Two splits (:data:`SPLITS`): ``pairs`` (default) holds out a stratified random
``1 - train_fraction`` of the pairs, as the published replications do; ``groups`` holds out whole
crime groups (offender components), pairs then sampled on each side separately, so no crime and no
offender is seen in training; it is stricter and its spread is wider (one 14-crime series holds a
third of the linked pairs).

Metrics on the test pairs:

* ``auc``: ROC AUC (probability that a linked pair outranks an unlinked one);
* ``weighted_auc``: the same with the 1/N series weights on linked pairs (prolific offenders do
  not dominate);
* ``precision_at_k``: share of linked pairs among the ``k`` highest-scoring test pairs (Porter's
  "cases examined" view);
* ``hit_at_10``: for each test crime that has a linked partner, whether one of them is among its 10
  best-scoring test partners ("crimes like this one").

Each metric is reported as a mean with its standard deviation, min–max and a 95 % t-interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from openilp.analysis.linkage.features import CrimeTable, pair_features
from openilp.analysis.linkage.models import MODEL_NAMES, make_model
from openilp.analysis.linkage.pairs import crime_groups, make_pairs

#: ``pairs``: a stratified random split of the sampled pairs (the ``crimelinkage`` vignette's and the
#: published protocol; a crime may appear in pairs on both sides, never the same pair);
#: ``groups``: crime groups split first, pairs sampled on each side (no crime on both sides).
SPLITS = ("pairs", "groups")

__all__ = ["SPLITS", "MetricSummary", "SplitScores", "evaluate_linkage", "precision_at_k", "summarise"]


def precision_at_k(scores: NDArray[np.float64], linked: NDArray[np.bool_], k: int) -> float:
    """Share of linked pairs among the ``k`` best scores; ties at the cut count at their mean (random order).

    >>> import numpy as np
    >>> precision_at_k(np.array([3.0, 2.0, 2.0, 1.0]), np.array([True, True, False, True]), 2)
    0.75
    """
    k = min(k, scores.size)
    if k == 0:
        return float("nan")
    cut = np.sort(scores)[::-1][k - 1]
    above = scores > cut
    tied = scores == cut
    expected = linked[above].sum() + (k - above.sum()) * linked[tied].mean()
    return float(expected / k)


def hit_at(
    scores: NDArray[np.float64], linked: NDArray[np.bool_], i: NDArray[np.int64], j: NDArray[np.int64], k: int = 10
) -> float:
    """Share of crimes with a linked partner that find one among their ``k`` best-scoring partners."""
    frame = pd.DataFrame({"a": np.concatenate([i, j]), "s": np.tile(scores, 2), "y": np.tile(linked, 2)})
    frame = frame.sort_values(["a", "s"], ascending=[True, False], kind="stable")
    frame["rank"] = frame.groupby("a").cumcount()
    has = frame.groupby("a")["y"].any()
    hit = frame[frame["rank"] < k].groupby("a")["y"].any()
    seeds = has[has].index
    return float(hit.reindex(seeds).fillna(False).mean()) if len(seeds) else float("nan")


@dataclass(frozen=True)
class MetricSummary:
    """Mean, spread and 95 % t-interval of one metric over the splits."""

    mean: float
    std: float
    minimum: float
    maximum: float
    ci_low: float
    ci_high: float
    values: tuple[float, ...]


def summarise(values: Sequence[float]) -> MetricSummary:
    from scipy import stats

    v = np.asarray(values, dtype=float)
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    half = float(stats.t.ppf(0.975, v.size - 1) * std / np.sqrt(v.size)) if v.size > 1 else 0.0
    return MetricSummary(
        mean=round(mean, 4),
        std=round(std, 4),
        minimum=round(float(v.min()), 4),
        maximum=round(float(v.max()), 4),
        ci_low=round(mean - half, 4),
        ci_high=round(mean + half, 4),
        values=tuple(round(float(x), 4) for x in v),
    )


@dataclass(frozen=True)
class SplitScores:
    """One split: pair counts and the metrics of every model."""

    seed: int
    train_pairs: int
    train_linked: int
    test_pairs: int
    test_linked: int
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)


def evaluate_linkage(
    crimes: CrimeTable,
    crime_ids: Sequence[str],
    offender_links: Sequence[tuple[str, str]],
    *,
    models: Sequence[str] = MODEL_NAMES,
    repeats: int = 5,
    train_fraction: float = 0.7,
    threshold_days: float = 365.0,
    m: int = 40,
    ks: Sequence[int] = (50, 100),
    seed: int = 1,
    single_features: bool = True,
    split: str = "pairs",
) -> dict[str, Any]:
    """Repeated-split evaluation (module docstring); returns splits and per-model summaries.

    Only solved crimes (with at least one offender among ``offender_links``) are used.
    ``single_features`` adds one row per evidence variable used alone as a score (smaller distance
    = more likely linked; agreement = more likely linked), the baselines of the literature.
    """
    from sklearn.metrics import roc_auc_score

    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    for name in models:
        make_model(name)  # unknown names fail before any work
    solved_ids = {c for _, c in offender_links}
    solved = np.array([k for k, cid in enumerate(crime_ids) if cid in solved_ids], dtype=np.int64)
    if solved.size < 4:
        raise ValueError("fewer than 4 solved crimes: linkage needs crimes with offenders")
    groups = crime_groups(crime_ids, offender_links)
    t_mid = 0.5 * (crimes.t_from + crimes.t_to)
    unique_groups = np.unique(groups[solved])
    splits: list[SplitScores] = []
    per_model: dict[str, dict[str, list[float]]] = {}
    for r in range(repeats):
        split_seed = seed + r
        rng = np.random.default_rng(split_seed)
        if split == "groups":
            size = int(round(train_fraction * unique_groups.size))
            train_groups = rng.choice(unique_groups, size=size, replace=False)
            in_train = np.isin(groups[solved], train_groups)
            train = make_pairs(
                crime_ids, offender_links, t_mid, threshold_days=threshold_days, m=m, seed=split_seed,
                restrict_to=solved[in_train],
            )  # fmt: skip
            test = make_pairs(
                crime_ids, offender_links, t_mid, threshold_days=threshold_days, m=m, seed=split_seed + 10_000,
                restrict_to=solved[~in_train],
            )  # fmt: skip
        else:
            pairs = make_pairs(
                crime_ids, offender_links, t_mid, threshold_days=threshold_days, m=m, seed=split_seed,
                restrict_to=solved,
            )  # fmt: skip
            in_train = np.zeros(len(pairs), dtype=bool)
            for label in (True, False):  # stratified: the same share of linked pairs on both sides
                members = np.flatnonzero(pairs.linked == label)
                chosen = rng.choice(members, size=int(round(train_fraction * members.size)), replace=False)
                in_train[chosen] = True
            train, test = pairs.subset(in_train), pairs.subset(~in_train)
        x_train = pair_features(crimes, train.i, train.j)
        x_test = pair_features(crimes, test.i, test.j)
        scores: dict[str, NDArray[np.float64]] = {}
        for name in models:
            model = make_model(name).fit(x_train, train.linked, train.weight)
            scores[name] = model.score(x_test)
        if single_features:
            for column in x_test.columns:
                values = x_test[column].to_numpy()
                scores[f"only_{column}"] = values if column.startswith(("same_", "rare_")) else -values
        metrics: dict[str, dict[str, float]] = {}
        test_weight = test.weight
        for name, s in scores.items():
            row = {
                "auc": float(roc_auc_score(test.linked, s)),
                "weighted_auc": float(roc_auc_score(test.linked, s, sample_weight=test_weight)),
                "hit_at_10": hit_at(s, test.linked, test.i, test.j, 10),
            }
            for k in ks:
                row[f"precision_at_{k}"] = precision_at_k(s, test.linked, k)
            metrics[name] = row
            for key, value in row.items():
                per_model.setdefault(name, {}).setdefault(key, []).append(value)
        splits.append(
            SplitScores(
                seed=split_seed,
                train_pairs=len(train),
                train_linked=int(train.linked.sum()),
                test_pairs=len(test),
                test_linked=int(test.linked.sum()),
                metrics=metrics,
            )
        )
    summary = {name: {key: summarise(vals) for key, vals in rows.items()} for name, rows in per_model.items()}
    return {"splits": splits, "summary": summary, "features": list(pair_features(crimes, [0], [0]).columns)}
