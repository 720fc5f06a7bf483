"""Import worker processes die with the process that started them, however it ends.

A killed import used to leave its workers running for half an hour, each holding hundreds of
megabytes and the store's file descriptors. Here a parent starts two workers the way the importer
does (``init_worker``), is killed with SIGKILL, and both workers must be gone within seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

PARENT = """
import multiprocessing as mp, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from openilp.services.imports.parsing import init_worker

folder = Path(sys.argv[1])

def work(index):
    (folder / f"worker-{index}.pid").write_text(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork"), initializer=init_worker,
                             initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(work, i) for i in range(2)]
        time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]  # a zombie has ended; only its exit status waits to be read


def _wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_workers_die_when_the_import_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    try:
        pid_files = [tmp_path / f"worker-{i}.pid" for i in range(2)]
        assert _wait_for(lambda: all(p.exists() and p.read_text() for p in pid_files), 60), "workers did not start"
        workers = [int(p.read_text()) for p in pid_files]
        assert all(_alive(pid) for pid in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert _wait_for(lambda: not any(_alive(pid) for pid in workers), 15), "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for path in tmp_path.glob("worker-*.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(path.read_text()), signal.SIGKILL)
