"""The forecast page and its API: this week's forecast with its measured accuracy beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from store_support import import_source
from test_forecast_cli import _write_burglaries
from web_support import login, make_client, seed_user

from openilp.ingest.spec import load_source_spec

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def burglary_store(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "burglaries.csv"
    _write_burglaries(path)
    import_source(sqlite_engine, load_source_spec("chicago_burglary"), [path], workers=1)
    seed_user(sqlite_engine, "forecaster", role="analyst", agency_code="CPD")
    return sqlite_engine


def test_forecast_api_and_page(burglary_store: Engine, tmp_path: Path) -> None:
    client = make_client(burglary_store, tmp_path)
    login(client, "forecaster")
    response = client.get("/api/v1/forecast/weekly.geojson?category=burglary&method=naive&as_of=2018-03-05")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["forecast"]["method"] == "naive"
    assert {"cell_id", "score", "rank"} <= set(body["features"][0]["properties"])
    assert body["accuracy"]["weeks"] == 12
    metrics = {(m["method"], m["metric"]) for m in body["accuracy"]["metrics"]}
    assert ("naive", "pai@0.05") in metrics
    page = client.get("/forecast?category=burglary&method=prospective&as_of=2018-03-05")
    assert page.status_code == 200
    assert 'id="accuracy-table"' in page.text and "prospective" in page.text and "PAI at 5 %" in page.text
    assert "PAI at 1 %" in page.text and "PAI at 2 %" in page.text  # the coverage a shift can patrol
    assert "/api/v1/forecast/weekly.geojson?category=burglary&amp;method=prospective" in page.text
    # Reached from the analysis navigation; accuracy week by week as a chart; the API carries the same weeks.
    assert 'id="nav-forecast"' in page.text and 'href="/forecast"' in page.text
    assert 'id="accuracy-chart"' in page.text and page.text.count("<polyline") == 2  # prospective and naive
    by_week = body["accuracy"]["by_week"]
    assert len(by_week) == 12 and {r["method"] for r in by_week} == {"naive"}
    assert all(r["pai@0.05"] is None or r["pai@0.05"] >= 0 for r in by_week)
    weeks = sorted(r["week_from"] for r in by_week)
    assert weeks[0] == "2017-12-11" and weeks[-1] == "2018-02-26"
    assert 'id="nav-forecast"' in client.get("/analysis/hotspots").text
    bad = client.get("/api/v1/forecast/weekly.geojson?category=burglary&method=oracle")
    assert bad.status_code == 400 and "unknown forecasting method" in bad.json()["detail"]
    default = client.get("/forecast")  # the day after the latest incident: data end in May 2018
    assert default.status_code == 200 and "accuracy-table" in default.text
