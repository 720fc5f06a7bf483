"""The weekly CompStat pack of one district, from a cold start: time to a finished, stored PDF.

St. Louis district 3, week of 2019-06-03, built by
:func:`openilp.services.products.compstat.compstat_pack` on the SQLite store of the 60 monthly
files (the trend table at district and neighbourhood level, the near-repeat zones, the map, the
chart, the HTML and the tagged PDF, the stored version and its audit entry). Target (issue 17):
under 20 s for a district's weekly pack. The run happens in a fresh subprocess, so imports and
the first use of matplotlib and WeasyPrint are counted; the time to the imports is given apart.

Baseline (same run, same store): the CompStat table alone, ``openilp trends --by district`` for the
same week (what an analyst exports before laying a pack out by hand), in its own fresh subprocess.

:func:`run_strategic` times the strategic assessment of 2019
(:func:`openilp.services.products.strategic.strategic_assessment`: the year's trends against 2018,
places and displacement, the forecast accuracy, which runs the year's backtest when none is
recorded, the civil-rights audits, the change map and the PDF) the same way, from a cold start on the
same store, against the year's trend table by neighbourhood alone (``openilp trends --period ytd
--baseline last_year``). The issue sets no target for it; the pack's 20 s is the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, write_result

TARGET_S = 20.0
DISTRICT = "3"
WEEK = "2019-06-03"
#: The year of the strategic assessment (the store holds 2015 to 2019).
YEAR = 2019


def _child(engine_path: str, data_dir: str, what: str) -> dict[str, Any]:
    """Runs in a subprocess: the pack (or the table alone) from a cold start."""
    import datetime as dt
    import time

    start = time.perf_counter()
    from openilp.config import Settings
    from openilp.core import OpenILP
    from openilp.db import make_engine
    from openilp.services.analysis.trends import run_trends
    from openilp.services.products.compstat import CompStatPackRequest, compstat_pack, district_trend_request
    from openilp.services.products.strategic import StrategicAssessmentRequest, strategic_assessment

    imported = time.perf_counter()
    settings = Settings(data_dir=data_dir, secret_key="b" * 40, audit_key="c" * 40)
    core = OpenILP(settings, make_engine(f"sqlite:///{engine_path}"))
    core.migrate()
    week = dt.date.fromisoformat(WEEK)
    if what == "pack":
        produced = compstat_pack(core, None, CompStatPackRequest("SLMPD", DISTRICT, week))
        facts = {"pages": produced.pdf_pages, "pdf_kib": len(produced.pdf) // 1024, "tlp": produced.marking.tlp}
        facts["trend_rows"] = len(produced.content["trend_rows"])
    elif what == "strategic":
        produced = strategic_assessment(core, None, StrategicAssessmentRequest("SLMPD", YEAR))
        facts = {"pages": produced.pdf_pages, "pdf_kib": len(produced.pdf) // 1024, "tlp": produced.marking.tlp}
    elif what == "year_table":
        from openilp.services.analysis.trends import TrendRequest

        request = TrendRequest("SLMPD", as_of=dt.date(YEAR, 12, 31), periods=("ytd",), baselines=("last_year",))
        facts = {"trend_rows": len(run_trends(core, None, request).compstat())}
    else:
        result = run_trends(core, None, district_trend_request("SLMPD", week + dt.timedelta(days=6)))
        facts = {"trend_rows": sum(1 for row in result.compstat() if row["area"] == DISTRICT)}
    done = time.perf_counter()
    return {"seconds": round(done - start, 2), "imports_s": round(imported - start, 2), **facts}


def _in_subprocess(engine_path: Path, data_dir: Path, what: str) -> dict[str, Any]:
    code = (
        "import json; from bench.bench_products import _child; "
        f"print(json.dumps(_child({str(engine_path)!r}, {str(data_dir)!r}, {what!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run() -> dict[str, Any]:
    from bench.bench_forecast import STORE_DIR, store

    store("stlouis").dispose()  # imported once into the benchmark store, then reused
    engine_path = STORE_DIR / "stlouis.sqlite3"
    result: dict[str, Any] = {
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "data": f"St. Louis (60 monthly files), district {DISTRICT}, week of {WEEK}",
        "targets": {"seconds_max": TARGET_S},
        "baseline": "the CompStat table alone (openilp trends --by district) from a cold start",
    }
    with tempfile.TemporaryDirectory() as folder:
        result["openilp"] = _in_subprocess(engine_path, Path(folder), "pack")
        result["table_only"] = _in_subprocess(engine_path, Path(folder), "table")
    result["meets_targets"] = result["openilp"]["seconds"] < TARGET_S
    write_result("products_compstat", result)
    return result


def run_strategic() -> dict[str, Any]:
    """The strategic assessment of :data:`YEAR` from a cold start, and the year's trend table alone."""
    from bench.bench_forecast import STORE_DIR, store

    store("stlouis").dispose()
    engine_path = STORE_DIR / "stlouis.sqlite3"
    result: dict[str, Any] = {
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "data": f"St. Louis (60 monthly files), the year {YEAR} against {YEAR - 1}",
        "targets": {},
        "baseline": (
            "the year's trend table by neighbourhood alone (openilp trends --period ytd --baseline last_year) "
            "from a cold start"
        ),
    }
    with tempfile.TemporaryDirectory() as folder:
        result["openilp"] = _in_subprocess(engine_path, Path(folder), "strategic")
        result["table_only"] = _in_subprocess(engine_path, Path(folder), "year_table")
    write_result("products_strategic", result)
    return result
