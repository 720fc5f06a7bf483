"""Comparison areas, weekly series, charts and the all-methods report."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from openilp.analysis.assessment.charts import save_figure, weekly_series_chart
from openilp.analysis.assessment.comparison import (
    buffer_catchment,
    points_in_areas,
    propose_comparison_areas,
    validate_areas,
)
from openilp.analysis.assessment.report import assess_counts
from openilp.analysis.assessment.series import AssessmentWindows, weekly_counts, weekly_panel, window_counts
from openilp.analysis.assessment.wdd import wdd, wdd_harm


@pytest.mark.parametrize("name", ["comparison", "series", "report"])
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"openilp.analysis.assessment.{name}")
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0


def _grid(n: int = 6, size: float = 500.0) -> dict[str, shapely.Geometry]:
    return {
        f"{i}-{j}": shapely.box(i * size, j * size, (i + 1) * size, (j + 1) * size) for i in range(n) for j in range(n)
    }


def test_buffer_is_a_ring_around_the_target() -> None:
    target = shapely.box(0, 0, 500, 500)
    ring = buffer_catchment(target, 400)
    assert shapely.area(shapely.intersection(ring, target)) == pytest.approx(0, abs=1e-6)
    assert shapely.contains(shapely.buffer(target, 400.01), ring)
    with pytest.raises(ValueError, match="positive"):
        buffer_catchment(target, 0)
    with pytest.raises(ValueError, match="non-empty"):
        buffer_catchment(shapely.Polygon(), 100)


def test_propose_picks_similar_non_adjacent_control() -> None:
    cells = _grid()
    target = cells["2-2"]
    baselines = {key: 10.0 for key in cells}
    baselines["2-3"] = 50.0  # adjacent, same as target: must not be chosen
    baselines["5-5"] = 49.0  # far away and similar: the proposal
    baselines["0-5"] = 80.0
    areas = propose_comparison_areas(target, cells, baselines, target_baseline=50.0, buffer_m=400)
    assert areas.control_id == "5-5"
    validate_areas(areas.target, areas.buffer, areas.control, areas.control_buffer)
    assert areas.candidates is not None
    adjacent = areas.candidates.set_index("id").loc["2-3"]
    assert not adjacent["eligible"] and "adjacent" in adjacent["reason"]
    # the control's ring stays clear of the target and its ring
    assert shapely.area(shapely.intersection(areas.control_buffer, shapely.buffer(target, 400))) < 1


def test_propose_fails_clearly_without_candidates() -> None:
    cells = _grid(2)
    with pytest.raises(ValueError, match="no candidate control"):
        propose_comparison_areas(cells["0-0"], cells, {k: 5.0 for k in cells}, 5.0, buffer_m=400)
    with pytest.raises(ValueError, match="nothing to match"):
        propose_comparison_areas(cells["0-0"], cells, {k: 5.0 for k in cells}, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"control": shapely.box(50, 50, 150, 150)}, "control area overlaps the target area"),
        ({"buffer": shapely.box(-10, -10, 110, 110)}, "buffer area overlaps the target area"),
        (
            {"buffer": buffer_catchment(shapely.box(0, 0, 100, 100), 50), "control": shapely.box(120, 0, 300, 100)},
            "control area overlaps the buffer area",
        ),
        ({"control": shapely.Polygon()}, "control area is empty"),
    ],
)
def test_validate_areas_refuses_overlap(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_areas(shapely.box(0, 0, 100, 100), **kwargs)


def test_windows_need_a_period() -> None:
    with pytest.raises(ValueError, match="needs a period"):
        AssessmentWindows(dt.date(2019, 1, 1), None, dt.date(2019, 6, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before the response"):
        AssessmentWindows(dt.date(2019, 6, 1), dt.date(2019, 1, 1), dt.date(2019, 8, 1))
    with pytest.raises(ValueError, match="ends"):
        AssessmentWindows(dt.date(2019, 1, 1), dt.date(2019, 6, 1), dt.date(2019, 5, 1))


@given(st.lists(st.integers(0, 400), min_size=1, max_size=200), st.integers(0, 6))
@settings(max_examples=50, deadline=None)
def test_weekly_counts_conserve_window_totals(day_offsets: list[int], shift: int) -> None:
    windows = AssessmentWindows(
        dt.date(2019, 1, 1) + dt.timedelta(days=shift), dt.date(2019, 7, 2), dt.date(2019, 12, 30)
    )
    times = pd.to_datetime("2019-01-01") + pd.to_timedelta(day_offsets, unit="D") + pd.Timedelta(hours=13)
    rng = np.random.default_rng(len(day_offsets))
    masks = {"target": rng.random(len(times)) < 0.5}
    masks["control"] = ~masks["target"]
    totals = window_counts(times, masks, windows)
    weekly = weekly_counts(times, masks, windows)
    # whole weeks only: weekly sums never exceed window totals, and are equal when windows are whole weeks
    for name in masks:
        pre = int(weekly.loc[~weekly["post"], name].sum())
        post = int(weekly.loc[weekly["post"], name].sum())
        assert pre <= totals[name][0] and post <= totals[name][1]
        if windows.pre_days % 7 == 0 and windows.post_days % 7 == 0:
            assert (pre, post) == totals[name]
    assert weekly.index[0] >= windows.pre_start
    assert (weekly.index[weekly["post"]] >= windows.response_start).all()


def test_points_in_areas_and_panel() -> None:
    masks = points_in_areas([1, 5, 50, np.nan], [1, 5, 50, 1], {"target": shapely.box(0, 0, 10, 10)})
    assert masks["target"].tolist() == [True, True, False, False]
    weekly = pd.DataFrame({"target": [1, 2, 3], "control": [4, 5, 6], "post": [False, True, True]})
    panel = weekly_panel(weekly, ["target"], ["control"])
    assert len(panel) == 6 and panel["count"].sum() == 21
    assert panel.loc[panel["unit"] == "target", "treated"].all()
    with pytest.raises(ValueError, match="no weekly series"):
        weekly_panel(weekly, ["target"], ["buffer"])


def test_chart_png_and_svg(tmp_path) -> None:  # type: ignore[no-untyped-def]
    index = pd.Index([dt.date(2019, 1, 7) + dt.timedelta(days=7 * k) for k in range(30)], name="week_start")
    weekly = pd.DataFrame(
        {"target": np.arange(30) % 5, "buffer": 3, "control": 4, "control_buffer": 2, "post": np.arange(30) >= 15},
        index=index,
    )
    figure = weekly_series_chart(weekly, dt.date(2019, 4, 22), dt.date(2019, 7, 28), title="test")
    png = save_figure(figure, tmp_path / "c.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "c.png").stat().st_size == len(png)
    assert b"<svg" in save_figure(figure, format="svg")
    with pytest.raises(ValueError, match="PNG or SVG"):
        save_figure(figure, format="gif")
    with pytest.raises(ValueError, match="none of the requested"):
        weekly_series_chart(weekly[["post"]], dt.date(2019, 4, 22), dt.date(2019, 7, 28))


def test_report_reproduces_paper_and_runs_every_method() -> None:
    counts = {"target": (207, 110), "control": (308, 318), "buffer": (178, 157), "control_buffer": (150, 140)}
    rng = np.random.default_rng(3)
    weekly = pd.DataFrame({name: rng.poisson(6, 52) for name in counts})
    weekly["post"] = np.arange(52) >= 26
    harm = {
        "burglary": (5.0, {"target": (398, 190), "control": (148, 97)}),
        "robbery": (7.0, {"target": (144, 92), "control": (86, 64)}),
    }
    report = assess_counts(counts, weekly=weekly, goal_reduction=0.2, harm=harm)
    assert report["wdd"]["estimate"] == -118
    assert round(report["wdd"]["standard_error"], 2) == 39.60
    assert round(report["wdq"]["total_net_effect"], 1) == 130.5
    assert round(report["rate_ratio"]["rirr"], 3) == 1.943
    assert report["etest"]["target"]["p_value"] < 0.001
    assert {"dispersion", "wdd_quasi", "did", "power", "harm"} <= set(report)
    burglary = wdd(treated=(398, 190), control=(148, 97))
    robbery = wdd(treated=(144, 92), control=(86, 64))
    expected = wdd_harm(
        [burglary.estimate, robbery.estimate], [burglary.standard_error, robbery.standard_error], [5, 7]
    )
    assert report["harm"]["combined"]["estimate"] == pytest.approx(expected.estimate)
    assert report["harm"]["combined"]["standard_error"] == pytest.approx(expected.standard_error)


def test_report_bad_input() -> None:
    with pytest.raises(ValueError, match="control area are required"):
        assess_counts({"target": (5, 5)})
    with pytest.raises(ValueError, match="both the buffer"):
        assess_counts({"target": (5, 5), "control": (5, 5), "buffer": (1, 1)})
    with pytest.raises(ValueError, match="no crimes in the baseline"):
        assess_counts({"target": (0, 5), "control": (5, 5)})
    with pytest.raises(ValueError, match="unknown areas"):
        assess_counts({"target": (5, 5), "control": (5, 5), "elsewhere": (1, 1)})
