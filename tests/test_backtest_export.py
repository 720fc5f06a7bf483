"""``openilp backtest --out-dir``: every scored forecast written as GeoJSON with a manifest, and an
outside scorer that reads only those files and the incidents gets the backtest's numbers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine
from store_support import import_source
from test_forecast_cli import _check_forecast_geojson, _write_burglaries
from typer.testing import CliRunner

from openilp.analysis.evaluation import score_forecast
from openilp.cli import app
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.events import EventQuery, load_events


@pytest.fixture
def burglary_store(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "burglaries.csv"
    _write_burglaries(path)
    import_source(engine, load_source_spec("chicago_burglary"), [path])
    return engine


def _rescore(collection: dict, events: pd.DataFrame, coverages: list[float]) -> dict[str, float]:
    """An independent scorer: cells from the polygons, events by their lon/lat and the middle of
    their occurrence window, ranking and ties by the rule the file states."""
    facts = collection["forecast"]
    start, end = pd.Timestamp(facts["period_start_utc"]), pd.Timestamp(facts["period_end_utc"])
    middle = (
        events["occurred_from"] + (events["occurred_to"].fillna(events["occurred_from"]) - events["occurred_from"]) / 2
    )
    inside = events[(middle >= start) & (middle < end)]
    polygons = [shapely.geometry.shape(f["geometry"]) for f in collection["features"]]
    scores = np.array([f["properties"]["score"] for f in collection["features"]])
    areas = np.array([f["properties"]["area_m2"] for f in collection["features"]])
    assert np.all(areas == areas[0])  # equal cells: the flagged area is a number of cells
    tree = shapely.STRtree(polygons)
    points = shapely.points(inside["lon"].to_numpy(), inside["lat"].to_numpy())
    point_index, cell_index = tree.query(points, predicate="within")
    counts = np.bincount(cell_index, minlength=len(polygons))
    assert len(np.unique(point_index)) == len(point_index)  # each event in one cell at most
    rng = np.random.default_rng(0)
    order = rng.permutation(len(scores))  # the file's order must not matter
    return score_forecast(scores[order], counts[order], coverages=coverages)


def test_backtest_out_dir_is_rescored_to_the_same_numbers(
    burglary_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasking_support import core_of

    from openilp.cli import common
    from openilp.cli import forecast as forecast_cli

    core = core_of(burglary_store)
    monkeypatch.setattr(common, "core", lambda: core)
    monkeypatch.setattr(forecast_cli, "core", lambda: core)
    out_dir, out_json = tmp_path / "forecasts", tmp_path / "backtest.json"
    # Three weeks from Monday 5 March 2018; the first spans the change to daylight time (11 March).
    result = CliRunner().invoke(
        app,
        ["backtest", "--agency", "CPD", "--from", "2018-03-05", "--to", "2018-03-25", "--methods", "naive,kde",
         "--out-dir", str(out_dir), "--out-json", str(out_json)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out_dir / "manifest.json").read_text())
    backtest = json.loads(out_json.read_text())
    coverages = backtest["coverages"]
    assert len(manifest["forecasts"]) == 6 == len(backtest["per_period"])
    assert {(r["method"], r["period_start_local"]) for r in manifest["forecasts"]} == {
        (m, d) for m in ("naive", "kde") for d in ("2018-03-05", "2018-03-12", "2018-03-19")
    }
    assert "fractional credit" in manifest["scoring"]["ties"]
    events, _ = load_events(burglary_store, EventQuery("CPD", ("burglary",)))
    for row in manifest["forecasts"]:
        collection = json.loads((out_dir / row["file"]).read_text())
        _check_forecast_geojson(collection, collection["forecast"]["cells"])
        facts = collection["forecast"]
        assert facts["method"] == row["method"] and facts["period_start_utc"] == row["period_start_utc"]
        hours = facts["period_hours"]
        assert hours == (167.0 if row["period_start_local"] == "2018-03-05" else 168.0)
        assert [c["flagged_cells"] for c in row["cut_offs"]] == [max(1, round(c * facts["cells"])) for c in coverages]
        rescored = _rescore(collection, events, coverages)
        scored = next(
            r for r in backtest["per_period"] if r["method"] == row["method"] and r["origin"] == row["period_start_utc"]
        )
        for metric in ("events", *(f"{m}@{c:g}" for m in ("hit_rate", "pai", "pei") for c in coverages)):
            expected = scored[metric]
            if expected is None:
                assert np.isnan(rescored[metric])
            else:
                assert rescored[metric] == pytest.approx(expected, rel=1e-12), (row["file"], metric)


def test_period_of_a_forecast_file_is_local_days(burglary_store: Engine, tmp_path: Path) -> None:
    from tasking_support import core_of

    from openilp.services.analysis.forecasting import BacktestRequest, run_backtest

    request = BacktestRequest("CPD", date_from=dt.date(2017, 10, 30), date_to=dt.date(2017, 11, 12), methods=("naive",))
    result = run_backtest(core_of(burglary_store), None, request, forecast_dir=tmp_path / "out").backtest
    manifest = json.loads(Path(result.meta["forecast_manifest"]).read_text())
    hours = [
        (pd.Timestamp(r["period_end_utc"]) - pd.Timestamp(r["period_start_utc"])) / pd.Timedelta(hours=1)
        for r in manifest["forecasts"]
    ]
    assert hours == [169.0, 168.0]  # back to standard time on 5 November 2017
