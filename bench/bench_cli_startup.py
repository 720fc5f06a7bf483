"""Start-up of the ``openilp`` command: wall time of ``openilp --help``, ``openilp --version`` and
``openilp knox --help`` (a command's help, which also builds its options).

Each run is a fresh interpreter (``python -c`` calling the same Typer app the ``openilp`` console
script calls), timed from spawn to exit; the best of :data:`REPEAT` runs counts. The process
reports its own peak resident memory at exit (``VmHWM`` of ``/proc/self/status``, which, unlike
``ru_maxrss``, does not include the forking benchmark process). Target: under 1 s on an idle
machine.

Baseline (same run): the eager start-up the command had before its heavy imports were made lazy,
reproduced by importing, before ``--help``, the modules the command modules used to import at
module level (the services, the database layer, SQLAlchemy, the source specifications, and so
numpy, pandas, SciPy and pyproj). The ratio is baseline time / lazy time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from bench.common import REPO_ROOT, write_result

REPEAT = 7
#: What the command modules imported at module level before (openilp/cli/*.py, 2024 layout).
EAGER_MODULES = (
    "sqlalchemy",
    "openilp.db",
    "openilp.db.models",
    "openilp.ingest.spec",
    "openilp.security.audit",
    "openilp.security.secretbox",
    "openilp.intel.errors",
    "openilp.intel.rules",
    "openilp.services.accounts.audit_log",
    "openilp.services.analysis.forecasting",
    "openilp.services.analysis.hotspots",
    "openilp.services.imports.run",
    "openilp.services.intel.agreements",
    "openilp.services.intel.retention",
    "openilp.services.analysis.nearrepeat",
    "openilp.services.analysis.stats",
    "openilp.services.accounts.totp",
    "openilp.services.analysis.trends",
    "openilp.services.accounts.users",
)


#: Prints the process's peak resident memory (kB) on stderr at exit (Linux).
_REPORT_PEAK = (
    "import atexit, sys\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('peak_kb=' + line.split()[1] + '\\n')\n"
    "atexit.register(_peak)\n"
)


def _code(args: list[str], eager: bool) -> str:
    preload = "".join(f"import {m}\n" for m in EAGER_MODULES) if eager else ""
    return f"{_REPORT_PEAK}{preload}from openilp.cli import app\nsys.argv = ['openilp', *{args!r}]\napp()\n"


def _run_once(args: list[str], eager: bool) -> tuple[float, float]:
    """Seconds from spawn to exit, and the peak resident memory (MB) of one fresh process."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _code(args, eager)], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"openilp {' '.join(args)} exited with {done.returncode}: {done.stderr[-500:]}")
    peak_kb = [line for line in done.stderr.splitlines() if line.startswith("peak_kb=")]
    return seconds, int(peak_kb[-1].split("=")[1]) / 1024 if peak_kb else float("nan")


def _best(args: list[str], eager: bool) -> dict[str, Any]:
    runs = [_run_once(args, eager) for _ in range(REPEAT)]
    best = min(runs)
    return {"best_s": round(best[0], 3), "runs_s": [round(s, 3) for s, _ in runs], "peak_rss_mb": round(best[1], 1)}


def run() -> dict[str, Any]:
    result: dict[str, Any] = {"repeat": REPEAT, "target_s": 1.0}
    for label, args in (("help", ["--help"]), ("version", ["--version"]), ("knox_help", ["knox", "--help"])):
        lazy, eager = _best(args, eager=False), _best(args, eager=True)
        result[label] = {"lazy": lazy, "eager_baseline": eager, "ratio": round(eager["best_s"] / lazy["best_s"], 1)}
    write_result("cli_startup", result)
    return result
