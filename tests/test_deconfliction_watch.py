"""The deconfliction watch centre: alarms, acknowledgement, recorded resolutions, exigency waivers, what
the watch officer sees and does not see, permissions and audit, over the services and the JSON API."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from intel_support import Cast, cast, make_core, make_user
from sqlalchemy import Engine, select
from web_support import audit_actions, login, make_client

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.deconfliction_models import DeconflictionConflict
from openilp.db.models import Notification
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.deconfliction import (
    AcknowledgeRequest,
    ListEventsRequest,
    ResolveRequest,
    SubmitEventRequest,
    WaiveRequest,
    WatchQueueRequest,
    acknowledge_conflict,
    list_events,
    resolve_conflict,
    submit_event,
    waive_conflict,
    watch_queue,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

HOUR = dt.timedelta(hours=1)
LON, LAT = -90.1928, 38.6226
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT))
NIGHT = dt.datetime(2024, 3, 1, 22, 0, tzinfo=dt.UTC)


def _request(name: str, east_m: float, start: dt.datetime, **kw: object) -> SubmitEventRequest:
    fields: dict[str, object] = {
        "event_type": "raid",
        "operation_name": name,
        "starts_at": start,
        "ends_at": start + 2 * HOUR,
        "contact_name": "Sgt Diaz",
        "contact_phone": "314-555-0100",
        "radius_m": 30.0,
        "lon": LON + east_m / M_PER_DEG_LON,
        "lat": LAT,
    }
    fields.update(kw)
    return SubmitEventRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, UserInfo, UserInfo]:
    people = cast(engine)
    with session_scope(engine) as session:
        watch = make_user(session, "watch", "watch_officer")
        supervisor = make_user(session, "sup", "supervisor")
    return make_core(engine, tmp_path, now=NIGHT - 24 * HOUR), people, watch, supervisor


def _conflict(core: OpenILP, people: Cast, day: int = 0) -> int:
    submit_event(
        core,
        people.other_analyst,
        _request("Operation Nightjar", 0, NIGHT + day * 24 * HOUR, contact_name="Lt Okafor", targets=("vehicle:K1",)),
    )
    (notice,) = submit_event(
        core, people.officer, _request("Operation Lantern", 250, NIGHT + day * 24 * HOUR)
    ).conflicts
    return notice.conflict_id


def _notices(engine: Engine, kind: str) -> list[tuple[int | None, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(Notification.user_id, Notification.message)
            .where(Notification.kind == kind)
            .order_by(Notification.id)
        ).all()
        return [(user_id, message) for user_id, message in rows]


def test_alarm_acknowledge_resolve(engine: Engine, world: tuple[OpenILP, Cast, UserInfo, UserInfo]) -> None:
    core, people, watch, _ = world
    conflict_id = _conflict(core, people)
    # The alarm reaches the watch officer, naming agencies and types, not operations or targets.
    ((user_id, alarm),) = _notices(engine, "deconfliction_alarm")
    assert user_id == watch.id and "OTHER" in alarm and "Nightjar" not in alarm and "K1" not in alarm
    (queued,) = watch_queue(core, watch, WatchQueueRequest()).conflicts
    assert queued["status"] == "open" and queued["reasons"] == ["place_time"]
    assert (queued["submitted"]["agency_code"], queued["existing"]["agency_code"]) == ("SLMPD", "OTHER")
    assert queued["existing"]["contact_name"] == "Lt Okafor" and queued["existing"]["event_type"] == "raid"
    text = json.dumps(queued)
    assert "Nightjar" not in text and "Lantern" not in text and "K1" not in text and str(LAT)[:6] not in text

    acknowledge_conflict(core, watch, AcknowledgeRequest(conflict_id))
    told = _notices(engine, "deconfliction_watch")
    assert {u for u, _ in told} == {people.officer.id, people.other_analyst.id}
    # Each party sees its own operation's name and the other team's contact, never the other operation.
    mine = dict(told)
    assert "Lantern" in mine[people.officer.id] and "Lt Okafor" in mine[people.officer.id]
    assert "Nightjar" not in mine[people.officer.id]
    with pytest.raises(InvalidRequest, match="already acknowledged"):
        acknowledge_conflict(core, watch, AcknowledgeRequest(conflict_id))

    resolve_conflict(core, watch, ResolveRequest(conflict_id, "joint", "one entry team, 23:00, SLMPD leads"))
    assert len(_notices(engine, "deconfliction_watch")) == 4
    assert watch_queue(core, watch, WatchQueueRequest()).conflicts == ()
    (done,) = watch_queue(core, watch, WatchQueueRequest(include_resolved=True)).conflicts
    assert (done["status"], done["resolution"], done["exigency_waiver"]) == ("resolved", "joint", False)
    # Both parties see the resolution in their list.
    (event,) = list_events(core, people.officer, ListEventsRequest()).events
    assert event["conflicts"][0]["resolution"] == "joint"
    with pytest.raises(InvalidRequest, match="already resolved"):
        resolve_conflict(core, watch, ResolveRequest(conflict_id, "cancel"))
    with pytest.raises(InvalidRequest, match="resolution"):
        resolve_conflict(core, watch, ResolveRequest(conflict_id, "ignore"))
    actions = [a[0] for a in audit_actions(engine) if a[2] == "deconfliction_conflict"]
    assert actions == [
        "deconfliction_queue_read",
        "deconfliction_acknowledged",
        "deconfliction_resolved",
        "deconfliction_queue_read",
        "deconfliction_queue_read",
    ]


def test_exigency_waiver_needs_a_supervisor_of_a_party(
    engine: Engine, world: tuple[OpenILP, Cast, UserInfo, UserInfo]
) -> None:
    core, people, watch, supervisor = world
    conflict_id = _conflict(core, people)
    with pytest.raises(NotPermitted):
        waive_conflict(core, people.officer, WaiveRequest(conflict_id, "hostage inside, entry now"))
    with pytest.raises(NotPermitted):
        waive_conflict(core, watch, WaiveRequest(conflict_id, "hostage inside, entry now"))
    with pytest.raises(InvalidRequest, match="reason"):
        waive_conflict(core, supervisor, WaiveRequest(conflict_id, "now"))
    result = waive_conflict(core, supervisor, WaiveRequest(conflict_id, "hostage inside, entry now"))
    assert (result.resolution, result.exigency_waiver) == ("proceed", True)
    with session_scope(engine) as session:
        row = session.get(DeconflictionConflict, conflict_id)
        assert row is not None and row.exigency_waiver and row.resolved_by_id == supervisor.id
    # The other party and the watch centre are told, with the reason.
    assert any(u == people.other_analyst.id and "hostage" in m for u, m in _notices(engine, "deconfliction_watch"))
    assert any(u == watch.id and "exigency" in m for u, m in _notices(engine, "deconfliction_alarm"))
    assert ("deconfliction_exigency_waiver", "sup", "deconfliction_conflict") in audit_actions(engine)
    refusals = [a for a in audit_actions(engine) if a[0] == "deconfliction_refused"]
    assert [a[1] for a in refusals] == ["off", "watch"]


def test_a_supervisor_of_neither_party_cannot_waive(engine: Engine, tmp_path: Path) -> None:
    from intel_support import make_agency

    people = cast(engine)
    with session_scope(engine) as session:
        make_agency(session, "THIRD")
        outsider = make_user(session, "third-sup", "supervisor", agency="THIRD")
    core = make_core(engine, tmp_path, now=NIGHT - 24 * HOUR)
    conflict_id = _conflict(core, people)
    with pytest.raises(NotFound):
        waive_conflict(core, outsider, WaiveRequest(conflict_id, "hostage inside, entry now"))
    with pytest.raises(NotPermitted):
        watch_queue(core, people.analyst, WatchQueueRequest())


def test_watch_api(engine: Engine, tmp_path: Path) -> None:
    people = cast(engine)
    with session_scope(engine) as session:
        make_user(session, "watch", "watch_officer")
    core = make_core(engine, tmp_path, now=NIGHT - 24 * HOUR)
    conflict_id = _conflict(core, people)
    client = make_client(engine, tmp_path)
    login(client, "watch")
    (queued,) = client.get("/api/v1/deconfliction/conflicts").json()["conflicts"]
    assert queued["conflict_id"] == conflict_id
    assert client.post(f"/api/v1/deconfliction/conflicts/{conflict_id}/acknowledge").json()["status"] == "acknowledged"
    bad = client.post(f"/api/v1/deconfliction/conflicts/{conflict_id}/resolve", json={"resolution": "later"})
    assert bad.status_code == 400 and "resolution" in bad.text
    done = client.post(
        f"/api/v1/deconfliction/conflicts/{conflict_id}/resolve", json={"resolution": "delay", "note": "SLMPD +24 h"}
    )
    assert done.status_code == 200 and done.json()["resolution"] == "delay"
    assert client.post("/api/v1/deconfliction/conflicts/999/acknowledge").status_code == 404
