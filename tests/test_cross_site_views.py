"""A link on another site cannot write audit entries in the viewer's name (issue: GETs that audit).

The session cookie is SameSite=Lax, so it travels with a top-level GET from any site. A page whose
view is audited (a tip, the audit log, a printable deployment list) opened from another site's
link must record nothing in the viewer's name; it offers the same address as a link from OpenILP
itself, which opens and audits it as usual. Browsers say where a navigation came from in
``Sec-Fetch-Site``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from intel_support import cast
from sqlalchemy import Engine
from web_support import audit_actions, login, make_client

from openilp.core.unit_of_work import navigation_from_another_site
from openilp.errors import ViewFromAnotherSite

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

CROSS_SITE = {"sec-fetch-site": "cross-site"}
SAME_ORIGIN = {"sec-fetch-site": "same-origin"}


def _open_here(html: str) -> str:
    found = re.search(r'id="open-here" href="([^"]+)"', html)
    assert found, "no link to open the page from OpenILP"
    return found.group(1).replace("&amp;", "&")


def test_a_tip_opened_from_another_site_is_not_read_in_the_viewers_name(engine: Engine, tmp_path: Path) -> None:
    cast(engine)
    public = make_client(engine, tmp_path)
    created = public.post(
        "/api/v1/public/tips", json={"agency": "SLMPD", "kind": "tip", "narrative": "Guns in unit 12."}
    )
    tip_id = created.json()["tip_id"]
    staff = make_client(engine, tmp_path)
    assert login(staff, "ana").status_code == 303
    reads_before = audit_actions(engine).count(("read", "ana", "tip"))
    linked = staff.get(f"/intel/tips/{tip_id}", headers=CROSS_SITE)
    assert linked.status_code == 403 and "Guns in unit 12" not in linked.text
    assert "link on another site" in linked.text and _open_here(linked.text) == f"/intel/tips/{tip_id}"
    assert audit_actions(engine).count(("read", "ana", "tip")) == reads_before
    opened = staff.get(_open_here(linked.text), headers=SAME_ORIGIN)
    assert opened.status_code == 200 and "Guns in unit 12" in opened.text
    assert audit_actions(engine).count(("read", "ana", "tip")) == reads_before + 1
    inbox = staff.get("/intel/tips", headers=CROSS_SITE)
    assert inbox.status_code == 403 and audit_actions(engine).count(("search", "ana", "tips")) == 0


def test_the_audit_log_opened_from_another_site_records_no_view(engine: Engine, tmp_path: Path) -> None:
    cast(engine)
    auditor = make_client(engine, tmp_path)
    assert login(auditor, "aud").status_code == 303
    views = audit_actions(engine).count(("read", "aud", "audit_log"))
    linked = auditor.get("/audit", params={"actor": "ana", "action": "read"}, headers=CROSS_SITE)
    assert linked.status_code == 403 and audit_actions(engine).count(("read", "aud", "audit_log")) == views
    assert _open_here(linked.text) == "/audit?actor=ana&action=read"
    assert auditor.get(_open_here(linked.text), headers=SAME_ORIGIN).status_code == 200
    assert auditor.get("/audit").status_code == 200  # no Fetch Metadata (an older browser, a script)
    assert audit_actions(engine).count(("read", "aud", "audit_log")) == views + 2


def test_the_unit_of_work_refuses_any_entry_in_a_users_name_during_another_sites_navigation(
    engine: Engine, tmp_path: Path
) -> None:
    """What the printable deployment list (and every other audited GET page) relies on."""
    from store_support import core_for

    people = cast(engine)
    core = core_for(engine, tmp_path)
    before = len(audit_actions(engine))
    with navigation_from_another_site(), pytest.raises(ViewFromAnotherSite), core.unit_of_work(people.officer) as uow:
        uow.audit(action="read", object_type="deployment_plan", object_id="DP-1", details={"printable": True})
    with navigation_from_another_site():
        with core.unit_of_work(None) as uow:  # the system, or an anonymous tipster: no one's name is used
            uow.audit(action="create", object_type="tip", object_id="T-1")
        with core.unit_of_work(people.officer) as uow:  # the session's own bookkeeping
            uow.audit(action="session_expired", object_type="session", details={"reason": "idle"})
    assert len(audit_actions(engine)) == before + 2
