"""A month of burglary has significant hot spots on the web route (real St. Louis data, December 2019).

Gi* over St. Louis' grid of 150 m cells tests about 7,000 cells at once: FDR control at 5 % needs
p-values near 7 × 10⁻⁶, which 999 permutations (p ≥ 10⁻³) can never give. The service's exact
p-values have no such floor; with a neighbourhood wide enough for a month's sparse counts, the
page, the API and the command line flag the same cells.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import shared_file
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from store_support import import_source
from typer.testing import CliRunner
from web_support import login, make_client, seed_user

from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec

pytestmark = pytest.mark.realdata

MONTH = "category=burglary&date_from=2019-12-01&date_to=2019-12-31"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    folder = tmp_path_factory.mktemp("hotspots-month")
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    import_source(engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019", "december2019.csv")])
    seed_user(engine, "analyst-month", role="analyst")
    yield engine, folder
    engine.dispose()


@pytest.fixture
def client(store: tuple[Engine, Path]) -> TestClient:
    web = make_client(*store)
    assert login(web, "analyst-month").status_code == 303
    return web


def _hot_count(page: str) -> int:
    return int(page.split('id="hot-count">')[1].split("<")[0])


def test_a_month_of_burglary_has_significant_cells_on_the_page(client: TestClient) -> None:
    page = client.get(f"/analysis/hotspots?{MONTH}&neighbourhood_m=450")
    assert page.status_code == 200, page.text
    hot = _hot_count(page.text)
    assert hot > 0 and 'id="hotspot-diagnosis"' not in page.text
    body = client.get(f"/api/v1/analysis/hotspots.geojson?{MONTH}&neighbourhood_m=450&inference=exact").json()
    analysis = body["analysis"]
    assert analysis["inference"] == "exact" and analysis["hot_cells"] == hot and analysis["cells"] > 5000
    hot_cells = [f["properties"] for f in body["features"] if f["properties"]["gi_class"] == "hot"]
    assert len(hot_cells) == hot and all(c["gi_q"] <= 0.05 for c in hot_cells)
    # BH: the k-th smallest p-value is at most k * alpha / m, far below what 999 permutations allow.
    assert max(c["gi_p"] for c in hot_cells) <= hot * analysis["p_needed_for_one_cell"] < 1 / 1000
    # Larger cells (fewer tests) find the densest blocks too.
    assert _hot_count(client.get(f"/analysis/hotspots?{MONTH}&cell_size_m=300").text) > 0


def test_when_nothing_is_significant_the_page_says_why(client: TestClient) -> None:
    floor = client.get(f"/analysis/hotspots?{MONTH}&neighbourhood_m=450&inference=permutation&permutations=999")
    assert floor.status_code == 200 and _hot_count(floor.text) == 0
    assert "smallest possible p-value" in floor.text and "Use the exact test" in floor.text
    sparse = client.get(f"/analysis/hotspots?{MONTH}&neighbourhood_m=215")  # 8 touching cells: too narrow
    assert 'id="hotspot-diagnosis"' in sparse.text and "wider neighbourhood than 215 m" in sparse.text


def test_the_default_neighbourhood_is_chosen_from_the_data_and_finds_the_month_s_hot_spots(
    client: TestClient,
) -> None:
    """No neighbourhood given: Moran's I over 150-750 m has no peak, so the 30th-nearest-cell distance."""
    page = client.get(f"/analysis/hotspots?{MONTH}")
    assert page.status_code == 200, page.text
    assert _hot_count(page.text) > 0 and 'id="hotspot-diagnosis"' not in page.text
    assert "30th nearest cell" in page.text and 'id="hotspot-neighbourhood">489 m' in page.text
    analysis = client.get(f"/api/v1/analysis/hotspots.geojson?{MONTH}").json()["analysis"]
    assert analysis["neighbourhood_m"] == pytest.approx(489.2, abs=0.1)
    assert analysis["hot_cells"] == _hot_count(page.text) and analysis["request"]["neighbourhood_m"] is None
    # Given explicitly, the same band flags the same cells and says it was given.
    given = client.get(f"/api/v1/analysis/hotspots.geojson?{MONTH}&neighbourhood_m=489.2").json()["analysis"]
    assert given["hot_cells"] == analysis["hot_cells"] and given["neighbourhood_chosen"] == "given in the request"


def test_the_command_line_flags_the_same_cells(
    store: tuple[Engine, Path], client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openilp.cli import common
    from openilp.cli.main import app

    engine, folder = store
    monkeypatch.setenv("OPENILP_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("OPENILP_DATA_DIR", str(folder))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    try:
        args = ["hotspots", "--category", "burglary", "--from", "2019-12-01", "--to", "2019-12-31"]
        result = CliRunner().invoke(app, [*args, "--neighbourhood-m", "450", "--json"])
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    api = client.get(f"/api/v1/analysis/hotspots.geojson?{MONTH}&neighbourhood_m=450").json()["analysis"]
    assert cli == api and cli["hot_cells"] > 0
