"""The audit chain is keyed: without the key nobody can append an entry that verifies.

Someone with write access to the database (but not to the application's key, kept outside it)
inserts an entry in another user's name, with a correctly computed plain SHA-256 hash or with an
HMAC under a guessed key: verification names the forged entry either way.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, insert, select, text
from web_support import seed_agency, seed_user

from openilp.config import Settings
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry
from openilp.security.audit import (
    GENESIS_HASH,
    KEYED_SCHEME,
    PLAIN_SCHEME,
    audit_key_of,
    canonical_json,
    chain_head,
    entry_hash,
    verify_chain,
)
from openilp.services.accounts.records import user_info as get_user_info

KEY = "audit-key-for-tests-0123456789abcdef"


def _core(engine: Engine, tmp_path: Path, key: str = KEY) -> OpenILP:
    return OpenILP(Settings(data_dir=str(tmp_path), secret_key="s" * 40, audit_key=key), engine)


def _write(core: OpenILP, count: int) -> None:
    user_id = seed_user(core.engine, "auditee")
    with session_scope(core.engine) as session:
        actor = get_user_info(session, user_id)
    for number in range(count):
        with core.unit_of_work(actor) as uow:
            uow.audit(action="read", object_type="incident", object_id=number, purpose=f"case {number}")


def _forge(engine: Engine, *, scheme: str, key: bytes | None) -> int:
    """Append an entry as an attacker with database access would: next seq, linked to the head."""
    with session_scope(engine) as session:
        head = chain_head(session)
        assert head is not None
        seq, prev = head[0] + 1, head[1]
        victim = session.execute(select(AuditEntry).where(AuditEntry.seq == 1)).scalar_one()
        fields = {
            "seq": seq,
            "occurred_at": victim.occurred_at,
            "actor_user_id": victim.actor_user_id,
            "actor_username": victim.actor_username,
            "actor_role": victim.actor_role,
            "agency_id": victim.agency_id,
            "action": "disseminate",
            "object_type": "intel_record",
            "object_id": "7",
            "purpose": "forged in another user's name",
            "details": canonical_json({}),
            "prev_hash": prev,
            "hash_scheme": scheme,
        }
        session.execute(insert(AuditEntry).values(**fields, entry_hash=entry_hash(fields, key)))
    return seq


def test_entries_written_through_the_core_are_keyed_and_verify(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    core = _core(engine, tmp_path)
    _write(core, 3)
    with session_scope(engine) as session:
        assert set(session.scalars(select(AuditEntry.hash_scheme))) == {KEYED_SCHEME}
        assert audit_key_of(session) == KEY.encode()
        assert verify_chain(session).ok


def test_a_forged_entry_with_a_plain_hash_is_caught_as_a_downgrade(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    _write(_core(engine, tmp_path), 3)
    seq = _forge(engine, scheme=PLAIN_SCHEME, key=None)
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert (result.ok, result.bad_seq, result.problem) == (False, seq, "downgraded")


def test_a_forged_entry_keyed_with_a_guessed_key_is_caught(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    _write(_core(engine, tmp_path), 3)
    seq = _forge(engine, scheme=KEYED_SCHEME, key=b"a guess")
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert (result.ok, result.bad_seq, result.problem) == (False, seq, "edited")


def test_verification_needs_the_right_key(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    _write(_core(engine, tmp_path), 2)
    with session_scope(engine) as session:
        assert verify_chain(session, key=b"the wrong key").problem == "edited"
    engine.update_execution_options(openilp_audit_key=None)
    with session_scope(engine) as session:
        result = verify_chain(session)
    assert (result.ok, result.problem, result.bad_seq) == (False, "no_key", 1)


def test_plain_entries_from_before_keying_still_verify(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    user_id = seed_user(engine, "early")
    from openilp.security.audit import record_event

    with session_scope(engine) as session:  # an engine without a key: the chain as it was before
        record_event(session, action="login", object_type="session", actor=get_user_info(session, user_id))
    core = _core(engine, tmp_path)
    with core.unit_of_work(None) as uow:
        uow.audit(action="verify", object_type="audit_log")
    with session_scope(engine) as session:
        schemes = list(session.scalars(select(AuditEntry.hash_scheme).order_by(AuditEntry.seq)))
        result = verify_chain(session)
    assert schemes[0] == PLAIN_SCHEME and schemes[-1] == KEYED_SCHEME
    assert result.ok, result.message


def test_the_generated_audit_key_lives_in_the_data_folder_not_the_store(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    core = OpenILP(Settings(data_dir=str(tmp_path), secret_key="s" * 40), engine)
    key = (tmp_path / "audit_key").read_text().strip()
    assert len(key) >= 64
    _write(core, 1)
    with session_scope(engine) as session:
        stored = json.dumps([list(r) for r in session.execute(select(AuditEntry.__table__)).all()], default=str)
    assert key not in stored
    assert GENESIS_HASH in stored  # sanity: the dump holds the entries


def test_anchors_catch_a_removed_tail_and_a_forged_anchor(engine: Engine, tmp_path: Path) -> None:
    from test_audit import triggers_bypassed

    from openilp.security.audit_anchor import append_anchor, check_anchors, make_anchor, read_anchors

    seed_agency(engine)
    core = _core(engine, tmp_path)
    _write(core, 5)
    anchors = tmp_path / "anchors.jsonl"
    with session_scope(engine) as session:
        head = chain_head(session)
    assert head is not None
    append_anchor(make_anchor(KEY.encode(), head[0], head[1], core.clock()), anchors)
    with session_scope(engine) as session:
        assert check_anchors(session, read_anchors(anchors), KEY.encode()).ok
    with triggers_bypassed(engine) as session:  # the attacker removes the newest two entries
        session.execute(text("DELETE FROM audit_log WHERE seq >= :s"), {"s": head[0] - 1})
    with session_scope(engine) as session:
        assert verify_chain(session).ok  # the shorter chain verifies on its own …
        check = check_anchors(session, read_anchors(anchors), KEY.encode())
    assert not check.ok and "is gone" in check.problems[0]  # … the anchor does not
    forged = make_anchor(b"not the key", 2, "0" * 64, core.clock())
    with session_scope(engine) as session:
        assert "not signed" in check_anchors(session, [forged], KEY.encode()).problems[0]
