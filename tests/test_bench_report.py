"""The benchmark table keeps the published rows of benchmarks not run on this machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # the benchmarks are a folder of the checkout, not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench import report  # noqa: E402


def _result(name: str, seconds: float) -> dict[str, object]:
    return {
        "benchmark": name,
        "measured_at": "2026-01-01T00:00:00",
        "machine": {"cpus": 2},
        "rows": 10,
        "baseline_parse_s": 1.0,
        "sqlite": {"import_s": seconds, "rows_per_s": 5, "ratio_to_parse": seconds},
        "postgresql": {"error": "not reachable"},
    }


def test_running_one_benchmark_keeps_the_other_published_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc, published, results = tmp_path / "benchmarks.md", tmp_path / "published.json", tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(report, "DOC", doc)
    monkeypatch.setattr(report, "PUBLISHED", published)
    published.write_text(
        json.dumps(
            {
                "import_stlouis": _result("import_stlouis", 9.0),
                "other": {"benchmark": "other", "measured_at": "2025-12-31T00:00:00", "machine": {"cpus": 2}},
            }
        )
    )
    (results / "import_stlouis.json").write_text(json.dumps(_result("import_stlouis", 4.5)))

    report.write_summary(results)

    text = doc.read_text()
    assert "| 4.5 s (5 rows/s)" in text and "9.0 s" not in text  # the new run replaces its row
    assert "other: 2025-12-31T00:00:00" in text  # the benchmark not run here stays listed
    kept = json.loads(published.read_text())
    assert set(kept) == {"import_stlouis", "other"} and kept["import_stlouis"]["sqlite"]["import_s"] == 4.5
