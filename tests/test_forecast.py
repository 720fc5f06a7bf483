"""Forecasters, metrics and backtest: known answers, the strict cut-off, no protected attribute."""

from __future__ import annotations

import doctest
import importlib
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from openilp.analysis import backtest, evaluation
from openilp.analysis.backtest import block_bootstrap_ci, rolling_origin_backtest
from openilp.analysis.evaluation import coverage_curve, hit_rate, pai, pei, recapture_rate_index, score_forecast
from openilp.analysis.forecast import (
    FORECAST_INPUT_COLUMNS,
    FORECASTERS,
    GradientBoostingForecaster,
    SelfExcitingPointProcess,
    known_mask,
    make_forecaster,
)
from openilp.analysis.forecast.sepp import sim_end, simulate_sepp
from openilp.analysis.grids import SquareGrid

# Fast parameters for each method (the learned model with few origins and trees).
FAST = {
    "naive": {},
    "kde": {},
    "prospective": {},
    "sepp": {"max_iter": 20},
    "learned": {"training_origins": 4, "max_iter": 20, "min_samples_leaf": 20},
    "blend": {"tuning_weeks": 6},
    "toprank": {"tuning_weeks": 6},
}
DOCTEST_MODULES = [
    "openilp.analysis.evaluation",
    "openilp.analysis.backtest",
    "openilp.analysis.forecast",
    "openilp.analysis.forecast._base",
    "openilp.analysis.forecast.naive",
    "openilp.analysis.forecast.kde",
    "openilp.analysis.forecast.prospective",
    "openilp.analysis.forecast.sepp",
    "openilp.analysis.forecast.learned",
    "openilp.analysis.forecast.tuning",
    "openilp.analysis.forecast.blend",
    "openilp.analysis.forecast.toprank",
]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# --- metrics against hand-computed examples -----------------------------------------------------------


def test_metrics_by_hand() -> None:
    # 10 cells; the forecast ranks cells 0..9; 8 test events.
    scores = np.arange(10.0)[::-1]
    counts = np.array([3, 0, 1, 0, 0, 2, 0, 0, 2, 0])
    # Top 10 % = cell 0: 3 of 8 events; PAI = (3/8)/(1/10) = 3.75; the best cell also holds 3: PEI = 1.
    assert hit_rate(scores, counts, 0.1) == pytest.approx(3 / 8)
    assert pai(scores, counts, 0.1) == pytest.approx(3.75)
    assert pei(scores, counts, 0.1) == pytest.approx(1.0)
    # Top 20 % = cells 0, 1: 3 events; the best two cells hold 3 + 2 = 5: PEI = 0.6.
    assert pei(scores, counts, 0.2) == pytest.approx(0.6)
    assert pai(scores, counts, 0.2) == pytest.approx((3 / 8) / 0.2)
    # Top 30 %: cells 0-2 hold 4 events.
    assert hit_rate(scores, counts, 0.3) == pytest.approx(0.5)
    # RRI: reference period had 2 of 4 events in cell 0; test has 3 of 8: (3/2)/(8/4) = 0.75.
    reference = np.array([2, 1, 0, 0, 0, 0, 0, 0, 1, 0])
    assert recapture_rate_index(scores, counts, reference, 0.1) == pytest.approx(0.75)
    area, hits = coverage_curve(scores, counts)
    assert area[[0, 1, 3, 10]].tolist() == pytest.approx([0.0, 0.1, 0.3, 1.0])
    assert hits[[0, 1, 3, 10]].tolist() == pytest.approx([0.0, 3 / 8, 0.5, 1.0])
    everything = score_forecast(scores, counts, reference_counts=reference, coverages=(0.1, 0.2))
    assert everything["pai@0.1"] == pytest.approx(3.75)
    assert everything["pei@0.2"] == pytest.approx(0.6)
    assert everything["rri@0.1"] == pytest.approx(0.75)
    assert everything["events"] == 8


def test_ties_are_credited_their_mean_whatever_the_cell_order() -> None:
    scores = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    counts = np.array([4, 0, 0, 0, 1])
    # One cell of four tied ones is flagged: expected catch 4/4 = 1 event of 5.
    assert hit_rate(scores, counts, 0.2) == pytest.approx(0.2)
    assert hit_rate(scores, counts[[1, 2, 3, 0, 4]], 0.2) == pytest.approx(0.2)


def test_metrics_undefined_without_events_and_bad_input() -> None:
    assert math.isnan(hit_rate([1.0, 0.0], [0, 0], 0.5))
    assert math.isnan(pei([1.0, 0.0], [0, 0], 0.5))
    with pytest.raises(ValueError, match="coverage"):
        pai([1.0, 0.0], [1, 0], 0.0)
    with pytest.raises(ValueError, match="equal length"):
        pai([1.0, 0.0], [1, 0, 0], 0.5)
    with pytest.raises(ValueError, match="finite"):
        pai([np.nan, 0.0], [1, 0], 0.5)


def test_perfect_forecast_has_pei_one_and_oracle_pai() -> None:
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.3, 1000)
    result = score_forecast(counts + rng.uniform(0, 0.1, 1000), counts, coverages=(0.05,))
    assert result["pei@0.05"] == pytest.approx(1.0)
    assert result["auc"] > 0.5


def test_block_bootstrap_ci() -> None:
    mean, low, high = block_bootstrap_ci(np.r_[np.full(10, 1.0), np.full(10, 3.0)])
    assert mean == 2.0 and 1.0 <= low < 2.0 < high <= 3.0
    assert all(math.isnan(v) for v in block_bootstrap_ci([]))


# --- the strict cut-off -----------------------------------------------------------------------------


def _events(times: list[str], x: float = 250.0, y: float = 250.0, date_only: bool = False) -> pd.DataFrame:
    start = pd.to_datetime(times)
    end = start + pd.Timedelta(days=1) if date_only else start
    return pd.DataFrame({"x_m": x, "y_m": y, "occurred_from": start, "occurred_to": end})


def test_known_mask_is_strict() -> None:
    as_of = pd.Timestamp("2019-06-10 00:00")
    points = _events(["2019-06-09 23:59", "2019-06-10 00:00", "2019-06-10 00:01"])
    assert known_mask(points, as_of).tolist() == [True, False, False]
    days = _events(["2019-06-09", "2019-06-10"], date_only=True)
    assert known_mask(days, as_of).tolist() == [True, False]  # the day of the forecast is not known
    window = pd.DataFrame(
        {"occurred_from": pd.to_datetime(["2019-06-09 18:00"]), "occurred_to": pd.to_datetime(["2019-06-10 08:00"])}
    )
    assert known_mask(window, as_of).tolist() == [False]  # discovered after the forecast


def _background(seed: int = 0, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2018-01-01")
    times = start + pd.to_timedelta(rng.uniform(0, 520, n), unit="D")
    x = np.r_[rng.normal(700, 150, n // 2), rng.uniform(0, 2000, n - n // 2)]
    y = np.r_[rng.normal(700, 150, n // 2), rng.uniform(0, 2000, n - n // 2)]
    frame = pd.DataFrame({"x_m": np.clip(x, 0, 1999), "y_m": np.clip(y, 0, 1999), "occurred_from": times})
    frame["occurred_to"] = frame["occurred_from"]
    return frame


GRID = SquareGrid.from_bounds((0.0, 0.0, 2000.0, 2000.0), 100.0)
AS_OF = pd.Timestamp("2019-05-20 00:00")


@pytest.mark.parametrize("method", list(FORECASTERS))
def test_no_event_at_or_after_as_of_reaches_a_forecast(method: str) -> None:
    history = _background()
    history = history[history["occurred_from"] < AS_OF - pd.Timedelta(days=1)]
    # A midnight point event, a date-only event of the forecast day, later events, a window that
    # ends after the as-of moment: none may change the forecast.
    future = pd.concat(
        [
            _events(["2019-05-20 00:00", "2019-05-20 00:00"], 1500.0, 1500.0),
            _events(["2019-05-20", "2019-05-21", "2019-05-22"], 1500.0, 1600.0, date_only=True),
            _events(["2019-05-25 12:00"] * 20, 300.0, 1700.0),
            pd.DataFrame(
                {
                    "x_m": [1550.0],
                    "y_m": [1550.0],
                    "occurred_from": [pd.Timestamp("2019-05-19 20:00")],
                    "occurred_to": [pd.Timestamp("2019-05-20 06:00")],
                }
            ),
        ]
    )
    without = make_forecaster(method, **FAST[method]).fit(history, grid=GRID, as_of=AS_OF).predict(7)
    leaked = pd.concat([history, future], ignore_index=True).sample(frac=1.0, random_state=1)
    with_future = make_forecaster(method, **FAST[method]).fit(leaked, grid=GRID, as_of=AS_OF).predict(7)
    np.testing.assert_array_equal(without, with_future)
    # The same holds for the context events (incidents of every category) a method may read.
    context = _background(seed=7, n=900)
    context = context[context["occurred_from"] < AS_OF - pd.Timedelta(days=1)]
    leaked_context = pd.concat([context, future], ignore_index=True).sample(frac=1.0, random_state=2)
    plain = make_forecaster(method, **FAST[method]).fit(history, grid=GRID, as_of=AS_OF, context_events=context)
    both = make_forecaster(method, **FAST[method]).fit(leaked, grid=GRID, as_of=AS_OF, context_events=leaked_context)
    np.testing.assert_array_equal(plain.predict(7), both.predict(7))


@pytest.mark.parametrize("method", ["naive", "kde", "prospective", "sepp"])
def test_yesterdays_date_only_events_are_used(method: str) -> None:
    history = _background()
    history = history[history["occurred_from"] < AS_OF - pd.Timedelta(days=3)]
    yesterday = _events(["2019-05-19"] * 5, 1850.0, 1850.0, date_only=True)
    base = make_forecaster(method, **FAST[method]).fit(history, grid=GRID, as_of=AS_OF).predict(7)
    more = make_forecaster(method, **FAST[method]).fit(pd.concat([history, yesterday]), grid=GRID, as_of=AS_OF)
    cell = GRID.assign([1850.0], [1850.0])[0]
    assert more.predict(7)[cell] > base[cell]


@pytest.mark.parametrize("method", list(FORECASTERS))
def test_protected_attributes_never_enter(method: str) -> None:
    history = _background(seed=2)
    only_inputs = history.loc[:, list(FORECAST_INPUT_COLUMNS)]
    rng = np.random.default_rng(0)
    decorated = history.assign(
        race=rng.choice(["A", "B", "C"], len(history)),
        ethnicity=rng.choice(["X", "Y"], len(history)),
        neighbourhood_black_share=rng.uniform(0, 1, len(history)),
        category="burglary",
    )
    reference = make_forecaster(method, **FAST[method]).fit(only_inputs, grid=GRID, as_of=AS_OF).predict(7)
    for frame in (decorated, decorated.assign(race=decorated["race"].sample(frac=1.0, random_state=3).to_numpy())):
        scores = make_forecaster(method, **FAST[method]).fit(frame, grid=GRID, as_of=AS_OF).predict(7)
        np.testing.assert_array_equal(scores, reference)
    # Nor through the context events (incidents of every category): the same filter applies to them.
    context = _background(seed=8, n=900)
    decorated_context = context.assign(
        race=rng.choice(["A", "B", "C"], len(context)),
        neighbourhood_black_share=rng.uniform(0, 1, len(context)),
        category="larceny",
    )
    shuffled_context = decorated_context.assign(
        race=decorated_context["race"].sample(frac=1.0, random_state=4).to_numpy()
    )
    plain_context = context.loc[:, list(FORECAST_INPUT_COLUMNS)]
    reference = (
        make_forecaster(method, **FAST[method])
        .fit(only_inputs, grid=GRID, as_of=AS_OF, context_events=plain_context)
        .predict(7)
    )
    for frame_context in (decorated_context, shuffled_context):
        model = make_forecaster(method, **FAST[method])
        scores = model.fit(decorated, grid=GRID, as_of=AS_OF, context_events=frame_context).predict(7)
        np.testing.assert_array_equal(scores, reference)


def test_forecast_package_never_imports_demographic_code() -> None:
    import pathlib
    import re

    import openilp.analysis.forecast as package

    folder = pathlib.Path(package.__file__).parent
    for path in list(folder.glob("*.py")) + [folder.parent / "backtest.py", folder.parent / "evaluation.py"]:
        imports = [line for line in path.read_text().splitlines() if re.match(r"\s*(import|from) ", line)]
        assert not [line for line in imports if re.search(r"tasking|demograph|population|services", line)], path


# --- the learned model: context inputs and the ensemble over retrainings ------------------------------


def test_box_sum_matches_brute_force() -> None:
    from openilp.analysis.forecast.learned import box_sum

    raster = np.random.default_rng(3).poisson(0.7, (9, 13)).astype(float)
    for size in (3, 7):
        half = size // 2
        padded = np.pad(raster, half)
        expected = np.array(
            [[padded[r : r + size, c : c + size].sum() for c in range(raster.shape[1])] for r in range(raster.shape[0])]
        )
        np.testing.assert_allclose(box_sum(raster, size), expected, atol=1e-9)


def test_context_features_count_the_context_events_known_at_each_origin() -> None:
    from openilp.analysis.forecast.learned import FEATURE_NAMES

    history = _background(seed=2)
    history = history[history["occurred_from"] < AS_OF - pd.Timedelta(days=1)]
    # Context events in the cell at (1250, 1250) at 10, 100 and 500 days before the forecast, one in a
    # neighbouring cell 200 days before, one at the as-of moment (unknown) and a window not yet ended.
    ages = [10, 100, 500]
    context = _events([str(AS_OF - pd.Timedelta(days=d)) for d in ages], 1250.0, 1250.0)
    context = pd.concat(
        [
            context,
            _events([str(AS_OF - pd.Timedelta(days=200))], 1350.0, 1250.0),
            _events([str(AS_OF)], 1250.0, 1250.0),
            pd.DataFrame(
                {
                    "x_m": [1250.0],
                    "y_m": [1250.0],
                    "occurred_from": [AS_OF - pd.Timedelta(days=2)],
                    "occurred_to": [AS_OF + pd.Timedelta(hours=1)],
                }
            ),
        ]
    )
    fast: dict[str, Any] = {"training_origins": 4, "max_iter": 20, "min_samples_leaf": 20}
    model = GradientBoostingForecaster(**fast).fit(history, grid=GRID, as_of=AS_OF, context_events=context)
    cell = GRID.assign([1250.0], [1250.0])[0]
    features = dict(zip(FEATURE_NAMES, model.features_[cell], strict=True))
    assert len(FEATURE_NAMES) == model.features_.shape[1]
    assert (features["context_cell_28d"], features["context_cell_365d"], features["context_cell_730d"]) == (1, 2, 3)
    assert features["context_near3_365d"] == 3 and features["context_near7_365d"] == 3
    # A training origin 50 days back knows only the events older than 50 days.
    at_origin = dict(zip(FEATURE_NAMES, model._features(model.context_history_, 50.0)[cell], strict=True))  # type: ignore[arg-type]
    assert (at_origin["cell_28d"], at_origin["cell_365d"], at_origin["cell_730d"]) == (0, 1, 2)
    # Without context events, the category's own events stand in for them.
    alone = GradientBoostingForecaster(**fast).fit(history, grid=GRID, as_of=AS_OF)
    names = list(FEATURE_NAMES)
    for own, stand_in in (("cell_28d", "context_cell_28d"), ("near3_365d", "context_near3_365d")):
        np.testing.assert_array_equal(alone.features_[:, names.index(own)], alone.features_[:, names.index(stand_in)])
    assert alone.context_history_ is None and model.context_history_ is not None


@pytest.mark.parametrize("method", ["naive", "kde", "prospective", "sepp"])
def test_methods_without_context_ignore_it(method: str) -> None:
    history = _background(seed=2)
    alone = make_forecaster(method, **FAST[method]).fit(history, grid=GRID, as_of=AS_OF).predict(7)
    context = _background(seed=9, n=2000)
    with_context = make_forecaster(method, **FAST[method]).fit(history, grid=GRID, as_of=AS_OF, context_events=context)
    np.testing.assert_array_equal(alone, with_context.predict(7))


def test_learned_ensemble_averages_only_models_trained_before_the_forecast() -> None:
    events = _background(seed=4, n=2500)
    params = {**FAST["learned"], "warm_start": True, "retrain_every_days": 14.0, "ensemble_size": 3}
    model = make_forecaster("learned", **params)
    start = pd.Timestamp("2019-02-04")
    for week in range(8):
        as_of = start + pd.Timedelta(days=7 * week)
        scores = model.fit(events, grid=GRID, as_of=as_of, context_events=events).predict(7)
        trained = [member[2] for member in model.ensemble_]  # type: ignore[attr-defined]
        assert len(trained) == min(3, week // 2 + 1) and all(t <= as_of for t in trained)
    # The forecast is the mean of the members' forecasts.
    from openilp.analysis.forecast.learned import _binned

    members = [m.predict(_binned(model.features_, edges)) for m, edges, _ in model.ensemble_]  # type: ignore[attr-defined]
    np.testing.assert_allclose(scores, np.mean(members, axis=0) * 1.0, rtol=1e-12)
    # Run backwards: the models trained after the new as-of moment are dropped.
    earlier = start + pd.Timedelta(days=21)
    model.fit(events, grid=GRID, as_of=earlier, context_events=events)
    assert all(member[2] <= earlier for member in model.ensemble_)  # type: ignore[attr-defined]
    # Without context events the trees (trained with them) are not reused.
    model.fit(events, grid=GRID, as_of=earlier + pd.Timedelta(days=7))
    assert len(model.ensemble_) == 1 and model.trained_with_context_ is False  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="ensemble_size"):
        make_forecaster("learned", ensemble_size=0).fit(events, grid=GRID, as_of=AS_OF)


def test_learned_reuses_origin_features_without_changing_the_forecast() -> None:
    events = _background(seed=5, n=2500)
    params = {**FAST["learned"], "warm_start": True, "retrain_every_days": 7.0}
    reusing, fresh = make_forecaster("learned", **params), make_forecaster("learned", **params)
    for week in range(4):
        as_of = pd.Timestamp("2019-02-04") + pd.Timedelta(days=7 * week)
        with_cache = reusing.fit(events, grid=GRID, as_of=as_of, context_events=events).predict(7)
        vars(fresh).pop("origin_features_", None)  # forget the features of earlier origins
        without = fresh.fit(events, grid=GRID, as_of=as_of, context_events=events).predict(7)
        np.testing.assert_array_equal(with_cache, without)
    # Only the training origins of the last fit are kept.
    kept = reusing.origin_features_[2]  # type: ignore[attr-defined]
    assert len(kept) == FAST["learned"]["training_origins"] and max(kept) < as_of


def test_backtest_hands_the_context_to_each_fit() -> None:
    events = _background(seed=4, n=1500)
    context = pd.concat([events, _background(seed=11, n=3000)], ignore_index=True)
    origins = [pd.Timestamp("2019-03-04") + pd.Timedelta(days=7 * k) for k in range(2)]
    result = rolling_origin_backtest(
        events, GRID, {"learned": make_forecaster("learned", **FAST["learned"])}, origins, context_events=context
    )
    cells = GRID.assign(events["x_m"].to_numpy(), events["y_m"].to_numpy())
    for origin in origins:
        scores = make_forecaster("learned", **FAST["learned"]).fit(
            events, grid=GRID, as_of=origin, context_events=context
        )
        test = (events["occurred_from"] >= origin) & (events["occurred_from"] < origin + pd.Timedelta(days=7))
        counts = np.bincount(cells[test.to_numpy() & (cells >= 0)], minlength=GRID.n_units)
        expected = score_forecast(scores.predict(7), counts)
        got = result.scores.iloc[origins.index(origin)]
        assert got["pai@0.05"] == pytest.approx(expected["pai@0.05"])


# --- bad input ---------------------------------------------------------------------------------------


def test_clear_errors_for_bad_input() -> None:
    history = _background()
    with pytest.raises(ValueError, match="before the data"):
        make_forecaster("naive").fit(history, grid=GRID, as_of="2017-01-01")
    with pytest.raises(ValueError, match="do not cover"):
        make_forecaster("naive").fit(history, grid=GRID, as_of="2025-01-01")
    with pytest.raises(ValueError, match="no events"):
        make_forecaster("kde").fit(history.iloc[:0], grid=GRID, as_of=AS_OF)
    from openilp.services.analysis.forecasting import study_area_grid

    with pytest.raises(ValueError, match="cell size must be a positive"):
        study_area_grid(history, cell_size_m=0, crs=None, as_of=AS_OF)
    with pytest.raises(ValueError, match="bandwidth_m must be a positive"):
        make_forecaster("kde", bandwidth_m=0).fit(history, grid=GRID, as_of=AS_OF)
    with pytest.raises(ValueError, match="unknown forecasting method"):
        make_forecaster("crystal_ball")
    with pytest.raises(ValueError, match="horizon_days"):
        make_forecaster("naive").fit(history, grid=GRID, as_of=AS_OF).predict(0)
    with pytest.raises(RuntimeError, match="not fitted"):
        make_forecaster("naive").predict(7)


# --- the self-exciting point process recovers known parameters ----------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_sepp_em_recovers_simulated_parameters(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = {"theta": 0.5, "omega_per_day": 0.2, "sigma_m": 50.0, "background_per_day": 5.0}
    sim = simulate_sepp(
        rng,
        background_per_day=truth["background_per_day"],
        size_m=5000.0,
        duration_days=365.0,
        theta=truth["theta"],
        omega_per_day=truth["omega_per_day"],
        sigma_m=truth["sigma_m"],
    )
    grid = SquareGrid.from_bounds((0.0, 0.0, 5000.0, 5000.0), 100.0)
    model = SelfExcitingPointProcess(window_days=400).fit(sim, grid=grid, as_of=sim_end(sim))
    assert model.converged_
    assert model.theta_ == pytest.approx(truth["theta"], abs=0.06)
    assert model.omega_per_day_ == pytest.approx(truth["omega_per_day"], rel=0.2)
    assert model.sigma_m_ == pytest.approx(truth["sigma_m"], rel=0.1)
    assert model.background_per_day_ == pytest.approx(truth["background_per_day"], rel=0.1)
    # The forecast puts the triggered risk where the latest events were.
    scores = model.predict(1.0)
    latest = sim.iloc[-1]
    assert scores[grid.assign([latest["x_m"]], [latest["y_m"]])[0]] > np.median(scores) * 3


def test_sepp_without_self_excitation_finds_little_triggering() -> None:
    rng = np.random.default_rng(5)
    sim = simulate_sepp(
        rng, background_per_day=6.0, size_m=5000.0, duration_days=300.0, theta=0.0, omega_per_day=0.2, sigma_m=50.0
    )
    grid = SquareGrid.from_bounds((0.0, 0.0, 5000.0, 5000.0), 100.0)
    model = SelfExcitingPointProcess(window_days=400).fit(sim, grid=grid, as_of=sim_end(sim))
    assert model.theta_ < 0.08


# --- the backtest ------------------------------------------------------------------------------------


def test_backtest_scores_every_method_and_period(tmp_path: pytest.TempPathFactory) -> None:
    events = _background(seed=4, n=1500)
    origins = [pd.Timestamp("2019-03-04") + pd.Timedelta(days=7 * k) for k in range(6)]
    forecasters = {m: make_forecaster(m, **FAST[m]) for m in ("naive", "kde", "prospective")}
    result = rolling_origin_backtest(events, GRID, forecasters, origins)
    assert len(result.scores) == 18
    assert set(result.methods) == {"naive", "kde", "prospective"}
    summary = result.summary()
    assert set(summary["metric"]) >= {"pai@0.01", "pai@0.05", "pei@0.1", "rri@0.2", "hit_rate@0.2"}
    comparison = result.compare("kde", "naive")
    assert comparison["periods"] == 6 and comparison["ci_low"] <= comparison["difference"] <= comparison["ci_high"]
    payload = result.to_dict()
    assert payload["periods"] == 6 and len(payload["coverage_curves"]["naive"]) == len(backtest.CURVE_POINTS)
    assert "| naive |" in result.table()
    path = tmp_path / "curves.png"  # type: ignore[operator]
    backtest.plot_coverage_curves({"synthetic": result}, path)
    assert path.stat().st_size > 1000
    # Test events of each week are exactly those whose time falls in [origin, origin + 7 days).
    middles = events["occurred_from"]
    expected = [int(((middles >= o) & (middles < o + pd.Timedelta(days=7))).sum()) for o in origins]
    assert result.scores[result.scores["method"] == "naive"]["events"].tolist() == expected


def test_stable_risk_oracle_by_hand() -> None:
    grid = SquareGrid.from_bounds((0.0, 0.0, 400.0, 100.0), 100.0)
    weeks = [pd.Timestamp("2019-01-07") + pd.Timedelta(days=7 * k) for k in range(3)]
    # Week 1: three events in cell 0; weeks 2 and 3: one event each in cell 1.
    times = [weeks[0] + pd.Timedelta(hours=h) for h in (1, 2, 3)] + [weeks[1] + pd.Timedelta(days=2), weeks[2]]
    events = pd.DataFrame({"x_m": [50.0, 50.0, 50.0, 150.0, 150.0], "y_m": 50.0, "occurred_from": times})
    events["occurred_to"] = events["occurred_from"]
    table = backtest.stable_risk_oracle(events, grid, weeks, coverages=[0.25])
    assert table["events"].tolist() == [3, 1, 1]
    # In sample, cell 0 (3 events of 5) is flagged: week 1 is all caught (PAI 4), weeks 2 and 3 none.
    assert table["in_sample_pai@0.25"].tolist() == [4.0, 0.0, 0.0]
    # Leaving each week out flips the flagged cell to the one that stays empty that week.
    assert table["leave_out_pai@0.25"].tolist() == [0.0, 0.0, 0.0]


def test_evaluation_module_exports() -> None:
    assert set(evaluation.__all__) >= {"hit_rate", "pai", "pei", "recapture_rate_index", "coverage_curve"}
