"""The same question gets the same answer on every shell: the command line (``--json``), the JSON API
and the page, for a forecast, a deployment list and a hot-spot map.

Each shell builds the same service request (defaults included) and calls the same service with its
own core object (its own result cache), so identical answers mean identical computations, not a
shared cache entry.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from store_support import import_source
from test_forecast_cli import _write_burglaries
from typer.testing import CliRunner
from web_support import login, make_client, seed_user

from openilp.cli import analysis as analysis_cli
from openilp.cli import app, common
from openilp.cli import forecast as forecast_cli
from openilp.config import Settings
from openilp.core import OpenILP
from openilp.ingest.spec import load_source_spec

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def shells(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[TestClient, CliRunner, Engine]:
    path = tmp_path / "burglaries.csv"
    _write_burglaries(path)
    import_source(sqlite_engine, load_source_spec("chicago_burglary"), [path], workers=1)
    seed_user(sqlite_engine, "parity-analyst", role="analyst", agency_code="CPD")
    client = make_client(sqlite_engine, tmp_path)
    assert login(client, "parity-analyst").status_code == 303
    web_settings = client.app.state.openilp.core.settings  # type: ignore[attr-defined]
    cli_core = OpenILP(Settings(data_dir=web_settings.data_dir, secret_key=web_settings.secret_key), sqlite_engine)
    for module in (common, analysis_cli, forecast_cli):
        monkeypatch.setattr(module, "core", lambda: cli_core)
    return client, CliRunner(), sqlite_engine


def _embedded(page: str, element_id: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    assert found, f"no {element_id} on the page"
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)) if "&#" in found.group(1) else found.group(1))
    return data


def _cli(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_forecast(shells: tuple[TestClient, CliRunner, Engine], tmp_path: Path) -> None:
    client, runner, _ = shells
    out = tmp_path / "forecast.geojson"
    cli = _cli(runner, "forecast", "--as-of", "2018-03-05", "--method", "naive", "--out", str(out), "--json")
    assert cli.pop("out") == str(out)
    api = client.get("/api/v1/forecast/weekly.geojson?category=burglary&method=naive&as_of=2018-03-05").json()
    page = client.get("/forecast?category=burglary&method=naive&as_of=2018-03-05")
    assert page.status_code == 200
    facts = {k: v for k, v in api["forecast"].items() if k != "scoring"}
    assert cli == facts == _embedded(page.text, "forecast-result")
    assert cli["study_area"] == "auto" and cli["category"] == "burglary" and len(cli["top_cells"]) == 10
    # Every cell's score too: the file the command line wrote and the API's cells.
    written = json.loads(out.read_text())["features"]
    assert [(f["properties"]["cell_id"], f["properties"]["score"]) for f in written] == [
        (f["properties"]["cell_id"], f["properties"]["score"]) for f in api["features"]
    ]


def test_deployment(shells: tuple[TestClient, CliRunner, Engine]) -> None:
    client, runner, engine = shells
    values = ("--as-of", "2018-03-05", "--officer-minutes", "500", "--method", "naive", "--shift-start", "07:00")
    cli = _cli(runner, "deploy", *values, "--json")
    query = "as_of=2018-03-05&officer_minutes=500&method=naive&shift_start=07:00"
    api = client.get(f"/api/v1/deploy.json?{query}")
    assert api.status_code == 200, api.text
    page = client.get(f"/deploy?{query}")
    assert page.status_code == 200
    shown = _embedded(page.text, "deploy-result")
    issues = [answer.pop("issue") for answer in (cli, api.json(), shown)]
    body = api.json()
    body.pop("issue")
    assert cli == body == shown
    assert len(cli["places"]) == 5 and cli["request"]["officer_minutes"] == 500
    # All three were issued and audited as plans: the command line like the page and the API.
    assert issues[0]["issued_by"] == "command line" and issues[2]["issued_by"] == "parity-analyst"
    with engine.connect() as conn:
        audited = set(
            conn.execute(
                text("SELECT object_id FROM audit_log WHERE action = 'create' AND object_type = 'deployment_plan'")
            ).scalars()
        )
    assert {issue["reference"] for issue in issues} <= audited


def test_deployment_bounds_are_the_requests(shells: tuple[TestClient, CliRunner, Engine]) -> None:
    client, runner, _ = shells
    for flag, query, message in (
        ("--shift-hours", "shift_hours", "between 1 and 24 hours"),
        ("--visit-minutes", "visit_minutes", "visits last 1-60 minutes"),
    ):
        result = runner.invoke(app, ["deploy", "--as-of", "2018-03-05", "--officer-minutes", "500", flag, "90"])
        assert result.exit_code == 1 and message in " ".join(result.output.split())
        api = client.get(f"/api/v1/deploy.json?as_of=2018-03-05&officer_minutes=500&{query}=90")
        assert api.status_code == 400 and message in api.json()["detail"]


def test_hotspots(shells: tuple[TestClient, CliRunner, Engine]) -> None:
    client, runner, _ = shells
    args = ("--category", "burglary", "--from", "2017-01-01", "--to", "2018-05-15", "--cell-size-m", "300")
    cli = _cli(runner, "hotspots", *args, "--json")
    query = "category=burglary&date_from=2017-01-01&date_to=2018-05-15&cell_size_m=300"
    api = client.get(f"/api/v1/analysis/hotspots.geojson?{query}").json()
    page = client.get(f"/analysis/hotspots?{query}")
    assert page.status_code == 200
    assert cli == api["analysis"] == _embedded(page.text, "hotspot-result")
    assert cli["inference"] == "exact" and cli["hot_cells"] > 0  # the two synthetic clusters


def test_one_store_read_per_forecast_page(shells: tuple[TestClient, CliRunner, Engine]) -> None:
    """This week's forecast and twelve weeks of its accuracy come from one read of the incidents."""
    client, _, engine = shells
    reads: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().startswith("SELECT id AS incident_id"):
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for method in ("naive", "learned"):
            reads.clear()
            page = client.get(f"/forecast?category=burglary&method={method}&as_of=2018-03-05")
            assert page.status_code == 200 and 'id="accuracy-table"' in page.text
            assert len(reads) == 1, (method, len(reads))
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_compstat(shells: tuple[TestClient, CliRunner, Engine]) -> None:
    client, runner, _ = shells
    cli = _cli(runner, "trends", "--layout", "compstat", "--category", "burglary", "--json")
    api = client.get("/api/v1/analysis/compstat.json?category=burglary").json()
    assert cli == api and cli["rows"][0]["area"] == "(all areas)"
    assert set(cli["rows"][0]["periods"]) == {"week", "28d", "ytd"}
