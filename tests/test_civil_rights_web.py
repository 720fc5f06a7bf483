"""Civil-rights gates on the deployment page: a plan outside parity is held until a supervisor overrides it
with a written reason (audited); a model whose scores leak a majority needs a written justification."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tasking_support import AGENCY, AS_OF, history, seed_store, trigger, write_halves
from web_support import audit_actions, login, make_client, seed_user

from openilp.db import session_scope
from openilp.db.models import AuditEntry
from openilp.errors import InvalidRequest, NotPermitted
from openilp.fairness import ProxyAudit
from openilp.services.analysis.gates import JustifyRequest, held_because, justify_model, latest_justification
from openilp.tasking import disparity_check

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

PLAN = f"/deploy?category=burglary&as_of={AS_OF}&officer_minutes=800&method=naive&shift_start=07:00"
REASON = "Burglary series in the east half confirmed by detectives; reviewed with the community board."


@pytest.fixture
def store(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    seed_store(sqlite_engine, history(), "history")
    seed_store(sqlite_engine, trigger(), "trigger")
    for role in ("analyst", "supervisor"):
        seed_user(sqlite_engine, f"nrt-{role}", role=role, agency_code=AGENCY)
    areas, _ = write_halves(tmp_path)  # the hot spot is in the east, where group_b lives: outside parity
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    (tmp_path / "disparity").mkdir()
    (tmp_path / "disparity" / f"{AGENCY}.toml").write_text(
        'demographics = "../residents.csv"\nid_column = "NHD_NUM"\ngroups = ["group_a", "group_b"]\n'
    )
    return sqlite_engine


def _client(engine: Engine, data_dir: Path, username: str) -> TestClient:
    client = make_client(engine, data_dir)
    assert login(client, username).status_code == 303
    return client


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


def test_a_plan_outside_parity_is_issued_only_on_a_recorded_override(store: Engine, tmp_path: Path) -> None:
    supervisor = _client(store, tmp_path, "nrt-supervisor")
    page = supervisor.get(PLAN).text
    assert 'id="plan-held"' in page and 'data-gate="parity"' in page and 'id="print-link"' not in page
    token, csrf = _field(page, "plan"), _field(page, "csrf_token")

    # A reason too short to be one is refused, and nothing is issued.
    short = supervisor.post("/deploy/override", data={"plan": token, "reason": "ok", "csrf_token": csrf})
    assert short.status_code == 400 and "at least 30 characters" in short.text
    assert "override" not in [a for a, _, _ in audit_actions(store)]
    # Without the form's token, refused.
    assert supervisor.post("/deploy/override", data={"plan": token, "reason": REASON}).status_code == 403

    issued = supervisor.post("/deploy/override", data={"plan": token, "reason": REASON, "csrf_token": csrf})
    assert issued.status_code == 200, issued.text
    assert 'id="plan-override"' in issued.text and "nrt-supervisor" in issued.text
    assert 'id="print-link"' in issued.text and 'id="plan-held"' not in issued.text
    assert ("override", "nrt-supervisor", "deployment_plan") in audit_actions(store)
    with session_scope(store) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "override")).one()
        details = json.loads(entry.details)
    assert details["reason"] == REASON and details["overrides"][0]["gate"] == "parity"

    # An analyst sees the hold but has no override, and cannot post one.
    analyst = _client(store, tmp_path, "nrt-analyst")
    held = analyst.get(PLAN).text
    assert 'id="plan-held"' in held and 'id="override-form"' not in held
    refused = analyst.post(
        "/deploy/override", data={"plan": token, "reason": REASON, "csrf_token": _field(held, "csrf_token")}
    )
    assert refused.status_code == 403


def _report(exposure: dict[int, float]) -> object:
    residents = __import__("pandas").DataFrame({"a": [900.0, 100.0], "b": [100.0, 900.0]}, index=[1, 2])
    return disparity_check(exposure, {1: 10, 2: 10}, residents)


def test_the_gates_by_hand() -> None:
    even = _report({1: 50, 2: 50})
    skewed = _report({1: 10, 2: 90})
    leaky = ProxyAudit(auc=0.82, leakage=0.82, n_areas=40, n_majority=15, group="b")
    quiet = ProxyAudit(auc=0.6, leakage=0.6, n_areas=40, n_majority=15, group="b")
    assert held_because(even, quiet, justified=False) == []  # type: ignore[arg-type]
    assert [h["gate"] for h in held_because(skewed, quiet, justified=False)] == ["parity"]  # type: ignore[arg-type]
    assert [h["gate"] for h in held_because(even, leaky, justified=False)] == ["proxy"]  # type: ignore[arg-type]
    assert held_because(even, leaky, justified=True) == []  # type: ignore[arg-type]
    assert "0.82" in held_because(None, leaky, justified=False)[0]["why"]


def test_a_justification_is_written_audited_and_for_supervisors_only(store: Engine, tmp_path: Path) -> None:
    from store_support import core_for

    from openilp.db import Agency, User
    from openilp.services.accounts.records import info_of

    core = core_for(store, tmp_path)
    with session_scope(store) as session:
        agency = session.scalars(select(Agency).where(Agency.code == AGENCY)).one()
        supervisor = info_of(session.scalars(select(User).where(User.username == "nrt-supervisor")).one(), agency)
        analyst = info_of(session.scalars(select(User).where(User.username == "nrt-analyst")).one(), agency)
    with pytest.raises(InvalidRequest, match="30 characters"):
        justify_model(core, supervisor, JustifyRequest(method="naive", justification="fine"))
    with pytest.raises(NotPermitted):
        justify_model(core, analyst, JustifyRequest(method="naive", justification=REASON))
    done = justify_model(core, supervisor, JustifyRequest(method="naive", justification=REASON))
    assert done.model == f"{AGENCY}/naive" and done.justified_by == "nrt-supervisor"
    with session_scope(store) as session:
        agency_id = session.scalars(select(Agency.id).where(Agency.code == AGENCY)).one()
        now = session.scalars(select(AuditEntry.occurred_at).order_by(AuditEntry.seq.desc())).first()
        assert now is not None
        assert latest_justification(session, agency_id, f"{AGENCY}/naive", now) == REASON
        assert latest_justification(session, agency_id, f"{AGENCY}/learned", now) is None


def test_override_and_justify_through_the_api_and_the_command_line(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = PLAN.split("?", 1)[1]
    supervisor = _client(store, tmp_path, "nrt-supervisor")
    held = supervisor.get(f"/api/v1/deploy.json?{query}").json()
    assert held["status"] == "held" and [h["gate"] for h in held["held_because"]] == ["parity"]
    reference = held["issue"]["reference"]
    cells = [p["cell_id"] for p in held["places"]]
    body = {"reference": reference, "cells": cells, "reason": REASON}
    analyst = _client(store, tmp_path / "analyst", "nrt-analyst")
    assert analyst.post(f"/api/v1/deploy/override?{query}", json=body).status_code == 403
    short = supervisor.post(f"/api/v1/deploy/override?{query}", json={**body, "reason": "ok"})
    assert short.status_code == 400 and "at least 30 characters" in short.json()["detail"]
    changed = supervisor.post(f"/api/v1/deploy/override?{query}", json={**body, "cells": cells[::-1]})
    assert changed.status_code == 400 and "plan the shift again" in changed.json()["detail"]
    issued = supervisor.post(f"/api/v1/deploy/override?{query}", json=body)
    assert issued.status_code == 200 and issued.json()["status"] == "issued"
    assert issued.json()["override"] == REASON
    assert ("override", "nrt-supervisor", "deployment_plan") in audit_actions(store)

    assert analyst.post("/api/v1/deploy/justify", json={"method": "naive", "justification": REASON}).status_code == 403
    justified = supervisor.post("/api/v1/deploy/justify", json={"method": "naive", "justification": REASON})
    assert justified.status_code == 200 and justified.json()["model"] == f"{AGENCY}/naive"

    # The command line: the same plan held, then issued with --override-reason; a justification.
    from typer.testing import CliRunner

    from openilp.cli import common
    from openilp.cli.main import app

    monkeypatch.setenv("OPENILP_DATABASE_URL", str(store.url))
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    runner = CliRunner()
    args = ["deploy", "--category", "burglary", "--as-of", str(AS_OF), "--officer-minutes", "800", "--method", "naive"]
    try:
        plain = runner.invoke(app, [*args, "--json"])
        assert plain.exit_code == 0, plain.output
        assert json.loads(plain.output)["status"] == "held"
        overridden = runner.invoke(app, [*args, "--json", "--override-reason", REASON])
        assert overridden.exit_code == 0, overridden.output
        assert json.loads(overridden.output)["status"] == "issued"
        too_short = runner.invoke(app, [*args, "--override-reason", "because"])
        assert too_short.exit_code == 1 and "at least 30 characters" in too_short.output
        done = runner.invoke(app, ["justify", "naive", "--reason", REASON, "--agency", AGENCY, "--json"])
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["model"] == f"{AGENCY}/naive"
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
