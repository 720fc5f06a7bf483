"""Helpers shared by the benchmarks: timing, result files, data paths, machine facts."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
SHARED_DATA = Path(os.environ.get("OPENILP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def timed(function: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall-clock seconds over ``repeat`` runs, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        # The 1, 5 and 15-minute load averages when the result was written (other work on the machine).
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **payload}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def import_files(engine: Any, spec: Any, paths: list[Path]) -> Any:
    """Import ``paths`` into ``engine`` through the import service, as ``openilp import`` does."""
    from openilp.config import Settings
    from openilp.core import OpenILP
    from openilp.services.imports.run import ImportRequest, import_source

    settings = Settings(data_dir=tempfile.mkdtemp(prefix="openilp-bench-"), secret_key="b" * 40, audit_key="a" * 40)
    return import_source(OpenILP(settings, engine), None, ImportRequest(source=spec, paths=tuple(paths)))
