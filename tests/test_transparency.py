"""The public transparency report: aggregate counts only, small counts suppressed in every public output."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from store_support import core_for
from tasking_support import AGENCY, AS_OF, history, seed_store, trigger, write_halves
from web_support import make_client

from openilp.services.analysis.tasking import DeployRequest, OverrideRequest, make_deployment, override_deployment
from openilp.services.transparency import SUPPRESS_BELOW, TransparencyRequest, public_cell, transparency_report

REASON = "Confirmed burglary series in the east half; reviewed with the community board this week."


@given(st.integers(min_value=0, max_value=10**9))
def test_no_published_count_is_below_five(count: int) -> None:
    cell = public_cell(count)
    if count < SUPPRESS_BELOW:
        assert cell == "<5"
    else:
        assert int(cell.replace(",", "")) == count >= SUPPRESS_BELOW


def _numbers_ok(value: str) -> bool:
    """A public cell is "<5", a count of at least 5, a harm weight in days, or a sentence (the feedback
    test's status, a model's measured accuracy or why it was not measured, the harm weights' version),
    which counts nothing about anyone."""
    if value == "<5":
        return True
    if re.fullmatch(r"[\d,]+", value):
        return int(value.replace(",", "")) >= SUPPRESS_BELOW
    if re.fullmatch(r"[\d,.]+ days", value):  # a published harm weight, not a count
        return True
    # Group shares of residents and their ratios (the concentration audit), not counts of anyone.
    shares = ("most targeted ", "not published: fewer than 5", "not computed: ")
    return value.startswith(("passed: ", "PAI ", "not measured: ", "openilp-harm-", "0 days: ", *shares))


@pytest.fixture
def store(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    return _seeded(sqlite_engine, tmp_path)


@pytest.fixture
def any_store(engine: Engine, tmp_path: Path) -> Engine:
    """The same store on SQLite and, when the tests have one, PostgreSQL."""
    return _seeded(engine, tmp_path)


def _seeded(engine: Engine, tmp_path: Path) -> Engine:
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


def _held_and_overridden(store: Engine, tmp_path: Path, budgets: list[float]) -> int:
    core = core_for(store, tmp_path)
    overridden = 0
    for budget in budgets:
        request = DeployRequest(AGENCY, as_of=AS_OF, officer_minutes=budget, method="naive", near_repeat=False)
        held = make_deployment(core, None, request)
        assert held.status == "held" and held.held_because[0]["gate"] == "parity"
        cells = tuple(p["cell_id"] for p in held.deployment.places)
        issued = override_deployment(core, None, OverrideRequest(held.request, held.reference, cells, REASON))
        assert issued.status == "issued" and issued.override == REASON
        overridden += 1
    return overridden


def test_counts_are_read_from_the_audit_log_and_suppressed(store: Engine, tmp_path: Path) -> None:
    year = AS_OF.year  # the lists plan shifts of 2019: they belong to 2019, whenever they were decided
    core = core_for(store, tmp_path)
    before = transparency_report(core, None, TransparencyRequest(AGENCY, year))
    rows = {measure: value for _, measure, value in before.rows}
    assert rows["lists held by a civil-rights gate"] == "<5"

    _held_and_overridden(store, tmp_path, [800.0, 775.0, 750.0, 725.0, 700.0])
    after = transparency_report(core, None, TransparencyRequest(AGENCY, year))
    rows = {measure: value for _, measure, value in after.rows}
    assert rows["lists held by a civil-rights gate"] == "5"
    assert rows["held: patrol outside demographic parity (0.8-1.25)"] == "5"
    assert rows["issued on a supervisor's recorded override of the parity gate"] == "5"
    assert rows["lists planned with the naive forecaster"] == "5"
    assert rows["lists issued (passed every gate)"] == "<5"
    assert rows["decisions on the period's lists recorded after it ended"] == "10"  # five holds, five overrides
    assert all(_numbers_ok(value) for _, _, value in after.rows)
    # Another year, another quarter: nothing (suppressed).
    empty = transparency_report(core, None, TransparencyRequest(AGENCY, year - 1, 2))
    assert empty.period == f"{year - 1} Q2" and {v for _, m, v in empty.rows if "lists" in m} == {"<5"}


def test_a_list_counts_in_the_year_of_its_shift_not_of_its_audit_entry(any_store: Engine, tmp_path: Path) -> None:
    """Lists for a 2019 shift decided (or backfilled) now: the 2019 report and its second quarter count
    them, the current year's report (when their audit entries were written) does not."""
    core = core_for(any_store, tmp_path)
    _held_and_overridden(any_store, tmp_path, [800.0, 775.0, 750.0, 725.0, 700.0])
    recorded_in = dt.datetime.now(dt.UTC).year
    assert recorded_in != AS_OF.year  # the audit time lies outside the data year
    counted = {}
    for period in ((AS_OF.year, 0), (AS_OF.year, 2), (AS_OF.year, 1), (recorded_in, 0)):
        report = transparency_report(core, None, TransparencyRequest(AGENCY, *period))
        rows = {measure: value for _, measure, value in report.rows}
        counted[period] = (
            rows["lists held by a civil-rights gate"],
            rows["issued on a supervisor's recorded override of the parity gate"],
            rows.get("lists planned with the naive forecaster"),
            rows.get("decisions on the period's lists recorded after it ended"),
        )
    assert counted == {
        (AS_OF.year, 0): ("5", "5", "5", "10"),
        (AS_OF.year, 2): ("5", "5", "5", "10"),  # AS_OF is 3 June: the second quarter
        (AS_OF.year, 1): ("<5", "<5", None, "<5"),
        (recorded_in, 0): ("<5", "<5", None, "<5"),
    }


def test_every_public_output_suppresses_small_counts(store: Engine, tmp_path: Path) -> None:
    _held_and_overridden(store, tmp_path, [800.0, 775.0])  # two overrides: must show as <5
    client = make_client(store, tmp_path)  # nobody signed in
    page = client.get(f"/transparency?agency={AGENCY}&year={AS_OF.year}")
    assert page.status_code == 200 and 'id="transparency-period"' in page.text
    cells = re.findall(r'<td class="transparency-cell">([^<]*)</td>', page.text.replace("&lt;", "<"))
    assert cells and all(_numbers_ok(c) for c in cells)
    assert "2" not in {c.strip() for c in cells}
    exported = client.get(f"/transparency.csv?agency={AGENCY}&year={AS_OF.year}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert table and all(_numbers_ok(row["value"]) for row in table)
    overrides = [r for r in table if r["measure"].startswith("issued on a supervisor's recorded override")]
    assert overrides[0]["value"] == "<5"
    printable = client.get(f"/transparency.pdf?agency={AGENCY}&year={AS_OF.year}")
    assert printable.status_code == 200 and printable.headers["content-type"] == "application/pdf"
    assert printable.content.startswith(b"%PDF") and printable.content.count(b"/Type /Page") >= 2
    assert 'id="transparency-pdf"' in page.text
    # The PDF draws exactly the CSV's cells, so the same suppression holds in it.
    from openilp.services.transparency.pdf import report_lines

    report = transparency_report(core_for(store, tmp_path), None, TransparencyRequest(AGENCY, AS_OF.year))
    drawn = report_lines(report)
    assert [(m, v) for _, m, v in drawn] == [(r["measure"], r["value"]) for r in table]
    assert all(_numbers_ok(v) for _, _, v in drawn) and {s for s, _, _ in drawn if s} == {r["section"] for r in table}
    # Nothing in the report names a person: no user names, no reasons.
    assert "REASON" not in exported.text and "Confirmed burglary" not in page.text + exported.text
    assert client.get("/transparency?agency=NOPE").status_code == 400
    assert client.get(f"/transparency?agency={AGENCY}&quarter=7").status_code == 400


def test_the_command_line_prints_the_same_suppressed_report(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from openilp.cli import common
    from openilp.cli.main import app

    _held_and_overridden(store, tmp_path, [800.0])
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENILP_DATABASE_URL", str(store.url))
    monkeypatch.setenv("OPENILP_AUDIT_KEY", core_for(store, tmp_path).settings.audit_key)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    try:
        out = tmp_path / "report.csv"
        pdf = tmp_path / "report.pdf"
        result = CliRunner().invoke(
            app, ["transparency", "--agency", AGENCY, "--json", "--csv", str(out), "--pdf", str(pdf)]
        )
        assert result.exit_code == 0, result.output
        assert pdf.read_bytes().startswith(b"%PDF")
        data = json.loads(result.output)
        web = transparency_report(
            core_for(store, tmp_path), None, TransparencyRequest(AGENCY, dt.datetime.now(dt.UTC).year)
        )
        assert data == web.as_dict()
        assert out.read_text(encoding="utf-8") == web.to_csv()
        assert all(_numbers_ok(row["value"]) for row in data["rows"])
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()


def test_the_concentration_audit_is_published_over_five_lists_or_more(store: Engine, tmp_path: Path) -> None:
    from openilp.services.analysis.concentration import ConcentrationRequest, concentration_of_issued_lists

    year = AS_OF.year  # the audit counts the lists by the shifts they were for
    core = core_for(store, tmp_path)
    _held_and_overridden(store, tmp_path, [800.0, 775.0])
    report = transparency_report(core, None, TransparencyRequest(AGENCY, year))
    few = {m: v for s, m, v in report.rows if "Concentr" in s}
    assert few["issued lists audited"] == "<5"
    assert few["residents of the most-targeted neighbourhoods"] == "not published: fewer than 5 lists"
    _held_and_overridden(store, tmp_path, [750.0, 725.0, 700.0])
    report = transparency_report(core, None, TransparencyRequest(AGENCY, year))
    rows = {m: v for s, m, v in report.rows if s == "Concentration of patrol (The Markup 2021)"}
    assert rows["issued lists audited"] == "5"
    # The published shares are the audit's own, for the same lists (the minutes of the patrol log).
    audit = concentration_of_issued_lists(
        core, ConcentrationRequest(AGENCY, dt.date(year, 1, 1), dt.date(year, 12, 31), "minutes"), 1
    )
    assert audit.lists == 5 and audit.residents is not None
    for row in audit.residents.rows:
        cell = rows[f"{row.group} residents: most-targeted 5 %, median and never-targeted neighbourhoods"]
        assert cell.startswith(f"most targeted {100 * row.most_targeted_share:.1f} %")
        assert ("(flag)" in cell) == row.flagged
    assert all(_numbers_ok(value) for _, _, value in report.rows)
    # No neighbourhood is named in the public report.
    assert not any(name in str(report.as_dict()) for name in audit.names.values() if name)
