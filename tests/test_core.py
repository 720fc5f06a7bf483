"""The core object: one transaction per service call, audited refusals, one clock, the secret key."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openilp.config import Settings
from openilp.core import OpenILP
from openilp.core.secret_key import check_key_for_host, resolve_secret_key
from openilp.db.models import Agency, AuditEntry
from openilp.errors import NotPermitted, PurposeRequired
from openilp.security.audit import verify_chain

FROZEN = dt.datetime(2019, 6, 3, 12, 0, tzinfo=dt.UTC)


def _core(engine: Engine, tmp_path: Path) -> OpenILP:
    return OpenILP(Settings(data_dir=str(tmp_path), secret_key="k" * 40), engine, clock=lambda: FROZEN)


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_unit_of_work_commits_before_the_block_returns(engine: Engine, tmp_path: Path) -> None:
    core = _core(engine, tmp_path)
    with core.unit_of_work(None) as uow:
        uow.session.add(Agency(code="TST", name="Test", timezone="UTC", crs="EPSG:32615"))
    # visible to another connection as soon as the service call is over
    assert _count(engine, Agency) == 1


def test_refusal_rolls_back_the_action_but_keeps_its_audit_entry(engine: Engine, tmp_path: Path) -> None:
    core = _core(engine, tmp_path)
    with pytest.raises(PurposeRequired), core.unit_of_work(None) as uow:
        uow.session.add(Agency(code="TST", name="Test", timezone="UTC", crs="EPSG:32615"))
        uow.audit(action="read", object_type="intel_record", object_id=1)
        raise uow.refuse(PurposeRequired("state a purpose"), action="read_refused", object_type="intel_record")
    assert _count(engine, Agency) == 0
    with engine.connect() as conn:
        entries = conn.execute(select(AuditEntry.action, AuditEntry.occurred_at, AuditEntry.details)).all()
    assert [e.action for e in entries] == ["read_refused"]
    assert entries[0].occurred_at.replace(tzinfo=dt.UTC) == FROZEN  # the core's clock, not the wall clock
    assert "state a purpose" in entries[0].details
    with Session(engine) as session:
        assert verify_chain(session).ok


def test_a_plain_error_rolls_back_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    core = _core(engine, tmp_path)
    with pytest.raises(NotPermitted), core.unit_of_work(None) as uow:
        uow.audit(action="read", object_type="intel_record", object_id=1)
        raise NotPermitted("no")
    assert _count(engine, AuditEntry) == 0


def test_keep_on_failure_writes_survive_the_rollback(engine: Engine, tmp_path: Path) -> None:
    core = _core(engine, tmp_path)
    with pytest.raises(NotPermitted), core.unit_of_work(None) as uow:
        uow.keep_on_failure(lambda s: s.add(Agency(code="KEEP", name="Kept", timezone="UTC", crs="EPSG:32615")))
        uow.session.add(Agency(code="GONE", name="Gone", timezone="UTC", crs="EPSG:32615"))
        raise NotPermitted("wrong payout code")
    with engine.connect() as conn:
        assert conn.execute(select(Agency.code)).scalars().all() == ["KEEP"]


def test_nested_units_join_the_outer_transaction(engine: Engine, tmp_path: Path) -> None:
    core = _core(engine, tmp_path)
    with pytest.raises(RuntimeError), core.unit_of_work(None) as outer:
        with core.unit_of_work(None) as inner:
            assert inner is outer
            inner.session.add(Agency(code="TST", name="Test", timezone="UTC", crs="EPSG:32615"))
        raise RuntimeError("the outer call fails after the inner one returned")
    assert _count(engine, Agency) == 0  # the inner call did not commit halfway


def test_secret_key_is_generated_once_per_data_folder_and_private(tmp_path: Path) -> None:
    key = resolve_secret_key(tmp_path)
    assert len(key) >= 64
    assert resolve_secret_key(tmp_path) == key
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    core = OpenILP(Settings(data_dir=str(tmp_path), database_url="sqlite://"))
    assert core.settings.secret_key == key
    other = OpenILP(Settings(data_dir=str(tmp_path / "elsewhere"), database_url="sqlite://"))
    assert other.settings.secret_key != key


def test_no_published_key_in_the_default_settings() -> None:
    assert Settings().secret_key == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "openilp.example.org"])
def test_a_published_or_short_key_is_refused_beyond_the_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="published"):
        check_key_for_host("change-me-openilp-development-key", host)
    with pytest.raises(ValueError, match="fewer than 32"):
        check_key_for_host("short", host)
    check_key_for_host("x" * 64, host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_any_key_is_allowed_on_the_loopback(host: str) -> None:
    check_key_for_host("change-me-openilp-development-key", host)
