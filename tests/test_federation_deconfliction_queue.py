"""Conflicts with partner instances' events in both watch centres' queues, two real instances.

The city plans an event 250 m and 90 minutes from the county's: each instance queues the conflict
(the city's check found it: ``outgoing`` there, ``incoming`` at the county), holding the partner,
the pointer to the partner's event and the two contacts, nothing else of the partner's operation.
Each watch centre acknowledges and resolves its entry, a supervisor waives under exigency; every
step is audited and refused to those without the role. The queue shows them on the page, in the
JSON API and on the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from federation_support import FEDERATION_SETTINGS, Instance, instance, link
from intel_support import make_agency, make_user
from sqlalchemy import Engine, inspect
from test_cli import cli_env, invoke  # noqa: F401  (fixture re-used)
from test_federation_deconfliction import HOUR, LON, M_PER_DEG_LON, _audit, _notes, _plan, _start, _watch_officer
from web_support import csrf_from, login, make_client

from openilp.cli import common
from openilp.db.engine import alembic_config, migrate
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.deconfliction import (
    AcknowledgeRequest,
    ListEventsRequest,
    ResolveRequest,
    WaiveRequest,
    WatchQueueRequest,
    acknowledge_partner_conflict,
    list_events,
    resolve_partner_conflict,
    waive_partner_conflict,
    watch_queue,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

OKAFOR = ("Lt Okafor", "618 555 0199")


def _queue(inst: Instance, officer: UserInfo, *, include_resolved: bool = False) -> list[dict[str, object]]:
    return list(watch_queue(inst.core, officer, WatchQueueRequest(include_resolved)).partner_conflicts)


def _person(inst: Instance, username: str, role: str, agency: str | None = None) -> UserInfo:
    with inst.core.unit_of_work(None) as uow:
        if agency is not None and agency != inst.agency:
            make_agency(uow.session, agency)
        return make_user(uow.session, username, role, agency=agency or inst.agency)


def test_both_watch_centres_queue_a_partner_conflict_and_work_it(engine: Engine, tmp_path: Path) -> None:
    with instance("city", "CITY", tmp_path / "a", engine) as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        city_watch, county_watch = _watch_officer(a), _watch_officer(b)
        start = _start()
        nightjar = _plan(b, b.analyst, "Operation Nightjar", 0, start, contact=OKAFOR, targets=("vehicle:ABC123",))
        lantern = _plan(a, a.analyst, "Operation Lantern", 250, start + 3.5 * HOUR)
        (found,) = lantern.partners.conflicts
        assert found.event_ref == str(nightjar.event_id) and found.partner_conflict_id is not None

        # the city (whose check found it): its event here, the county's pointer and contact
        (ours,) = _queue(a, city_watch)
        assert ours["partner_conflict_id"] == found.partner_conflict_id
        assert (ours["partner"], ours["direction"], ours["status"], ours["reasons"]) == (
            "county",
            "outgoing",
            "open",
            ["place_time"],
        )
        assert ours["partner_side"] == {
            "partner": "county",
            "event_ref": str(nightjar.event_id),
            "agency_code": "COUNTY",
            "agency_name": "COUNTY police",
            "contact_name": "Lt Okafor",
            "contact_phone": "618 555 0199",
        }
        assert ours["here"]["event_id"] == lantern.event_id and ours["here"]["contact_name"] == "Sgt Diaz"
        # the county (whose event was checked): the same conflict, seen from its side
        (theirs,) = _queue(b, county_watch)
        assert (theirs["partner"], theirs["direction"], theirs["status"]) == ("city", "incoming", "open")
        assert theirs["partner_side"]["event_ref"] == str(lantern.event_id)
        assert (theirs["partner_side"]["agency_code"], theirs["partner_side"]["contact_name"]) == ("CITY", "Sgt Diaz")
        assert theirs["here"]["event_id"] == nightjar.event_id and theirs["here"]["contact_name"] == "Lt Okafor"
        # neither side keeps the other's operation: name, place or targets
        assert "Nightjar" not in json.dumps(ours) and "ABC123" not in json.dumps(ours)
        assert "Lantern" not in json.dumps(theirs) and str(round(LON + 250 / M_PER_DEG_LON, 4)) not in json.dumps(
            theirs
        )
        # the alarm names the queue entry on both sides
        assert f"partner conflict #{ours['partner_conflict_id']}" in _notes(a, "deconfliction_alarm")[-1].message
        assert f"partner conflict #{theirs['partner_conflict_id']}" in _notes(b, "deconfliction_alarm")[-1].message
        assert _audit(b, "deconfliction_partner_conflict")[-1]["partner_event"] == str(lantern.event_id)
        # the planner's list of events carries it too
        (event,) = [
            e for e in list_events(a.core, a.analyst, ListEventsRequest()).events if e["id"] == lantern.event_id
        ]
        assert [c["partner_conflict_id"] for c in event["partner_conflicts"]] == [ours["partner_conflict_id"]]

        # the city's watch centre: only watch officers act; refusals are audited
        conflict_id = int(str(ours["partner_conflict_id"]))
        with pytest.raises(NotPermitted):
            acknowledge_partner_conflict(a.core, a.analyst, AcknowledgeRequest(conflict_id))
        assert _audit(a, "deconfliction_refused")[-1]["what"] == "acknowledge deconfliction conflicts"
        with pytest.raises(NotFound):
            acknowledge_partner_conflict(a.core, city_watch, AcknowledgeRequest(conflict_id + 100))
        acknowledge_partner_conflict(a.core, city_watch, AcknowledgeRequest(conflict_id))
        with pytest.raises(InvalidRequest, match="already acknowledged"):
            acknowledge_partner_conflict(a.core, city_watch, AcknowledgeRequest(conflict_id))
        told = _notes(a, "deconfliction_watch")[-1]
        assert told.user_id == a.analyst.id and "Operation Lantern" in told.message and "Lt Okafor" in told.message
        assert "acknowledged" in told.message
        handled = resolve_partner_conflict(a.core, city_watch, ResolveRequest(conflict_id, "joint", "one team, 02:00"))
        assert (handled.status, handled.resolution) == ("resolved", "joint")
        assert _queue(a, city_watch) == []
        (done,) = _queue(a, city_watch, include_resolved=True)
        assert (done["status"], done["resolution"], done["resolution_note"]) == ("resolved", "joint", "one team, 02:00")
        assert _audit(a, "partner_conflict_acknowledged")[-1]["event"] == lantern.event_id
        assert _audit(a, "partner_conflict_resolved")[-1]["resolution"] == "joint"
        with pytest.raises(InvalidRequest, match="already resolved"):
            resolve_partner_conflict(a.core, city_watch, ResolveRequest(conflict_id, "delay"))

        # the county: a supervisor of the agency whose event it is waives under exigency
        county_id = int(str(theirs["partner_conflict_id"]))
        outsider = _person(b, "other-sup", "supervisor", agency="OTHER")
        with pytest.raises(NotFound):
            waive_partner_conflict(b.core, outsider, WaiveRequest(county_id, "a hostage taken at the address"))
        with pytest.raises(NotPermitted):
            waive_partner_conflict(b.core, county_watch, WaiveRequest(county_id, "a hostage taken at the address"))
        supervisor = _person(b, "county-sup", "supervisor")
        with pytest.raises(InvalidRequest, match="reason"):
            waive_partner_conflict(b.core, supervisor, WaiveRequest(county_id, "now"))
        waived = waive_partner_conflict(b.core, supervisor, WaiveRequest(county_id, "a hostage taken at the address"))
        assert (waived.resolution, waived.exigency_waiver) == ("proceed", True)
        (after,) = _queue(b, county_watch, include_resolved=True)
        assert (after["status"], after["exigency_waiver"]) == ("resolved", True)
        assert _audit(b, "partner_conflict_exigency_waiver")[-1]["reason"] == "a hostage taken at the address"
        alarm = _notes(b, "deconfliction_alarm")[-1]
        assert alarm.user_id == county_watch.id and "exigency waiver" in alarm.message


def test_the_watch_page_and_the_json_api_show_and_work_partner_conflicts(engine: Engine, tmp_path: Path) -> None:
    with instance("city", "CITY", tmp_path / "a", engine) as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        _watch_officer(a)
        start = _start()
        _plan(b, b.analyst, "Operation Nightjar", 0, start, contact=OKAFOR)
        lantern = _plan(a, a.analyst, "Operation Lantern", 250, start + 3.5 * HOUR)
        (found,) = lantern.partners.conflicts
        client = make_client(engine, tmp_path / "a", federation_name="city", **FEDERATION_SETTINGS)
        login(client, "city-watch")
        listing = client.get("/api/v1/deconfliction/conflicts")
        assert listing.status_code == 200
        (entry,) = listing.json()["partner_conflicts"]
        assert entry["partner_conflict_id"] == found.partner_conflict_id and entry["status"] == "open"
        page = client.get("/deconfliction/watch")
        assert f'id="partner-conflict-{found.partner_conflict_id}"' in page.text
        assert "COUNTY police (COUNTY) at partner county" in page.text and "Lt Okafor" in page.text
        assert "Nightjar" not in page.text
        # acknowledge on the page (CSRF-checked), resolve over the JSON API
        form = {"csrf_token": csrf_from(page.text)}
        moved = client.post(
            f"/deconfliction/partner-conflicts/{found.partner_conflict_id}/acknowledge",
            data=form,
            follow_redirects=False,
        )
        assert moved.status_code == 303
        refused = client.post(f"/deconfliction/partner-conflicts/{found.partner_conflict_id}/acknowledge", data={})
        assert refused.status_code == 403
        resolved = client.post(
            f"/api/v1/deconfliction/partner-conflicts/{found.partner_conflict_id}/resolve",
            json={"resolution": "delay", "note": "city moves to the next night"},
        )
        assert resolved.status_code == 200 and resolved.json()["resolution"] == "delay"
        page = client.get("/deconfliction/watch")
        assert f'id="partner-closed-{found.partner_conflict_id}"' in page.text
        assert "city moves to the next night" in page.text
        assert "partner_conflict_resolved" in {entry["action"] for entry in _actions(a)}
        # the planner sees it with their event; not resolvable there
        login(client, "city-ana")
        assert (
            client.post(f"/api/v1/deconfliction/partner-conflicts/{found.partner_conflict_id}/acknowledge").status_code
            == 403
        )
        plan = client.get("/deconfliction")
        assert f"P{found.partner_conflict_id} COUNTY at partner county" in plan.text
        assert "partner-conflicts" not in plan.text  # no waiver form for an officer without the role
        # a supervisor of the city waives a second conflict from the planning page
        kestrel = _plan(a, a.analyst, "Operation Kestrel", 200, start + 3.5 * HOUR)
        (second,) = kestrel.partners.conflicts
        _person(a, "city-sup", "supervisor")
        login(client, "city-sup")
        plan = client.get("/deconfliction")
        action = f"/deconfliction/partner-conflicts/{second.partner_conflict_id}/waive"
        assert f'action="{action}"' in plan.text
        reason = "shots fired at the address, entry now"
        waived = client.post(
            action, data={"csrf_token": csrf_from(plan.text), "reason": reason}, follow_redirects=False
        )
        assert waived.status_code == 303 and waived.headers["location"] == "/deconfliction"
        plan = client.get("/deconfliction")
        assert f"P{second.partner_conflict_id} COUNTY at partner county" in plan.text
        assert "resolved: proceed (exigency waiver)" in plan.text
        assert _audit(a, "partner_conflict_exigency_waiver")[-1]["reason"] == reason


def _actions(inst: Instance) -> list[dict[str, object]]:
    from sqlalchemy import select

    from openilp.db.models import AuditEntry

    with inst.core.unit_of_work(None) as uow:
        return [{"action": r.action} for r in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_command_line_lists_and_works_partner_conflicts(
    cli_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with instance("city", "CITY", tmp_path / "a") as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        _watch_officer(a)
        start = _start()
        nightjar = _plan(b, b.analyst, "Operation Nightjar", 0, start, contact=OKAFOR)
        lantern = _plan(a, a.analyst, "Operation Lantern", 250, start + 3.5 * HOUR)
        (found,) = lantern.partners.conflicts
        monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "a"))
        monkeypatch.setenv("OPENILP_FEDERATION_NAME", "city")
        monkeypatch.setenv("OPENILP_FEDERATION_TIMEOUT_MS", "2000")
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
        code, output = invoke("deconflict", "queue", "--user", "city-watch")
        assert code == 0 and f"P{found.partner_conflict_id}" in output and "Nightjar" not in output, output
        code, output = invoke("deconflict", "queue", "--user", "city-watch", "--json")
        assert code == 0, output
        (listed,) = json.loads(output)["partner_conflicts"]
        assert listed["partner_side"]["event_ref"] == str(nightjar.event_id) and listed["partner"] == "county"
        assert listed["partner_side"]["contact_name"] == "Lt Okafor" and "Nightjar" not in output
        code, output = invoke("deconflict", "acknowledge", f"P{found.partner_conflict_id}", "--user", "city-watch")
        assert code == 0 and f"partner conflict P{found.partner_conflict_id} acknowledged" in output, output
        code, output = invoke(
            "deconflict", "resolve", str(found.partner_conflict_id), "--partner", "--user", "city-watch",
            "--resolution", "proceed", "--note", "both proceed, each told",
        )  # fmt: skip
        assert code == 0 and "resolved: proceed" in output, output
        code, output = invoke("deconflict", "list", "--user", "city-ana", "--json")
        assert code == 0, output
        (event,) = json.loads(output)["events"]
        assert [(c["partner_conflict_id"], c["status"], c["resolution"]) for c in event["partner_conflicts"]] == [
            (found.partner_conflict_id, "resolved", "proceed")
        ]
        code, output = invoke("deconflict", "acknowledge", "Px", "--user", "city-watch")
        assert code != 0 and "a conflict's id is a number" in output


def test_the_partner_conflicts_table_downgrades_and_upgrades(engine: Engine) -> None:
    from alembic import command

    assert "deconfliction_partner_conflicts" in inspect(engine).get_table_names()
    command.downgrade(alembic_config(engine), "0020")
    assert "deconfliction_partner_conflicts" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "deconfliction_partner_conflicts" in inspect(engine).get_table_names()
