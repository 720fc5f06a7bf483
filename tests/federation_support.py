"""Real OpenILP instances for the federation tests: separate stores, separate uvicorn servers.

:func:`instance` seeds a store (an agency, an analyst, a trained reviewer, an administrator),
generates the instance's Ed25519 key and serves it on a free 127.0.0.1 port in a thread
(:func:`browser_support.serve`); :func:`instance_process` serves a store from a child process
instead, so a test can stop or kill it. :func:`link` registers two instances as each other's
partners. Every instance uses the real clock (signatures carry real dates).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from browser_support import serve
from intel_support import make_agency, make_user
from sqlalchemy import Engine
from store_support import TEST_AUDIT_KEY, core_for

from openilp.core import OpenILP
from openilp.db import make_engine, migrate, session_scope
from openilp.intel.rules import SubjectInput
from openilp.security.actors import UserInfo
from openilp.services.federation import PartnerRequest, add_partner, generate_instance_key
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

__all__ = ["Instance", "instance", "instance_process", "link", "seed", "approved_record", "FEDERATION_SETTINGS"]

#: Settings of every test instance: a short partner timeout keeps the partial-answer test fast.
FEDERATION_SETTINGS: dict[str, object] = {"federation_timeout_ms": 2000, "federation_clock_skew_s": 300}
#: How long a child-process server may take to start on a loaded machine.
STARTUP_DEADLINE_S = 120


@dataclass
class Instance:
    """One running instance: its name, core (same store and data folder as the server), URL and people."""

    name: str
    agency: str
    core: OpenILP
    url: str
    analyst: UserInfo
    reviewer: UserInfo
    admin: UserInfo
    public_key: str


def seed(engine: Engine, agency: str) -> tuple[UserInfo, UserInfo, UserInfo]:
    """An agency with an analyst, a trained reviewer and an administrator."""
    with session_scope(engine) as session:
        make_agency(session, agency)
        prefix = agency.lower()
        analyst = make_user(session, f"{prefix}-ana", "analyst", agency=agency)
        reviewer = make_user(session, f"{prefix}-rev", "reviewer", agency=agency, trained_until=dt.date(2099, 1, 1))
        admin = make_user(session, f"{prefix}-admin", "administrator", agency=agency)
    return analyst, reviewer, admin


def _prepare(engine: Engine, data_dir: Path, name: str, agency: str) -> tuple[OpenILP, tuple[UserInfo, ...], str]:
    core = core_for(engine, data_dir, federation_name=name, **FEDERATION_SETTINGS)
    people = seed(engine, agency)
    key = generate_instance_key(core)
    return core, people, key.public_key


@contextmanager
def instance(name: str, agency: str, data_dir: Path, engine: Engine | None = None) -> Iterator[Instance]:
    """A seeded instance served in a thread; ``engine`` defaults to a new SQLite store in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if engine is None:
        engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
        migrate(engine)
    core, (analyst, reviewer, admin), public_key = _prepare(engine, data_dir, name, agency)
    with serve(engine, data_dir, federation_name=name, **FEDERATION_SETTINGS) as url:
        warm_up(url)
        yield Instance(name, agency, core, url, analyst, reviewer, admin, public_key)


def warm_up(url: str) -> None:
    """Walk the app's routes once (FastAPI builds its route table on the first request that needs it,
    which takes seconds on a loaded machine and would eat a partner's timeout)."""
    httpx.post(url + "/federation/v1/warm-up", timeout=STARTUP_DEADLINE_S)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def instance_process(name: str, agency: str, data_dir: Path) -> Iterator[tuple[Instance, subprocess.Popen[bytes]]]:
    """A seeded SQLite instance served by uvicorn in a child process (to stop or kill)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{data_dir / 'openilp.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    core, (analyst, reviewer, admin), public_key = _prepare(engine, data_dir, name, agency)
    port = _free_port()
    env = {
        **os.environ,
        "OPENILP_DATABASE_URL": url,
        "OPENILP_DATA_DIR": str(data_dir),
        "OPENILP_SECRET_KEY": "federation-test-secret-key-0123456789",
        "OPENILP_AUDIT_KEY": TEST_AUDIT_KEY,
        "OPENILP_FEDERATION_NAME": name,
        "OPENILP_AUDIT_ANCHOR_INTERVAL_S": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "openilp.web.app:app_from_environment"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    warm_up(base)
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"instance {name} did not start")
            time.sleep(0.1)
        yield Instance(name, agency, core, base, analyst, reviewer, admin, public_key), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        engine.dispose()


def link(a: Instance, b: Instance, groups: tuple[str, ...] = ("metro-task-force",)) -> None:
    """Register ``a`` and ``b`` as each other's partners."""
    for here, there in ((a, b), (b, a)):
        request = PartnerRequest(there.name, there.url, there.public_key, (there.agency,), groups, "MOU 2026/12")
        add_partner(here.core, here.admin, request)


def approved_record(
    inst: Instance, *, sensitivity: str, title: str, subjects: list[SubjectInput], summary: str = "", tlp: str = ""
) -> int:
    """An approved permanent record of ``inst``'s agency, its control official the analyst."""
    from intel_support import submission

    record = submit_record(
        inst.core,
        inst.analyst,
        SubmitRecordRequest(
            submission(
                inst.analyst.id,
                title=title,
                summary=summary or f"{title}: supplies cocaine to street dealers from a garage.",
                sensitivity=sensitivity,
                subjects=subjects,
                tlp=tlp,
            )
        ),
    )
    approve_record(inst.core, inst.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    return record.id
