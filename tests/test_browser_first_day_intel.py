"""An analyst's first day, intelligence and tips in a real browser.

* An approved intelligence record is released to a partner agency's user with the ``partner``
  role, picked from a list (not typed); the partner signs in and finds it under "Received".
* A member of the public sends a tip with a photo; an analyst opens the tip and sees the photo,
  which is the stripped copy (no EXIF), and the view is in the audit log.

Real app under uvicorn on 127.0.0.1 (temporary SQLite store), system Chromium through Playwright.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import BROWSER, PageLog, chromium, serve, sign_in
from intel_support import make_agency, make_user, submission
from PIL import Image
from sqlalchemy import Engine, select
from store_support import core_for

from openilp.db import make_engine, migrate, session_scope
from openilp.db.models import AuditEntry, TipAttachment
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

pytestmark = BROWSER


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine, int, Path]]:
    data_dir = tmp_path_factory.mktemp("browser-first-day-intel")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    with session_scope(engine) as session:
        make_agency(session, "SLMPD")
        make_agency(session, "OTHER")
        analyst = make_user(session, "ana", "analyst")
        reviewer = make_user(session, "rev", "reviewer", trained_until=dt.date.today() + dt.timedelta(days=365))
        admin = make_user(session, "admin", "administrator")
        make_user(session, "pat", "partner", agency="OTHER")
    core = core_for(engine, data_dir)
    record = submit_record(core, analyst, SubmitRecordRequest(submission(analyst.id)))
    approve_record(core, reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    valid_from = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    add_agreement(core, admin, AgreementRequest("OTHER", reference="MOU 2024/7", version="1.0", valid_from=valid_from))
    with serve(engine, data_dir, "browser-first-day-intel") as url:
        yield url, engine, record.id, data_dir


def _photo_with_gps(path: Path) -> Path:
    """A small JPEG carrying EXIF with a GPS block and a camera serial, as a phone would send."""
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (38.0, 37.0, 0.0), 3: "W", 4: (90.0, 12.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    path.write_bytes(buffer.getvalue())
    assert b"SERIAL-12345" in path.read_bytes()
    return path


def test_a_record_released_to_a_partner_role_user(served: tuple[str, Engine, int, Path]) -> None:
    server, engine, record_id, _ = served
    log = PageLog(server)
    with chromium() as browser:
        analyst = log.watch(browser.new_context().new_page())
        analyst.goto(f"{server}/intel/records/{record_id}?purpose=joint+operation+24-77")
        sign_in(analyst, "ana")
        analyst.wait_for_url(f"**/intel/records/{record_id}?purpose=*")
        analyst.click("#open-form button[type=submit]")  # the purpose is pre-filled; opening is a POST
        analyst.wait_for_url(f"**/intel/records/{record_id}/open")
        # The recipient is picked from the users of agencies with a current agreement.
        labels = analyst.locator("#recipient option").all_inner_texts()
        assert any("pat" in label and "partner" in label for label in labels), labels
        analyst.select_option("#recipient", "OTHER/pat")
        analyst.fill("#need_to_know", "Pat leads the partner agency's surveillance of the garage.")
        # "Who will see this?" first: the form comes back with the audience and the choices kept.
        analyst.click("#preview-button")
        analyst.wait_for_selector("#audience-preview")
        assert "1 recipient(s) would receive it." in analyst.locator("#audience-count").inner_text()
        analyst.click("#disseminate-form button[value=release]")
        analyst.wait_for_url(f"**/intel/records/{record_id}**")
        assert analyst.locator(".alert-error").count() == 0, analyst.locator(".alert-error").all_inner_texts()
        assert "Pat" in analyst.content()

        partner = log.watch(browser.new_context().new_page())
        partner.goto(f"{server}/intel/received")
        sign_in(partner, "pat")
        partner.wait_for_url(f"{server}/intel/received")
        received = partner.locator("#received").inner_text()
        assert f"#{record_id}" in received and "Pat" in received
    log.assert_clean()


def test_a_tip_photo_viewed_by_staff(served: tuple[str, Engine, int, Path], tmp_path: Path) -> None:
    server, engine, _, _ = served
    photo = _photo_with_gps(tmp_path / "yard.jpg")
    log = PageLog(server)
    with chromium() as browser:
        tipster = log.watch(browser.new_context().new_page())
        tipster.goto(f"{server}/tips")
        tipster.select_option("#agency", "SLMPD")
        tipster.check("input[name=kind][value=tip]")
        tipster.fill("#narrative", "Stolen bicycles are repainted in the yard behind 4100 Olive St, photo attached.")
        tipster.set_input_files("#attachments", str(photo))
        tipster.click("button[type=submit]")
        tip_id = tipster.locator("#tip-id").inner_text().strip()

        staff = log.watch(browser.new_context().new_page())
        staff.goto(f"{server}/intel/tips/{tip_id}")
        sign_in(staff, "ana")
        staff.wait_for_url(f"{server}/intel/tips/{tip_id}")
        image = staff.locator("#tip-photos img").first
        image.scroll_into_view_if_needed()
        staff.wait_for_function("document.querySelector('#tip-photos img').naturalWidth === 64")
        source = image.get_attribute("src")
        assert source is not None
        served_bytes = staff.request.get(f"{server}{source}").body()
    log.assert_clean()

    assert served_bytes[:2] == b"\xff\xd8" and b"SERIAL-12345" not in served_bytes and b"PhoneMaker" not in served_bytes
    with session_scope(engine) as session:
        stored = session.scalars(select(TipAttachment)).all()
        views = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "tip_attachment")).all()
    assert any(bytes(row.data) == served_bytes for row in stored)
    assert views and all(v.action == "read" and v.object_id.startswith(f"{tip_id}/") for v in views)
