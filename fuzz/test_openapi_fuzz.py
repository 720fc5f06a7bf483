"""Fuzzing of the JSON API from its OpenAPI schema with Schemathesis: no request may get a 500.

Run with ``make fuzz`` (not part of ``make test``: it sends well over 10,000 requests). Every
operation of the schema is called with generated valid and invalid data (Hypothesis), signed in
as an analyst and as an administrator, against the app in this process over a fresh SQLite store
holding one agency, a few incidents, a problem and a tip. The only check is the one that matters
here: a response below 500. ``FUZZ_EXAMPLES`` (default 100) sets the examples per operation and
role.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

import pyproj
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from store_support import core_for  # noqa: E402
from web_support import IncidentSpec, login, seed_agency, seed_incidents, seed_user  # noqa: E402

from openilp.db import make_engine  # noqa: E402
from openilp.web import create_app  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
ROLES = ("analyst", "administrator")
#: Seconds one call may take.
TIMEOUT_S = 300


def _build() -> tuple[object, dict[str, dict[str, str]]]:
    folder = Path(tempfile.mkdtemp(prefix="openilp-fuzz-"))
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite3'}")
    core = core_for(engine, folder, public_rate_per_s=1_000_000, public_burst=1_000_000)
    core.migrate()
    seed_agency(engine)
    moments = [dt.datetime(2019, 6, day, 12, tzinfo=dt.UTC) for day in range(1, 29)]
    # Projected as an import would (the seeded agency's CRS).
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", "ESRI:102696", always_xy=True)
    specs = []
    for day, moment in enumerate(moments):
        lon, lat = -90.2 + day * 0.001, 38.63 - day * 0.0005
        x_m, y_m = to_metres.transform(lon, lat)
        specs.append(IncidentSpec("burglary", moment, lon=lon, lat=lat, extra={"x_m": x_m, "y_m": y_m}))
    seed_incidents(engine, "SLMPD", specs)
    app = create_app(core)
    cookies: dict[str, dict[str, str]] = {}
    for role in ROLES:
        seed_user(engine, f"fuzz-{role}", role)
        client = TestClient(app)
        response = login(client, f"fuzz-{role}")
        assert response.status_code == 303, response.text[:300]
        cookies[role] = dict(client.cookies)
    return app, cookies


APP, COOKIES = _build()
schema = schemathesis.openapi.from_dict(APP.openapi())  # type: ignore[attr-defined]
schema.app = APP


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: schemathesis.Case, role: str) -> None:
    # Slow analyses (a learned forecast, hot spots on the boundary layer) may take longer than
    # Schemathesis' 10 s default on a loaded machine; speed is measured in bench/, not here.
    response = case.call(cookies=COOKIES[role], timeout=TIMEOUT_S)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"
