"""Officer-safety deconfliction: the rule (against a brute-force reference), the service on every
backend (conflicts by place and time or shared target, pointer-only answers, notices, audit,
permissions, cancel), the JSON API and the command line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from intel_support import Cast, cast, make_core
from sqlalchemy import Engine, select
from test_cli import cli_env, invoke  # noqa: F401  (fixture re-used)
from web_support import audit_actions, login, make_client, seed_agency, seed_user

from openilp.cli import common
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.deconfliction_models import DeconflictionEvent
from openilp.db.models import Notification
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.services.deconfliction import (
    CloseEventRequest,
    ListEventsRequest,
    SubmitEventRequest,
    close_event,
    list_events,
    submit_event,
)
from openilp.tasking.deconfliction import (
    EventTable,
    PlannedEvent,
    check_event,
    find_conflicts,
    normalise_target,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

HOUR = dt.timedelta(hours=1)
# Busch Stadium, St. Louis; one degree of longitude there is about 86.98 km.
LON, LAT = -90.1928, 38.6226
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT))
NIGHT = dt.datetime(2024, 3, 1, 22, 0, tzinfo=dt.UTC)


# --- the rule ------------------------------------------------------------------------------------


def _brute_force(
    events: list[PlannedEvent], buffer_m: float, time_buffer: dt.timedelta
) -> list[tuple[int, int, tuple[str, ...]]]:
    out = []
    for a in range(len(events)):
        for b in range(a + 1, len(events)):
            ea, eb = events[a], events[b]
            gap = max(np.hypot(ea.x_m - eb.x_m, ea.y_m - eb.y_m) - ea.radius_m - eb.radius_m, 0.0)
            near = gap <= buffer_m
            overlap = ea.starts_at - time_buffer <= eb.ends_at and eb.starts_at - time_buffer <= ea.ends_at
            shared = {normalise_target(t) for t in ea.targets} & {normalise_target(t) for t in eb.targets}
            reasons = (("place_time",) if near and overlap else ()) + (("target",) if shared else ())
            if reasons:
                out.append((a, b, reasons))
    return out


def _random_events(seed: int, n: int) -> list[PlannedEvent]:
    rng = np.random.default_rng(seed)
    plates = [f"vehicle:{p}" for p in ("ABC 123", "abc-123", "XYZ987", "QQQ111")]
    events = []
    for _ in range(n):
        start = NIGHT + dt.timedelta(minutes=int(rng.integers(0, 7 * 24 * 60)))
        targets = tuple(rng.choice(plates, size=int(rng.integers(0, 2)), replace=False))
        events.append(
            PlannedEvent(
                float(rng.uniform(0, 8_000)),
                float(rng.uniform(0, 8_000)),
                float(rng.uniform(0, 200)),
                start,
                start + dt.timedelta(minutes=int(rng.integers(10, 600))),
                targets if rng.random() < 0.05 else (),
            )
        )
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_find_conflicts_equals_brute_force(seed: int) -> None:
    events = _random_events(seed, 400)
    for buffer_m, time_buffer in ((300.0, 2 * HOUR), (0.0, dt.timedelta(0)), (1_000.0, 6 * HOUR)):
        got = [
            (c.first, c.second, c.reasons)
            for c in find_conflicts(EventTable.of(events), buffer_m=buffer_m, time_buffer=time_buffer)
        ]
        assert got == _brute_force(events, buffer_m, time_buffer)
        assert got, "the random plan should hold some conflicts"
        # One new event against the table: the same pairs as the pairwise search with it as row 0.
        table = EventTable.of(events[1:])
        one = [
            (c.second + 1, c.reasons) for c in check_event(events[0], table, buffer_m=buffer_m, time_buffer=time_buffer)
        ]
        assert one == [(b, r) for a, b, r in got if a == 0]


def test_the_rule_at_its_edges() -> None:
    a = PlannedEvent(0, 0, 50, NIGHT, NIGHT + 2 * HOUR)
    # Edges exactly 1,000 ft (304.8 m) apart and windows exactly 2 h apart: still a conflict (both bounds inclusive).
    b = PlannedEvent(404.8, 0, 50, NIGHT + 4 * HOUR, NIGHT + 5 * HOUR)
    (edge,) = check_event(b, EventTable.of([a]))
    assert edge.reasons == ("place_time",) and edge.gap_m == pytest.approx(304.8) and edge.gap_h == 2.0
    # One centimetre or one second further: none.
    assert check_event(dataclasses.replace(b, x_m=404.81), EventTable.of([a])) == []
    later = dataclasses.replace(b, starts_at=b.starts_at + dt.timedelta(seconds=1))
    assert check_event(later, EventTable.of([a])) == []
    # Same place, next day: none; same plate written another way, far away next week: a target conflict.
    next_day = dataclasses.replace(a, starts_at=NIGHT + 24 * HOUR, ends_at=NIGHT + 26 * HOUR)
    assert find_conflicts(EventTable.of([a, next_day])) == []
    plate_a = dataclasses.replace(a, targets=("vehicle:abc-123",))
    plate_b = PlannedEvent(50_000, 0, 10, NIGHT + 200 * HOUR, NIGHT + 201 * HOUR, ("vehicle: ABC 123",))
    (hit,) = find_conflicts(EventTable.of([plate_a, plate_b]))
    assert hit.reasons == ("target",) and hit.shared_targets == ("vehicle:ABC123",)
    with pytest.raises(ValueError, match="aware"):
        PlannedEvent(0, 0, 1, NIGHT.replace(tzinfo=None), NIGHT)


def test_targets_are_normalised_per_kind() -> None:
    assert normalise_target("phone:1-314-555-0100") == normalise_target("phone:(314) 555 0100") == "phone:3145550100"
    assert normalise_target("person:John  O'Brien") == normalise_target("PERSON:john obrien")
    assert normalise_target("address:100 Main St.") == "address:100 main st"
    assert normalise_target("vehicle:  ") == ""
    # A person and a vehicle with the same letters are different targets.
    assert normalise_target("person:abc") != normalise_target("vehicle:abc")


def test_no_protected_attribute_enters_an_event() -> None:
    protected = ("race", "ethnic", "national", "origin", "religio")
    fields = [f.name for f in dataclasses.fields(SubmitEventRequest)] + [
        c.name for c in DeconflictionEvent.__table__.columns
    ]
    assert not [f for f in fields if any(word in f for word in protected)]


# --- the service -----------------------------------------------------------------------------------


def _event(
    name: str, east_m: float, start: dt.datetime, hours: float = 2, targets: tuple[str, ...] = (), **kw: object
) -> SubmitEventRequest:
    return SubmitEventRequest(
        event_type=str(kw.pop("event_type", "search_warrant")),
        operation_name=name,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        contact_name=str(kw.pop("contact_name", "Sgt Diaz")),
        contact_phone=str(kw.pop("contact_phone", "314-555-0100")),
        radius_m=float(kw.pop("radius_m", 0.0)),  # type: ignore[arg-type]
        lon=LON + east_m / M_PER_DEG_LON,
        lat=LAT,
        targets=targets,
    )


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast]:
    return make_core(engine, tmp_path, now=NIGHT - 24 * HOUR), cast(engine)


def test_place_and_time_conflict_gives_only_a_pointer(engine: Engine, world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    theirs = submit_event(
        core,
        people.other_analyst,
        _event(
            "Operation Nightjar",
            0,
            NIGHT,
            targets=("person:Johnny Suspect",),
            contact_name="Lt Okafor",
            contact_phone="618 555 0199",
        ),
    )
    assert theirs.conflicts == ()
    # 250 m east, starting 90 minutes after theirs ends: a conflict.
    mine = submit_event(core, people.officer, _event("Operation Lantern", 250, NIGHT + 3.5 * HOUR))
    (notice,) = mine.conflicts
    assert notice.reasons == ("place_time",)
    assert (notice.agency_code, notice.contact_name, notice.contact_phone) == ("OTHER", "Lt Okafor", "618 555 0199")
    answer = json.dumps(mine.as_dict())
    assert "Nightjar" not in answer and "johnny" not in answer.lower() and "search_warrant" not in answer
    # The other event's owner is told, with the submitter's contact and their own operation's name.
    with session_scope(engine) as session:
        (note,) = session.scalars(select(Notification).where(Notification.kind == "deconfliction_conflict")).all()
        assert note.user_id == people.other_analyst.id
        assert "Operation Nightjar" in note.message and "Sgt Diaz" in note.message and "Lantern" not in note.message
    actions = [a for a in audit_actions(engine) if a[2] == "deconfliction_event"]
    assert actions == [
        ("deconfliction_event_submitted", "other-ana", "deconfliction_event"),
        ("deconfliction_conflict", "off", "deconfliction_event"),
        ("deconfliction_event_submitted", "off", "deconfliction_event"),
    ]
    # Each side's list names its own operation, and of the other only the agency and the contact.
    (their_row,) = list_events(core, people.other_analyst, ListEventsRequest()).events
    assert their_row["operation_name"] == "Operation Nightjar"
    (their_view,) = their_row["conflicts"]
    assert (their_view["agency_code"], their_view["contact_name"]) == ("SLMPD", "Sgt Diaz")
    assert "Lantern" not in json.dumps(their_row)


def test_two_conflicting_events_of_one_agency_are_both_listed(world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    first = submit_event(core, people.analyst, _event("Operation One", 0, NIGHT))
    second = submit_event(core, people.officer, _event("Operation Two", 100, NIGHT))
    (notice,) = second.conflicts
    rows = {row["id"]: row for row in list_events(core, people.analyst, ListEventsRequest()).events}
    assert [c["conflict_id"] for c in rows[first.event_id]["conflicts"]] == [notice.conflict_id]
    assert [c["conflict_id"] for c in rows[second.event_id]["conflicts"]] == [notice.conflict_id]


def test_same_place_other_day_or_far_away_does_not_conflict(world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    submit_event(core, people.other_analyst, _event("Operation Nightjar", 0, NIGHT))
    assert submit_event(core, people.analyst, _event("Next day", 0, NIGHT + 24 * HOUR)).conflicts == ()
    assert submit_event(core, people.analyst, _event("Two km east", 2_000, NIGHT)).conflicts == ()


def test_a_shared_target_conflicts_anywhere_any_time(world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    submit_event(core, people.other_analyst, _event("Plate watch", 0, NIGHT, hours=72, targets=("vehicle:abc-123",)))
    far_later = _event("Buy", 20_000, NIGHT + 48 * HOUR, targets=("vehicle:ABC 123", "phone:3145550100"))
    (notice,) = submit_event(core, people.analyst, far_later).conflicts
    assert notice.reasons == ("target",) and notice.agency_code == "OTHER"


def test_cancelled_events_are_not_checked_and_only_their_agency_closes_them(world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    theirs = submit_event(core, people.other_analyst, _event("Operation Nightjar", 0, NIGHT))
    with pytest.raises(NotFound):
        close_event(core, people.analyst, CloseEventRequest(theirs.event_id))
    closed = close_event(core, people.other_analyst, CloseEventRequest(theirs.event_id, reason="target moved"))
    assert closed.status == "cancelled"
    assert submit_event(core, people.analyst, _event("Same house", 0, NIGHT)).conflicts == ()
    assert list_events(core, people.other_analyst, ListEventsRequest()).events == ()
    (row,) = list_events(core, people.other_analyst, ListEventsRequest(include_closed=True)).events
    assert row["status"] == "cancelled"


def test_partners_and_reviewers_are_refused_and_refusals_audited(engine: Engine, world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    for who in (people.partner, people.reviewer, None):
        with pytest.raises(NotPermitted):
            submit_event(core, who, _event("Peek", 0, NIGHT))
    with pytest.raises(NotPermitted):
        list_events(core, people.partner, ListEventsRequest())
    refusals = [a for a in audit_actions(engine) if a[0] == "deconfliction_refused"]
    assert [a[1] for a in refusals] == ["partner", "rev", None, "partner"]


def test_requests_are_validated(world: tuple[OpenILP, Cast]) -> None:
    core, people = world
    bad = {
        "event_type": dataclasses.replace(_event("x", 0, NIGHT), event_type="picnic"),
        "ends_at": dataclasses.replace(_event("x", 0, NIGHT), ends_at=NIGHT - HOUR),
        "location": dataclasses.replace(_event("x", 0, NIGHT), x_m=1.0, y_m=2.0),
        "contact_phone": dataclasses.replace(_event("x", 0, NIGHT), contact_phone="call me"),
        "targets": dataclasses.replace(_event("x", 0, NIGHT), targets=("vehicle: -- ",)),
        "starts_at": dataclasses.replace(_event("x", 0, NIGHT), starts_at=NIGHT.replace(tzinfo=None)),
    }
    for name, request in bad.items():
        with pytest.raises(InvalidRequest, match=name):
            submit_event(core, people.analyst, request)


def test_a_point_in_the_agency_crs_is_the_same_place(world: tuple[OpenILP, Cast]) -> None:
    from pyproj import Transformer

    core, people = world
    submit_event(core, people.other_analyst, _event("Operation Nightjar", 0, NIGHT))
    x, y = Transformer.from_crs("EPSG:4326", "ESRI:102696", always_xy=True).transform(LON, LAT)
    request = dataclasses.replace(_event("By x/y", 0, NIGHT), lon=None, lat=None, x_m=x, y_m=y)
    assert len(submit_event(core, people.analyst, request).conflicts) == 1


# --- the JSON API and the command line -------------------------------------------------------------


def _payload(name: str, east_m: float, start: dt.datetime, **extra: object) -> dict[str, object]:
    return {
        "event_type": "raid",
        "operation_name": name,
        "starts_at": start.isoformat(),
        "ends_at": (start + 2 * HOUR).isoformat(),
        "contact_name": "Det Ruiz",
        "contact_phone": "314-555-0123",
        "radius_m": 30,
        "lon": LON + east_m / M_PER_DEG_LON,
        "lat": LAT,
        **extra,
    }


def test_json_api(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine, "SLMPD")
    seed_agency(engine, "OTHER")
    seed_user(engine, "ana")
    seed_user(engine, "other-ana", agency_code="OTHER")
    seed_user(engine, "partner", role="partner", agency_code="OTHER")
    client = make_client(engine, tmp_path, clock=lambda: NIGHT - HOUR)
    login(client, "other-ana")
    made = client.post("/api/v1/deconfliction/events", json=_payload("Operation Nightjar", 0, NIGHT))
    assert made.status_code == 201, made.text
    login(client, "ana")
    bad = client.post("/api/v1/deconfliction/events", json=_payload("x", 0, NIGHT, event_type="picnic"))
    assert bad.status_code == 400 and "event_type" in bad.text
    hit = client.post("/api/v1/deconfliction/events", json=_payload("Lantern", 200, NIGHT + HOUR))
    assert hit.status_code == 201
    (notice,) = hit.json()["conflicts"]
    assert notice["agency_code"] == "OTHER" and notice["contact_phone"] == "314-555-0123"
    assert "Nightjar" not in hit.text
    (mine,) = client.get("/api/v1/deconfliction/events").json()["events"]
    assert mine["operation_name"] == "Lantern" and len(mine["conflicts"]) == 1
    closed = client.post(f"/api/v1/deconfliction/events/{mine['id']}/close", json={"outcome": "ended"})
    assert closed.json() == {"event_id": mine["id"], "status": "ended", "partners": {"notices": []}}
    login(client, "partner")
    assert client.get("/api/v1/deconfliction/events").status_code == 403


def test_command_line(cli_env: dict[str, str]) -> None:  # noqa: F811
    engine = common.engine()
    seed_agency(engine, "SLMPD")
    seed_agency(engine, "OTHER")
    seed_user(engine, "off", role="officer")
    seed_user(engine, "other-ana", agency_code="OTHER")
    start = (dt.datetime.now(dt.UTC) + 24 * HOUR).replace(microsecond=0)  # the command line uses the real clock
    common_args = ["--start", start.isoformat(), "--end", (start + 3 * HOUR).isoformat(), "--radius", "40"]
    code, output = invoke(
        "deconflict", "submit", "--user", "other-ana", "--type", "surveillance", "--name", "Operation Nightjar",
        "--lon", str(LON), "--lat", str(LAT), "--contact-name", "Lt Okafor", "--contact-phone", "618-555-0199",
        *common_args,
    )  # fmt: skip
    assert code == 0 and "0 conflict(s)" in output, output
    code, output = invoke(
        "deconflict", "submit", "--user", "off", "--type", "raid", "--name", "Operation Lantern",
        "--lon", str(LON + 100 / M_PER_DEG_LON), "--lat", str(LAT), "--contact-name", "Sgt Diaz",
        "--contact-phone", "314-555-0100", "--target", "vehicle:ABC123", *common_args,
    )  # fmt: skip
    assert code == 0, output
    assert "CONFLICT (place_time): OTHER police (OTHER); call Lt Okafor on 618-555-0199" in output
    assert "Nightjar" not in output
    code, output = invoke("deconflict", "list", "--user", "off", "--json")
    (event,) = json.loads(output)["events"]
    assert event["targets"] == ["vehicle:ABC123"]
    code, output = invoke("deconflict", "cancel", str(event["id"]), "--user", "off", "--reason", "postponed")
    assert code == 0 and "cancelled" in output
    code, output = invoke("deconflict", "list", "--user", "off", "--json")
    assert json.loads(output)["events"] == []
