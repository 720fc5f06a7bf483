"""The NIBRS XML and STIX downloads of the web app: authorized like the command line, audited, logged."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import shared_file
from intel_support import T0, cast, make_core, make_user, submission
from sqlalchemy import Engine, select
from stix2validator import ValidationOptions, validate_string
from store_support import core_for, import_source
from web_support import login, make_client, seed_agency, seed_user

from openilp.db import session_scope
from openilp.db.models import AuditEntry, IntelDissemination
from openilp.exchange.stix import read_intelligence_bundle
from openilp.security.actors import UserInfo
from openilp.services.exchange import NibrsExportRequest, export_nibrs
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.mark.realdata
def test_nibrs_download_is_the_export_and_is_audited(engine: Engine, tmp_path: Path) -> None:
    import_source(engine, "stlouis", [shared_file("stlouis", "monthly", "2019", "january2019.csv")])
    seed_user(engine, "ana", "analyst")
    seed_user(engine, "off", "officer")
    seed_agency(engine, "OTHER")
    client = make_client(engine, tmp_path)
    assert login(client, "ana").status_code == 303
    query = {"date_from": "2019-01-01", "date_to": "2019-01-31", "ori": "MO0000000"}
    response = client.get("/api/v1/exports/SLMPD.nibrs.zip", params=query)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert 'filename="SLMPD-2019-01-01-2019-01-31-nibrs.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        summary = json.loads(archive.read("summary.json"))
        documents = [n for n in archive.namelist() if n.startswith("nibrs/")]
    direct = export_nibrs(
        core_for(engine),
        None,
        NibrsExportRequest(
            agency="SLMPD", date_from=dt.date(2019, 1, 1), date_to=dt.date(2019, 1, 31), ori="MO0000000"
        ),
    )
    assert summary["incidents_exported"] == direct.incidents_exported == len(documents) > 0
    assert client.get("/api/v1/exports/OTHER.nibrs.zip", params=query).status_code == 403
    assert client.get("/api/v1/exports/SLMPD.nibrs.zip", params={**query, "ori": "SLMPD"}).status_code == 400
    officer = make_client(engine, tmp_path)
    assert login(officer, "off").status_code == 303
    assert officer.get("/api/v1/exports/SLMPD.nibrs.zip", params=query).status_code == 403
    with session_scope(engine) as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("export_nibrs%")))]
    assert actions.count("export_nibrs") == 2 and "export_nibrs_refused" in actions


def test_stix_download_releases_through_the_log(engine: Engine, tmp_path: Path) -> None:
    people = cast(engine)
    core = make_core(engine, tmp_path / "core")
    with session_scope(engine) as session:
        admin: UserInfo = make_user(session, "admin", "administrator")
    add_agreement(core, admin, AgreementRequest("OTHER", "MOU 2024/7", T0 - dt.timedelta(days=30)))
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, tlp="TLP:GREEN")))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    day = T0.date().isoformat()
    body = {
        "date_from": day,
        "date_to": day,
        "recipient_agency": "OTHER",
        "recipient_username": "other-ana",
        "purpose": "Joint investigation 24-117",
        "need_to_know": "Their task force works the same supply chain.",
    }
    client = make_client(engine, tmp_path)
    assert login(client, "ana").status_code == 303
    response = client.post("/api/v1/exports/SLMPD.stix.json", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/stix+json")
    assert validate_string(response.text, ValidationOptions(version="2.1")).is_valid
    [sent] = read_intelligence_bundle(response.text)
    assert sent["id"] == record.id and sent["tlp"] == "TLP:GREEN"
    with session_scope(engine) as session:
        [logged] = session.scalars(select(IntelDissemination)).all()
        assert response.headers["x-openilp-disseminations"] == str(logged.id) and logged.tlp == "TLP:GREEN"
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "export_stix")).one().actor_user_id
    assert json.loads(response.headers["x-openilp-refused"]) == {}
    officer = make_client(engine, tmp_path)
    assert login(officer, "off").status_code == 303
    assert officer.post("/api/v1/exports/SLMPD.stix.json", json=body).status_code == 403
    assert client.post("/api/v1/exports/OTHER.stix.json", json=body).status_code == 403


def test_stix_download_at_a_narrower_level_and_never_wider(engine: Engine, tmp_path: Path) -> None:
    people = cast(engine)
    core = make_core(engine, tmp_path / "core")
    with session_scope(engine) as session:
        admin: UserInfo = make_user(session, "admin", "administrator")
    add_agreement(core, admin, AgreementRequest("OTHER", "MOU 2024/7", T0 - dt.timedelta(days=30)))
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, tlp="TLP:AMBER")))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    day = T0.date().isoformat()
    body = {
        "date_from": day,
        "date_to": day,
        "recipient_agency": "OTHER",
        "recipient_username": "other-ana",
        "purpose": "Joint investigation 24-117",
        "need_to_know": "Their task force works the same supply chain.",
    }
    client = make_client(engine, tmp_path)
    assert login(client, "ana").status_code == 303
    wider = client.post("/api/v1/exports/SLMPD.stix.json", json=body | {"tlp": "TLP:GREEN"})
    assert wider.status_code == 400, wider.text
    assert f"record #{record.id} is marked TLP:AMBER" in wider.text
    narrowed = client.post("/api/v1/exports/SLMPD.stix.json", json=body | {"tlp": "TLP:AMBER+STRICT"})
    assert narrowed.status_code == 200, narrowed.text
    assert validate_string(narrowed.text, ValidationOptions(version="2.1")).is_valid
    [sent] = read_intelligence_bundle(narrowed.text)
    assert sent["tlp"] == "TLP:AMBER+STRICT"
    with session_scope(engine) as session:
        assert session.scalars(select(IntelDissemination.tlp)).all() == ["TLP:AMBER+STRICT"]
