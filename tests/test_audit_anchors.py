"""Anchors of the audit chain wired into the shells: ``openilp audit anchor`` and ``verify`` (which
checks every anchor and writes nothing), the web app's schedule, and a removed tail being caught."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from store_support import core_for
from test_audit import triggers_bypassed
from typer.testing import CliRunner
from web_support import seed_agency, seed_user

from openilp.cli import app as cli_app
from openilp.cli import common
from openilp.security.audit_anchor import read_anchors
from openilp.services.accounts.audit_log import (
    AnchorRequest,
    AuditLogRequest,
    VerifyAuditRequest,
    anchor_audit_log,
    anchor_file,
    verify_audit_log,
    view_audit_log,
)
from openilp.web.app import anchor_on_schedule


@pytest.fixture
def cli_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENILP_AUDIT_ANCHOR_FILE", raising=False)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    yield common.engine()
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()


def _entries(count: int) -> None:
    runner = CliRunner()
    for _ in range(count):
        assert runner.invoke(cli_app, ["audit", "list", "--json"]).exit_code == 0


def test_cli_anchor_then_verify_catches_a_removed_tail(cli_engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    seed_agency(cli_engine)
    seed_user(cli_engine, "alice")
    _entries(4)
    anchored = json.loads(runner.invoke(cli_app, ["audit", "anchor", "--json"]).output)
    assert anchored["anchored"] and anchored["seq"] == 4
    assert Path(anchored["anchor_file"]) == tmp_path / "data" / "audit_anchors.jsonl"
    skipped = json.loads(runner.invoke(cli_app, ["audit", "anchor", "--if-moved", "--json"]).output)
    assert skipped["anchored"] is False  # the head has not moved since
    ok = runner.invoke(cli_app, ["audit", "verify"])
    assert ok.exit_code == 0 and "1 anchor(s) checked" in " ".join(ok.output.split())
    _entries(2)  # entries after the anchor are fine
    assert runner.invoke(cli_app, ["audit", "verify"]).exit_code == 0
    with triggers_bypassed(cli_engine) as session:  # remove the newest entries, the anchored one included
        session.execute(text("DELETE FROM audit_log WHERE seq >= 3"))
    cut = runner.invoke(cli_app, ["audit", "verify"])
    assert cut.exit_code == 1
    said = " ".join(cut.output.split())
    assert "TAMPERED" in said and "entry 4" in said and "newest entries were removed" in said
    as_json = json.loads(runner.invoke(cli_app, ["audit", "verify", "--json"]).output)
    assert as_json["ok"] is False and as_json["anchors"]["anchors"] == 1
    assert as_json["ok"] is False and as_json["head_seq"] == 2  # the shorter chain itself verifies


def test_verify_writes_nothing_and_an_edited_anchor_file_is_named(cli_engine: Engine) -> None:
    runner = CliRunner()
    _entries(3)
    assert runner.invoke(cli_app, ["audit", "anchor"]).exit_code == 0
    before = json.loads(runner.invoke(cli_app, ["audit", "verify", "--json"]).output)
    after = json.loads(runner.invoke(cli_app, ["audit", "verify", "--json"]).output)
    assert before["head_seq"] == after["head_seq"] == 3 and before["head_hash"] == after["head_hash"]
    path = Path(before["anchor_file"])
    line = json.loads(path.read_text().splitlines()[0])
    path.write_text(json.dumps({**line, "seq": 2}) + "\n")  # someone moves the anchor back
    forged = runner.invoke(cli_app, ["audit", "verify"])
    assert forged.exit_code == 1 and "not signed with the audit key" in " ".join(forged.output.split())


def test_the_web_schedule_anchors_only_when_the_head_moves(engine: Engine, tmp_path: Path) -> None:
    core = core_for(engine, tmp_path)
    assert anchor_audit_log(core, None, AnchorRequest(only_if_moved=True)).anchor is None  # empty log
    view_audit_log(core, None, AuditLogRequest(channel="cli"))

    async def run_for(seconds: float) -> None:
        task = asyncio.create_task(anchor_on_schedule(core, 0.02))
        await asyncio.sleep(seconds)
        task.cancel()

    asyncio.run(run_for(0.3))
    anchors = read_anchors(anchor_file(core))
    assert [a.seq for a in anchors] == [1]  # many ticks, one anchor: the head did not move again
    view_audit_log(core, None, AuditLogRequest(channel="cli"))
    asyncio.run(run_for(0.3))
    assert [a.seq for a in read_anchors(anchor_file(core))] == [1, 2]
    with triggers_bypassed(engine) as session:
        session.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = verify_audit_log(core, None, VerifyAuditRequest(channel="cli"))
    assert not result.ok and "entry 2" in result.message
