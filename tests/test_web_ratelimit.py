"""Anonymous writes share one rate limit; staff reads and page views are never limited by it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from web_support import login, make_client, seed_agency, seed_user

from openilp.db.models import Tip
from openilp.web import ratelimit

TIP = {"agency": "SLMPD", "kind": "tip", "narrative": "Two men carry televisions out of 12 Main St at night."}


def test_a_flood_of_anonymous_tips_is_answered_429_before_it_reaches_the_store(
    engine: Engine, tmp_path: Path, fast_password_hashing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bucket's clock stands still, so no token comes back however slowly the requests run.
    monkeypatch.setattr(ratelimit, "monotonic_now", lambda: 1000.0)
    seed_agency(engine)
    client = make_client(engine, tmp_path, public_rate_per_s=1, public_burst=3)
    codes = [client.post("/api/v1/public/tips", json=TIP).status_code for _ in range(6)]
    assert codes[:3] == [201, 201, 201]
    assert set(codes[3:]) == {429}
    refused = client.post("/api/v1/public/tips", json=TIP)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Tip)).scalar_one() == 3
    assert client.get("/tips").status_code == 200  # the form itself is not limited


def test_signed_in_staff_are_not_limited(engine: Engine, tmp_path: Path, fast_password_hashing: None) -> None:
    seed_agency(engine)
    seed_user(engine, "ana")
    client = make_client(engine, tmp_path, public_rate_per_s=1, public_burst=1)
    login(client, "ana")  # takes the only token
    assert all(client.get("/api/v1/incidents.geojson").status_code == 200 for _ in range(5))
