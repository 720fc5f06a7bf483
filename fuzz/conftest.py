"""Counts the requests the fuzz run sends (and their server errors) and prints the total.

Each test process writes its counts to a file in ``FUZZ_COUNT_DIR`` (default: a folder in the
system's temporary directory) when it ends; the controlling process adds them up and prints one
line, ``fuzz: N requests, M server errors``, which is the number docs/web.md reports.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

_COUNTS = {"requests": 0, "server_errors": 0}
COUNT_DIR = Path(os.environ.get("FUZZ_COUNT_DIR", Path(tempfile.gettempdir()) / "openilp-fuzz-counts"))


def count_request(status_code: int) -> None:
    """Count one request and whether it got a server error (5xx)."""
    _COUNTS["requests"] += 1
    if status_code >= 500:
        _COUNTS["server_errors"] += 1


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controlling process: start from zero
        COUNT_DIR.mkdir(parents=True, exist_ok=True)
        for old in COUNT_DIR.glob("*.json"):
            old.unlink()


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    COUNT_DIR.mkdir(parents=True, exist_ok=True)
    (COUNT_DIR / f"{worker}.json").write_text(json.dumps(_COUNTS))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    totals = {"requests": 0, "server_errors": 0}
    for path in COUNT_DIR.glob("*.json"):
        for key, value in json.loads(path.read_text()).items():
            totals[key] += int(value)
    terminalreporter.write_line(f"fuzz: {totals['requests']} requests, {totals['server_errors']} server errors")
