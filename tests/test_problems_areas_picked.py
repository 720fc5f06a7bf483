"""Comparison areas the app accepts, areas picked by neighbourhood, interventions changed and removed.

Every proposal over the 88 St. Louis neighbourhoods is a Polygon or MultiPolygon (clipping a ring
to the city limit used to leave line slivers, stored as GeometryCollections the app then refused);
stored GeometryCollections are still read; areas can be given by neighbourhood names; interventions
can be changed and removed with the history keeping the old values.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine
from store_support import core_for
from web_support import audit_actions, csrf_from, login, make_client, seed_agency, seed_user

from openilp.analysis.assessment.comparison import buffer_catchment, polygonal, propose_comparison_areas
from openilp.core import OpenILP
from openilp.core.boundaries import DEFAULT_LAYERS
from openilp.db import session_scope
from openilp.errors import InvalidRequest, NotFound
from openilp.security.actors import UserInfo
from openilp.services import problems
from openilp.services.accounts.records import user_info as get_user_info
from openilp.services.analysis.common import boundary_areas
from openilp.services.problems.areas import geometry_from_geojson, unit_names, units_area
from openilp.services.problems.scanning import complete_from

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

CRS = "EPSG:26915"
LAYER = DEFAULT_LAYERS["SLMPD"].path


def _actor(engine: Engine, username: str, role: str = "analyst") -> UserInfo:
    user_id = seed_user(engine, username, role=role)
    with session_scope(engine) as session:
        info = get_user_info(session, user_id)
    assert info is not None
    return info


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return core_for(engine, tmp_path)


def test_every_proposal_over_the_neighbourhoods_is_polygonal() -> None:
    units = boundary_areas(LAYER, CRS)
    polygons = units.polygons()
    city = units.union()
    baselines = {i: float(10 + i % 7) for i in range(len(polygons))}
    kinds = set()
    proposed = 0
    for target_index in range(len(polygons)):
        candidates = {i: p for i, p in enumerate(polygons) if i != target_index}
        try:
            areas = propose_comparison_areas(
                polygons[target_index], candidates, baselines, 12.0, buffer_m=400, study_area=city
            )
        except ValueError:
            continue  # no separate control for this one; nothing is stored then
        proposed += 1
        for geometry in (areas.buffer, areas.control_buffer):
            kinds.add(geometry.geom_type)
            assert shapely.area(geometry) > 0
    assert proposed > 80
    assert kinds <= {"Polygon", "MultiPolygon"}, kinds


def test_polygonal_keeps_the_area_and_drops_slivers() -> None:
    ring = buffer_catchment(shapely.box(0, 0, 100, 100), 50)
    clipped = shapely.intersection(ring, shapely.box(-50, -50, 100, 150))  # touches the ring's edges
    assert polygonal(clipped).geom_type in ("Polygon", "MultiPolygon")
    assert polygonal(clipped).area == pytest.approx(clipped.area)


def test_stored_geometry_collections_are_read_as_their_polygons() -> None:
    square = [[-90.21, 38.62], [-90.19, 38.62], [-90.19, 38.64], [-90.21, 38.64], [-90.21, 38.62]]
    collection = {
        "type": "GeometryCollection",
        "geometries": [{"type": "Polygon", "coordinates": [square]}, {"type": "LineString", "coordinates": square[:2]}],
    }
    geometry = geometry_from_geojson(collection, CRS)
    assert geometry.geom_type == "Polygon" and geometry.area > 1e6
    lines_only = {"type": "GeometryCollection", "geometries": [{"type": "LineString", "coordinates": square[:2]}]}
    with pytest.raises(InvalidRequest, match="Polygon or MultiPolygon"):
        geometry_from_geojson(lines_only, CRS)


def test_units_by_name() -> None:
    names = unit_names(LAYER)
    assert len(names) == 88 and "Dutchtown" in names
    area = units_area(LAYER, ["Dutchtown", "Carondelet"])
    assert [f["properties"]["name"] for f in area["features"]] == ["Dutchtown", "Carondelet"]
    with pytest.raises(InvalidRequest, match="'Nowhere' is not a polygon of the boundary layer"):
        units_area(LAYER, ["Nowhere"])


def test_complete_from_skips_the_tail_of_late_reports() -> None:
    days = pd.Series([dt.date(2018, 8, 18), dt.date(2018, 11, 2)] + [dt.date(2019, m, 3) for m in range(1, 13)] * 30)
    assert complete_from(days) == dt.date(2019, 1, 1)
    assert complete_from(pd.Series([dt.date(2019, 3, 5)] * 3)) == dt.date(2019, 3, 5)


def test_problem_by_neighbourhood_and_interventions_changed_and_removed(engine: Engine, core: OpenILP) -> None:
    seed_agency(engine)
    analyst = _actor(engine, "ana")
    request = problems.OpenProblemRequest(
        title="Burglary in Dutchtown",
        categories="burglary",
        target_reduction_pct=20,
        baseline_start="2019-01-01",
        evaluation_start="2019-07-01",
        evaluation_end="2019-12-31",
        area=None,
        area_units=("Dutchtown",),
    )
    pid = problems.open_problem(core, analyst, request).id
    view = problems.get_problem(core, analyst, pid).as_dict()
    assert view["area_name"] == "Dutchtown" and view["area"]["type"] == "Polygon"
    with pytest.raises(InvalidRequest, match="either as polygons"):
        problems.open_problem(core, analyst, problems.OpenProblemRequest(**{**request.__dict__, "area": view["area"]}))

    # The control chosen by name; its buffer redrawn around it.
    problems.set_comparison_area(
        core, analyst, problems.ComparisonAreaRequest(pid, "control", units=("Penrose",), redraw_control_buffer=True)
    )
    view = problems.get_problem(core, analyst, pid).as_dict()
    assert view["comparison_areas"]["control"]["details"]["control_unit"] == "Penrose"
    assert view["comparison_areas"]["control_buffer"]["area"]["type"] in ("Polygon", "MultiPolygon")

    added = problems.add_intervention(
        core,
        analyst,
        problems.InterventionRequest(pid, kind="patrol", start="2019-07-01", end="2019-09-30", area_units="Dutchtown"),
    )
    changed = problems.change_intervention(
        core,
        analyst,
        problems.InterventionRequest(
            pid,
            kind="directed patrol",
            start="2019-07-01",
            end="2019-12-31",
            dosage_value="45",
            dosage_unit="minutes per day",
            intervention_id=added.id,
        ),
    )
    assert set(changed.fields) == {"kind", "end", "dosage", "area"}
    view = problems.get_problem(core, analyst, pid).as_dict()
    assert view["interventions"][0]["kind"] == "directed patrol" and view["interventions"][0]["area"] is None
    problems.remove_intervention(core, analyst, problems.RemoveInterventionRequest(pid, added.id, "entered twice"))
    view = problems.get_problem(core, analyst, pid).as_dict()
    assert view["interventions"] == []
    history = view["history"]
    assert history[-2]["action"] == "intervention changed"
    assert history[-2]["details"]["fields"]["kind"] == {"from": "patrol", "to": "directed patrol"}
    assert history[-1]["details"]["removed"]["kind"] == "directed patrol"
    assert history[-1]["details"]["reason"] == "entered twice"
    with pytest.raises(NotFound, match="no intervention"):
        problems.remove_intervention(core, analyst, problems.RemoveInterventionRequest(pid, added.id))
    officer = _actor(engine, "olly", role="officer")
    with pytest.raises(PermissionError):
        problems.remove_intervention(core, officer, problems.RemoveInterventionRequest(pid, 1))
    assert ("update", "ana", "problem") in audit_actions(engine)


def test_pages_edit_the_goal_and_remove_an_intervention(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    seed_user(engine, "ana", role="analyst")
    client = make_client(engine, tmp_path)
    login(client, "ana")
    page = client.get("/problems/new")
    assert page.status_code == 200 and "Dutchtown" in page.text
    response = client.post(
        "/problems",
        data={
            "csrf_token": csrf_from(page.text),
            "title": "Burglary in Dutchtown",
            "categories": "burglary",
            "target_reduction_pct": "20",
            "baseline_start": "2019-01-01",
            "evaluation_start": "2019-07-01",
            "evaluation_end": "2019-12-31",
            "area_units": ["Dutchtown"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    page = client.get(url)
    token = csrf_from(page.text)
    edited = client.post(
        f"{url}/edit",
        data={
            "csrf_token": token,
            "title": "Burglary in Dutchtown",
            "goal": "Fewer burglaries",
            "categories": "burglary",
            "target_reduction_pct": "25",
            "baseline_start": "2019-01-01",
            "evaluation_start": "2019-08-01",
            "evaluation_end": "2019-12-31",
            "area_name": "Dutchtown",
        },
        follow_redirects=True,
    )
    assert edited.status_code == 200
    assert "2019-08-01 – 2019-12-31" in edited.text and "−25.0%" in edited.text
    # A refused edit says why and keeps the values.
    refused = client.post(
        f"{url}/edit",
        data={
            "csrf_token": token,
            "title": "x",
            "categories": "burglary",
            "target_reduction_pct": "25",
            "baseline_start": "2019-09-01",
            "evaluation_start": "2019-08-01",
            "evaluation_end": "2019-12-31",
        },
    )
    assert refused.status_code == 400 and "the baseline must start before the evaluation" in refused.text
    client.post(
        f"{url}/interventions",
        data={"csrf_token": token, "kind": "patrol", "start": "2019-08-01", "end": "2019-12-31"},
    )
    page = client.get(url)
    assert "patrol" in page.text
    intervention_id = page.text.split('id="intervention-')[1].split('"')[0]
    removed = client.post(f"{url}/interventions/{intervention_id}/delete", data={"csrf_token": token})
    assert removed.status_code == 200 and "No intervention recorded." in removed.text
    assert "intervention removed" in removed.text
    # The history is shown as text, not as JSON.
    history = removed.text.split('id="history"')[1]
    assert "{&#34;" not in history and '{"' not in history
    # The API changes and removes interventions too.
    pid = int(url.rsplit("/", 1)[1])
    created = client.post(
        f"/api/v1/problems/{pid}/interventions", json={"kind": "cctv", "start": "2019-08-01", "end": "2019-08-31"}
    ).json()
    put = client.put(
        f"/api/v1/problems/{pid}/interventions/{created['id']}",
        json={"kind": "cctv", "start": "2019-08-01", "end": "2019-09-30"},
    )
    assert put.status_code == 200 and put.json()["fields"] == ["end"]
    assert client.delete(f"/api/v1/problems/{pid}/interventions/{created['id']}").status_code == 200
    assert client.delete(f"/api/v1/problems/{pid}/interventions/{created['id']}").status_code == 404
    detail = client.get(f"/api/v1/problems/{pid}").json()
    assert detail["interventions"] == [] and json.dumps(detail)


def test_the_new_problem_form_reports_every_error_next_to_its_control(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    seed_user(engine, "ana", role="analyst")
    client = make_client(engine, tmp_path)
    login(client, "ana")
    page = client.get("/problems/new")
    refused = client.post(
        "/problems",
        data={
            "csrf_token": csrf_from(page.text),
            "title": "",
            "categories": "burglary",
            "target_reduction_pct": "150",
            "baseline_start": "2019-01-01",
            "evaluation_start": "not a day",
            "evaluation_end": "2019-12-31",
        },
    )
    assert refused.status_code == 400
    assert "4 fields need a correction" in refused.text
    for name in ("title", "target_reduction_pct", "evaluation_start", "area"):
        assert f'id="err-{name}"' in refused.text, name
    assert 'aria-describedby="err-title"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "between 0 and 100" in refused.text and "must be a date written YYYY-MM-DD" in refused.text
