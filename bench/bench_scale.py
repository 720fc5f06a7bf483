"""A national store on PostgreSQL: synthetic incidents generated, bulk-loaded and mapped at scale.

``OPENILP_BENCH_SCALE_ROWS`` incidents (default 1,000,000; the published run used 10,000,000) of 40
synthetic agencies (seed 1) are generated as Parquet (``openilp synth incidents``) into
``OPENILP_BENCH_SCALE_DIR`` (reused when it already holds them), loaded into an empty PostgreSQL
database with ``openilp load-parquet``, and the map's month of the largest agency is asked for as
cells and as points. **Baseline, same run:** the normal import of the 60 St. Louis monthly files
into an empty PostgreSQL database, the path every import took before (rows/s compared).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import SHARED_DATA, import_files, timed, write_result
from openilp.config import Settings
from openilp.core import OpenILP
from openilp.db import make_engine, migrate, session_scope
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.common import store_fingerprint
from openilp.services.analysis.incident_cells import incident_cells
from openilp.services.analysis.incidents import incident_features
from openilp.services.imports.parquet import ParquetLoadRequest, load_parquet
from openilp.services.imports.synthetic import AGENCIES_FILE, SyntheticRequest, write_synthetic_incidents

ROWS = int(os.environ.get("OPENILP_BENCH_SCALE_ROWS", "1000000"))
POSTGRES_ADMIN_URL = os.environ.get("OPENILP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MONTH = (dt.date(2019, 6, 1), dt.date(2019, 6, 30))


def _fresh_database(name: str) -> Any:
    admin = create_engine(
        POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+pg8000://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    engine = make_engine(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    migrate(engine)
    return engine


def _core(engine: Any) -> OpenILP:
    settings = Settings(data_dir=tempfile.mkdtemp(prefix="openilp-bench-"), secret_key="b" * 40, audit_key="a" * 40)
    return OpenILP(settings, engine)


def _synthetic(folder: Path) -> dict[str, Any]:
    side = folder / AGENCIES_FILE
    if side.exists() and json.loads(side.read_text())["rows"] == ROWS:
        return {"reused": True}
    seconds, report = timed(
        lambda: write_synthetic_incidents(SyntheticRequest(output=folder, rows=ROWS, agencies=40, seed=1))
    )
    return {
        "reused": False,
        "generate_s": round(seconds, 1),
        "rows_per_s": round(ROWS / seconds),
        "files": report.files,
    }


def _map_month(engine: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        agency_id, code, held = conn.execute(
            text(
                "SELECT a.id, a.code, count(*) FROM incidents i JOIN agencies a ON a.id = i.agency_id "
                "GROUP BY a.id, a.code ORDER BY 3 DESC LIMIT 1"
            )
        ).one()
    with session_scope(engine) as session:
        cells_s, cells = timed(lambda: incident_cells(session, agency_id, None, *MONTH), repeat=5)
        points_s, points = timed(lambda: incident_features(session, [agency_id], None, *MONTH, 20000), repeat=3)
    fingerprint_s, _ = timed(lambda: store_fingerprint(engine, code), repeat=5)
    return {
        "agency": code,
        "agency_incidents": int(held),
        "month": [d.isoformat() for d in MONTH],
        "month_incidents": cells["counts"]["matching"],
        "cells": cells["counts"]["cells"],
        "cell_m": cells["counts"]["cell_m"],
        "cells_s": round(cells_s, 3),
        "fingerprint_s": round(fingerprint_s, 4),
        "cells_bytes": len(json.dumps(cells)),
        "points_s": round(points_s, 3),
        "points_returned": points["counts"]["returned"],
        "points_bytes": len(json.dumps(points)),
        "target_s": 0.5,
    }


def run() -> dict[str, Any]:
    folder = Path(os.environ.get("OPENILP_BENCH_SCALE_DIR", Path(tempfile.gettempdir()) / f"openilp-synth-{ROWS}"))
    result: dict[str, Any] = {"rows": ROWS, "agencies": 40, "seed": 1, "synthetic": _synthetic(folder)}
    load_avg_before = os.getloadavg()[0]
    engine = _fresh_database("openilp_bench_scale")
    began = time.perf_counter()
    report = load_parquet(_core(engine), None, ParquetLoadRequest((folder,)))
    load_s = time.perf_counter() - began
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    result["bulk_load"] = {
        "seconds": round(load_s, 1),
        "rows_per_s": round(ROWS / load_s),
        "copy_s": report.copy_s,
        "constraints_s": report.constraints_s,
        "database_gb": round(size / 1e9, 2),
    }
    result["map_month"] = _map_month(engine)
    engine.dispose()
    # Baseline in the same run: the normal import path (St. Louis, 60 files) into PostgreSQL.
    baseline = _fresh_database("openilp_bench")
    spec = load_source_spec("stlouis")
    seconds, imported = timed(lambda: import_files(baseline, spec, [SHARED_DATA / "stlouis" / "monthly"]))
    baseline.dispose()
    rows_read = imported.total("rows_read")
    result["baseline_import"] = {
        "rows": rows_read,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows_read / seconds),
    }
    result["ratio_rows_per_s"] = round(result["bulk_load"]["rows_per_s"] / result["baseline_import"]["rows_per_s"], 2)
    result["load_average"] = [round(load_avg_before, 1), round(os.getloadavg()[0], 1)]
    m, b = result["map_month"], result["bulk_load"]
    normal = result["baseline_import"]["rows_per_s"]
    speedup = round(m["points_s"] / max(m["cells_s"], 1e-9), 1)
    result["table_rows"] = [
        f"| bulk load of {ROWS:,} synthetic incidents (40 agencies) → PostgreSQL, COPY, keys and indexes at "
        f"the end | {b['seconds']} s ({b['rows_per_s']:,} rows/s; copy {b['copy_s']} s, keys and indexes "
        f"{b['constraints_s']} s) | normal import of St. Louis ({rows_read:,} rows) {normal:,} rows/s "
        f"| {result['ratio_rows_per_s']}× the rows/s |",
        f"| map month of the largest agency ({m['agency_incidents']:,} incidents, {m['month_incidents']:,} in "
        f"the month) as {m['cells']} cells of {m['cell_m']} m (target < 0.5 s) | {m['cells_s']} s, "
        f"{m['cells_bytes'] / 1e3:,.0f} kB | the same month as points: {m['points_s']} s, "
        f"{m['points_bytes'] / 1e6:,.1f} MB | {speedup}× |",
    ]
    write_result("scale_postgres", result)
    return result
