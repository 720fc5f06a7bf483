"""The intelligence and tip endpoints over HTTP: anonymity, dialogue, bad input, audited refusals."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from intel_support import cast
from sqlalchemy import Engine, inspect, select, text
from web_support import csrf_from, login, make_client

from openilp.db import session_scope
from openilp.db.models import AuditEntry, Tip
from openilp.web.privacy import DropAnonymousAccessLog

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

TIPSTER_UA = "Mozilla/5.0 (TipsterPhone-7731)"
TIPSTER_IP = "203.0.113.77"
HEADERS = {"User-Agent": TIPSTER_UA, "X-Forwarded-For": TIPSTER_IP, "Referer": "https://tipster.example/"}


def _all_text(engine: Engine) -> str:
    dump = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                dump.append(" ".join(str(v) for v in row))
    return "\n".join(dump)


def test_tip_dialogue_over_http_leaves_no_tipster_identity(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cast(engine)
    caplog.set_level(logging.DEBUG)
    public = make_client(engine, tmp_path)
    form = public.get("/tips", headers=HEADERS)
    assert form.status_code == 200
    created = public.post(
        "/tips",
        headers=HEADERS,
        data={
            "csrf_token": csrf_from(form.text),
            "agency": "SLMPD",
            "kind": "tip",
            "narrative": "Guns stored in unit 12.",
        },
    )
    assert created.status_code == 200
    tip_id = re.search(r'id="tip-id">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="tip-secret">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]

    staff = make_client(engine, tmp_path)
    login(staff, "ana")
    page = staff.get(f"/intel/tips/{tip_id}")
    assert page.status_code == 200 and "Guns stored" in page.text
    reply = staff.post(
        f"/intel/tips/{tip_id}/reply",
        data={"csrf_token": csrf_from(page.text), "body": "Which building?"},
        follow_redirects=False,
    )
    assert reply.status_code == 303

    follow = public.get("/tips/follow-up", headers=HEADERS)
    shown = public.post(
        "/tips/follow-up",
        headers=HEADERS,
        data={"csrf_token": csrf_from(follow.text), "tip_id": tip_id, "secret": secret},
    )
    assert shown.status_code == 200 and "Which building?" in shown.text
    api = public.post(
        "/api/v1/public/tips/messages",
        headers=HEADERS,
        json={"tip_id": tip_id, "secret": secret, "body": "Building C."},
    )
    assert api.status_code == 201
    wrong = public.post("/api/v1/public/tips/read", headers=HEADERS, json={"tip_id": tip_id, "secret": "guess"})
    assert wrong.status_code == 404

    everything = _all_text(engine)
    for marker in (TIPSTER_UA, "TipsterPhone", TIPSTER_IP, "testclient", "tipster.example", secret):
        assert marker not in everything
        assert marker not in caplog.text


def test_access_log_filter_drops_public_tip_lines() -> None:
    keep = logging.LogRecord(
        "uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d', ("1.2.3.4:5", "GET", "/map", "1.1", 200), None
    )
    drop = logging.LogRecord(
        "uvicorn.access",
        20,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "POST", "/tips/follow-up", "1.1", 200),
        None,
    )
    assert DropAnonymousAccessLog().filter(keep) and not DropAnonymousAccessLog().filter(drop)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"agency": "SLMPD", "narrative": ""},
        {"agency": "SLMPD", "narrative": "x" * 10_001},
        {"agency": "SLMPD", "narrative": ["not", "text"]},
        {"agency": "SLMPD", "kind": "sar", "narrative": "Someone photographing the gate."},
        {"agency": "' OR 1=1 --", "narrative": "Robert'); DROP TABLE tips;--"},
    ],
)
def test_bad_public_tips_are_refused_and_store_nothing(
    engine: Engine, tmp_path: Path, payload: dict[str, object]
) -> None:
    cast(engine)
    response = make_client(engine, tmp_path).post("/api/v1/public/tips", json=payload)
    assert response.status_code in (400, 422) and response.json()["detail"]
    with session_scope(engine) as session:
        assert session.scalars(select(Tip)).all() == []


def test_search_without_purpose_is_refused_and_logged_over_http(engine: Engine, tmp_path: Path) -> None:
    cast(engine)
    client = make_client(engine, tmp_path)
    login(client, "ana")
    response = client.post("/api/v1/intel/records/search", json={"q": "Johnny"})
    assert response.status_code == 400 and "purpose" in response.json()["detail"]
    assert client.post("/api/v1/intel/records/search", json={"q": "<script>", "purpose": "case 1"}).json()["hits"] == []
    # Reads that need a purpose are never GETs: a link cannot make one in the viewer's name.
    assert client.get("/api/v1/intel/records", params={"q": "Johnny", "purpose": "case 1"}).status_code == 405
    assert client.get("/api/v1/intel/records/1", params={"purpose": "case 1"}).status_code in (404, 405)
    with session_scope(engine) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "intel_records")).all()
        assert "search_refused" in actions and "search" in actions
    bad = client.post("/api/v1/intel/records", json={"title": "x"})
    assert bad.status_code == 422


def test_the_api_predicate_gate_names_the_missing_fact(engine: Engine, tmp_path: Path) -> None:
    people = cast(engine)
    client = make_client(engine, tmp_path)
    login(client, "ana")
    payload = {
        "title": "Cocaine supply from a north-side garage",
        "summary": "Subject supplies cocaine to street dealers from a garage on Main St.",
        "offence_category": "drugs",
        "factual_basis": "x" * 20,
        "source_reference": "SLMPD file 24-001234",
        "collection_method": "informant",
        "lawful_collection_attested": True,
        "grading_scheme": "admiralty",
        "source_grade": "B",
        "information_grade": "2",
        "handling_code": "P",
        "sensitivity": "open",
        "control_official_id": people.analyst.id,
        "subjects": [{"kind": "person", "role": "criminal_subject", "display_name": "Johnny Suspect"}],
    }
    refused = client.post("/api/v1/intel/records", json=payload)
    assert refused.status_code == 400 and "state the facts in words" in refused.json()["detail"]
    payload["factual_basis"] = "Two controlled buys on 3 and 10 May 2024 from the subject at 100 Main St."
    missing = client.post("/api/v1/intel/records", json=payload)
    assert missing.status_code == 400 and "who is required" in missing.json()["detail"]
    facts = {
        "predicate_who": "Johnny Suspect",
        "predicate_what": "Sells cocaine",
        "predicate_when": "May 2024",
        "predicate_where": "100 Main St.",
    }
    created = client.post("/api/v1/intel/records", json={**payload, **facts})
    assert created.status_code == 201, created.text
    read = client.post(f"/api/v1/intel/records/{created.json()['id']}/read", json={"purpose": "case 24-1"})
    assert read.json()["predicate"] == {
        "who": "Johnny Suspect",
        "what": "Sells cocaine",
        "when": "May 2024",
        "where": "100 Main St.",
    }
