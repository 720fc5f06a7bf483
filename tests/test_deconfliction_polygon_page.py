"""The planning page takes an area: polygon vertices pasted (pairs or GeoJSON) or drawn on its map."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from web_support import csrf_from, login, make_client, seed_agency, seed_user

from openilp.db import session_scope
from openilp.db.deconfliction_models import DeconflictionEvent
from openilp.web.routes.deconfliction.pages import parse_polygon

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

NIGHT = dt.datetime(2024, 3, 1, 22, 0, tzinfo=dt.UTC)
#: A block of about 170 m × 170 m in downtown St. Louis, as "lon lat" lines.
SQUARE = "-90.1940 38.6220\n-90.1920 38.6220\n-90.1920 38.6235\n-90.1940 38.6235\n-90.1940 38.6220"


def test_parse_polygon_reads_pairs_and_geojson() -> None:
    expected = ((-90.194, 38.622), (-90.192, 38.622), (-90.192, 38.6235), (-90.194, 38.6235))
    assert parse_polygon(SQUARE) == expected
    assert parse_polygon("-90.1940,38.6220; -90.1920,38.6220; -90.1920,38.6235; -90.1940,38.6235") == expected
    ring = [list(p) for p in expected]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    assert parse_polygon(json.dumps(feature)) == expected
    assert parse_polygon(json.dumps(ring)) == expected
    for bad, words in [
        ("-90.19 38.62\nnorth 38.63", "vertex 2"),
        ('{"type": "Point"}', "must be a Polygon"),
        ("{", "not valid"),
    ]:
        with pytest.raises(ValueError, match=words):
            parse_polygon(bad)


def _form(page: str, name: str, **place: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_from(page),
        "event_type": "search_warrant",
        "operation_name": name,
        "starts_at": NIGHT.isoformat(),
        "ends_at": (NIGHT + dt.timedelta(hours=2)).isoformat(),
        "radius_m": "0",
        "contact_name": "Sgt. Ray",
        "contact_phone": "314 555 0100",
        **place,
    }


def test_planning_page_records_a_pasted_polygon_and_finds_the_conflict(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine, "SLMPD")
    seed_agency(engine, "OTHER")
    seed_user(engine, "ana")
    seed_user(engine, "other-ana", agency_code="OTHER")
    client = make_client(engine, tmp_path, clock=lambda: NIGHT - dt.timedelta(hours=1))
    login(client, "ana")
    page = client.get("/deconfliction").text
    assert 'id="polygon"' in page
    area = client.post("/deconfliction/events", data=_form(page, "Operation Block", polygon=SQUARE))
    assert area.status_code == 200 and "no conflict" in area.text
    with session_scope(engine) as session:
        event = session.scalars(select(DeconflictionEvent)).one()
        assert json.loads(event.polygon or "[]") == [
            [-90.194, 38.622],
            [-90.192, 38.622],
            [-90.192, 38.6235],
            [-90.194, 38.6235],
        ]
    bad = client.post("/deconfliction/events", data=_form(page, "Operation Typo", polygon="-90.19 38.62\nnorth 38.63"))
    assert bad.status_code == 400 and "polygon: vertex 2 must be two numbers" in bad.text
    both = client.post(
        "/deconfliction/events", data=_form(page, "Operation Both", polygon=SQUARE, lon="-90.193", lat="38.6228")
    )
    assert both.status_code == 400 and "give a polygon or a centre, not both" in both.text
    other = make_client(engine, tmp_path, clock=lambda: NIGHT - dt.timedelta(hours=1))
    login(other, "other-ana")
    inside = other.post(
        "/deconfliction/events",
        data=_form(other.get("/deconfliction").text, "Operation Inside", lon="-90.1930", lat="38.6228"),
    )
    assert inside.status_code == 200 and "CONFLICT" in inside.text and "SLMPD" in inside.text
