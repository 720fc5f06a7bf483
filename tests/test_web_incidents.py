"""Incident queries (service) and the map page and GeoJSON API over them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_support import IncidentSpec, audit_actions, login, make_client, seed_agency, seed_incidents, seed_user

from openilp.db import ImportFile, Incident, session_scope
from openilp.services.analysis.incidents import category_options, incident_features, incident_summary

UTC = dt.UTC
# St. Louis is UTC-6 in winter: 2019-01-01 03:00 UTC is still 31 December locally.
NEW_YEAR_EVE_LOCAL = dt.datetime(2019, 1, 1, 3, 0, tzinfo=UTC)
JAN_2 = dt.datetime(2019, 1, 2, 18, 0, tzinfo=UTC)
JAN_31_LATE_LOCAL = dt.datetime(2019, 2, 1, 5, 30, tzinfo=UTC)  # 23:30 on 31 January in St. Louis
FEB_10 = dt.datetime(2019, 2, 10, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    agency_id: int
    ids: list[int]


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    slmpd = seed_agency(engine, "SLMPD", "America/Chicago")
    seed_agency(engine, "OTHER", "America/New_York")
    ids = seed_incidents(
        engine,
        "SLMPD",
        [
            IncidentSpec("robbery", NEW_YEAR_EVE_LOCAL, lon=-90.25, lat=38.60, description="ROBBERY-STRONGARM"),
            IncidentSpec("burglary_residential", JAN_2, lon=-90.2, lat=38.65),
            IncidentSpec("robbery", JAN_31_LATE_LOCAL, lon=-90.21, lat=38.61, address="<b>1 Evil St</b>"),
            IncidentSpec("robbery", FEB_10, location_status="withheld"),
            IncidentSpec("rape", FEB_10, location_status="missing"),
            IncidentSpec("robbery", FEB_10, net_count=0),  # reversed: not an incident
            IncidentSpec("larceny", None),  # no time known
        ],
    )
    seed_incidents(engine, "OTHER", [IncidentSpec("robbery", JAN_2)])
    return Seeded(slmpd, ids)


def features(engine: Engine, agency_id: int, **filters: Any) -> dict[str, Any]:
    with session_scope(engine) as session:
        return incident_features(session, [agency_id], **filters)


def test_located_incidents_newest_first_with_counts(engine: Engine, seeded: Seeded) -> None:
    ids = seeded.ids
    result = features(engine, seeded.agency_id)
    assert result["type"] == "FeatureCollection"
    assert [f["id"] for f in result["features"]] == [ids[2], ids[1], ids[0], ids[6]]
    assert result["counts"] == {
        "matching": 4,
        "returned": 4,
        "truncated": False,
        "not_located": 2,
        "limit": 20000,
    }
    first = result["features"][-2]
    assert first["geometry"] == {"type": "Point", "coordinates": [-90.25, 38.6]}
    assert first["properties"] == {
        "id": ids[0],
        "category": "robbery",
        "category_label": "Robbery",
        "crime_group": "violent",
        "offence_description": "ROBBERY-STRONGARM",
        "occurred_from": "2019-01-01T03:00:00+00:00",
        "time_precision": "minute",
        "block_address": "100 MARKET ST",
    }


def test_dates_are_whole_local_days(engine: Engine, seeded: Seeded) -> None:
    ids = seeded.ids
    january = features(
        engine,
        seeded.agency_id,
        date_from=dt.date(2019, 1, 1),
        date_to=dt.date(2019, 1, 31),
    )
    # 31 Dec local is out; 31 Jan 23:30 local is in; undated records never match a date filter.
    assert sorted(f["id"] for f in january["features"]) == sorted([ids[1], ids[2]])
    december = features(engine, seeded.agency_id, date_to=dt.date(2018, 12, 31))
    assert [f["id"] for f in december["features"]] == [ids[0]]


def test_category_filter_and_not_located_count(engine: Engine, seeded: Seeded) -> None:
    result = features(engine, seeded.agency_id, category_codes=["robbery"])
    assert {f["properties"]["category"] for f in result["features"]} == {"robbery"}
    assert result["counts"]["matching"] == 2
    assert result["counts"]["not_located"] == 1  # the withheld robbery; the reversed one is not counted


def test_limit_truncates_keeping_the_newest(engine: Engine, seeded: Seeded) -> None:
    result = features(engine, seeded.agency_id, limit=2)
    assert result["counts"]["returned"] == 2
    assert result["counts"]["truncated"] is True
    assert [f["id"] for f in result["features"]] == seeded.ids[2:0:-1]


def test_no_agencies_means_no_incidents(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        assert incident_features(session, [])["counts"]["matching"] == 0


@pytest.mark.parametrize(
    "filters,message",
    [
        ({"date_from": dt.date(2019, 2, 1), "date_to": dt.date(2019, 1, 1)}, "date_from .* is after date_to"),
        ({"category_codes": ["robbery", "witchcraft"]}, "unknown category 'witchcraft'"),
        ({"limit": 0}, "limit must be at least 1"),
    ],
)
def test_bad_filters_raise_clear_errors(
    engine: Engine, seeded: Seeded, filters: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        features(engine, seeded.agency_id, **filters)


def test_category_options_are_grouped(engine: Engine) -> None:
    with session_scope(engine) as session:
        options = category_options(session)
    groups = [o.crime_group for o in options]
    assert groups == sorted(groups, key=["violent", "property", "society", "other"].index)
    assert "robbery" in {o.code for o in options}


def test_summary(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        summary = incident_summary(session, [seeded.agency_id])
    assert (summary.total, summary.located) == (6, 4)
    assert summary.first_occurred == NEW_YEAR_EVE_LOCAL
    assert summary.last_occurred == FEB_10


# --- through HTTP -------------------------------------------------------------------------------


@pytest.fixture
def client(engine: Engine, seeded: Seeded, tmp_path: Path) -> TestClient:
    seed_user(engine, "alice")
    client = make_client(engine, tmp_path, max_map_points=3)
    assert login(client, "alice").status_code == 303
    return client


def test_api_geojson_with_filters(client: TestClient, seeded: Seeded) -> None:
    response = client.get(
        "/api/v1/incidents.geojson",
        params={
            "category": ["robbery", "burglary_residential"],
            "date_from": "2019-01-01",
            "date_to": "2019-01-31",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["counts"]["matching"] == 2
    assert body["filters"] == {
        "category": ["robbery", "burglary_residential"],
        "date_from": "2019-01-01",
        "date_to": "2019-01-31",
    }


def test_api_caps_at_max_map_points(client: TestClient) -> None:
    body = client.get("/api/v1/incidents.geojson", params={"limit": 100}).json()
    assert body["counts"] == {"matching": 4, "returned": 3, "truncated": True, "not_located": 2, "limit": 3}


@pytest.mark.parametrize(
    "params,status,message",
    [
        (
            {"date_from": "2019-02-01", "date_to": "2019-01-01"},
            400,
            "date_from (2019-02-01) is after date_to",
        ),
        ({"date_from": "01/02/2019"}, 400, "date_from must be a date written YYYY-MM-DD"),
        ({"category": "witchcraft"}, 400, "unknown category 'witchcraft'"),
        ({"limit": "0"}, 422, "limit: Input should be greater than or equal to 1"),
        ({"limit": "many"}, 422, "limit: Input should be a valid integer"),
    ],
)
def test_api_bad_input_is_a_clear_client_error(
    client: TestClient, params: dict[str, str], status: int, message: str
) -> None:
    response = client.get("/api/v1/incidents.geojson", params=params)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_categories_api(client: TestClient) -> None:
    categories = client.get("/api/v1/categories").json()["categories"]
    robbery = next(c for c in categories if c["code"] == "robbery")
    assert robbery == {"code": "robbery", "label": "Robbery", "crime_group": "violent", "ucr_part": 1}


def test_boundary_layer_of_own_agency(client: TestClient) -> None:
    response = client.get("/api/v1/boundaries/SLMPD.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert len(response.json()["features"]) == 88
    assert client.get("/api/v1/boundaries/OTHER.geojson").status_code == 404
    assert client.get("/api/v1/boundaries/..%2F..%2Fetc%2Fpasswd.geojson").status_code == 404


def test_street_layer_of_own_agency_is_bundled_and_drawn_on_every_map(client: TestClient) -> None:
    response = client.get("/api/v1/streets/SLMPD.geojson", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-encoding"] == "gzip"
    streets = response.json()
    assert "ODC-By" in streets["attribution"]
    assert len(streets["features"]) > 1000
    lines = [f for f in streets["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == len(streets["features"])
    # Every vertex lies in St. Louis (WGS84 longitude, latitude), every line is named with its blocks.
    lon = [x for f in lines for x, _ in f["geometry"]["coordinates"]]
    lat = [y for f in lines for _, y in f["geometry"]["coordinates"]]
    assert min(lon) > -90.33 and max(lon) < -90.16 and min(lat) > 38.53 and max(lat) < 38.78
    assert all(f["properties"]["name"] and f["properties"]["from_block"] <= f["properties"]["to_block"] for f in lines)
    alaska = [f["properties"] for f in lines if f["properties"]["name"] == "ALASKA AVE"]
    assert any(p["from_block"] <= 5000 <= p["to_block"] for p in alaska)  # "5011 ALASKA AVE" reads as its block
    assert client.get("/api/v1/streets/OTHER.geojson").status_code == 404
    for path in ("/map", "/analysis/hotspots", "/forecast"):
        html = client.get(path).text
        assert 'data-streets-url="/api/v1/streets/SLMPD.geojson"' in html, path
        assert '<script src="/static/js/streets.js"></script>' in html, path


def test_map_page(client: TestClient) -> None:
    page = client.get("/map", params={"category": "robbery", "date_from": "2019-01-01"})
    assert page.status_code == 200
    html = page.text
    assert 'data-boundary-url="/api/v1/boundaries/SLMPD.geojson"' in html
    assert (
        'data-incidents-url="/api/v1/incidents.geojson?mode=auto&amp;category=robbery&amp;date_from=2019-01-01"' in html
    )
    assert '<option value="robbery" selected>' in html
    assert 'value="2019-01-01"' in html
    assert "at most 3" in html  # the truncation notice names the cap


def test_map_page_shows_filter_errors(client: TestClient) -> None:
    page = client.get("/map", params={"date_from": "2019-02-01", "date_to": "2019-01-01"})
    assert page.status_code == 400
    assert "is after date_to" in page.text
    assert 'data-load="no"' in page.text


def test_map_page_without_built_assets_says_how_to_build_them(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import openilp.web.context as context

    monkeypatch.setattr(context, "LEAFLET_DIR", tmp_path / "no-leaflet-here")
    page = client.get("/map")
    assert page.status_code == 200
    assert "The map library is not installed" in page.text
    assert "scripts/build_assets.py" in page.text
    assert "vendor/leaflet/leaflet.js" not in page.text


def test_home_page_summary(client: TestClient) -> None:
    html = client.get("/").text
    assert "Welcome, Alice" in html
    assert "<dt>Incidents</dt><dd>6</dd>" in html


def test_boundary_registry_reads_the_data_folder(tmp_path: Path) -> None:
    from openilp.core.boundaries import BoundaryRegistry

    folder = tmp_path / "boundaries"
    folder.mkdir()
    (folder / "METRO.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    registry = BoundaryRegistry.default(tmp_path)
    layer = registry.layer_for("METRO")
    assert layer is not None and layer.path == folder / "METRO.geojson"
    assert registry.layer_for("SLMPD") is not None
    assert registry.layer_for("NOPE") is None
    streets = tmp_path / "streets"
    streets.mkdir()
    (streets / "METRO.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    registry = BoundaryRegistry.default(tmp_path)
    metro = registry.streets_for("METRO")
    assert metro is not None and metro.path == streets / "METRO.geojson"
    assert registry.streets_for("SLMPD") is not None and registry.streets_for("NOPE") is None


def test_geojson_is_gzipped_but_pages_are_not(client: TestClient) -> None:
    boundary = client.get("/api/v1/boundaries/SLMPD.geojson", headers={"accept-encoding": "gzip"})
    assert boundary.headers["content-encoding"] == "gzip"
    assert len(boundary.json()["features"]) == 88
    page = client.get("/map", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in page.headers


def test_the_map_is_built_once_per_question_and_state_of_the_data(
    client: TestClient, engine: Engine, seeded: Seeded
) -> None:
    """The same month asked twice is built once; an import changes the answer at once (no stale map)."""
    cache = client.app.state.openilp.core.cache  # type: ignore[attr-defined]
    params = {"date_from": "2019-01-01", "date_to": "2019-01-31"}
    first = client.get("/api/v1/incidents.geojson", params=params).json()
    misses = cache.misses
    again = client.get("/api/v1/incidents.geojson", params=params).json()
    assert again == first and cache.misses == misses and cache.hits >= 1
    with session_scope(engine) as session:  # a new import: a file and its one incident
        new_file = ImportFile(agency_id=seeded.agency_id, source="test", file_name="new.csv", sha256="f" * 64)
        session.add(new_file)
        session.flush()
        session.add(
            Incident(
                agency_id=seeded.agency_id,
                source="test",
                source_key="new-1",
                offence_description="ROBBERY",
                category_code="robbery",
                occurred_from=JAN_2,
                occurred_to=JAN_2,
                time_precision="minute",
                lon=-90.22,
                lat=38.62,
                location_status="located",
                block_address="1 NEW ST",
                net_count=1,
                import_file_id=new_file.id,
                source_line=1,
                content_hash=1,
                raw="new",
            )
        )
    after = client.get("/api/v1/incidents.geojson", params=params).json()
    assert after["counts"]["matching"] == first["counts"]["matching"] + 1
    assert audit_actions(engine).count(("search", "alice", "incidents")) == 3  # every request is audited


def test_another_sites_page_cannot_make_an_audited_api_search(client: TestClient, engine: Engine) -> None:
    """A link on another site (the SameSite=Lax cookie travels with it) must not search in the viewer's name."""
    before = audit_actions(engine).count(("search", "alice", "incidents"))
    forged = client.get(
        "/api/v1/incidents.geojson", params={"purpose": "attacker's text"}, headers={"sec-fetch-site": "cross-site"}
    )
    assert forged.status_code == 403
    assert audit_actions(engine).count(("search", "alice", "incidents")) == before
    own_page = client.get("/api/v1/incidents.geojson", headers={"sec-fetch-site": "same-origin"})
    script = client.get("/api/v1/incidents.geojson")  # curl, scripts: no Fetch Metadata
    assert own_page.status_code == 200 and script.status_code == 200
    assert client.get("/map", headers={"sec-fetch-site": "cross-site"}).status_code == 200  # pages may be linked


def test_the_map_service_audits_each_question_and_refuses_without_a_reader(
    engine: Engine, seeded: Seeded, tmp_path: Path
) -> None:
    """The map is a service on the core object: request validated, result frozen, the search audited."""
    import gzip

    from store_support import core_for

    from openilp.errors import InvalidRequest, NotPermitted
    from openilp.services.accounts.users import ActingUserRequest, acting_user
    from openilp.services.analysis.incident_map import IncidentMapRequest, incident_map

    seed_user(engine, "bea")
    core = core_for(engine, tmp_path)
    bea = acting_user(core, None, ActingUserRequest("bea")).user
    request = IncidentMapRequest.from_text([], "2019-01-01", "2019-01-31", purpose="case 19-000123")
    found = incident_map(core, bea, request)
    assert found.counts["matching"] == 2 and found.as_dict()["counts"] == found.counts
    assert gzip.decompress(found.body(gzipped=True)) == found.body()
    assert audit_actions(engine).count(("search", "bea", "incidents")) == 1
    with pytest.raises(InvalidRequest, match="is after date_to"):
        incident_map(core, bea, IncidentMapRequest.from_text([], "2019-02-01", "2019-01-31"))
    with pytest.raises(InvalidRequest, match="unknown category"):
        incident_map(core, bea, IncidentMapRequest(("jaywalking",)))
    with pytest.raises(NotPermitted):
        incident_map(core, None, request)
    assert audit_actions(engine).count(("search", "bea", "incidents")) == 1


def test_the_month_is_sent_gzipped_as_built_once(client: TestClient) -> None:
    params = {"date_from": "2019-01-01", "date_to": "2019-01-31"}
    first = client.get("/api/v1/incidents.geojson", params=params, headers={"accept-encoding": "gzip"})
    again = client.get("/api/v1/incidents.geojson", params=params, headers={"accept-encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip" and "accept-encoding" in first.headers["vary"].lower()
    assert first.json() == again.json() and first.json()["counts"]["matching"] == 2
    plain = client.get("/api/v1/incidents.geojson", params=params, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == first.json()


def test_store_stats_is_a_service_with_a_frozen_result(engine: Engine, seeded: Seeded, tmp_path: Path) -> None:
    import dataclasses

    from store_support import core_for

    from openilp.errors import InvalidRequest, NotFound, NotPermitted
    from openilp.services.accounts.users import ActingUserRequest, acting_user
    from openilp.services.analysis.stats import StatsRequest, store_stats

    core = core_for(engine, tmp_path)
    every = store_stats(core, None, StatsRequest())
    assert [a.agency for a in every.agencies] == ["OTHER", "SLMPD"]
    slmpd = every.agencies[1]
    # Every stored row is counted here (the reversed one too), unlike the map.
    assert slmpd.incidents == 7 and slmpd.locations == {"located": 5, "withheld": 1, "missing": 1}
    assert slmpd.located_share == pytest.approx(5 / 7) and slmpd.by_source == {"test": 7}
    assert every.as_dict()["agencies"][1]["by_category"]["robbery"] == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        slmpd.incidents = 0  # type: ignore[misc]
    with pytest.raises(NotFound, match="agencies in the store: OTHER, SLMPD"):
        store_stats(core, None, StatsRequest("NOPE"))
    with pytest.raises(InvalidRequest):
        store_stats(core, None, StatsRequest(" "))
    seed_user(engine, "cat")
    cat = acting_user(core, None, ActingUserRequest("cat")).user
    assert [a.agency for a in store_stats(core, cat, StatsRequest()).agencies] == ["SLMPD"]
    with pytest.raises(NotPermitted):
        store_stats(core, cat, StatsRequest("OTHER"))
