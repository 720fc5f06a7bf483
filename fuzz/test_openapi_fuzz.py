"""Fuzzing of the JSON API from its OpenAPI schema with Schemathesis: no request may get a 500.

Run with ``make fuzz`` (not part of ``make test``: it sends well over 10,000 requests). Two kinds
of run, each signed in as an analyst and as an administrator, against the app in this process over
a fresh SQLite store holding one agency and a month of incidents:

* **stateless**: every operation of the schema is called with generated valid and invalid data
  (Hypothesis), ``FUZZ_EXAMPLES`` (default 100) examples per operation and role;
* **stateful**: sequences of calls chained by the links Schemathesis infers between operations
  (an id one response returns used by the next request), ``FUZZ_STATEFUL_EXAMPLES`` (default 60)
  sequences per role.

The only check is the one that matters here: a response below 500. Every request is counted; the
total is printed at the end of the run (``fuzz/conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pyproj
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import count_request  # noqa: E402
from store_support import core_for  # noqa: E402
from web_support import IncidentSpec, login, seed_agency, seed_incidents, seed_user  # noqa: E402

from openilp.db import make_engine  # noqa: E402
from openilp.web import create_app  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "60"))
ROLES = ("analyst", "administrator")
#: Seconds one call may take.
TIMEOUT_S = 300


def _build() -> tuple[object, dict[str, dict[str, str]], Callable[[], None]]:
    """The app over a fresh store, the signed-in cookies per role, and a function that puts the
    store back as it was when the users had just signed in."""
    folder = Path(tempfile.mkdtemp(prefix="openilp-fuzz-"))
    store = folder / "store.sqlite3"
    engine = make_engine(f"sqlite:///{store}")
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
    pristine = folder / "pristine.sqlite3"
    _copy_store(store, pristine)

    def restore() -> None:
        engine.dispose()  # no connection of the app is in use between two scenarios
        _copy_store(pristine, store)

    return app, cookies, restore


def _copy_store(source: Path, target: Path) -> None:
    """Copy a SQLite store with SQLite's online backup (consistent, whatever its journal holds)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


APP, COOKIES, RESTORE_STORE = _build()
schema = schemathesis.openapi.from_dict(APP.openapi())  # type: ignore[attr-defined]
schema.app = APP


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: schemathesis.Case, role: str) -> None:
    # Slow analyses (a learned forecast, hot spots on the boundary layer) may take longer than
    # Schemathesis' 10 s default on a loaded machine; speed is measured in bench/, not here.
    response = case.call(cookies=COOKIES[role], timeout=TIMEOUT_S)
    count_request(response.status_code)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"


def _workflow(role: str) -> type:
    """A state machine over the inferred links, signed in as ``role``, failing on any 5xx."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario starts from the same store: which calls can follow which depends on what
            # earlier responses returned, and Hypothesis requires the same choices to lead to the same
            # calls (otherwise: FlakyStrategyDefinition, "data generation depending on external state").
            RESTORE_STORE()

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"cookies": COOKIES[role], "timeout": TIMEOUT_S}

        def validate_response(self, response: object, case: schemathesis.Case, **kwargs: object) -> None:
            status = int(response.status_code)  # type: ignore[attr-defined]
            count_request(status)
            assert status < 500, f"{case.method} {case.formatted_path} -> {status}"

    return Workflow


_STATEFUL = settings(
    max_examples=STATEFUL_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    stateful_step_count=10,
)
TestStatefulAnalyst = _STATEFUL(_workflow("analyst")).TestCase
TestStatefulAdministrator = _STATEFUL(_workflow("administrator")).TestCase
