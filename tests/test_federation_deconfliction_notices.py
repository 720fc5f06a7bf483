"""Cancelling or ending an event tells the partners that were told of its conflicts, two real instances.

The city's events conflict with the county's Operation Nightjar. Cancelling one sends the county a
signed notice naming only the pointer to it: the county's queue entry becomes cancelled, its
planner and watch centre are told, both sides audit it. With the county down, ending another is
recorded as not yet told and sent with the next notice, or by ``openilp deconflict
notify-partners``. The county cancelling Nightjar tells the city the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from federation_support import FEDERATION_SETTINGS, Instance, instance, link
from sqlalchemy import Engine
from test_cli import cli_env, invoke  # noqa: F401  (fixture re-used)
from test_federation_deconfliction import HOUR, _audit, _notes, _plan, _start, _watch_officer
from web_support import login, make_client

from openilp.cli import common
from openilp.security.actors import UserInfo
from openilp.services.deconfliction import (
    CloseEventRequest,
    PartnerNotice,
    WatchQueueRequest,
    close_event,
    notify_partners,
    watch_queue,
)
from openilp.services.deconfliction.partner_notices import CLOSED_PATH
from openilp.services.federation import PartnerRequest, add_partner

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

OKAFOR = ("Lt Okafor", "618 555 0199")
DOWN = "http://127.0.0.1:9"


def _entries(inst: Instance, officer: UserInfo) -> dict[str, dict[str, object]]:
    """Every partner conflict of ``inst`` by the pointer to the partner's event."""
    rows = watch_queue(inst.core, officer, WatchQueueRequest(include_resolved=True)).partner_conflicts
    return {str(r["partner_side"]["event_ref"]): r for r in rows}


def _register(here: Instance, there: Instance, url: str) -> None:
    request = PartnerRequest(there.name, url, there.public_key, (there.agency,), ("metro-task-force",), "MOU 2026/12")
    add_partner(here.core, here.admin, request)


def test_closing_an_event_tells_the_partner_and_a_partner_down_is_told_later(engine: Engine, tmp_path: Path) -> None:
    with instance("city", "CITY", tmp_path / "a", engine) as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        city_watch, county_watch = _watch_officer(a), _watch_officer(b)
        start = _start()
        nightjar = _plan(b, b.analyst, "Operation Nightjar", 0, start, contact=OKAFOR)
        city = {
            name: _plan(a, a.analyst, f"Operation {name}", east_m, start + HOUR).event_id
            for name, east_m in (("Lantern", 250), ("Kestrel", 200), ("Osprey", 150), ("Heron", 100))
        }
        assert set(_entries(b, county_watch)) == {str(i) for i in city.values()}

        # cancelled while the county answers: told at once, the county's entry is cancelled
        closed = close_event(a.core, a.analyst, CloseEventRequest(city["Lantern"], reason="target moved"))
        assert closed.partners.notices == (PartnerNotice("county", 1, True, ""),)
        theirs = _entries(b, county_watch)[str(city["Lantern"])]
        assert (theirs["status"], theirs["event_closed"], theirs["event_closed_side"]) == (
            "cancelled",
            "cancelled",
            "partner",
        )
        ours = _entries(a, city_watch)[str(nightjar.event_id)]
        assert ours["status"] == "open"  # the other three city events' entries stay open
        lantern_entry = next(
            r
            for r in watch_queue(a.core, city_watch, WatchQueueRequest(True)).partner_conflicts
            if r["here"]["event_id"] == city["Lantern"]
        )
        assert (lantern_entry["status"], lantern_entry["notice_status"], lantern_entry["event_closed_side"]) == (
            "cancelled",
            "sent",
            "here",
        )
        told = _notes(b, "deconfliction_watch")
        planner = [n for n in told if n.user_id == b.analyst.id][-1]
        assert "Operation Nightjar" in planner.message and "was cancelled" in planner.message
        assert "Lantern" not in planner.message and "target moved" not in planner.message
        assert any(n.user_id == county_watch.id and "is closed" in n.message for n in told)
        (received,) = _audit(b, "partner_conflict_event_closed")
        assert received["partner"] == "city" and "city-ana" in str(received["end_user"])
        assert (received["partner_event"], received["outcome"]) == (str(city["Lantern"]), "cancelled")
        (sent,) = _audit(a, "deconfliction_partner_notice")
        assert (sent["partner"], sent["events"], sent["told"]) == ("county", [city["Lantern"]], True)
        assert any(c["path"] == CLOSED_PATH and c["answered"] for c in _audit(a, "federation_call"))
        # the county's watch page shows it closed
        client = make_client(b.core.engine, tmp_path / "b", federation_name="county", **FEDERATION_SETTINGS)
        login(client, "county-watch")
        page = client.get("/deconfliction/watch").text
        assert f'id="partner-closed-{theirs["partner_conflict_id"]}"' in page
        assert "cancelled: the partner&#39;s event was cancelled" in page

        # the county is down: ending Kestrel early is recorded as not yet told, not dropped
        _register(a, b, DOWN)
        ended = close_event(a.core, a.analyst, CloseEventRequest(city["Kestrel"], outcome="ended"))
        (pending,) = ended.partners.notices
        assert (pending.partner, pending.told) == ("county", False) and "no answer" in pending.error
        kestrel = next(
            r
            for r in watch_queue(a.core, city_watch, WatchQueueRequest(True)).partner_conflicts
            if r["here"]["event_id"] == city["Kestrel"]
        )
        assert kestrel["notice_status"] == "pending" and "no answer" in str(kestrel["notice_error"])
        assert _entries(b, county_watch)[str(city["Kestrel"])]["status"] == "open"
        assert _audit(a, "deconfliction_partner_notice")[-1]["told"] is False
        # back up: the next closure's notice carries the one still pending
        _register(a, b, b.url)
        retried = close_event(a.core, a.analyst, CloseEventRequest(city["Osprey"]))
        assert [(n.partner, n.told) for n in retried.partners.notices] in ([("county", True)], [])
        county = _entries(b, county_watch)
        assert (county[str(city["Kestrel"])]["status"], county[str(city["Kestrel"])]["event_closed"]) == (
            "cancelled",
            "ended",
        )
        assert county[str(city["Osprey"])]["event_closed"] == "cancelled"
        assert notify_partners(a.core).notices == ()  # nothing left to tell

        # the other way: the county cancels Nightjar; only the city's open conflict (Heron) learns of it
        county_closed = close_event(b.core, b.analyst, CloseEventRequest(nightjar.event_id))
        assert county_closed.partners.notices == (PartnerNotice("city", 1, True, ""),)
        heron = next(
            r
            for r in watch_queue(a.core, city_watch, WatchQueueRequest(True)).partner_conflicts
            if r["here"]["event_id"] == city["Heron"]
        )
        assert (heron["status"], heron["event_closed"], heron["event_closed_side"]) == (
            "cancelled",
            "cancelled",
            "partner",
        )
        assert _audit(a, "partner_conflict_event_closed")[-1]["partner_event"] == str(nightjar.event_id)


def test_the_closure_notice_is_refused_unsigned(engine: Engine, tmp_path: Path) -> None:
    with instance("county", "COUNTY", tmp_path / "b", engine) as b:
        body = {"events": [{"event_id": "1", "outcome": "cancelled"}]}
        response = httpx.post(b.url + CLOSED_PATH, json=body, timeout=30)
        assert response.status_code == 401
        assert _audit(b, "federation_refused")[-1]["path"] == CLOSED_PATH


def test_the_command_line_names_a_partner_not_told_and_tells_it_later(
    cli_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with instance("city", "CITY", tmp_path / "a") as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        county_watch = _watch_officer(b)
        start = _start()
        _plan(b, b.analyst, "Operation Nightjar", 0, start, contact=OKAFOR)
        lantern = _plan(a, a.analyst, "Operation Lantern", 250, start + HOUR)
        monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "a"))
        monkeypatch.setenv("OPENILP_FEDERATION_NAME", "city")
        monkeypatch.setenv("OPENILP_FEDERATION_TIMEOUT_MS", "2000")
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
        _register(a, b, DOWN)
        code, output = invoke("deconflict", "cancel", str(lantern.event_id), "--user", "city-ana")
        assert code == 0, output
        assert f"event {lantern.event_id} cancelled" in output and "partner county NOT YET TOLD (no answer" in output
        code, output = invoke("deconflict", "notify-partners")
        assert code == 1 and "partner county NOT YET TOLD" in output, output
        _register(a, b, b.url)
        code, output = invoke("deconflict", "notify-partners", "--json")
        assert code == 0, output
        assert json.loads(output)["notices"] == [{"partner": "county", "events": 1, "told": True, "error": ""}]
        assert _entries(b, county_watch)[str(lantern.event_id)]["status"] == "cancelled"
        code, output = invoke("deconflict", "notify-partners")
        assert code == 0 and "no partner is waiting for a notice" in output
