"""The map at scale: incidents counted per square cell by the database (service and API), the
point map's ``mode=auto`` switching to cells when more match than the limit, on real data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file
from sqlalchemy import Engine, text
from store_support import import_source
from web_support import audit_actions, login, make_client, seed_user

from openilp.db import session_scope
from openilp.services.analysis.incident_cells import incident_cells

MONTH = shared_file("stlouis", "monthly", "2019", "january2019.csv")
JANUARY = {"date_from": dt.date(2019, 1, 1), "date_to": dt.date(2019, 1, 31)}


@pytest.fixture
def stlouis_january(engine: Engine) -> int:
    import_source(engine, "stlouis", [MONTH])
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT id FROM agencies WHERE code = 'SLMPD'")).scalar_one())


def _brute_force(
    engine: Engine, agency_id: int, cell_m: int, category: str | None = None
) -> dict[tuple[int, int], int]:
    """Cell counts computed in numpy from the rows themselves (the reference)."""
    sql = (
        "SELECT x_m, y_m, occurred_from, category_code, location_status FROM incidents "
        "WHERE agency_id = :a AND net_count > 0 AND NOT flag_unfounded"
    )
    with engine.connect() as connection:
        rows = pd.read_sql(text(sql), connection, params={"a": agency_id})
    local = pd.to_datetime(rows["occurred_from"]).dt.tz_localize("UTC").dt.tz_convert("America/Chicago")
    keep = (local.dt.year == 2019) & (local.dt.month == 1) & (rows["location_status"] == "located")
    if category:
        keep &= rows["category_code"] == category
    kept = rows[keep & rows["x_m"].notna()]
    cols = np.floor(kept["x_m"].to_numpy() / cell_m).astype(int)
    rws = np.floor(kept["y_m"].to_numpy() / cell_m).astype(int)
    keys, counts = np.unique(np.stack([cols, rws], axis=1), axis=0, return_counts=True)
    return {(int(c), int(r)): int(n) for (c, r), n in zip(keys, counts, strict=True)}


@pytest.mark.realdata
@pytest.mark.parametrize(("cell_m", "category"), [(250, None), (1000, None), (500, "larceny")])
def test_cell_counts_equal_a_count_of_the_rows(
    engine: Engine, stlouis_january: int, cell_m: int, category: str | None
) -> None:
    with session_scope(engine) as session:
        result = incident_cells(session, stlouis_january, [category] if category else None, cell_m=cell_m, **JANUARY)
    cells = {(f["properties"]["col"], f["properties"]["row"]): f["properties"]["count"] for f in result["features"]}
    expected = _brute_force(engine, stlouis_january, cell_m, category)
    assert cells == expected
    assert result["counts"]["matching"] == sum(expected.values()) > 100
    assert result["counts"]["cells"] == len(expected)
    # each cell is a closed WGS84 ring over St. Louis
    ring = result["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert -90.5 < ring[0][0] < -90.1 and 38.5 < ring[0][1] < 38.8


@pytest.mark.realdata
def test_automatic_cell_size_keeps_the_cells_bounded(engine: Engine, stlouis_january: int) -> None:
    with session_scope(engine) as session:
        result = incident_cells(session, stlouis_january)
        with pytest.raises(ValueError, match="cell_m must be between"):
            incident_cells(session, stlouis_january, cell_m=10)
    assert result["counts"]["cell_m"] == 500  # St. Louis is about 15 x 30 km: 250 m cells would be over 5,000
    assert 0 < result["counts"]["cells"] <= 5000
    assert sum(f["properties"]["count"] for f in result["features"]) == result["counts"]["matching"]


@pytest.mark.realdata
def test_api_cells_and_the_map_switching_to_cells(engine: Engine, stlouis_january: int, tmp_path: Path) -> None:
    seed_user(engine, "alice")
    client = make_client(engine, tmp_path, max_map_points=500)
    assert login(client, "alice").status_code == 303
    cells = client.get("/api/v1/incidents/cells.geojson?date_from=2019-01-01&date_to=2019-01-31&cell_m=500")
    assert cells.status_code == 200 and cells.headers["content-type"].startswith("application/geo+json")
    body = cells.json()
    assert body["aggregation"] == {"kind": "square_cells", "cell_m": 500, "crs": "EPSG:26996"}
    assert body["counts"]["matching"] > 500
    # the map asks with mode=auto: more than max_map_points match, so it gets cells, not points
    auto = client.get("/api/v1/incidents.geojson?mode=auto&date_from=2019-01-01&date_to=2019-01-31").json()
    assert "aggregation" in auto and auto["counts"]["matching"] == body["counts"]["matching"]
    # few enough: points, as without mode
    few = client.get("/api/v1/incidents.geojson?mode=auto&date_from=2019-01-01&date_to=2019-01-01").json()
    assert "aggregation" not in few and few["counts"]["truncated"] is False and few["features"]
    assert few["features"][0]["geometry"]["type"] == "Point"
    points = client.get("/api/v1/incidents.geojson?date_from=2019-01-01&date_to=2019-01-31").json()
    assert "aggregation" not in points and points["counts"]["returned"] == 500
    assert client.get("/api/v1/incidents/cells.geojson?cell_m=10").status_code == 422
    assert client.get("/api/v1/incidents/cells.geojson?date_from=2019-02-01&date_to=2019-01-01").status_code == 400
    assert client.get("/api/v1/incidents.geojson?mode=everything").status_code == 422
    assert [a for a in audit_actions(engine) if a[0] == "search"] == [("search", "alice", "incidents")] * 4
    page = client.get("/map")
    assert "mode=auto" in page.text
    assert json.loads(cells.text)["filters"]["cell_m"] == 500
