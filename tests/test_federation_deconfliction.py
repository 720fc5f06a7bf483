"""Deconfliction across federated instances: two real instances, each with its own store and server.

An event planned at the city is checked, signed, against the county's active events: 250 m and
90 minutes apart, or sharing a plate, both teams and both watch centres are told within seconds,
each side learning only the other's agency and point of contact; 2 km apart, or another plate, no
conflict. A partner that is down is named in the answer.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from federation_support import FEDERATION_SETTINGS, Instance, instance, link
from intel_support import make_user
from sqlalchemy import Engine, select
from test_cli import cli_env, invoke  # noqa: F401  (fixture re-used)
from web_support import csrf_from, login, make_client

from openilp.cli import common
from openilp.db.models import AuditEntry, Notification
from openilp.security.actors import UserInfo
from openilp.security.federation import generate_private_key, public_key_text
from openilp.services.deconfliction import EventSubmitted, SubmitEventRequest, submit_event
from openilp.services.deconfliction.federated import CHECK_PATH
from openilp.services.federation import PartnerRequest, add_partner

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

LON, LAT = -90.1928, 38.6226
M_PER_DEG_LON = 111_320.0 * float(np.cos(np.radians(LAT)))
HOUR = dt.timedelta(hours=1)
#: Both sides notified within this many seconds of planning the event.
NOTIFIED_WITHIN_S = 5.0


def _plan(
    inst: Instance,
    user: UserInfo,
    name: str,
    east_m: float,
    start: dt.datetime,
    *,
    targets: tuple[str, ...] = (),
    contact: tuple[str, str] = ("Sgt Diaz", "314-555-0100"),
) -> EventSubmitted:
    request = SubmitEventRequest(
        event_type="search_warrant",
        operation_name=name,
        starts_at=start,
        ends_at=start + 2 * HOUR,
        contact_name=contact[0],
        contact_phone=contact[1],
        radius_m=0.0,
        lon=LON + east_m / M_PER_DEG_LON,
        lat=LAT,
        targets=targets,
    )
    return submit_event(inst.core, user, request)


def _notes(inst: Instance, kind: str) -> list[Notification]:
    with inst.core.unit_of_work(None) as uow:
        query = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
        rows = uow.session.scalars(query).all()
        uow.session.expunge_all()
        return list(rows)


def _audit(inst: Instance, action: str) -> list[dict[str, object]]:
    with inst.core.unit_of_work(None) as uow:
        rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return [json.loads(r.details or "{}") for r in rows]


def _watch_officer(inst: Instance) -> UserInfo:
    with inst.core.unit_of_work(None) as uow:
        return make_user(uow.session, f"{inst.agency.lower()}-watch", "watch_officer", agency=inst.agency)


def _start() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + 24 * HOUR


def _assert_both_sides_told(
    a: Instance, b: Instance, mine: EventSubmitted, reason: str, watch: tuple[UserInfo, UserInfo], elapsed: float
) -> None:
    assert elapsed < NOTIFIED_WITHIN_S, f"the partner conflict took {elapsed:.1f} s"
    assert mine.conflicts == ()  # nothing at the city itself
    (conflict,) = mine.partners.conflicts
    assert (conflict.partner, conflict.reasons, conflict.agency_code) == ("county", (reason,), "COUNTY")
    assert (conflict.contact_name, conflict.contact_phone) == ("Lt Okafor", "618 555 0199")
    assert mine.partners.partners_asked == 1 and mine.partners.unanswered == ()
    answer = json.dumps(mine.as_dict())
    assert "Nightjar" not in answer and "ABC123" not in answer and "Okafor" in answer
    # the county's team: their own operation named, the city's contact, nothing of the city's operation
    (theirs,) = _notes(b, "deconfliction_conflict")
    assert theirs.user_id == b.analyst.id and "Operation Nightjar" in theirs.message
    assert "Sgt Diaz" in theirs.message and "partner city" in theirs.message and "Lantern" not in theirs.message
    # the city's team: their own operation, the county's contact, nothing of the county's operation
    (ours,) = _notes(a, "deconfliction_conflict")
    assert ours.user_id == a.analyst.id and "Operation Lantern" in ours.message and "Lt Okafor" in ours.message
    assert "Nightjar" not in ours.message
    # both watch centres
    for inst, officer in zip((a, b), watch, strict=True):
        (alarm,) = _notes(inst, "deconfliction_alarm")
        assert alarm.user_id == officer.id and "partner" in alarm.message
        assert "Nightjar" not in alarm.message and "Lantern" not in alarm.message
    # audited on both sides with the calling instance and its end user
    (answered,) = _audit(b, "deconfliction_partner_conflict")
    assert answered["partner"] == "city" and "city-ana" in str(answered["end_user"])
    assert answered["reasons"] == [reason]
    (recorded,) = _audit(a, "deconfliction_partner_conflict")
    assert recorded["partner"] == "county" and recorded["reasons"] == [reason]
    assert any(c["path"] == CHECK_PATH and c["answered"] for c in _audit(a, "federation_call"))


def test_a_partner_event_250_m_and_90_min_away_notifies_both_sides(engine: Engine, tmp_path: Path) -> None:
    with instance("city", "CITY", tmp_path / "a", engine) as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        watch = (_watch_officer(a), _watch_officer(b))
        start = _start()
        nightjar = _plan(b, b.analyst, "Operation Nightjar", 0, start, contact=("Lt Okafor", "618 555 0199"))
        assert nightjar.partners.partners_asked == 1 and nightjar.partners.conflicts == ()
        started = time.monotonic()
        mine = _plan(a, a.analyst, "Operation Lantern", 250, start + 3.5 * HOUR)
        _assert_both_sides_told(a, b, mine, "place_time", watch, time.monotonic() - started)
        # 2 km away at the same time: no conflict, nobody told
        far = _plan(a, a.analyst, "Operation Far", 2_000, start + 3.5 * HOUR)
        assert far.partners.partners_asked == 1 and far.partners.conflicts == () and far.partners.unanswered == ()
        assert len(_notes(a, "deconfliction_conflict")) == len(_notes(b, "deconfliction_conflict")) == 1
        assert len(_notes(b, "deconfliction_alarm")) == 1


def test_a_shared_plate_conflicts_across_instances_and_a_down_partner_is_named(engine: Engine, tmp_path: Path) -> None:
    with instance("city", "CITY", tmp_path / "a", engine) as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        watch = (_watch_officer(a), _watch_officer(b))
        start = _start()
        _plan(
            b,
            b.analyst,
            "Operation Nightjar",
            0,
            start,
            targets=("vehicle:ABC123",),
            contact=("Lt Okafor", "618 555 0199"),
        )
        # 20 km away and a day later, but the same plate written another way
        started = time.monotonic()
        mine = _plan(a, a.analyst, "Operation Lantern", 20_000, start + 24 * HOUR, targets=("vehicle:abc 123",))
        _assert_both_sides_told(a, b, mine, "target", watch, time.monotonic() - started)
        # another plate 2 km away: no conflict
        other = _plan(a, a.analyst, "Operation Other", 2_000, start, targets=("vehicle:XYZ999",))
        assert other.partners.conflicts == () and len(_notes(b, "deconfliction_conflict")) == 1
        # a registered partner that is down is named; the county still answers
        add_partner(
            a.core,
            a.admin,
            PartnerRequest(
                "fusion",
                "http://127.0.0.1:9",
                public_key_text(generate_private_key()),
                ("FUSION",),
                ("metro-task-force",),
                "MOU 2026/12",
            ),
        )
        # planned on the page: the county's conflict is shown, and the partner that did not answer
        client = make_client(engine, tmp_path / "a", federation_name="city", **FEDERATION_SETTINGS)
        login(client, "city-ana")
        form = {
            "csrf_token": csrf_from(client.get("/deconfliction").text),
            "event_type": "search_warrant",
            "operation_name": "Operation Again",
            "starts_at": start.isoformat(),
            "ends_at": (start + 2 * HOUR).isoformat(),
            "radius_m": "0",
            "contact_name": "Sgt Diaz",
            "contact_phone": "314-555-0100",
            "lon": str(LON + 20_000 / M_PER_DEG_LON),
            "lat": str(LAT),
            "targets": "vehicle:ABC123",
        }
        page = client.post("/deconfliction/events", data=form)
        assert page.status_code == 200, page.text
        assert "2 conflict(s)" in page.text  # the county's event, and the city's own Operation Lantern
        assert "at partner county: COUNTY police (COUNTY); call Lt Okafor on 618 555 0199" in page.text
        assert 'id="partners-unanswered"' in page.text and "fusion (no answer" in page.text
        assert "Nightjar" not in page.text
        calls = [c for c in _audit(a, "federation_call") if c["path"] == CHECK_PATH]
        assert {(c["partner"], c["answered"]) for c in calls[-2:]} == {("county", True), ("fusion", False)}


def test_the_check_is_refused_unsigned(engine: Engine, tmp_path: Path) -> None:
    with instance("county", "COUNTY", tmp_path / "b", engine) as b:
        response = httpx.post(b.url + CHECK_PATH, json={"event_type": "search_warrant"}, timeout=30)
        assert response.status_code == 401
        assert _audit(b, "federation_refused")[-1]["path"] == CHECK_PATH


def test_the_command_line_prints_partner_conflicts(
    cli_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with instance("city", "CITY", tmp_path / "a") as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        start = _start()
        _plan(b, b.analyst, "Operation Nightjar", 0, start, contact=("Lt Okafor", "618 555 0199"))
        # the command line over the city's data folder and store
        monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "a"))
        monkeypatch.setenv("OPENILP_FEDERATION_NAME", "city")
        monkeypatch.setenv("OPENILP_FEDERATION_TIMEOUT_MS", "2000")
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
        later = start + 3.5 * HOUR
        code, output = invoke(
            "deconflict", "submit", "--user", "city-ana", "--type", "search_warrant", "--name", "Operation Lantern",
            "--lon", str(LON + 250 / M_PER_DEG_LON), "--lat", str(LAT), "--contact-name", "Sgt Diaz",
            "--contact-phone", "314-555-0100", "--start", later.isoformat(), "--end", (later + 2 * HOUR).isoformat(),
            "--radius", "0",
        )  # fmt: skip
        assert code == 0, output
        assert "1 conflict(s)" in output
        assert (
            "CONFLICT (place_time) at partner county: COUNTY police (COUNTY); call Lt Okafor on 618 555 0199" in output
        )
        assert "Nightjar" not in output and "NOT CHECKED" not in output
