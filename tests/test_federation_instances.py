"""Federation between real instances: separate stores, separate uvicorn servers on 127.0.0.1.

Instance A runs over the test's store (SQLite or PostgreSQL); B and C over SQLite stores of their
own. They register each other's Ed25519 keys, then: a federated search answers each sensitivity
as it must; a restricted hit tells the requester nothing and notifies the owner; unsigned,
tampered, replayed and out-of-window calls are refused and audited; a partner killed in the middle
of a search leaves a partial answer, within the timeout, that names it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from federation_support import Instance, approved_record, instance, instance_process, link
from sqlalchemy import Engine, select

from openilp.db.federation_models import FederationDelivery, FederationReceived, FederationShare
from openilp.db.models import AuditEntry, IntelDissemination, IntelRecord, Notification
from openilp.intel.rules import SubjectInput
from openilp.security.federation import generate_private_key, load_private_key, sign_request
from openilp.services.federation import DeliveryReport, FederatedSearchRequest, deliver_pending, federated_search
from openilp.services.federation.partners import instance_key_path
from openilp.services.intel.corrections import CorrectionRequest, correct_record
from openilp.services.intel.retention import JobRequest, purge_expired

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

JOHNNY = [SubjectInput("person", "criminal_subject", "Johnny Suspect", "cell 314-555-0142, plate ABC123")]


def _audit(inst: Instance, action: str) -> list[dict[str, object]]:
    with inst.core.unit_of_work(None) as uow:
        rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return [json.loads(r.details or "{}") | {"purpose": r.purpose} for r in rows]


def _notes(inst: Instance, kind: str) -> list[str]:
    with inst.core.unit_of_work(None) as uow:
        rows = uow.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
        return [n.message for n in rows]


def test_federated_search_answers_each_sensitivity_pointer_first(engine: Engine, tmp_path: Path) -> None:
    with (
        instance("city", "CITY", tmp_path / "a", engine) as a,
        instance("county", "COUNTY", tmp_path / "b") as b,
        instance("fusion", "FUSION", tmp_path / "c") as c,
    ):
        link(a, b)
        link(a, c)
        open_id = approved_record(b, sensitivity="open", title="Garage cocaine supply", subjects=JOHNNY)
        name_only = approved_record(c, sensitivity="agency_name_only", title="Fencing ring", subjects=JOHNNY)
        secret = approved_record(c, sensitivity="restricted", title="Undercover operation Lantern", subjects=JOHNNY)

        result = federated_search(a.core, a.analyst, FederatedSearchRequest("person", "johnny suspect", "case CT-7"))
        assert result.partners_asked == 2 and not result.partial
        by_partner = {(h.partner, h.kind): h for h in result.hits}
        assert set(by_partner) == {("county", "summary"), ("fusion", "pointer")}
        summary = by_partner[("county", "summary")]
        assert summary.record_id == open_id and summary.summary is not None
        assert summary.summary["title"] == "Garage cocaine supply"
        assert [s["name"] for s in summary.summary["subjects"]] == ["Johnny Suspect"]
        pointer = by_partner[("fusion", "pointer")]
        assert pointer.record_id == name_only and pointer.summary is None
        assert pointer.message == f"FUSION police holds information; contact {pointer.contact}"
        assert pointer.agency == "FUSION police" and "fusion-ana" in pointer.contact
        text = json.dumps(result.as_dict())
        assert "Fencing" not in text and "Lantern" not in text
        assert ("fusion", secret) not in {(h.partner, h.record_id) for h in result.hits}
        # phone and plate searches find the same open record through its subject's identifiers
        for kind, query in (("phone", "(314) 555-0142"), ("vehicle", "abc 123")):
            found = federated_search(a.core, a.analyst, FederatedSearchRequest(kind, query, "case CT-7"))
            assert ("county", open_id) in {(h.partner, h.record_id) for h in found.hits if h.kind == "summary"}

        # the restricted record's owner is told who searched and why; the requester is told nothing
        notes = _notes(c, "restricted_hit")
        assert len(notes) == 3  # the name, phone and plate searches each matched it
        note = notes[0]
        assert f"#{secret}" in note and "city-ana" in note and "partner city" in note and "case CT-7" in note
        assert _notes(a, "restricted_hit") == []
        # both sides audit: the owner each answered call with partner and end user, the caller each call out
        answered = _audit(c, "federation_search")
        assert answered[0]["partner"] == "city" and "city-ana" in str(answered[0]["end_user"])
        assert answered[0]["restricted_withheld"] == 1 and answered[0]["purpose"] == "case CT-7"
        calls = _audit(a, "federation_call")
        assert {str(c_["partner"]) for c_ in calls} == {"county", "fusion"}
        assert all(c_["answered"] and "city-ana" in str(c_["end_user"]) for c_ in calls)
        # the open summary is a logged dissemination at the owner and a share the owner remembers
        with b.core.unit_of_work(None) as uow:
            released = uow.session.scalars(select(IntelDissemination).where(IntelDissemination.record_id == open_id))
            assert {r.kind for r in released} == {"federation"}
            assert uow.session.scalar(select(FederationShare.end_user).where(FederationShare.record_id == open_id))
        with a.core.unit_of_work(None) as uow:
            kept = uow.session.scalars(select(FederationReceived)).all()
            assert [(k.remote_record_id, k.status) for k in kept] == [(open_id, "current")]


def _post(url: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url + path, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=30)


def test_unsigned_tampered_replayed_and_late_calls_are_refused_and_audited(engine: Engine, tmp_path: Path) -> None:
    with instance("city", "CITY", tmp_path / "a", engine) as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        key = load_private_key(instance_key_path(a.core))
        path = "/federation/v1/search"
        body = json.dumps({"kind": "person", "query": "Johnny", "purpose": "case CT-7"}).encode()
        now = dt.datetime.now(dt.UTC)
        good = sign_request(key, "POST", path, body, user="city-ana (CITY)", now=now)
        assert _post(b.url, path, body, good).status_code == 200
        refusals = {
            "unsigned": _post(b.url, path, body, {}),
            "tampered": _post(
                b.url, path, body.replace(b"Johnny", b"Mary"), sign_request(key, "POST", path, body, user="u", now=now)
            ),
            "replayed": _post(b.url, path, body, good),
            "late": _post(
                b.url, path, body, sign_request(key, "POST", path, body, user="u", now=now - dt.timedelta(minutes=6))
            ),
            "early": _post(
                b.url, path, body, sign_request(key, "POST", path, body, user="u", now=now + dt.timedelta(minutes=6))
            ),
            "stranger": _post(
                b.url, path, body, sign_request(generate_private_key(), "POST", path, body, user="u", now=now)
            ),
        }
        assert {name: r.status_code for name, r in refusals.items()} == dict.fromkeys(refusals, 401)
        assert "digest" in refusals["tampered"].json()["detail"]
        assert "replayed" in refusals["replayed"].json()["detail"]
        entries = _audit(b, "federation_refused")
        assert len(entries) == len(refusals)
        reasons = " | ".join(str(e["reason"]) for e in entries)
        for word in ("not signed", "digest", "replayed", "clock", "no active partner"):
            assert word in reasons
        assert all(e["path"] == path for e in entries)
        # no session cookie opens the partner API, and the partner API opens nothing else
        hello = sign_request(key, "POST", "/federation/v1/hello", b"", user="city-ana (CITY)", now=now)
        assert _post(b.url, "/federation/v1/hello", b"", hello).json()["you_are"] == "city"
        assert httpx.get(b.url + "/api/v1/me", headers=hello, timeout=30).status_code == 401


def test_a_partner_killed_mid_search_gives_a_partial_answer_within_the_timeout(engine: Engine, tmp_path: Path) -> None:
    with (
        instance("city", "CITY", tmp_path / "a", engine) as a,
        instance("county", "COUNTY", tmp_path / "b") as b,
        instance_process("fusion", "FUSION", tmp_path / "c") as (c, process),
    ):
        link(a, b)
        link(a, c)
        approved_record(b, sensitivity="open", title="Garage cocaine supply", subjects=JOHNNY)
        approved_record(c, sensitivity="open", title="Fusion file", subjects=JOHNNY)
        warm = federated_search(a.core, a.analyst, FederatedSearchRequest("person", "Johnny", "case CT-7"))
        assert {h.partner for h in warm.hits} == {"county", "fusion"} and not warm.partial
        os.kill(process.pid, signal.SIGSTOP)  # fusion stalls: connections are accepted, nothing answers
        killer = threading.Timer(0.5, os.kill, (process.pid, signal.SIGKILL))
        killer.start()
        started = time.monotonic()
        result = federated_search(a.core, a.analyst, FederatedSearchRequest("person", "Johnny", "case CT-7"))
        elapsed = time.monotonic() - started
        killer.join()
        timeout_s = a.core.settings.federation_timeout_ms / 1000
        assert elapsed < timeout_s + 1.5, f"the search waited {elapsed:.1f} s for a dead partner"
        assert {h.partner for h in result.hits} == {"county"}
        assert result.partial and [u.partner for u in result.unanswered] == ["fusion"]
        assert result.as_dict()["partial"] is True and result.unanswered[0].reason
        calls = _audit(a, "federation_call")
        assert any(c_["partner"] == "fusion" and not c_["answered"] for c_ in calls)
        # a partner that is simply down answers at once with a connection error
        started = time.monotonic()
        down = federated_search(a.core, a.analyst, FederatedSearchRequest("person", "Johnny", "case CT-7"))
        assert [u.partner for u in down.unanswered] == ["fusion"] and time.monotonic() - started < timeout_s + 1.5


def test_a_purge_at_the_owner_reaches_the_instances_that_received_the_record(engine: Engine, tmp_path: Path) -> None:
    with (
        instance("city", "CITY", tmp_path / "a", engine) as a,
        instance("county", "COUNTY", tmp_path / "b") as b,
        instance("fusion", "FUSION", tmp_path / "c") as c,
    ):
        link(a, b)
        link(c, b)
        record_id = approved_record(b, sensitivity="open", title="Garage cocaine supply", subjects=JOHNNY)
        for searcher in (a, c):
            found = federated_search(searcher.core, searcher.analyst, FederatedSearchRequest("person", "Johnny", "T-1"))
            assert [(h.partner, h.record_id, h.kind) for h in found.hits] == [("county", record_id, "summary")]
        # the owner corrects, then purges at the end of retention: every receiving instance gets both notices
        correct_record(b.core, b.analyst, CorrectionRequest(record_id, {"title": "Garage supply"}, purpose="fix"))
        with b.core.unit_of_work(None) as uow:
            row = uow.session.get(IntelRecord, record_id)
            assert row is not None
            row.retention_expires_at = uow.now - dt.timedelta(days=1)
        assert purge_expired(b.core, None, JobRequest()).purged == (record_id,)
        report = deliver_pending(b.core)
        assert (report.delivered, report.retrying, report.failed) == (4, 0, 0)
        for receiver in (a, c):
            with receiver.core.unit_of_work(None) as uow:
                (kept,) = uow.session.scalars(select(FederationReceived)).all()
                assert (kept.remote_record_id, kept.status, kept.content) == (record_id, "purged", "")
            notes = _notes(receiver, "purge")
            assert len(notes) == 1 and "county purged record" in notes[0]
            assert len(_notes(receiver, "correction")) == 1
            assert _audit(receiver, "federation_notice")[-1]["partner"] == "county"
        sent = _audit(b, "federation_notice_sent")
        assert sorted((e["partner"], e["kind"], e["status"]) for e in sent) == [
            ("city", "correction", "delivered"),
            ("city", "purge", "delivered"),
            ("fusion", "correction", "delivered"),
            ("fusion", "purge", "delivered"),
        ]
        # the owner's control official is not told to advise anyone by hand: the notices went signed
        assert _notes(b, "purge_advise") == [] and _notes(b, "correction_advise") == []
        assert deliver_pending(b.core) == DeliveryReport(0, 0, 0)


def test_an_undelivered_notice_is_retried_with_backoff(engine: Engine, tmp_path: Path) -> None:
    with instance("county", "COUNTY", tmp_path / "b", engine) as b:
        with instance("city", "CITY", tmp_path / "a") as a:
            link(a, b)
            record_id = approved_record(b, sensitivity="open", title="Garage cocaine supply", subjects=JOHNNY)
            federated_search(a.core, a.analyst, FederatedSearchRequest("person", "Johnny", "T-1"))
        # the city's server is gone now: the notice waits in the outbox
        correct_record(b.core, b.analyst, CorrectionRequest(record_id, {"title": "Garage supply"}, purpose="fix"))
        assert deliver_pending(b.core) == DeliveryReport(0, 1, 0)
        with b.core.unit_of_work(None) as uow:
            (row,) = uow.session.scalars(select(FederationDelivery)).all()
            assert row.status == "pending" and row.attempts == 1 and row.last_error
            wait_s = (row.next_attempt_at - uow.now).total_seconds()
        assert 25 <= wait_s <= 35  # the first retry comes 30 s later
        assert deliver_pending(b.core) == DeliveryReport(0, 0, 0)  # not due yet
        assert _audit(b, "federation_notice_sent")[0]["status"] == "pending"


def test_an_open_record_marked_tlp_red_answers_a_search_with_a_pointer_only(engine: Engine, tmp_path: Path) -> None:
    """TLP:RED is for named recipients only: a search answer goes to whoever asked, so no summary."""
    with instance("city", "CITY", tmp_path / "a", engine) as a, instance("county", "COUNTY", tmp_path / "b") as b:
        link(a, b)
        red = approved_record(b, sensitivity="open", title="Wiretap summary Falcon", subjects=JOHNNY, tlp="TLP:RED")
        amber = approved_record(b, sensitivity="open", title="Garage cocaine supply", subjects=JOHNNY)
        result = federated_search(a.core, a.analyst, FederatedSearchRequest("person", "johnny suspect", "case CT-8"))
        kinds = {h.record_id: h.kind for h in result.hits}
        assert kinds == {red: "pointer", amber: "summary"}
        pointer = next(h for h in result.hits if h.record_id == red)
        assert pointer.summary is None and "TLP:RED" in pointer.message
        assert "Falcon" not in json.dumps(result.as_dict())
        # Only the summary is a dissemination; the RED record was not released to anyone.
        with b.core.unit_of_work(None) as uow:
            released = uow.session.scalars(select(IntelDissemination.record_id)).all()
        assert released == [amber]
        assert _audit(b, "federation_search")[0]["red_pointers"] == 1
