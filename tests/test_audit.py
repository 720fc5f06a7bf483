"""The audit log: append-only in the database, hash-chained, verified; concurrent writers keep one chain."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlalchemy.orm import Session
from web_support import seed_agency, seed_user

from openilp.db import session_scope
from openilp.db.engine import MIGRATIONS_DIR
from openilp.db.models import AuditEntry
from openilp.security.audit import (
    GENESIS_HASH,
    MAX_PURPOSE_LENGTH,
    AuditFilter,
    chain_head,
    entry_hash,
    list_entries,
    record_event,
    require_purpose,
    verify_chain,
)
from openilp.services.accounts.records import user_info as get_user_info


def _migration_0002():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("m0002", MIGRATIONS_DIR / "versions" / "0002_security_audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def triggers_bypassed(engine: Engine) -> Iterator[Session]:
    """What a privileged attacker would do: lift the append-only triggers, tamper, restore them."""
    with session_scope(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete"))
            yield session
            session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete"))
        else:
            session.execute(text("DROP TRIGGER audit_log_no_update"))
            session.execute(text("DROP TRIGGER audit_log_no_delete"))
            yield session
            for statement in _migration_0002()._SQLITE_TRIGGERS:
                session.execute(text(statement))


def _fill(engine: Engine, count: int = 6) -> None:
    seed_agency(engine)
    user_id = seed_user(engine, "auditee", role="analyst")
    with session_scope(engine) as session:
        actor = get_user_info(session, user_id)
        for number in range(count):
            record_event(
                session,
                action="read",
                object_type="incident",
                object_id=str(number),
                actor=actor,
                purpose=f"case 2019-{number:04d}",
                details={"n": number},
            )


def test_entries_chain_from_genesis(engine: Engine) -> None:
    _fill(engine, 3)
    with session_scope(engine) as session:
        entries, total = list_entries(session)
        assert total == 3
        oldest_first = sorted(entries, key=lambda e: e.seq)
        assert [e.seq for e in oldest_first] == [1, 2, 3]
        assert oldest_first[0].prev_hash == GENESIS_HASH
        assert oldest_first[1].prev_hash == oldest_first[0].entry_hash
        assert oldest_first[0].actor_username == "auditee"
        assert oldest_first[0].purpose == "case 2019-0000"
        result = verify_chain(session)
        assert result.ok and result.entries == 3 and result.problem is None
        assert (result.head_seq, result.head_hash) == chain_head(session)


def test_empty_log_verifies(engine: Engine) -> None:
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert result.ok and result.entries == 0 and result.head_seq is None


def test_entry_hash_covers_every_field(engine: Engine) -> None:
    _fill(engine, 1)
    with session_scope(engine) as session:
        entry = session.query(AuditEntry).one()
        fields = {c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns}
        assert entry_hash(fields) == entry.entry_hash
        for name, changed in [
            ("seq", 2),
            ("actor_username", "someone"),
            ("purpose", "other"),
            ("details", "{}"),
            ("action", "update"),
            ("object_id", "9"),
            ("prev_hash", "1" * 64),
        ]:
            assert entry_hash({**fields, name: changed}) != entry.entry_hash, name


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET purpose = 'x'", "DELETE FROM audit_log"])
def test_triggers_forbid_update_and_delete(engine: Engine, statement: str) -> None:
    _fill(engine, 2)
    with pytest.raises(SQLAlchemyDatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with session_scope(engine) as session:
        assert verify_chain(session).ok
        assert list_entries(session)[1] == 2


def test_orm_cannot_change_an_entry(engine: Engine) -> None:
    _fill(engine, 1)
    with pytest.raises(SQLAlchemyDatabaseError, match="append-only"), session_scope(engine) as session:
        session.query(AuditEntry).one().purpose = "rewritten"
        session.flush()


def test_postgresql_forbids_truncate(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    _fill(engine, 1)
    with pytest.raises(SQLAlchemyDatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_log"))


def test_verify_catches_an_edited_entry(engine: Engine) -> None:
    _fill(engine)
    with triggers_bypassed(engine) as session:
        session.execute(text("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 3"))
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert not result.ok
    assert (result.bad_seq, result.problem) == (3, "edited")
    assert "entry 3" in result.message


def test_verify_catches_an_edit_whose_hash_was_recomputed(engine: Engine) -> None:
    _fill(engine)
    with session_scope(engine) as session:
        entry = session.query(AuditEntry).filter_by(seq=3).one()
        fields = {c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns}
        forged = entry_hash({**fields, "purpose": "forged"})
    with triggers_bypassed(engine) as session:
        session.execute(text("UPDATE audit_log SET purpose = 'forged', entry_hash = :h WHERE seq = 3"), {"h": forged})
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert (result.ok, result.bad_seq, result.problem) == (False, 4, "broken_link")


@pytest.mark.parametrize(("deleted", "bad_seq"), [([3], 3), ([1], 1), ([2, 3, 4], 2)])
def test_verify_catches_deleted_entries(engine: Engine, deleted: list[int], bad_seq: int) -> None:
    _fill(engine)
    with triggers_bypassed(engine) as session:
        for seq in deleted:
            session.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert (result.ok, result.bad_seq, result.problem) == (False, bad_seq, "deleted")
    assert f"entry {bad_seq} is missing" in result.message


def test_verify_catches_deleted_and_renumbered_entries(engine: Engine) -> None:
    _fill(engine)
    with triggers_bypassed(engine) as session:
        session.execute(text("DELETE FROM audit_log WHERE seq = 3"))
        session.execute(text("UPDATE audit_log SET seq = seq - 1 WHERE seq > 3"))
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert not result.ok
    assert result.bad_seq == 3
    assert result.problem in {"reordered", "edited", "broken_link"}


def test_verify_catches_reordered_entries(engine: Engine) -> None:
    _fill(engine)
    with triggers_bypassed(engine) as session:  # swap the positions of entries 3 and 4
        session.execute(text("UPDATE audit_log SET seq = -3 WHERE seq = 3"))
        session.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = 4"))
        session.execute(text("UPDATE audit_log SET seq = 4 WHERE seq = -3"))
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert (result.ok, result.bad_seq, result.problem) == (False, 3, "reordered")


def test_truncated_tail_is_caught_by_the_head(engine: Engine) -> None:
    _fill(engine)
    with session_scope(engine) as session:
        head = chain_head(session)
    with triggers_bypassed(engine) as session:
        session.execute(text("DELETE FROM audit_log WHERE seq > 4"))
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert result.ok  # a shorter chain is internally valid …
    assert (result.head_seq, result.head_hash) != head  # … but no longer ends where it did


def test_concurrent_writers_keep_one_chain(engine: Engine) -> None:
    seed_agency(engine)
    per_thread, threads = 25, 4
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(name: str) -> None:
        try:
            start.wait()
            for number in range(per_thread):
                with session_scope(engine) as session:
                    record_event(session, action="search", object_type="incidents", details={"w": name, "n": number})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert result.ok, result.message
    assert result.entries == per_thread * threads


def test_entry_rolls_back_with_the_callers_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        record_event(session, action="create", object_type="thing")
        raise RuntimeError("the action failed")
    with session_scope(engine) as session:
        assert list_entries(session)[1] == 0


def test_filters(engine: Engine) -> None:
    _fill(engine, 3)
    with session_scope(engine) as session:
        record_event(session, action="login_failed", object_type="user", object_id="mallory")
        assert list_entries(session, AuditFilter(action="login_failed"))[1] == 1
        assert list_entries(session, AuditFilter(actor="AUDITEE"))[1] == 3
        assert list_entries(session, AuditFilter(object_type="incident", object_id="1"))[1] == 1
        entries, total = list_entries(session, limit=2)
        assert total == 4 and [e.seq for e in entries] == [4, 3]


@pytest.mark.parametrize(
    ("purpose", "message"),
    [
        (None, "purpose or case number is required"),
        ("", "purpose or case number is required"),
        ("   \t ", "purpose or case number is required"),
        ("x" * (MAX_PURPOSE_LENGTH + 1), "at most 500 characters"),
        ("case 1\nforged log line", "control characters"),
        ("case\x00", "control characters"),
    ],
)
def test_require_purpose_rejects(purpose: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        require_purpose(purpose)


def test_require_purpose_keeps_injection_strings_as_text(engine: Engine) -> None:
    hostile = "'; DROP TABLE audit_log; -- <script>alert(1)</script>"
    assert require_purpose(hostile) == hostile
    with session_scope(engine) as session:
        record_event(session, action="search", object_type="incidents", purpose=hostile)
    with session_scope(engine) as session:
        entries, _ = list_entries(session)
        assert entries[0].purpose == hostile
        assert verify_chain(session).ok


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "DROP TABLE", "object_type": "x"},
        {"action": "", "object_type": "x"},
        {"action": "read", "object_type": "Bad Type"},
        {"action": "read", "object_type": "x", "object_id": "9" * 201},
        {"action": "read", "object_type": "x", "purpose": "p" * 501},
        {"action": "read", "object_type": "x", "details": {"blob": "b" * 30_000}},
    ],
)
def test_record_event_rejects_bad_input_and_stores_nothing(engine: Engine, kwargs: dict[str, object]) -> None:
    with session_scope(engine) as session:
        with pytest.raises(ValueError):
            record_event(session, **kwargs)  # type: ignore[arg-type]
        assert list_entries(session)[1] == 0
