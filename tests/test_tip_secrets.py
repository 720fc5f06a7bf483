"""Tip secrets and payout codes: keyed HMAC-SHA-256, one check per request, old argon2 tips still work.

A tip's secret is 128 random bits; hashing it with argon2id (a password hash: 64 MiB, hundreds of
milliseconds) gave anonymous visitors a cheap way to exhaust the server with wrong secrets, and
every tipster action checked it twice. These tests fail with argon2 in the tipster's path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from intel_support import Cast, cast, make_core, make_user
from sqlalchemy import Engine, select, update
from web_support import csrf_from, make_client

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import Tip, TipReward
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.security import passwords
from openilp.security.passwords import hash_password
from openilp.security.tipsecrets import TipSecretHasher
from openilp.services.intel.rewards import (
    PayoutRequest,
    RewardRequest,
    approve_reward,
    collect_payout_code,
    record_payout,
)
from openilp.services.intel.tips import (
    TipKey,
    TipMessageRequest,
    TipRequest,
    submit_tip,
    tipster_add_message,
    tipster_view,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

NARRATIVE = "The stolen van is parked in lot 4 behind the mall."


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path, people: Cast) -> OpenILP:
    return make_core(engine, tmp_path)


@pytest.fixture
def no_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail on any argon2 work: the tipster's path must not need it."""

    def refuse() -> object:
        raise AssertionError("argon2 used in the tipster's path")

    passwords._dummy_hash.cache_clear()
    monkeypatch.setattr(passwords, "_hasher", refuse)


def test_secrets_are_keyed_hashes_and_no_argon2_runs_for_a_tipster(
    engine: Engine, core: OpenILP, no_argon2: None
) -> None:
    new = submit_tip(core, None, TipRequest(agency="SLMPD", kind="tip", narrative=NARRATIVE))
    with session_scope(engine) as session:
        stored = session.scalars(select(Tip.secret_hash)).one()
    assert stored.startswith("hmac-sha256$") and new.secret not in stored
    assert tipster_view(core, None, TipKey(new.tip_id, new.secret)).tip_id == new.tip_id
    updated = tipster_add_message(core, None, TipMessageRequest(new.tip_id, new.secret, "He comes back at night."))
    assert updated.view is not None and [m.body for m in updated.view.messages] == ["He comes back at night."]
    for tip_id, secret in [(new.tip_id, "wrong"), ("T-0000-0000-0000-0000", new.secret), (new.tip_id, "")]:
        with pytest.raises(IntelNotFound):
            tipster_view(core, None, TipKey(tip_id, secret))


def test_a_copy_of_the_database_without_the_key_checks_nothing(engine: Engine, core: OpenILP) -> None:
    new = submit_tip(core, None, TipRequest(agency="SLMPD", kind="tip", narrative=NARRATIVE))
    with session_scope(engine) as session:
        stored = session.scalars(select(Tip.secret_hash)).one()
    assert core.tip_secrets.verify(stored, new.secret).ok
    assert not TipSecretHasher.from_audit_key(b"x" * 48).verify(stored, new.secret).ok


def test_a_tip_stored_with_argon2_still_works_and_is_rehashed(engine: Engine, core: OpenILP, people: Cast) -> None:
    new = submit_tip(core, None, TipRequest(agency="SLMPD", kind="tip", narrative=NARRATIVE))
    with session_scope(engine) as session:  # as stored before keyed hashes
        session.execute(update(Tip).values(secret_hash=hash_password(new.secret)))
    with pytest.raises(IntelNotFound):
        tipster_view(core, None, TipKey(new.tip_id, "wrong secret"))
    with session_scope(engine) as session:
        assert session.scalars(select(Tip.secret_hash)).one().startswith("$argon2id$")  # not touched by a failure
    assert tipster_view(core, None, TipKey(new.tip_id, new.secret)).narrative == NARRATIVE
    with session_scope(engine) as session:
        assert session.scalars(select(Tip.secret_hash)).one().startswith("hmac-sha256$")
    assert tipster_view(core, None, TipKey(new.tip_id, new.secret)).narrative == NARRATIVE


def test_payout_codes_are_keyed_and_old_argon2_codes_still_pay(engine: Engine, core: OpenILP, people: Cast) -> None:
    with session_scope(engine) as session:
        supervisor = make_user(session, "sup", "supervisor")
        admin = make_user(session, "adm", "administrator")
    new = submit_tip(core, None, TipRequest(agency="SLMPD", kind="tip", narrative=NARRATIVE))
    approve_reward(core, supervisor, RewardRequest(new.tip_id, amount=20_000, reason="Van recovered, arrest made."))
    issued = collect_payout_code(core, None, TipKey(new.tip_id, new.secret))
    assert issued.view is not None and issued.view.reward is not None and issued.view.reward.status == "code_issued"
    with session_scope(engine) as session:
        stored = session.scalars(select(TipReward.payout_code_hash)).one()
        assert stored is not None and stored.startswith("hmac-sha256$") and issued.code not in stored
        # As stored before keyed hashes:
        session.execute(update(TipReward).values(payout_code_hash=hash_password(issued.code)))
    with pytest.raises(IntelForbidden, match="does not match"):
        record_payout(core, admin, PayoutRequest(new.tip_id, "AAAA-BBBB-CCCC"))
    assert record_payout(core, admin, PayoutRequest(new.tip_id, issued.code.lower())).status == "paid"


def test_each_tipster_request_checks_the_secret_once(
    engine: Engine, core: OpenILP, people: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client: TestClient = make_client(engine, tmp_path)
    checks: list[str] = []
    original = TipSecretHasher.verify

    def counted(self: TipSecretHasher, stored: str | None, secret: str) -> object:
        checks.append(secret)
        return original(self, stored, secret)

    monkeypatch.setattr(TipSecretHasher, "verify", counted)
    token = csrf_from(client.get("/tips").text)
    created = client.post("/tips", data={"csrf_token": token, "agency": "SLMPD", "kind": "tip", "narrative": NARRATIVE})
    assert created.status_code == 200
    tip_id, secret = (
        created.text.split('id="tip-id">')[1].split("<")[0],
        created.text.split('id="tip-secret">')[1].split("<")[0],
    )
    assert checks == []
    steps = [
        ("/tips/follow-up", {"tip_id": tip_id, "secret": secret}, 200),
        ("/tips/follow-up/message", {"tip_id": tip_id, "secret": secret, "body": "He parks it there on Fridays."}, 200),
        ("/tips/follow-up/message", {"tip_id": tip_id, "secret": secret, "body": ""}, 200),
        ("/tips/follow-up", {"tip_id": tip_id, "secret": "wrong"}, 404),
    ]
    for path, fields, status in steps:
        checks.clear()
        response = client.post(path, data={"csrf_token": token, **fields})
        assert response.status_code == status, (path, response.text[:300])
        assert len(checks) == 1, (path, len(checks))
    assert (
        "He parks it there on Fridays."
        in client.post("/tips/follow-up", data={"csrf_token": token, "tip_id": tip_id, "secret": secret}).text
    )
