"""``openilp forecast``/``backtest``/``deploy`` and their services, on a small date-only store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from sqlalchemy import Engine
from store_support import import_source
from tasking_support import core_of
from typer.testing import CliRunner

from openilp.cli import app
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.forecasting import BacktestRequest, ForecastRequest, run_backtest, run_forecast
from openilp.services.analysis.tasking import DeployRequest, DisparitySource, make_deployment
from openilp.tasking import disparity_check, plan_deployment, read_demographics


def _write_burglaries(path: Path, n: int = 1500, seed: int = 0) -> None:
    """Date-only burglaries (chicago_burglary format) around two hot spots in Chicago."""
    rng = np.random.default_rng(seed)
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26971", always_xy=True)
    cx, cy = to_metres.transform(-87.65, 41.85)
    hot = rng.random(n) < 0.5
    x = np.where(hot, cx + rng.normal(0, 150, n), cx + rng.uniform(-2000, 2000, n))
    y = np.where(hot, cy + rng.normal(0, 150, n), cy + rng.uniform(-2000, 2000, n))
    days = pd.Timestamp("2017-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    frame = pd.DataFrame({"x": x.round(1), "y": y.round(1), "date_single": days.strftime("%d/%m/%Y")})
    frame.to_csv(path, index=False)


@pytest.fixture
def burglary_store(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "burglaries.csv"
    _write_burglaries(path)
    import_source(engine, load_source_spec("chicago_burglary"), [path])
    return engine


def _check_forecast_geojson(collection: dict, n_cells: int) -> None:
    """The contract: a FeatureCollection of EPSG:4326 polygons, one per cell, cell_id and score."""
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == n_cells
    ids = [f["properties"]["cell_id"] for f in features]
    assert sorted(ids) == list(range(n_cells))
    for feature in features:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Polygon"
        assert isinstance(feature["properties"]["score"], float) and feature["properties"]["score"] >= 0
        lon, lat = np.asarray(feature["geometry"]["coordinates"][0]).T
        assert np.all((lon > -88.0) & (lon < -87.5)), "longitudes in degrees (EPSG:4326), not metres"
        assert np.all((lat > 41.6) & (lat < 42.1))
        assert shapely.geometry.shape(feature["geometry"]).is_valid


def test_forecast_service_writes_the_contract_and_ignores_the_forecast_day(burglary_store: Engine) -> None:
    result = run_forecast(
        core_of(burglary_store), None, ForecastRequest("CPD", as_of=dt.date(2018, 3, 5), method="naive")
    )
    forecaster = result.forecaster
    collection = result.to_geojson()
    _check_forecast_geojson(collection, forecaster.grid_.n_units)
    # No boundary layer for CPD: the default study area is the cells near past events.
    assert collection["forecast"]["study_area"] == "auto" and collection["forecast"]["top_cells"]
    # Issued at local midnight of 5 March: the date-only burglaries of 5 March are not known yet.
    assert str(forecaster.as_of_) == "2018-03-05 06:00:00"
    assert collection["forecast"]["method"] == "naive"


def test_learned_forecast_reads_the_context_of_every_category(burglary_store: Engine) -> None:
    from openilp.analysis.forecast import GradientBoostingForecaster

    params = {"training_origins": 4, "max_iter": 20, "min_samples_leaf": 20}
    core = core_of(burglary_store)
    forecast = run_forecast(
        core,
        None,
        ForecastRequest("CPD", as_of=dt.date(2018, 3, 5), method="learned", params=params),  # type: ignore[arg-type]
    )
    learned, scores = forecast.forecaster, forecast.scores
    assert isinstance(learned, GradientBoostingForecaster)
    # The store holds burglaries only: the context is the same events, known at the same moment.
    assert learned.context_history_ is not None and len(learned.context_history_) == learned.n_events_
    assert scores.shape == (learned.grid_.n_units,) and np.all(scores >= 0)
    naive = run_forecast(core, None, ForecastRequest("CPD", as_of=dt.date(2018, 3, 5), method="naive")).forecaster
    assert naive.context_history_ is None


def test_backtest_service_on_date_only_data(burglary_store: Engine) -> None:
    request = BacktestRequest(
        "CPD",
        date_from=dt.date(2018, 1, 1),
        date_to=dt.date(2018, 2, 25),
        methods=("naive", "prospective"),
        oracle=True,
    )
    result = run_backtest(core_of(burglary_store), None, request).backtest
    assert result.scores["origin"].nunique() == 8
    assert result.summary().query("metric == 'pai@0.05'")["mean"].min() > 1.0  # the hot spots are found
    ceiling = result.meta["stable_risk_oracle"]
    assert ceiling["in_sample_pai@0.05"]["mean"] >= ceiling["leave_out_pai@0.05"]["mean"] > 1.0


def test_cli_forecast_backtest_and_errors(
    burglary_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openilp.cli import common

    core = core_of(burglary_store)
    from openilp.cli import forecast as forecast_cli

    monkeypatch.setattr(common, "core", lambda: core)
    monkeypatch.setattr(forecast_cli, "core", lambda: core)
    runner = CliRunner()
    out = tmp_path / "f.geojson"
    result = runner.invoke(
        app, ["forecast", "--agency", "CPD", "--as-of", "2018-03-05", "--method", "kde", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    collection = json.loads(out.read_text())
    _check_forecast_geojson(collection, collection["forecast"]["cells"])
    plot = tmp_path / "curves.svg"
    result = runner.invoke(
        app,
        ["backtest", "--agency", "CPD", "--from", "2018-01-01", "--to", "2018-01-28", "--methods", "naive,kde",
         "--plot", str(plot), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["periods"] == 4 and plot.read_text().startswith("<?xml")
    result = runner.invoke(
        app,
        ["deploy", "--agency", "CPD", "--as-of", "2018-03-05", "--officer-minutes", "500", "--method", "naive",
         "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    issued = json.loads(result.stdout)
    plan = issued["plan"]
    assert len(plan["places"]) == 5 and plan["minutes_used"] == 500
    # The command line audits the list as the web app does.
    from sqlalchemy import text

    with burglary_store.connect() as conn:
        audited = conn.execute(
            text("SELECT object_id FROM audit_log WHERE action = 'create' AND object_type = 'deployment_plan'")
        ).scalars()
        assert issued["issue"]["reference"] in list(audited)
    result = runner.invoke(app, ["deploy", "--agency", "CPD", "--as-of", "2018-03-05", "--officer-minutes", "30"])
    assert result.exit_code == 1 and "cannot cover one place" in " ".join(result.output.split())
    bad = {
        "outside the data": ["forecast", "--agency", "CPD", "--as-of", "2010-01-01"],
        "outside the data, which run from 2017-01-01": ["forecast", "--agency", "CPD", "--as-of", "2030-01-01"],
        "do not cover": ["forecast", "--agency", "CPD", "--as-of", "2018-08-01"],
        "empty category": ["forecast", "--agency", "CPD", "--as-of", "2018-03-05", "--category", "robbery"],
        "cell size": ["forecast", "--agency", "CPD", "--as-of", "2018-03-05", "--cell-size", "0"],
        "unknown forecasting method": ["forecast", "--agency", "CPD", "--as-of", "2018-03-05", "--method", "x"],
    }
    for message, args in bad.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (message, result.output)


def test_deploy_plan_and_disparity(burglary_store: Engine, tmp_path: Path) -> None:
    # Two "neighbourhoods": the western and eastern halves of the area, with different residents.
    to_lonlat = pyproj.Transformer.from_crs("EPSG:26971", "EPSG:4326", always_xy=True)
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26971", always_xy=True)
    cx, cy = to_metres.transform(-87.65, 41.85)
    features = []
    for number, (x0, x1) in enumerate([(cx - 5000, cx + 75), (cx + 75, cx + 5000)], start=1):
        ring = [
            to_lonlat.transform(x, y) for x, y in [(x0, cy - 5000), (x1, cy - 5000), (x1, cy + 5000), (x0, cy + 5000)]
        ]
        features.append(
            {"type": "Feature", "properties": {"NHD_NUM": number},
             "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}}
        )  # fmt: skip
    areas = tmp_path / "areas.geojson"
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    residents = tmp_path / "residents.csv"
    residents.write_text("NHD_NUM,group_a,group_b\n1,900,100\n2,100,900\n")
    issued = make_deployment(
        core_of(burglary_store),
        None,
        DeployRequest("CPD", as_of=dt.date(2018, 3, 5), officer_minutes=8 * 60 * 2),
        disparity=DisparitySource(residents, ("group_a", "group_b"), neighbourhoods_path=areas),
    )
    result = issued.deployment
    plan, report, collection = result.plan, result.disparity, result.cells
    assert len(plan.places) == 960 // (4 * 25)  # 4 visits of 15 + 10 min each
    assert all(p.visits == 4 and p.minutes_on_scene == 60 for p in plan.places)
    assert len(collection["features"]) == len(plan.places)
    assert report is not None and report.patrol_minutes == 60 * len(plan.places)
    shares = {g.group: g.exposure_share for g in report.groups}
    assert shares["group_a"] + shares["group_b"] == pytest.approx(1.0)


def test_koper_plan_rounds_randomised_and_budget() -> None:
    scores = np.arange(100.0)
    plan = plan_deployment(scores, officer_minutes=500, shift_hours=8, visit_minutes=12, travel_minutes=8, seed=3)
    assert len(plan.places) == 500 // (4 * 20)
    assert [p.cell_id for p in plan.places] == list(range(99, 99 - len(plan.places), -1))
    rounds = [[c for r, _, c, _ in plan.schedule if r == k] for k in range(1, 5)]
    assert all(sorted(r) == sorted(rounds[0]) for r in rounds)  # every place visited each round
    assert len({tuple(r) for r in rounds}) > 1  # in a different random order
    assert plan.minutes_used <= 500
    alerts = plan_deployment(scores, officer_minutes=500, cell_ids=np.arange(100), alert_cells=[0], seed=3)
    assert alerts.places[0].cell_id == 0 and "near-repeat alert" in alerts.places[0].reason
    with pytest.raises(ValueError, match="cannot cover one place"):
        plan_deployment(scores, officer_minutes=30)


def test_disparity_flags_and_uses_demographics_only_in_the_audit(tmp_path: Path) -> None:
    residents = pd.DataFrame({"a": [500.0, 500.0, 0.0], "b": [500.0, 500.0, 0.0]}, index=[1, 2, 3])
    even = disparity_check({1: 60, 2: 60}, {1: 5, 2: 5}, residents)
    assert not even.flagged
    assert all(g.exposure_to_population == pytest.approx(1.0) for g in even.groups)
    skewed_residents = pd.DataFrame({"a": [900.0, 100.0], "b": [100.0, 900.0]}, index=[1, 2])
    skewed = disparity_check({1: 10, 2: 90}, {1: 50, 2: 50}, skewed_residents)
    by_group = {g.group: g for g in skewed.groups}
    assert by_group["b"].exposure_share == pytest.approx(0.82)
    assert by_group["b"].exposure_to_population == pytest.approx(1.64)
    assert by_group["b"].population_ratio_flag and by_group["b"].crime_ratio_flag and skewed.flagged
    park = disparity_check({3: 30, 1: 30}, {1: 1}, residents)
    assert park.minutes_without_residents == 30
    csv = tmp_path / "race.csv"
    csv.write_text("NHD_NUM,white17,black17\n1,10,30\n2,5,5\n")
    population = tmp_path / "pop.csv"
    population.write_text("NHD_NUM,pop17\n1,50\n2,10\n")
    groups = read_demographics(
        csv, id_column="NHD_NUM", group_columns=["white17", "black17"], population_path=population,
        population_column="pop17",
    )  # fmt: skip
    assert list(groups.loc[1]) == [10.0, 30.0, 10.0]
    with pytest.raises(ValueError, match="no column"):
        read_demographics(csv, id_column="NHD_NUM", group_columns=["asian17"])
