"""``openilp hotspots|knox|near-repeat-alerts|trends`` through Typer's runner on a real SQLite store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import shared_file
from typer.testing import CliRunner

from openilp.cli import app, common

pytestmark = pytest.mark.realdata
runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    common.settings.cache_clear()
    common.engine.cache_clear()
    common.core.cache_clear()
    month = str(shared_file("stlouis", "monthly", "2019", "february2019.csv"))
    assert runner.invoke(app, ["import", "stlouis", month, "--json"]).exit_code == 0
    yield {"OPENILP_DATA_DIR": str(tmp_path / "data")}
    common.settings.cache_clear()
    common.engine.cache_clear()
    common.core.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_hotspots(cli_env: dict[str, str], tmp_path: Path) -> None:
    code, output = invoke(
        "hotspots", "--category", "burglary", "--cell-size-m", "300", "--permutations", "99", "--json"
    )
    assert code == 0, output
    summary = json.loads(output)
    assert summary["study_area"] == "boundary layer" and summary["events_in_study_area"] > 100
    target = tmp_path / "cells.geojson"
    code, output = invoke(
        "hotspots", "--category", "burglary", "--cell-size-m", "300", "--format", "geojson", "--output", str(target)
    )
    assert code == 0, output
    collection = json.loads(target.read_text())
    assert len(collection["features"]) == summary["cells"]
    code, output = invoke("hotspots", "--category", "burglary", "--cell-size-m", "300", "--format", "csv")
    assert code == 0
    assert len(list(csv.DictReader(io.StringIO(output)))) == summary["cells"]
    code, output = invoke("hotspots", "--cell-size-m", "300", "--permutations", "99")
    assert code == 0 and "hot and" in output and "Densest cells" in output


def test_knox(cli_env: dict[str, str]) -> None:
    args = ("knox", "--space-bands", "100,200", "--time-bands", "7,14", "--permutations", "99")
    code, output = invoke(*args, "--json")
    assert code == 0, output
    body = json.loads(output)
    assert len(body["cells"]) == 6 and body["summary"]
    code, output = invoke(*args, "--csv")
    assert code == 0 and output.startswith("space_band,time_band")
    code, output = invoke(*args)
    assert code == 0 and "Knox ratios" in output and "same location" in output


def test_near_repeat_alerts_and_trends(cli_env: dict[str, str]) -> None:
    code, output = invoke(
        "near-repeat-alerts", "--history-days", "30", "--time-bands", "7", "--permutations", "99", "--json"
    )
    assert code == 0, output
    body = json.loads(output)
    assert body["analysis"]["as_of"] == "2019-02-28" and len(body["zones"]) == body["analysis"]["zones"]
    code, output = invoke("near-repeat-alerts", "--history-days", "30", "--time-bands", "7", "--format", "geojson")
    assert code == 0 and json.loads(output)["type"] == "FeatureCollection"
    code, output = invoke("trends", "--category", "burglary", "--period", "week", "--all", "--json")
    assert code == 0, output
    rows = json.loads(output)["rows"]
    assert rows and all(len(r["incident_ids"]) == r["current"] for r in rows)
    code, output = invoke("trends", "--category", "burglary", "--format", "csv", "--all")
    assert code == 0 and output.startswith("key,area,category")
    code, output = invoke("trends")
    assert code == 0 and "As of 2019-02-28" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("hotspots", "--cell-size-m", "0"), "cell size must be a positive"),
        (("hotspots", "--category", ""), "category must not be empty"),
        (("hotspots", "--from", "2030-01-01"), "no located"),
        (("knox", "--time-bands", "14,7"), "must be increasing"),
        (("trends", "--period", "month"), "unknown period"),
        (("hotspots", "--format", "shapefile"), "--format must be one of"),
    ],
)
def test_errors(cli_env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    code, output = invoke(*args)
    assert code == 1
    assert message in " ".join(output.split())
