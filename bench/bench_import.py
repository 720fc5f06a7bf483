"""Import speed: all 60 St. Louis monthly files into SQLite and PostgreSQL.

Each import is timed three times, into a new empty store each time, and the best counts (as for the
baseline). Baseline (same run, same files): merely parsing them with pandas (decode + ``read_csv``, all
columns as text). Targets (issue: foundation): the whole import within 3x the bare parse time, and
SQLite at least 50,000 rows/s on a 2-core machine.

Two more reference points are measured in the same run, to show where the time goes: pandas'
fastest parse of the same files (``read_csv`` with its own type inference), and the *store floor*:
SQLite copying the finished incident rows, already normalised, from one database file into an
empty store with the same schema and indexes (``INSERT ... SELECT`` in one transaction, no Python
per row), which is the least any importer writing these rows to SQLite can spend.
"""

from __future__ import annotations

import io
import os
import sqlite3
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text

from bench.common import SHARED_DATA, import_files, timed, write_result
from openilp.db import make_engine, migrate
from openilp.ingest.reading import decode_bytes
from openilp.ingest.spec import load_source_spec

STLOUIS = SHARED_DATA / "stlouis" / "monthly"
#: Imports timed per backend (the best counts, like the baseline's best of three parses).
IMPORT_RUNS = 3
POSTGRES_ADMIN_URL = os.environ.get("OPENILP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def bare_parse(files: list[Path]) -> int:
    """The baseline: decode each file and parse it with pandas, nothing else."""
    rows = 0
    for path in files:
        text_, _ = decode_bytes(path.read_bytes())
        rows += len(pd.read_csv(io.StringIO(text_), dtype=str, keep_default_na=False))
    return rows


def default_parse(files: list[Path]) -> int:
    """pandas' fastest parse of the same files: ``read_csv`` with its own type inference."""
    rows = 0
    for path in files:
        text_, _ = decode_bytes(path.read_bytes())
        rows += len(pd.read_csv(io.StringIO(text_)))
    return rows


def store_floor(imported: Path, folder: Path) -> float:
    """Seconds SQLite needs to copy the imported incidents into an empty store (same schema and
    indexes, one transaction, no Python per row)."""
    engine = make_engine(f"sqlite:///{folder}/floor.sqlite3")
    migrate(engine)
    engine.dispose()
    connection = sqlite3.connect(folder / "floor.sqlite3", isolation_level=None)
    try:
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "cache_size=-262144"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("ATTACH DATABASE ? AS imported", (str(imported),))
        for table in ("agencies", "import_files"):
            connection.execute(f"INSERT INTO main.{table} SELECT * FROM imported.{table}")
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.execute("INSERT INTO main.incidents SELECT * FROM imported.incidents")
        connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


def _postgres_engine() -> Any:
    admin = create_engine(
        POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+pg8000://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS openilp_bench"))
        conn.execute(text("CREATE DATABASE openilp_bench"))
    admin.dispose()
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/openilp_bench"
    engine = make_engine(url)
    migrate(engine)
    return engine


def run() -> dict[str, Any]:
    files = sorted(STLOUIS.rglob("*.csv"))
    if len(files) != 60:
        raise SystemExit(f"expected the 60 St. Louis monthly files under {STLOUIS}, found {len(files)}")
    spec = load_source_spec("stlouis")
    parse_s, rows = timed(lambda: bare_parse(files), repeat=3)
    default_s, _ = timed(lambda: default_parse(files), repeat=3)
    result: dict[str, Any] = {
        "rows": rows,
        "files": len(files),
        "baseline": "pandas.read_csv of the same files",
        "baseline_parse_s": round(parse_s, 3),
        "pandas_inferred_parse_s": round(default_s, 3),
        "targets": {"ratio_max": 3.0, "sqlite_rows_per_s_min": 50000},
    }
    with tempfile.TemporaryDirectory() as folder:
        # Best of three imports, each into a new empty store (as the baseline is the best of three).
        runs = []
        for attempt in range(IMPORT_RUNS):
            engine = make_engine(f"sqlite:///{folder}/bench{attempt}.sqlite3")
            migrate(engine)
            seconds, report = timed(partial(import_files, engine, spec, [STLOUIS]))
            runs.append(seconds)
            if attempt < IMPORT_RUNS - 1:
                engine.dispose()
        again_s, _ = timed(lambda: import_files(engine, spec, [STLOUIS]))
        seconds = min(runs)
        result["sqlite"] = {
            "import_s": round(seconds, 3),
            "import_runs_s": [round(r, 3) for r in runs],
            "rows_per_s": round(rows / seconds),
            "ratio_to_parse": round(seconds / parse_s, 2),
            "incidents_created": report.total("created"),
            "reimport_s": round(again_s, 3),
        }
        engine.dispose()
        last = Path(folder) / f"bench{IMPORT_RUNS - 1}.sqlite3"
        floor_s = min(store_floor(last, Path(folder) / f"floor{i}") for i in range(3))
        result["sqlite"]["store_floor_s"] = round(floor_s, 3)
        result["sqlite"]["store_floor_ratio_to_parse"] = round(floor_s / parse_s, 2)
    try:
        engine = _postgres_engine()
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        result["postgresql"] = {"error": f"PostgreSQL not reachable: {exc}"}
    else:
        runs = []
        for attempt in range(IMPORT_RUNS):
            if attempt:
                engine.dispose()
                engine = _postgres_engine()
            seconds, report = timed(partial(import_files, engine, spec, [STLOUIS]))
            runs.append(seconds)
        seconds = min(runs)
        result["postgresql"] = {
            "import_runs_s": [round(r, 3) for r in runs],
            "import_s": round(seconds, 3),
            "rows_per_s": round(rows / seconds),
            "ratio_to_parse": round(seconds / parse_s, 2),
            "incidents_created": report.total("created"),
        }
        engine.dispose()
    write_result("import_stlouis", result)
    return result
