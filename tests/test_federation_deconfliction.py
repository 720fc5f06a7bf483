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
from federation_support import Instance, instance, link
from intel_support import make_user
from sqlalchemy import Engine, select

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
        again = _plan(a, a.analyst, "Operation Again", 20_000, start, targets=("vehicle:ABC123",))
        assert [u.partner for u in again.partners.unanswered] == ["fusion"] and again.partners.unanswered[0].reason
        assert [c.partner for c in again.partners.conflicts] == ["county"]


def test_the_check_is_refused_unsigned(engine: Engine, tmp_path: Path) -> None:
    with instance("county", "COUNTY", tmp_path / "b", engine) as b:
        response = httpx.post(b.url + CHECK_PATH, json={"event_type": "search_warrant"}, timeout=30)
        assert response.status_code == 401
        assert _audit(b, "federation_refused")[-1]["path"] == CHECK_PATH
