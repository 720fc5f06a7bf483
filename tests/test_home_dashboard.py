"""The home page: the span the data really cover (no placeholder 1900-01-01), and what waits today.

Also the tip photos staff open from a tip (stripped copy, audited, own agency only) and the linked
incident shown by its complaint number and block address.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, select, update
from store_support import core_for
from web_support import IncidentSpec, login, make_client, seed_agency, seed_incidents, seed_user

from openilp.db import session_scope
from openilp.db.models import AuditEntry, Incident, Tip
from openilp.services.accounts.records import user_info as get_user_info
from openilp.services.home import home_dashboard
from openilp.services.intel.tips import TipRequest, submit_tip

pytestmark = pytest.mark.usefixtures("fast_password_hashing")
UTC = dt.UTC


def _incidents(engine: Engine) -> None:
    specs = [IncidentSpec("burglary", dt.datetime(2019, m, 10, 15, tzinfo=UTC)) for m in range(1, 13) for _ in range(3)]
    specs += [IncidentSpec("burglary", dt.datetime(2018, 11, 2, 15, tzinfo=UTC))]  # reported late
    specs += [IncidentSpec("larceny", dt.datetime(1900, 1, 1, 6, tzinfo=UTC))]  # placeholder date
    seed_incidents(engine, "SLMPD", specs)


def test_home_shows_the_covered_span_and_what_waits(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    _incidents(engine)
    supervisor_id = seed_user(engine, "sue", role="supervisor")
    core = core_for(engine, tmp_path)
    submit_tip(core, None, TipRequest("SLMPD", "tip", "A van unloads boxes at night behind 100 Market St.", None))
    with session_scope(engine) as session:
        supervisor = get_user_info(session, supervisor_id)
    board = home_dashboard(core, supervisor)
    assert board.holdings is not None
    assert (board.holdings.total, board.holdings.older) == (38, 2)
    assert board.holdings.covered_from == "2019-01-10" and board.holdings.latest == "2019-12-10"
    assert board.tips_waiting == 1 and board.reviews_waiting == 0 and board.open_problem_count == 0
    assert board.forecast_week == {"start": "2019-12-11", "end": "2019-12-17"}

    seed_user(engine, "ana", role="analyst")
    client = make_client(engine, tmp_path)
    login(client, "ana")
    page = client.get("/")
    assert page.status_code == 200
    assert "1900" not in page.text and "2019-01-10 to 2019-12-10" in page.text
    assert "2 older record(s)" in page.text and 'id="tips-waiting"' in page.text
    assert "This week's forecast" in page.text
    # Partners see no holdings, tips or problems.
    seed_agency(engine, "OTHER")
    seed_user(engine, "pat", role="partner", agency_code="OTHER")
    partner = make_client(engine, tmp_path)
    login(partner, "pat")
    text = partner.get("/").text
    assert 'id="holdings"' not in text and 'id="tips-waiting"' not in text and 'id="open-problems"' not in text


def _jpeg_with_serial() -> bytes:
    exif = Image.Exif()
    exif[0xA431] = "SERIAL-12345"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_staff_view_tip_photos_stripped_and_audited(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    seed_agency(engine, "OTHER")
    ids = seed_incidents(engine, "SLMPD", [IncidentSpec("burglary", dt.datetime(2019, 3, 1, 15, tzinfo=UTC))])
    seed_user(engine, "ana", role="analyst")
    seed_user(engine, "olly", role="officer")
    seed_user(engine, "otto", role="analyst", agency_code="OTHER")
    core = core_for(engine, tmp_path)
    photo = _jpeg_with_serial()
    tip = submit_tip(core, None, TipRequest("SLMPD", "tip", "Photo of the van behind 100 Market St.", None, (photo,)))
    with session_scope(engine) as session:
        session.execute(update(Tip).where(Tip.public_id == tip.tip_id).values(linked_incident_id=ids[0]))
        session.execute(
            update(Incident)
            .where(Incident.id == ids[0])
            .values(source_record_id="19-063496", block_address="5011 ALASKA AVE")
        )

    client = make_client(engine, tmp_path)
    login(client, "ana")
    page = client.get(f"/intel/tips/{tip.tip_id}")
    assert page.status_code == 200 and 'id="tip-photos"' in page.text
    assert "19-063496" in page.text and "5011 ALASKA AVE" in page.text and f"record {ids[0]}" not in page.text
    source = page.text.split('<img src="')[1].split('"')[0]
    image = client.get(source)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"] == "no-store"
    assert b"SERIAL-12345" in photo and b"SERIAL-12345" not in image.content
    with session_scope(engine) as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "tip_attachment")).all()
        attachment_id = int(source.rsplit("/", 1)[1])
        assert [(v.action, v.object_id) for v in views] == [("read", f"{tip.tip_id}/{attachment_id}")]

    # Not for officers (no triage), not for another agency, not for a made-up attachment.
    officer = make_client(engine, tmp_path)
    login(officer, "olly")
    assert officer.get(source, follow_redirects=False).status_code == 403
    other = make_client(engine, tmp_path)
    login(other, "otto")
    assert other.get(source).status_code == 404
    assert client.get(f"/intel/tips/{tip.tip_id}/attachments/999").status_code == 404
