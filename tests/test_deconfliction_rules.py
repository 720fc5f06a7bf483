"""Deconfliction rules beyond the circle: polygons (against shapely's buffers), per-event-type reach,
the indexed filter (against the rule over every active event), targets resolved to entities, and
the purge of event locations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from intel_support import Cast, at, cast, make_core
from sqlalchemy import Engine, func, select
from store_support import core_for
from web_support import audit_actions

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.deconfliction_models import DeconflictionCell, DeconflictionEvent
from openilp.db.entity_models import Entity, EntityMention
from openilp.errors import InvalidRequest
from openilp.services.deconfliction import SubmitEventRequest, submit_event
from openilp.services.deconfliction.purge import purge_event_locations
from openilp.tasking.deconfliction import EventRule, EventTable, PlannedEvent, check_event, find_conflicts, parse_rules

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

HOUR = dt.timedelta(hours=1)
LON, LAT = -90.1928, 38.6226
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT))
M_PER_DEG_LAT = 111_000.0
NIGHT = dt.datetime(2024, 3, 1, 22, 0, tzinfo=dt.UTC)


# --- the rule: polygons and per-type reach -------------------------------------------------------------


def _square(cx: float, cy: float, half: float) -> tuple[tuple[float, float], ...]:
    return ((cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half))


@pytest.mark.parametrize("seed", [4, 5])
def test_polygons_against_shapely_buffers(seed: int) -> None:
    from shapely import Point, Polygon

    rng = np.random.default_rng(seed)
    events = []
    for _ in range(150):
        x, y = rng.uniform(0, 5_000, size=2)
        start = NIGHT + dt.timedelta(minutes=int(rng.integers(0, 3 * 24 * 60)))
        polygon = _square(float(x), float(y), float(rng.uniform(20, 300))) if rng.random() < 0.5 else None
        events.append(
            PlannedEvent(float(x), float(y), float(rng.uniform(0, 100)), start, start + 2 * HOUR, polygon=polygon)
        )

    shapes = [
        (Polygon(e.polygon) if e.polygon else Point(e.x_m, e.y_m)).buffer(e.radius_m, quad_segs=64) for e in events
    ]

    got = {(c.first, c.second) for c in find_conflicts(EventTable.of(events))}
    checked = 0
    for a in range(len(events)):
        for b in range(a + 1, len(events)):
            ea, eb = events[a], events[b]
            gap = shapes[a].distance(shapes[b])
            overlap = ea.starts_at - 2 * HOUR <= eb.ends_at and eb.starts_at - 2 * HOUR <= ea.ends_at
            if abs(gap - 304.8) < 0.5:  # the buffers' polygons approximate the circles to centimetres
                continue
            assert ((a, b) in got) == (gap <= 304.8 and overlap), (a, b, gap)
            checked += overlap
    assert checked > 100 and got
    # One event against the others: the same pairs.
    one = {c.second + 1 for c in check_event(events[0], EventTable.of(events[1:]))}
    assert one == {b for a, b in got if a == 0}


def test_a_pair_uses_the_larger_reach_of_its_two_types() -> None:
    rules = parse_rules("surveillance=1000:6")
    watch = PlannedEvent(0, 0, 0, NIGHT, NIGHT + HOUR, rule=rules["surveillance"])
    raid_near = PlannedEvent(900, 0, 0, NIGHT + 6 * HOUR, NIGHT + 7 * HOUR, rule=rules["raid"])
    raid_far = PlannedEvent(1_100, 0, 0, NIGHT, NIGHT + HOUR, rule=rules["raid"])
    raid_later = PlannedEvent(
        900, 0, 0, NIGHT + 7 * HOUR + dt.timedelta(seconds=1), NIGHT + 8 * HOUR, rule=rules["raid"]
    )
    found = {(c.first, c.second) for c in find_conflicts(EventTable.of([watch, raid_near, raid_far, raid_later]))}
    # 900 m and 5 h apart: within the surveillance's 1,000 m and 6 h; 6 h and a second: not. Two raids at
    # one place a second apart conflict by the default rule; 200 m and 5 h apart they do not.
    assert found == {(0, 1), (1, 3)}
    assert [c.second for c in check_event(watch, EventTable.of([raid_near, raid_far, raid_later]))] == [0]
    assert rules["raid"] == EventRule() and EventRule().buffer_m == pytest.approx(1_000 * 0.3048)
    with pytest.raises(ValueError, match="metres:hours"):
        parse_rules("raid=far:2")


# --- the service -------------------------------------------------------------------------------------


def _request(name: str, east_m: float, start: dt.datetime, **kw: object) -> SubmitEventRequest:
    fields: dict[str, object] = {
        "event_type": "search_warrant",
        "operation_name": name,
        "starts_at": start,
        "ends_at": start + 2 * HOUR,
        "contact_name": "Sgt Diaz",
        "contact_phone": "314-555-0100",
        "radius_m": 0.0,
        "lon": LON + east_m / M_PER_DEG_LON,
        "lat": LAT,
    }
    if kw.get("polygon") is not None and not kw.pop("with_centre", False):
        fields.update(lon=None, lat=None)
    fields.update(kw)
    return SubmitEventRequest(**fields)  # type: ignore[arg-type]


def _lonlat_square(east_m: float, half_m: float) -> tuple[tuple[float, float], ...]:
    cx = LON + east_m / M_PER_DEG_LON
    dx, dy = half_m / M_PER_DEG_LON, half_m / M_PER_DEG_LAT
    return ((cx - dx, LAT - dy), (cx + dx, LAT - dy), (cx + dx, LAT + dy), (cx - dx, LAT + dy))


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast]:
    return make_core(engine, tmp_path, now=NIGHT - 24 * HOUR), cast(engine)


def test_a_polygon_conflicts_by_its_edge_not_its_centre(world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    park = submit_event(core, people.other_analyst, _request("Park watch", 0, NIGHT, polygon=_lonlat_square(0, 500)))
    assert park.conflicts == ()
    # 700 m west of the park's centre is 200 m from its edge: a conflict, though 700 m from the centre;
    # 900 m east (400 m from the edge): none.
    near = submit_event(core, people.officer, _request("Near", -700, NIGHT))
    far = submit_event(core, people.officer, _request("Far", 900, NIGHT))
    assert [n.agency_code for n in near.conflicts] == ["OTHER"] and far.conflicts == ()
    crossing = ((LON, LAT), (LON + 0.01, LAT + 0.01), (LON + 0.01, LAT), (LON, LAT + 0.01))
    with pytest.raises(InvalidRequest, match="polygon"):
        submit_event(core, people.officer, _request("Bow tie", 0, NIGHT, polygon=crossing))
    with pytest.raises(InvalidRequest, match="not both"):
        submit_event(core, people.officer, _request("Both", 0, NIGHT, polygon=_lonlat_square(0, 50), with_centre=True))


def test_per_type_reach_comes_from_the_setting(engine: Engine, tmp_path: Path) -> None:
    people = cast(engine)
    core = core_for(engine, tmp_path, deconfliction_rules="surveillance=1000:6")
    core.clock = lambda: NIGHT - 24 * HOUR  # type: ignore[method-assign]
    submit_event(core, people.other_analyst, _request("Watch", 0, NIGHT, event_type="surveillance"))
    hit = submit_event(core, people.officer, _request("Raid", 900, NIGHT + 7 * HOUR, event_type="raid"))
    miss = submit_event(core, people.officer, _request("Raid 2", 1_400, NIGHT, event_type="raid"))
    assert len(hit.conflicts) == 1 and miss.conflicts == ()
    with session_scope(engine) as session:
        watch = session.scalars(select(DeconflictionEvent).where(DeconflictionEvent.operation_name == "Watch")).one()
        assert (watch.buffer_m, watch.time_buffer_s) == (1000.0, 6 * 3600.0)


def test_the_indexed_filter_finds_what_the_rule_over_every_event_finds(world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    rng = np.random.default_rng(11)
    planned: list[PlannedEvent] = []
    for i in range(120):
        east, north = rng.uniform(-3_000, 3_000, size=2)
        start = NIGHT + dt.timedelta(minutes=int(rng.integers(0, 2 * 24 * 60)))
        radius = float(rng.uniform(0, 150))
        targets = (f"vehicle:PL{int(rng.integers(0, 10))}",) if rng.random() < 0.2 else ()
        request = _request(
            f"Op {i}", float(east), start, radius_m=radius, lat=LAT + float(north) / M_PER_DEG_LAT, targets=targets
        )
        got = submit_event(core, people.officer if i % 2 else people.other_analyst, request)
        with session_scope(core.engine) as session:
            row = session.get(DeconflictionEvent, got.event_id)
            assert row is not None and row.lon is not None and row.lat is not None
            x, y = (row.lon - LON) * M_PER_DEG_LON, (row.lat - LAT) * M_PER_DEG_LAT
        event = PlannedEvent(x, y, radius, start, start + 2 * HOUR, targets)
        # The reference: the rule over every event planned before, in a plane (metres near St. Louis;
        # pairs within 2 m of the edge are left out, the plane being an approximation).
        expected = {c.second for c in check_event(event, EventTable.of(planned))} if planned else set()
        unsure = (
            {c.second for c in check_event(event, EventTable.of(planned), buffer_m=306.8)}
            - {c.second for c in check_event(event, EventTable.of(planned), buffer_m=302.8)}
            if planned
            else set()
        )
        found = {n.conflict_id for n in got.conflicts}
        assert len(found) == len(got.conflicts)
        with session_scope(core.engine) as session:
            from openilp.db.deconfliction_models import DeconflictionConflict

            others = set(
                session.scalars(
                    select(DeconflictionConflict.other_event_id).where(DeconflictionConflict.event_id == got.event_id)
                ).all()
            )
        assert {o - 1 for o in others} - unsure == expected - unsure
        planned.append(event)
    with session_scope(core.engine) as session:
        assert session.scalar(select(func.count()).select_from(DeconflictionCell)) >= 120


def _mention(session: object, agency_id: int, entity_id: int, name: str, record: str) -> EntityMention:
    first, _, surname = name.partition(" ")
    return EntityMention(
        agency_id=agency_id,
        kind="person",
        source="records",
        source_record_id=record,
        display_name=name,
        first_name=first,
        surname=surname,
        content_hash=record,
        searchable=True,
        entity_id=entity_id,
    )


def test_targets_resolved_to_one_entity_conflict(engine: Engine, world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    with session_scope(engine) as session:
        person = Entity(agency_id=people.analyst.agency_id, kind="person", display_name="Jonathan Smyth")
        session.add(person)
        session.flush()
        session.add_all(
            [
                _mention(session, people.analyst.agency_id, person.id, "Jonathan Smyth", "r1"),
                _mention(session, people.analyst.agency_id, person.id, "Johnny Smith", "r2"),
            ]
        )
    first = submit_event(core, people.other_analyst, _request("A", 0, NIGHT, targets=("person:Jonathan Smyth",)))
    assert first.conflicts == ()
    # 20 km away, a week later, another spelling the resolution linked: a target conflict.
    second = submit_event(
        core, people.officer, _request("B", 20_000, NIGHT + 7 * 24 * HOUR, targets=("person:johnny smith",))
    )
    (notice,) = second.conflicts
    assert notice.reasons == ("target",) and notice.agency_code == "OTHER"
    # A name no entity links does not.
    third = submit_event(
        core, people.officer, _request("C", 20_000, NIGHT + 9 * 24 * HOUR, targets=("person:jo smith",))
    )
    assert third.conflicts == ()


def test_locations_are_purged_after_the_event(engine: Engine, world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    old = submit_event(
        core, people.officer, _request("Old", 0, NIGHT, address="100 Main St", polygon=None, targets=("vehicle:X1",))
    )
    assert purge_event_locations(core).events == 0
    # 72 h after the end (the default) nothing yet; one second later the location is gone.
    at(core, NIGHT + 2 * HOUR + 72 * HOUR, lambda: purge_event_locations(core))
    assert at(core, NIGHT + 74 * HOUR + dt.timedelta(seconds=1), lambda: purge_event_locations(core)).events == 1
    with session_scope(engine) as session:
        row = session.get(DeconflictionEvent, old.event_id)
        assert row is not None
        assert (row.lon, row.lat, row.polygon, row.address, row.min_lat) == (None, None, None, "", None)
        assert row.status == "ended" and row.location_purged_at is not None
        assert row.contact_name == "Sgt Diaz" and json.loads(row.targets) == ["vehicle:X1"]
        assert session.scalar(select(func.count()).select_from(DeconflictionCell)) == 0
    assert ("deconfliction_locations_purged", None, "deconfliction_event") in audit_actions(engine)
