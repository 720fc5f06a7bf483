"""Problem pages and API: open through the form (CSRF), the dashboard, the detail page, errors as 400."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyproj
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_support import IncidentSpec, csrf_from, login, make_client, seed_agency, seed_incidents, seed_user

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-90.21, 38.62], [-90.19, 38.62], [-90.19, 38.64], [-90.21, 38.64], [-90.21, 38.62]]],
}
BODY = {
    "title": "Burglary downtown",
    "categories": ["burglary"],
    "target_reduction_pct": 20,
    "baseline_start": "2019-01-01",
    "evaluation_start": "2019-07-01",
    "evaluation_end": "2019-12-31",
    "area": SQUARE,
    "area_name": "Downtown",
}


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    seed_agency(engine)
    when = [dt.datetime(2019, 3, d, 15, tzinfo=dt.UTC) for d in range(1, 11)]
    when += [dt.datetime(2019, 8, d, 15, tzinfo=dt.UTC) for d in range(1, 6)]
    # Projected like an import would (the seeded agency's CRS), inside SQUARE.
    x_m, y_m = pyproj.Transformer.from_crs("EPSG:4326", "ESRI:102696", always_xy=True).transform(-90.2, 38.625)
    spot = {"x_m": x_m, "y_m": y_m}
    seed_incidents(engine, "SLMPD", [IncidentSpec("burglary", w, lon=-90.2, lat=38.625, extra=spot) for w in when])
    seed_user(engine, "ana")
    seed_user(engine, "olly", role="officer")
    client = make_client(engine, tmp_path)
    assert login(client, "ana").status_code == 303
    return client


def test_api_open_read_update_and_dashboard(client: TestClient) -> None:
    created = client.post("/api/v1/problems", json=BODY)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert client.put(f"/api/v1/problems/{pid}/worksheet", json={"place": "corner shops"}).status_code == 200
    assert client.post(f"/api/v1/problems/{pid}/notes", json={"body": "first note"}).status_code == 201
    assert client.patch(f"/api/v1/problems/{pid}", json={"evaluation_end": "2019-09-30"}).status_code == 200
    assert client.post(f"/api/v1/problems/{pid}/stage", json={"stage": "analysis"}).status_code == 200
    view = client.get(f"/api/v1/problems/{pid}").json()
    assert view["worksheet"]["place"] == "corner shops"
    assert view["evaluation"]["end"] == "2019-09-30"
    assert [h["action"] for h in view["history"]] == ["open", "worksheet", "note", "update", "stage"]
    listing = client.get("/api/v1/problems").json()
    progress = listing["dashboard"][0]["progress"]
    # 10 burglaries in the 181-day baseline; 5 in the 36 days from the evaluation start to the last data (Aug 5).
    assert progress["as_of"] == "2019-08-05"
    assert progress["baseline_count"] == 10 and progress["current_count"] == 5
    assert progress["expected_count"] == pytest.approx(10 / 181 * 36, abs=0.05)
    assert progress["change_pct"] == pytest.approx((5 / (10 / 181 * 36) - 1) * 100, abs=0.1)
    assert progress["status"] == "not improving"
    features = client.get(f"/api/v1/problems/{pid}/map.geojson").json()["features"]
    assert [f["properties"]["role"] for f in features] == ["target"]


def test_api_bad_input_is_400_with_the_reason(client: TestClient) -> None:
    bad = client.post("/api/v1/problems", json={**BODY, "evaluation_end": "2019-06-01"})
    assert bad.status_code == 400 and "before it starts" in bad.json()["detail"]
    pid = client.post("/api/v1/problems", json=BODY).json()["id"]
    no_period = client.post(f"/api/v1/problems/{pid}/interventions", json={"kind": "patrol", "start": "2019-07-01"})
    assert no_period.status_code == 400 and "needs a period" in no_period.json()["detail"]
    overlap = client.put(f"/api/v1/problems/{pid}/comparison-areas/control", json={"area": SQUARE})
    assert overlap.status_code == 400 and "overlaps the target" in overlap.json()["detail"]
    assert client.post(f"/api/v1/problems/{pid}/power").status_code == 400
    assert client.get(f"/api/v1/problems/{pid + 1}").status_code == 404


def test_pages_open_from_the_form_and_show_the_problem(client: TestClient) -> None:
    page = client.get("/problems/new")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_from(page.text),
        "title": "Burglary downtown",
        "categories": "burglary",
        "target_reduction_pct": "20",
        "baseline_start": "2019-01-01",
        "evaluation_start": "2019-07-01",
        "evaluation_end": "",
        "area": json.dumps(SQUARE),
    }
    refused = client.post("/problems", data=form)
    assert refused.status_code == 400 and "needs a time frame" in refused.text
    assert client.post("/problems", data={**form, "csrf_token": "forged"}).status_code == 403
    created = client.post("/problems", data={**form, "evaluation_end": "2019-12-31"}, follow_redirects=False)
    assert created.status_code == 303
    location = created.headers["location"]
    detail = client.get(location)
    assert detail.status_code == 200 and "Burglary downtown" in detail.text and 'id="problem-map"' in detail.text
    token = csrf_from(detail.text)
    no_end = client.post(
        f"{location}/interventions", data={"csrf_token": token, "kind": "patrol", "start": "2019-07-01"}
    )
    assert no_end.status_code == 400 and "needs a period" in no_end.text
    saved = client.post(
        f"{location}/worksheet", data={"csrf_token": token, "offender": "local youths"}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert "local youths" in client.get(location).text
    dashboard = client.get("/problems")
    assert dashboard.status_code == 200 and 'id="dashboard-table"' in dashboard.text


def test_officers_read_but_do_not_change(client: TestClient, engine: Engine, tmp_path: Path) -> None:
    pid = client.post("/api/v1/problems", json=BODY).json()["id"]
    officer = make_client(engine, tmp_path)
    assert login(officer, "olly").status_code == 303
    page = officer.get(f"/problems/{pid}")
    assert page.status_code == 200 and "Record intervention" not in page.text
    assert officer.post(f"/api/v1/problems/{pid}/notes", json={"body": "x"}).status_code == 403


# Request data never names a server file: areas are GeoJSON objects only (size- and vertex-bounded).


def _square_ring(n: int) -> list[list[float]]:
    """A closed ring of ``n`` + 1 positions around the downtown square's centre."""
    import math

    ring = [
        [-90.2 + 0.01 * math.cos(2 * math.pi * k / n), 38.63 + 0.01 * math.sin(2 * math.pi * k / n)] for k in range(n)
    ]
    return [*ring, ring[0]]


@pytest.mark.parametrize("where", ["store", "hostname", "fifo", "missing"])
def test_patch_with_a_file_path_as_area_is_refused_without_reading(
    client: TestClient, engine: Engine, tmp_path: Path, where: str
) -> None:
    import os
    import threading

    pid = client.post("/api/v1/problems", json=BODY).json()["id"]
    before = client.get(f"/api/v1/problems/{pid}").json()["area"]
    if where == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)  # reading it would block until a writer opens it
    else:
        path = {
            "store": Path(engine.url.database or "/var/lib/openilp/openilp.sqlite3"),
            "hostname": Path("/etc/hostname"),
            "missing": tmp_path / "no-such.geojson",
        }[where]
    answer: list[object] = []
    worker = threading.Thread(
        target=lambda: answer.append(client.patch(f"/api/v1/problems/{pid}", json={"area": str(path)})), daemon=True
    )
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        with open(path, "w"):
            pass
        worker.join(timeout=5)
        pytest.fail("the request blocked: the server tried to read the named pipe")
    response = answer[0]
    assert response.status_code == 400, response.text
    assert "not a file name" in response.json()["detail"]
    # The same answer whether the file exists or not: no file-existence oracle.
    assert str(path) not in response.json()["detail"]
    assert client.get(f"/api/v1/problems/{pid}").json()["area"] == before


def test_area_text_in_forms_is_geojson_only(client: TestClient) -> None:
    pid = client.post("/api/v1/problems", json=BODY).json()["id"]
    detail = client.get(f"/problems/{pid}")
    token = csrf_from(detail.text)
    control = client.post(
        f"/problems/{pid}/comparison-areas/control", data={"csrf_token": token, "area": "/etc/hostname"}
    )
    assert control.status_code == 400 and "not a file name" in control.text
    intervention = client.post(
        f"/problems/{pid}/interventions",
        data={"csrf_token": token, "kind": "patrol", "start": "2019-07-01", "end": "2019-08-01", "area": "/etc/passwd"},
    )
    assert intervention.status_code == 400 and "not a file name" in intervention.text
    page = client.get("/problems/new")
    form = {**BODY, "categories": "burglary", "area": "/etc/hostname", "csrf_token": csrf_from(page.text)}
    created = client.post("/problems", data=form)
    assert created.status_code == 400 and "not a file name" in created.text
    view = client.get(f"/api/v1/problems/{pid}").json()
    assert view["interventions"] == [] and view["comparison_areas"] == {}


def test_oversized_areas_are_refused_with_the_limit(client: TestClient) -> None:
    pid = client.post("/api/v1/problems", json=BODY).json()["id"]
    many = {"type": "Polygon", "coordinates": [_square_ring(50_001)]}
    refused = client.patch(f"/api/v1/problems/{pid}", json={"area": many})
    assert refused.status_code == 400 and "more than 50,000 vertices" in refused.json()["detail"]
    fine = {"type": "Polygon", "coordinates": [_square_ring(2_000)]}
    assert client.patch(f"/api/v1/problems/{pid}", json={"area": fine}).status_code == 200
    padded = {**SQUARE, "padding": "x" * 1_000_001}
    big = client.put(f"/api/v1/problems/{pid}/comparison-areas/control", json={"area": padded})
    assert big.status_code == 400 and "larger than 1,000,000 bytes" in big.json()["detail"]
