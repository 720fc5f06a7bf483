"""The tuned blends (``blend`` baseline, ``toprank``): tuning on earlier folds only, and its objective.

The strict cut-off and the exclusion of protected attributes are tested for every registered method
(these included) in ``tests/test_forecast.py``; here: the tuning itself never reads the period being
forecast, its objective matches the backtest's own scoring, and the kept work between fits changes
nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest

from openilp.analysis.evaluation import hit_counts
from openilp.analysis.forecast import TopRankBlend, TunedProspectiveBlend, known_mask, make_forecaster
from openilp.analysis.forecast._base import EventHistory
from openilp.analysis.forecast.tuning import fold_tops, past_folds, select_on_folds, top_cells
from openilp.analysis.grids import SquareGrid

GRID = SquareGrid.from_bounds((0.0, 0.0, 2000.0, 2000.0), 100.0)
AS_OF = pd.Timestamp("2019-05-20 05:00")


def _events(seed: int = 0, n: int = 1500) -> pd.DataFrame:
    """Two years of events: three stable hot spots, near-repeat bursts and a uniform background;
    half of them date-only (a day's window), half point events."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2017-05-01")
    days = rng.uniform(0, 750, n)
    centres = np.array([[500.0, 500.0], [1400.0, 700.0], [900.0, 1500.0]])
    which = rng.integers(0, 4, n)
    x = np.where(which < 3, centres[np.minimum(which, 2), 0] + rng.normal(0, 120, n), rng.uniform(0, 2000, n))
    y = np.where(which < 3, centres[np.minimum(which, 2), 1] + rng.normal(0, 120, n), rng.uniform(0, 2000, n))
    begin = start + pd.to_timedelta(np.floor(days), unit="D")
    date_only = rng.random(n) < 0.5
    occurred_from = np.where(date_only, begin, begin + pd.to_timedelta(rng.uniform(0, 86_000, n), unit="s"))
    frame = pd.DataFrame({"x_m": np.clip(x, 1, 1999), "y_m": np.clip(y, 1, 1999)})
    frame["occurred_from"] = pd.to_datetime(occurred_from)
    frame["occurred_to"] = np.where(date_only, frame["occurred_from"] + pd.Timedelta(days=1), frame["occurred_from"])
    frame["occurred_to"] = pd.to_datetime(frame["occurred_to"])
    return frame


class _Spy(TopRankBlend):
    """Records the events every surface is computed from (ages count from that surface's origin)."""

    seen: list[EventHistory]

    def _primary(self, history: EventHistory) -> dict[str, Any]:
        self.seen.append(history)
        return super()._primary(history)


#: The tuning paths tried for the top 1–2 %: weighted coverages, the max-min rule, the prospective boost.
TUNING_PATHS: list[dict[str, Any]] = [
    {},
    {"target_coverages": (0.01, 0.02, 0.05), "coverage_weights": (1.0, 2.0, 1.0)},
    {"target_coverages": (0.01, 0.02, 0.05), "objective": "min_relative"},
    {"prospective_weeks": (8, 16)},
]


class _SecondarySpy(TopRankBlend):
    """Records the events every boost (near-repeat and prospective) is computed from."""

    seen: list[EventHistory]

    def _secondary(self, history: EventHistory) -> dict[str, Any]:
        self.seen.append(history)
        return super()._secondary(history)


@pytest.mark.parametrize("params", TUNING_PATHS)
@pytest.mark.parametrize("spy", [_Spy, _SecondarySpy])
def test_folds_end_before_the_as_of_moment_and_use_only_events_known_at_their_origin(
    spy: Any, params: dict[str, Any]
) -> None:
    events = _events()
    model = spy(tuning_weeks=8, **params)
    model.seen = []
    model.fit(events, grid=GRID, as_of=AS_OF)
    # 8 past origins and the as-of moment itself.
    assert len(model.seen) == 9
    cells = GRID.assign(events["x_m"].to_numpy(), events["y_m"].to_numpy())
    for k, history in enumerate(model.seen[:-1]):
        origin = AS_OF - pd.Timedelta(days=7 * (k + 1))
        # The fold's test week [origin, origin + 7 d) ends at or before the as-of moment.
        assert origin + pd.Timedelta(days=7) <= AS_OF
        # Exactly the events known at the fold's origin (checked from the raw frame), no later one.
        known = known_mask(events, origin) & (cells >= 0)
        assert len(history) == int(known.sum())
        assert history.age_days.min() > 0 and history.end_age_days.min() >= 0
        np.testing.assert_array_equal(np.sort(history.cell), np.sort(cells[known]))


def test_fold_targets_are_the_events_of_each_past_week() -> None:
    events = _events(seed=1)
    model = TopRankBlend(tuning_weeks=5).fit(events, grid=GRID, as_of=AS_OF)
    from openilp.analysis.forecast._base import _history

    history = _history(events, GRID, AS_OF)
    start = events["occurred_from"]
    middle = start + (events["occurred_to"] - start) / 2
    cells = GRID.assign(events["x_m"].to_numpy(), events["y_m"].to_numpy())
    for k, fold in enumerate(past_folds(history, GRID.n_units, n_folds=5)):
        origin = AS_OF - pd.Timedelta(days=7 * (k + 1))
        inside = (middle >= origin) & (middle < origin + pd.Timedelta(days=7)) & (cells >= 0)
        expected = np.bincount(cells[inside.to_numpy()], minlength=GRID.n_units)
        np.testing.assert_array_equal(fold.target, expected)
    assert model.tuning_["objective"].notna().all()


@pytest.mark.parametrize(
    "cls",
    [TopRankBlend, TunedProspectiveBlend, partial(TopRankBlend, ensemble=10)]
    + [partial(TopRankBlend, **params) for params in TUNING_PATHS[1:]],
)
def test_later_events_change_neither_the_choice_nor_the_tuning(cls: Any) -> None:
    events = _events(seed=2)
    known = events[events["occurred_to"] <= AS_OF - pd.Timedelta(hours=1)]
    later = _events(seed=3, n=600).assign(
        occurred_from=lambda f: AS_OF + pd.to_timedelta(np.arange(len(f)) % 14, unit="D"),
        occurred_to=lambda f: f["occurred_from"] + pd.Timedelta(days=1),
    )
    plain = cls(tuning_weeks=6).fit(known, grid=GRID, as_of=AS_OF)
    leaked = cls(tuning_weeks=6).fit(pd.concat([known, later]), grid=GRID, as_of=AS_OF)
    assert plain.chosen_ == leaked.chosen_
    pd.testing.assert_frame_equal(plain.tuning_, leaked.tuning_)
    np.testing.assert_array_equal(plain.predict(7), leaked.predict(7))


def test_the_objective_is_the_pooled_pai_of_the_backtest_scoring() -> None:
    rng = np.random.default_rng(5)
    n_cells = 400
    surfaces = [rng.random((6, n_cells)) for _ in range(4)]
    targets = [rng.poisson(0.3, n_cells) for _ in range(4)]
    best, objective = select_on_folds(surfaces, targets, coverages=(0.01, 0.05))
    for c in range(6):
        caught = sum(
            hit_counts(surfaces[f][c], targets[f], (0.01, 0.05)) / (np.array([4, 20]) / n_cells) for f in range(4)
        )
        assert objective[c] == pytest.approx(caught.sum() / sum(t.sum() for t in targets))
    assert best == int(np.argmax(objective))


def test_weighted_and_max_min_objectives_match_the_backtest_scoring() -> None:
    rng = np.random.default_rng(8)
    n_cells = 500
    coverages = (0.01, 0.02, 0.05)
    sizes = np.array([5, 10, 25]) / n_cells
    surfaces = [rng.random((7, n_cells)) for _ in range(5)]
    targets = [rng.poisson(0.4, n_cells) for _ in range(5)]
    total = sum(t.sum() for t in targets)
    # Pooled PAI of every candidate at every coverage, from the backtest's own hit counts.
    pai = np.array(
        [sum(hit_counts(surfaces[f][c], targets[f], coverages) for f in range(5)) / total / sizes for c in range(7)]
    )
    _, weighted = select_on_folds(surfaces, targets, coverages=coverages, coverage_weights=(1.0, 2.0, 1.0))
    np.testing.assert_allclose(weighted, pai @ np.array([1.0, 2.0, 1.0]), rtol=1e-12)
    best, worst_relative = select_on_folds(surfaces, targets, coverages=coverages, rule="min_relative")
    np.testing.assert_allclose(worst_relative, (pai / pai.max(axis=0)).min(axis=1), rtol=1e-12)
    assert best == int(np.argmax(worst_relative)) and worst_relative.max() <= 1.0
    with pytest.raises(ValueError, match="rule"):
        select_on_folds(surfaces, targets, rule="median")
    with pytest.raises(ValueError, match="coverage_weights"):
        select_on_folds(surfaces, targets, coverages=coverages, coverage_weights=(1.0, 2.0))


def test_the_prospective_boost_is_offered_beside_the_near_repeat_ones_at_the_same_scale() -> None:
    from openilp.analysis.forecast._base import _history
    from openilp.analysis.forecast.blend import prospective_surface

    events = _events(seed=10)
    model = TopRankBlend(tuning_weeks=6, prospective_weeks=(8, 16)).fit(events, grid=GRID, as_of=AS_OF)
    history = _history(events, GRID, AS_OF)
    boosts = model._secondary(history)
    assert list(boosts)[-2:] == ["prospective 3 cells 8 weeks", "prospective 3 cells 16 weeks"]
    widest = boosts["near-repeat τ=30 d σ=1.5 cells"]
    for weeks in (8, 16):
        boost = boosts[f"prospective 3 cells {weeks} weeks"]
        raw = prospective_surface(GRID, history, weeks=weeks, bandwidth_cells=3)
        assert boost.sum() == pytest.approx(widest.sum())
        np.testing.assert_allclose(boost, raw * (widest.sum() / raw.sum()), rtol=1e-12)
    # Every near-repeat and prospective boost is a candidate at every positive weight.
    assert set(model.tuning_["secondary"].dropna()) == set(boosts)


def test_kept_top_cells_do_not_hold_the_whole_partition() -> None:
    # A warm-started blend keeps each past week's top cells; a view into the candidates × cells
    # partition kept all of it alive (on Chicago, 156 candidates × 23,286 cells × 52 weeks, 1.5 GB).
    surfaces = np.random.default_rng(0).random((156, 23_286))
    top = top_cells(surfaces, 466)
    assert top.shape == (156, 466) and top.base is None and top.flags.owndata
    assert sorted(top[0].tolist()) == sorted(np.argsort(-surfaces[0])[:466].tolist())
    for kept in fold_tops(surfaces, [233, 466, 1164]):
        assert kept.base is None and kept.nbytes == kept.size * 8


def test_kept_work_between_fits_gives_the_same_forecast_as_a_fresh_fit() -> None:
    events = _events(seed=4)
    reused = TopRankBlend(tuning_weeks=6)
    for week in range(3):
        reused.fit(events, grid=GRID, as_of=AS_OF + pd.Timedelta(days=7 * week))
    fresh = TopRankBlend(tuning_weeks=6).fit(events, grid=GRID, as_of=AS_OF + pd.Timedelta(days=14))
    assert reused.chosen_ == fresh.chosen_
    np.testing.assert_array_equal(reused.predict(7), fresh.predict(7))
    # Other data on the same grid: nothing kept from the first data set is reused.
    other = _events(seed=9)
    np.testing.assert_array_equal(
        reused.fit(other, grid=GRID, as_of=AS_OF).predict(7),
        TopRankBlend(tuning_weeks=6).fit(other, grid=GRID, as_of=AS_OF).predict(7),
    )


def test_the_ensemble_averages_the_best_candidates_on_the_past_weeks_each_scaled_alike() -> None:
    from openilp.analysis.forecast._base import _history

    events = _events(seed=7)
    single = TopRankBlend(tuning_weeks=8).fit(events, grid=GRID, as_of=AS_OF)
    model = TopRankBlend(tuning_weeks=8, ensemble=4).fit(events, grid=GRID, as_of=AS_OF)
    # The same tuning; the ensemble's first member is the single model's choice.
    pd.testing.assert_frame_equal(single.tuning_, model.tuning_)
    best = model.tuning_.sort_values("objective", ascending=False, kind="stable").head(4)
    assert [tuple(m) for m in model.chosen_["members"]] == list(
        best[["primary", "secondary", "weight"]].itertuples(index=False, name=None)
    )
    first = model.chosen_["members"][0]
    assert (first[0], first[2]) == (single.chosen_["primary"], single.chosen_["weight"])
    # Recomputed by hand: each member's surface at the as-of moment over its own total, averaged.
    history = _history(events, GRID, AS_OF)
    names, surfaces = model._candidates(model._primary(history), model._secondary(history))
    members = [names.index(tuple(m)) for m in model.chosen_["members"]]
    expected = np.mean([surfaces[i] / surfaces[i].sum() for i in members], axis=0)
    np.testing.assert_allclose(model.surface_, expected, rtol=1e-12)
    # Still expected events: the total is the last year's events per day × the horizon.
    assert model.predict(7).sum() == pytest.approx(single.predict(7).sum())
    assert "members" not in single.chosen_


def test_stable_hot_spots_are_ranked_first_and_scores_are_expected_events() -> None:
    events = _events(seed=6)
    model = make_forecaster("toprank", tuning_weeks=8).fit(events, grid=GRID, as_of=AS_OF)
    scores = model.predict(7)
    top = np.argsort(-scores)[:12]
    cx, cy = GRID.centres_m()
    centres = np.array([[500.0, 500.0], [1400.0, 700.0], [900.0, 1500.0]])
    near = np.min(np.hypot(cx[top, None] - centres[None, :, 0], cy[top, None] - centres[None, :, 1]), axis=1)
    assert (near < 300).all()
    recent = events[(events["occurred_from"] >= AS_OF - pd.Timedelta(days=365)) & (events["occurred_to"] <= AS_OF)]
    assert scores.sum() == pytest.approx(len(recent) / 365 * 7, rel=0.02)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tuning_weeks": 0}, "tuning_weeks"),
        ({"weights": (-1.0,)}, "weights"),
        ({"target_coverages": (0.0,)}, "target_coverages"),
        ({"long_decays_days": ()}, "long_decays_days"),
        ({"short_sigmas_cells": (-0.5,)}, "short_sigmas_cells"),
        ({"ensemble": 0}, "ensemble"),
        ({"objective": "median"}, "objective"),
        ({"coverage_weights": (1.0,)}, "coverage_weights"),
        ({"prospective_weeks": (0,)}, "prospective_weeks"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TopRankBlend(**params).fit(_events(), grid=GRID, as_of=AS_OF)
