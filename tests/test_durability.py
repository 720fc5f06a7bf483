"""An acknowledged write is durable: committed before the response leaves the server.

The app runs in its own process under uvicorn (as in production), over the test's store. A tip
is visible to another connection the moment its 201 arrives, and killing the server with SIGKILL
right after the acknowledgement loses nothing: the tipster never holds an ID for a tip that does
not exist.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from web_support import seed_agency

from openilp.db.models import Tip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(engine: Engine, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """uvicorn serving the app over ``engine``'s store in a child process; yields (base URL, process)."""
    port = _free_port()
    env = {
        **os.environ,
        "OPENILP_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "OPENILP_DATA_DIR": str(data_dir),
        "OPENILP_SECRET_KEY": "durability-test-secret-key-0123456789",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "openilp.web.app:app_from_environment"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # generous: a loaded machine starts the server slowly
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not start")
            time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _tip_exists(engine: Engine, tip_id: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(Tip).where(Tip.public_id == tip_id)).scalar_one())


TIP = {"agency": "SLMPD", "kind": "tip", "narrative": "A van is parked behind the shop every night at 2 am."}


def test_an_acknowledged_tip_is_visible_to_another_connection_at_once(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    with server_process(engine, tmp_path) as (base, _process), httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(10):
            response = client.post("/api/v1/public/tips", json=TIP)
            assert response.status_code == 201, response.text
            assert _tip_exists(engine, response.json()["tip_id"])  # checked before anything else happens


def test_killing_the_server_right_after_the_acknowledgement_loses_no_tip(engine: Engine, tmp_path: Path) -> None:
    seed_agency(engine)
    acknowledged: list[str] = []
    for _ in range(3):
        with server_process(engine, tmp_path) as (base, process):
            response = httpx.post(f"{base}/api/v1/public/tips", json=TIP, timeout=30)
            process.send_signal(signal.SIGKILL)  # no graceful shutdown: nothing after the response runs
            assert response.status_code == 201, response.text
            acknowledged.append(response.json()["tip_id"])
    engine.dispose()  # connections of the killed server are gone; read with fresh ones
    assert all(_tip_exists(engine, tip_id) for tip_id in acknowledged)


def test_killing_the_server_mid_stream_loses_no_acknowledged_tip(engine: Engine, tmp_path: Path) -> None:
    """Four clients submit tips back to back; the server is killed while requests are in flight.

    Repeated over three server lives: every tip whose 201 reached a client is in the store afterwards,
    and at most the requests in flight at each kill (one per client) are stored unacknowledged.
    """
    seed_agency(engine)
    acknowledged: list[str] = []
    lock = threading.Lock()
    for life in range(3):
        with server_process(engine, tmp_path) as (base, process):
            stop = threading.Event()

            def submit(base: str = base, stop: threading.Event = stop) -> None:
                with httpx.Client(base_url=base, timeout=30) as client:
                    while not stop.is_set():
                        try:
                            response = client.post("/api/v1/public/tips", json=TIP)
                        except httpx.TransportError:
                            return  # the server died mid-request: no acknowledgement
                        if response.status_code == 201:
                            with lock:
                                acknowledged.append(response.json()["tip_id"])

            clients = [threading.Thread(target=submit) for _ in range(4)]
            for thread in clients:
                thread.start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # let at least a few tips through in this life
                with lock:
                    if len(acknowledged) >= 10 * (life + 1):
                        break
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            stop.set()
            for thread in clients:
                thread.join(timeout=60)
    engine.dispose()
    assert len(acknowledged) >= 30
    missing = [tip_id for tip_id in acknowledged if not _tip_exists(engine, tip_id)]
    assert missing == []
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Tip)).scalar_one()
    # Every acknowledged tip is stored; at most the requests in flight at each kill may be stored unacknowledged.
    assert len(acknowledged) <= stored <= len(acknowledged) + 3 * 4
