"""Analysis workflows over the store (hot spots, Knox, near-repeat alerts, trends) on every backend.

One store per backend for the module: three St. Louis monthly files (January to March 2019).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BACKENDS, _postgres_engine, _truncate_postgres, shared_file
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from store_support import import_source

from openilp.config import Settings
from openilp.core import OpenILP, ResultCache
from openilp.db import make_engine, migrate
from openilp.db.models import Agency
from openilp.errors import InvalidRequest
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis import hotspots as hotspot_service
from openilp.services.analysis import nearrepeat as nearrepeat_service
from openilp.services.analysis import trends as trend_service
from openilp.services.analysis.common import NoEventsError, guard_event_frame, incident_names
from openilp.services.analysis.events import EVENT_COLUMNS, load_events
from openilp.services.analysis.hotspots import HOTSPOT_COLUMNS, HotspotRequest, run_hotspots
from openilp.services.analysis.nearrepeat import (
    KNOX_COLUMNS,
    ZONE_COLUMNS,
    KnoxRequest,
    NearRepeatAlertRequest,
    parse_bands,
    run_knox,
    run_near_repeat_alerts,
)
from openilp.services.analysis.trends import TREND_COLUMNS, TrendRequest, run_trends

pytestmark = pytest.mark.realdata

MONTHS = ("january2019.csv", "february2019.csv", "march2019.csv")


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('analysis') / 'openilp.sqlite3'}")
        migrate(engine)
    else:
        engine = _postgres_engine()
        _truncate_postgres(engine)
    files = [shared_file("stlouis", "monthly", "2019", name) for name in MONTHS]
    import_source(engine, load_source_spec("stlouis"), files, workers=1)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture
def core(store: Engine, tmp_path_factory: pytest.TempPathFactory) -> OpenILP:
    """The core over the module's store, with a fresh result cache."""
    folder = tmp_path_factory.mktemp("core")
    return OpenILP(Settings(data_dir=str(folder), secret_key="k" * 40, audit_key="a" * 40), store)


def _ids_exist(engine: Engine, ids: list[int]) -> bool:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM incidents")).scalars().all()
    return set(ids) <= set(found)


def test_alert_zones_name_incidents_as_the_agency_does(core: OpenILP) -> None:
    """Bands to 500 m and 14 days, 60 days of history: zones in force on 20 March 2019, each with the
    incident's complaint number and block address (lists people act on show what the agency uses)."""
    knox = KnoxRequest("SLMPD", permutations=99, time_bands_days=(7, 14))
    result = run_near_repeat_alerts(
        core, None, NearRepeatAlertRequest("SLMPD", as_of=dt.date(2019, 3, 20), history_days=60, knox=knox)
    )
    features = result.to_geojson()["features"]
    assert len(features) == result.summary()["zones"] > 10
    for props in (f["properties"] for f in features):
        assert tuple(props) == (*ZONE_COLUMNS, "lon", "lat")
        assert re.fullmatch(r"19-0\d{5}", props["complaint_number"]), props
        assert props["block_address"] and props["neighbourhood"] and props["days_left"] > 0
    assert _ids_exist(core.engine, [f["properties"]["incident_id"] for f in features])


# --------------------------------------------------------------------------------- hot spots


def test_hotspots_geojson_and_csv_contracts(core: OpenILP) -> None:
    request = HotspotRequest(
        "SLMPD",
        ("burglary",),
        dt.date(2019, 1, 1),
        dt.date(2019, 3, 31),
        250.0,
        permutations=999,
    )
    result = run_hotspots(core, None, request)
    collection = result.to_geojson()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == result.grid.n_units > 1000
    first = collection["features"][0]
    assert tuple(first["properties"]) == HOTSPOT_COLUMNS
    lon, lat = first["geometry"]["coordinates"][0][0]
    assert -90.4 < lon < -90.1 and 38.5 < lat < 38.8  # EPSG:4326, St. Louis
    counts = [f["properties"]["count"] for f in collection["features"]]
    assert sum(counts) == collection["analysis"]["events_in_study_area"] > 400
    assert collection["analysis"]["study_area"] == "boundary layer"
    classes = {f["properties"]["gi_class"] for f in collection["features"]}
    assert classes <= {"hot", "cold", "none"}
    # KDE in events per km² integrates back to the events in the study area (edge-corrected).
    cell_km2 = (250.0 / 1000) ** 2
    assert sum(f["properties"]["kde_per_km2"] for f in collection["features"]) * cell_km2 == pytest.approx(
        sum(counts), rel=1e-3
    )
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert len(rows) == result.grid.n_units
    assert list(rows[0]) == [*HOTSPOT_COLUMNS, "lon", "lat"]
    assert sum(int(r["count"]) for r in rows) == sum(counts)


def test_hotspots_study_areas(core: OpenILP) -> None:
    hull = run_hotspots(core, None, HotspotRequest("SLMPD", ("robbery",), cell_size_m=400.0, study_area="hull"))
    assert hull.study_area_source.startswith("convex hull")
    assert int(hull.counts.sum()) == hull.n_events  # the buffered hull holds every event
    # The default is the agency's boundary layer when the core has one (SLMPD: the neighbourhoods).
    auto = run_hotspots(core, None, HotspotRequest("SLMPD", ("robbery",), cell_size_m=400.0))
    assert auto.study_area_source == "boundary layer" and auto.grid.n_units < hull.grid.n_units
    # A GeoJSON polygon in longitude/latitude is its own study area.
    square = {
        "type": "Polygon",
        "coordinates": [[[-90.3, 38.6], [-90.2, 38.6], [-90.2, 38.68], [-90.3, 38.68], [-90.3, 38.6]]],
    }
    given = run_hotspots(
        core, None, HotspotRequest("SLMPD", ("robbery",), cell_size_m=400.0, study_area=json.dumps(square))
    )
    assert given.study_area_source == "given area" and given.grid.n_units < auto.grid.n_units


def test_a_study_area_polygon_is_bounded() -> None:
    ring = [[-90.3 + 0.1 * i / 25_000, 38.6] for i in range(25_000)] + [[-90.2, 38.7], [-90.3, 38.6]]
    area = json.dumps({"type": "Polygon", "coordinates": [ring]})
    with pytest.raises(InvalidRequest, match="more than 20,000 vertices"):
        HotspotRequest("SLMPD", ("robbery",), study_area=area).validate()
    with pytest.raises(InvalidRequest, match="not valid GeoJSON"):
        HotspotRequest("SLMPD", ("robbery",), study_area="{not json").validate()
    with pytest.raises(InvalidRequest, match="Polygon, MultiPolygon"):
        HotspotRequest("SLMPD", ("robbery",), study_area='{"type": "Point", "coordinates": [0, 0]}').validate()


@pytest.mark.parametrize("area", ["/etc/passwd", "openilp.sqlite3", "boundaries/SLMPD.geojson", "../x.geojson"])
def test_a_study_area_never_names_a_file(area: str) -> None:
    with pytest.raises(InvalidRequest, match="a file name is never read"):
        HotspotRequest("SLMPD", ("robbery",), study_area=area).validate()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cell_size_m": 0.0}, "cell size must be a positive"),
        ({"cell_size_m": -5.0}, "cell size must be a positive"),
        ({"categories": ("",)}, "category must not be empty"),
        ({"bandwidth_m": -1.0}, "bandwidth must be a positive"),
        ({"permutations": 10**6}, "permutations must be between"),
        ({"cell_size_m": 2.0}, "at most 250,000 are allowed"),
        ({"categories": ("burglery",)}, "unknown category or crime group"),
        ({"date_from": dt.date(2030, 1, 1)}, "no located burglary"),
    ],
)
def test_hotspot_validation(core: OpenILP, changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"agency_code": "SLMPD", "categories": ("burglary",), "permutations": 0}
    values.update(changes)
    with pytest.raises(ValueError, match=message):
        run_hotspots(core, None, HotspotRequest(**values))  # type: ignore[arg-type]


def test_no_events_is_its_own_error(core: OpenILP) -> None:
    request = HotspotRequest("SLMPD", ("burglary",), dt.date(2030, 1, 1), dt.date(2030, 2, 1), permutations=0)
    with pytest.raises(NoEventsError):
        run_hotspots(core, None, request)


def test_cache_returns_the_same_result_until_the_data_change(store: Engine, tmp_path: Path) -> None:
    cache = ResultCache(maxsize=2)
    core = OpenILP(Settings(data_dir=str(tmp_path), secret_key="k" * 40, audit_key="a" * 40), store, cache=cache)
    request = HotspotRequest("SLMPD", ("robbery",), cell_size_m=500.0, permutations=99)
    first = run_hotspots(core, None, request)
    assert run_hotspots(core, None, request) is first
    assert (cache.hits, cache.misses) == (1, 1)
    run_hotspots(core, None, HotspotRequest("SLMPD", ("robbery",), cell_size_m=600.0, permutations=99))
    run_hotspots(core, None, HotspotRequest("SLMPD", ("robbery",), cell_size_m=700.0, permutations=99))
    assert len(cache) == 2  # least recently used evicted
    assert run_hotspots(core, None, request) is not first


# ------------------------------------------------------------------------------------- Knox


def test_knox_table_json_and_csv(core: OpenILP) -> None:
    request = KnoxRequest("SLMPD", ("burglary",), space_bands_m=(100, 200), time_bands_days=(7, 14), permutations=99)
    result = run_knox(core, None, request)
    assert result.n_events > 400
    payload = result.to_json()
    assert payload["space_bands"] == ["same location", "[0, 100) m", "[100, 200) m"]
    assert payload["time_bands"] == ["[0, 7) days", "[7, 14) days"]
    assert len(payload["cells"]) == 6
    assert tuple(payload["cells"][0]) == KNOX_COLUMNS
    assert all(0 < cell["p_value"] <= 1 for cell in payload["cells"])
    assert payload["summary"] and all(s.endswith(".") for s in payload["summary"])
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert len(rows) == 6 and list(rows[0]) == list(KNOX_COLUMNS)
    heat = result.heat_rows()
    assert [label for label, _ in heat] == payload["space_bands"]


@pytest.mark.parametrize(
    ("text_", "message"),
    [("100,50", "must be increasing"), ("", "at least one band"), ("a,b", "numbers separated by commas")],
)
def test_band_parsing(text_: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bands(text_, "space bands")


def test_knox_validation(core: OpenILP) -> None:
    with pytest.raises(ValueError, match="must be increasing"):
        run_knox(core, None, KnoxRequest("SLMPD", time_bands_days=(14, 7)))
    with pytest.raises(ValueError, match="permutations must be between"):
        run_knox(core, None, KnoxRequest("SLMPD", permutations=100_000))
    with pytest.raises(NoEventsError):
        run_knox(core, None, KnoxRequest("SLMPD", date_from=dt.date(2030, 1, 1), permutations=9))


def test_near_repeat_alerts(core: OpenILP) -> None:
    knox = KnoxRequest("SLMPD", permutations=99, time_bands_days=(7, 14, 21))
    result = run_near_repeat_alerts(
        core, None, NearRepeatAlertRequest("SLMPD", as_of=dt.date(2019, 3, 20), history_days=60, knox=knox)
    )
    summary = result.summary()
    assert summary["as_of"] == "2019-03-20" and summary["recent_from"] == "2019-02-28"
    assert summary["history_to"] == "2019-02-27"
    collection = result.to_geojson()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == summary["zones"]
    if collection["features"]:
        feature = collection["features"][0]
        assert tuple(feature["properties"]) == (*ZONE_COLUMNS, "lon", "lat")
        assert feature["geometry"]["type"] == "Polygon"
        assert feature["properties"]["days_left"] > 0
        assert feature["properties"]["incident_date"] <= "2019-03-20"
        ids = [f["properties"]["incident_id"] for f in collection["features"]]
        assert _ids_exist(core.engine, ids)
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert len(rows) == summary["zones"]
    # Default as-of: the latest incident's local day.
    # (the zone checks are in test_alert_zones_name_incidents_as_the_agency_does)
    latest = run_near_repeat_alerts(core, None, NearRepeatAlertRequest("SLMPD", history_days=60, knox=knox))
    assert latest.as_of == dt.date(2019, 3, 31)


# ----------------------------------------------------------------------------------- trends


def test_trends_rows_and_drill_down(core: OpenILP) -> None:
    request = TrendRequest(
        "SLMPD", ("burglary", "robbery"), dt.date(2019, 3, 31), periods=("week", "28d"), baselines=("previous",)
    )
    result = run_trends(core, None, request)
    payload = result.to_json(flagged_only=False)
    assert payload["rows"]
    row = payload["rows"][0]
    assert tuple(k for k in row if k != "incident_ids") == TREND_COLUMNS
    assert {r["category"] for r in payload["rows"]} <= {"burglary", "robbery"}
    severities = [r["severity"] for r in payload["rows"]]
    rank = {"alert": 0, "watch": 1, "": 2}
    assert [rank[s] for s in severities] == sorted(rank[s] for s in severities)
    for record in payload["rows"][:50]:
        assert len(record["incident_ids"]) == record["current"]
    ids = [i for r in payload["rows"] for i in r["incident_ids"]]
    assert _ids_exist(core.engine, ids)
    city = next(r for r in payload["rows"] if r["area"] == "(all areas)" and r["period"] == "28d")
    incidents = result.incidents(city["key"])
    assert len(incidents) == city["current"]
    assert incidents["occurred_local"].min() >= pd.Timestamp("2019-03-04")
    points = result.incidents_geojson(city["key"])
    assert len(points["features"]) <= city["current"]
    rows = list(csv.DictReader(io.StringIO(result.to_csv(flagged_only=False))))
    assert len(rows) == len(payload["rows"]) and list(rows[0]) == [*TREND_COLUMNS, "incident_count"]
    with pytest.raises(KeyError):
        result.incident_ids("nowhere|burglary|week|previous")


def test_trend_validation(core: OpenILP) -> None:
    with pytest.raises(ValueError, match="unknown period"):
        run_trends(core, None, TrendRequest("SLMPD", periods=("month",)))
    with pytest.raises(ValueError, match="area level"):
        run_trends(core, None, TrendRequest("SLMPD", area_level="ward"))
    with pytest.raises(ValueError, match="category must not be empty"):
        run_trends(core, None, TrendRequest("SLMPD", categories=(" ",)))
    with pytest.raises(NoEventsError):
        run_trends(core, None, TrendRequest("SLMPD", ("burglary",), dt.date(2005, 1, 1)))


# ------------------------------------------------------------------------------ civil rights


def test_services_see_only_event_columns(core: OpenILP, monkeypatch: pytest.MonkeyPatch) -> None:
    """What reaches an analysis is exactly EVENT_COLUMNS: no protected attribute can get in."""
    seen: list[tuple[str, ...]] = []

    def spy(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(tuple(frame.columns))
        return guard_event_frame(frame)

    for module in (hotspot_service, nearrepeat_service, trend_service):
        monkeypatch.setattr(module, "guard_event_frame", spy)
    run_hotspots(core, None, HotspotRequest("SLMPD", ("robbery",), cell_size_m=500.0, permutations=0))
    run_knox(core, None, KnoxRequest("SLMPD", permutations=9, space_bands_m=(100,), time_bands_days=(7,)))
    run_trends(core, None, TrendRequest("SLMPD", ("robbery",), periods=("week",), baselines=("previous",)))
    assert len(seen) == 3
    assert all(columns == EVENT_COLUMNS for columns in seen)


def test_a_protected_column_is_refused(core: OpenILP, monkeypatch: pytest.MonkeyPatch) -> None:
    def leaky(engine: Engine, query: object) -> tuple[pd.DataFrame, object]:
        frame, agency = load_events(engine, query)  # type: ignore[arg-type]
        return frame.assign(race="x"), agency

    for module in (hotspot_service, nearrepeat_service, trend_service):
        monkeypatch.setattr(module, "load_events", leaky)
    with pytest.raises(ValueError, match="unexpected columns: \\['race'\\]"):
        run_hotspots(core, None, HotspotRequest("SLMPD", ("robbery",), cell_size_m=500.0, permutations=0))
    with pytest.raises(ValueError, match="race"):
        run_knox(core, None, KnoxRequest("SLMPD", permutations=9))
    with pytest.raises(ValueError, match="race"):
        run_trends(core, None, TrendRequest("SLMPD", ("robbery",)))
    assert np.all([c in EVENT_COLUMNS for c in guard_event_frame(load_events(core.engine, _query())[0]).columns])


def _query():  # noqa: ANN202 - tiny helper
    from openilp.services.analysis.events import EventQuery

    return EventQuery("SLMPD", ("robbery",))


def test_incident_names_are_only_the_readers_agencys(core: OpenILP) -> None:
    """A drill-down list names the incidents an analysis returned (complaint number, block address,
    neighbourhood), and only the reader's agency's: an id of another agency gets no name."""
    with core.engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM incidents ORDER BY id LIMIT 5")).scalars().all()
    names = incident_names(core, None, ids, "SLMPD")
    assert sorted(names) == sorted(ids)
    assert all(re.fullmatch(r"19-0\d{5}", n["complaint_number"] or "") for n in names.values())
    with Session(core.engine) as session, session.begin():
        session.add(Agency(code="OTHRPD", name="Other PD", timezone="UTC", crs="EPSG:3857"))
    try:
        assert incident_names(core, None, ids, "OTHRPD") == {}
    finally:
        with core.engine.begin() as conn:
            conn.execute(text("DELETE FROM agencies WHERE code = 'OTHRPD'"))
