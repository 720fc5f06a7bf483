"""The transparency report publishes each model's measured out-of-sample accuracy, from recorded backtests."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from store_support import core_for
from tasking_support import AGENCY, AS_OF, history, seed_store, trigger, write_halves

from openilp.db import session_scope
from openilp.db.models import AuditEntry
from openilp.services.analysis.accuracy import PUBLISHED_COVERAGES, accuracy_cell
from openilp.services.analysis.forecasting import BacktestRequest, run_backtest
from openilp.services.analysis.tasking import DeployRequest, OverrideRequest, make_deployment, override_deployment
from openilp.services.transparency import TransparencyRequest, transparency_report
from openilp.services.transparency.pdf import paginate, report_lines, report_pdf

REASON = "Confirmed burglary series in the east half; reviewed with the community board this week."
ROW = "naive: measured out-of-sample accuracy"


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    areas, _ = write_halves(tmp_path)
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    (tmp_path / "disparity").mkdir()
    (tmp_path / "disparity" / f"{AGENCY}.toml").write_text(
        'demographics = "../residents.csv"\nid_column = "NHD_NUM"\ngroups = ["group_a", "group_b"]\n'
    )
    return engine


def _plan(store: Engine, tmp_path: Path) -> None:
    """One naive plan, held for parity and issued on an override (the model is then 'in use')."""
    core = core_for(store, tmp_path)
    request = DeployRequest(AGENCY, as_of=AS_OF, officer_minutes=800.0, method="naive", near_repeat=False)
    held = make_deployment(core, None, request)
    cells = tuple(p["cell_id"] for p in held.deployment.places)
    override_deployment(core, None, OverrideRequest(held.request, held.reference, cells, REASON))


def _rows(store: Engine, tmp_path: Path) -> dict[str, str]:
    year = AS_OF.year  # the year of the plan's shift, in which it counts
    report = transparency_report(core_for(store, tmp_path), None, TransparencyRequest(AGENCY, year))
    return {measure: value for _, measure, value in report.rows}


def test_accuracy_of_each_model_in_use_is_its_recorded_backtest(store: Engine, tmp_path: Path) -> None:
    _plan(store, tmp_path)
    assert _rows(store, tmp_path)[ROW].startswith("not measured: no backtest of this model was recorded")

    core = core_for(store, tmp_path)
    request = BacktestRequest(
        AGENCY, ("burglary",), AS_OF - dt.timedelta(days=140), AS_OF - dt.timedelta(days=50), ("naive", "kde")
    )
    report = run_backtest(core, None, request)
    summary = report.backtest.summary()
    means = {
        r.metric: float(r.mean) for r in summary[summary["method"] == "naive"].itertuples() if r.metric in _wanted()
    }
    assert len(means) == 6 and all(math.isfinite(v) for v in means.values())

    # One audit entry per method, with the protocol and the scores; never the in-sample oracle.
    with session_scope(store) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "backtest")).all()
        assert sorted(e.object_id for e in entries) == [f"{AGENCY}/kde", f"{AGENCY}/naive"]
        assert all("oracle" not in (e.details or "") for e in entries)

    value = _rows(store, tmp_path)[ROW]
    assert value.startswith(accuracy_cell({k: round(v, 4) for k, v in means.items()}))
    assert f"{AS_OF - dt.timedelta(days=140)} to {AS_OF - dt.timedelta(days=50)}" in value
    assert "13 forecasts of 7 days" in value and "each fitted before its period" in value
    # Recorded now, after 2019: published for 2019 because it measured 2019's data, with the day it was recorded.
    assert f"recorded on {dt.datetime.now(dt.UTC):%Y-%m-%d}, after the period, on its data" in value
    # Only models behind the period's plans are listed: kde was measured but planned nothing.
    assert "kde: measured out-of-sample accuracy" not in _rows(store, tmp_path)

    # A newer run replaces it; the printed value follows the newest.
    later = BacktestRequest(
        AGENCY, ("burglary",), AS_OF - dt.timedelta(days=98), AS_OF - dt.timedelta(days=50), ("naive",)
    )
    run_backtest(core, None, later)
    assert "7 forecasts of 7 days" in _rows(store, tmp_path)[ROW]


def test_a_backtest_recorded_after_the_period_is_not_published_for_it(store: Engine, tmp_path: Path) -> None:
    _plan(store, tmp_path)
    core = core_for(store, tmp_path)
    request = BacktestRequest(
        AGENCY, ("burglary",), AS_OF - dt.timedelta(days=98), AS_OF - dt.timedelta(days=50), ("naive",)
    )
    run_backtest(core, None, request)
    with session_scope(store) as session:
        from openilp.db.models import Agency
        from openilp.services.analysis.accuracy import latest_accuracy

        agency = session.scalars(select(Agency).where(Agency.code == AGENCY)).one()
        past = dt.datetime(2000, 1, 1)
        assert latest_accuracy(session, agency, "naive", past) is None
        assert latest_accuracy(session, agency, "naive", dt.datetime(2199, 1, 1)) is not None


def test_the_pdf_wraps_sentences_and_keeps_every_row(store: Engine, tmp_path: Path) -> None:
    _plan(store, tmp_path)
    run_backtest(
        core_for(store, tmp_path),
        None,
        BacktestRequest(
            AGENCY, ("burglary",), AS_OF - dt.timedelta(days=98), AS_OF - dt.timedelta(days=50), ("naive",)
        ),
    )
    report = transparency_report(core_for(store, tmp_path), None, TransparencyRequest(AGENCY, AS_OF.year))
    pages = paginate(report_lines(report))
    assert [line for page in pages for line in page] == report_lines(report)
    assert report_pdf(report).startswith(b"%PDF")
    # Many long rows flow over more pages, none left out.
    long_rows = report_lines(report) * 6
    assert len(paginate(long_rows)) > len(pages) and sum(len(p) for p in paginate(long_rows)) == len(long_rows)


def _wanted() -> set[str]:
    return {f"{m}@{c:g}" for m in ("pai", "pei") for c in PUBLISHED_COVERAGES}
