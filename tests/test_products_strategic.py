"""The strategic assessment of a year on the bundled St. Louis sample (2018 and 2019): 2019 against 2018.

The assessment is built once per backend; its PDF is turned into grayscale PNG pages (pdftoppm) and
its text extracted, and its numbers are checked against what the services it reads return for the
same inputs: the year's totals against a direct count of the store, each category's row and z
against the trend service and the Poisson z of the library, the displacement check against the
assessment library's WDD and WDQ of its own counts, the forecast accuracy against the backtest the
forecast service recorded, and the civil-rights rows against the transparency report. The marking is
on every page; the command line and the web app make the same product; officers and partners may not.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import BACKENDS, _postgres_engine, _truncate_postgres
from products_support import page_texts, pdftoppm_pages, structure_of
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from store_support import core_for, import_source
from typer.testing import CliRunner
from web_support import csrf_from, login, make_client, seed_user

from openilp.analysis.assessment import wdd, wdq
from openilp.analysis.trends import ALL_AREAS, poisson_z
from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db import make_engine, migrate
from openilp.db.models import Agency, AuditEntry, Incident
from openilp.db.product_models import Product
from openilp.errors import NotPermitted
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis import trends as trend_service
from openilp.services.analysis.common import NoEventsError
from openilp.services.analysis.concentration import ConcentrationRequest, concentration_audit
from openilp.services.analysis.events import load_events, local_day_bounds
from openilp.services.analysis.trends import run_trends
from openilp.services.imports.demo import DEMO_DATA_DIR
from openilp.services.products.common import ProducedProduct, rerender
from openilp.services.products.strategic import (
    StrategicAssessmentRequest,
    strategic_assessment,
    year_trend_request,
)
from openilp.services.transparency import TransparencyRequest, transparency_report

pytestmark = [pytest.mark.realdata, pytest.mark.slow, pytest.mark.usefixtures("fast_password_hashing")]

YEAR = 2019
MARKING = "TLP:GREEN · LAW ENFORCEMENT USE"
runner = CliRunner()


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The bundled St. Louis sample (every month of 2018 and 2019), an analyst, an officer and a partner."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('strategic') / 'openilp.sqlite3'}")
        migrate(engine)
    else:
        engine = _postgres_engine()
        _truncate_postgres(engine)
    import_source(engine, load_source_spec("stlouis"), [DEMO_DATA_DIR / "stlouis" / "monthly"])
    for role in ("analyst", "officer", "partner"):
        seed_user(engine, f"strategic-{role}", role=role)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture(scope="module")
def built(store: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[OpenILP, ProducedProduct]:
    core = core_for(store, tmp_path_factory.mktemp("core"))
    return core, strategic_assessment(core, None, StrategicAssessmentRequest("SLMPD", YEAR))


def _flat(pdf: bytes) -> str:
    return " ".join(" ".join(page_texts(pdf)).split())


def _count(engine: Engine, year: int, last: tuple[int, int] = (12, 31)) -> int:
    """Incidents of SLMPD whose start lies in the local calendar year up to the day ``last`` (month, day),
    what the trend service counts."""
    with Session(engine) as session:
        agency = session.scalars(select(Agency).where(Agency.code == "SLMPD")).one()
        start, end = local_day_bounds(agency.timezone, dt.date(year, 1, 1), dt.date(year, *last))
        return int(
            session.scalar(
                select(func.count())
                .select_from(Incident)
                .where(
                    Incident.agency_id == agency.id,
                    Incident.occurred_from >= start.to_pydatetime(),
                    Incident.occurred_from < end.to_pydatetime(),
                )
            )
            or 0
        )


def _change(current: int, last: int) -> str:
    return f"{100.0 * (current / last - 1.0):+.1f}%"


def test_year_totals_and_categories_equal_the_store_and_the_trend_service(
    built: tuple[OpenILP, ProducedProduct],
) -> None:
    core, produced = built
    content = produced.content
    totals = content["totals"]
    assert content["as_of"] == "2019-12-31" and content["partial_year"] is False
    assert totals["current"] == _count(core.engine, YEAR) > 40_000
    assert totals["last_year"] == _count(core.engine, YEAR - 1) > 40_000
    assert totals["z"] == round(float(poisson_z(totals["current"], totals["last_year"])), 2)
    trend = run_trends(core, None, year_trend_request("SLMPD", dt.date(YEAR, 12, 31), "neighbourhood"))
    expected = [row for row in trend.compstat() if row["area"] == ALL_AREAS]
    assert [c["category"] for c in content["categories"]] == [r["category"] for r in expected]
    for shown, row in zip(content["categories"], expected, strict=True):
        cell = row["periods"]["ytd"]
        assert {k: shown[k] for k in ("current", "last_year", "change_pct", "z", "q_value", "severity")} == {
            k: cell[k] for k in ("current", "last_year", "change_pct", "z", "q_value", "severity")
        }
        assert shown["z"] == pytest.approx(float(poisson_z(cell["current"], cell["last_year"])), abs=0.006)
    assert sum(c["current"] for c in content["categories"]) == totals["current"]
    text = _flat(produced.pdf)
    assert f"{totals['current']:,} incidents recorded in {YEAR}, against {totals['last_year']:,}" in text
    assert f"({_change(totals['current'], totals['last_year'])}; Poisson z {totals['z']:+.2f}" in text
    for shown in content["categories"]:
        numbers = (
            f"{shown['category_label']} {shown['current']:,} {shown['last_year']:,} "
            f"{_change(shown['current'], shown['last_year'])} {shown['z']:+.2f}"
        )
        assert numbers in text, numbers


def test_areas_and_displacement_equal_the_trend_service_and_the_assessment_library(
    built: tuple[OpenILP, ProducedProduct],
) -> None:
    core, produced = built
    content = produced.content
    districts = run_trends(core, None, year_trend_request("SLMPD", dt.date(YEAR, 12, 31), "district"))
    by_district: dict[str, list[int]] = {}
    for row in districts.compstat():
        if row["area"] != ALL_AREAS and row["area"] != "(unknown)":
            pair = by_district.setdefault(row["area"], [0, 0])
            pair[0] += row["periods"]["ytd"]["current"]
            pair[1] += row["periods"]["ytd"]["last_year"]
    assert {d["area"]: [d["current"], d["last_year"]] for d in content["districts"]} == by_district
    busiest = content["neighbourhoods_busiest"]
    assert len(busiest) == 10 and busiest == sorted(busiest, key=lambda a: -a["current"])
    falls = content["neighbourhoods_falling"]
    assert falls and all(a["z"] < 0 for a in falls) and falls == sorted(falls, key=lambda a: a["z"])
    shift = content["displacement"]
    assert shift["why_not"] == "" and shift["area"] == falls[0]["area"] and shift["control_id"]
    counts = {name: (c["pre"], c["post"]) for name, c in shift["counts"].items()}
    assert set(counts) == {"target", "buffer", "control", "control_buffer"}
    # The target's located incidents are close to its recorded ones (the table above).
    assert abs(counts["target"][1] - falls[0]["current"]) <= 0.1 * falls[0]["current"]
    reference = wdd(
        treated=counts["target"],
        control=counts["control"],
        displacement=counts["buffer"],
        displacement_control=counts["control_buffer"],
    )
    assert shift["wdd"]["estimate"] == pytest.approx(reference.estimate, abs=1e-3)
    assert shift["wdd"]["standard_error"] == pytest.approx(reference.standard_error, abs=1e-3)
    assert shift["wdd"]["p_value"] == pytest.approx(reference.p_value, abs=1e-3)
    quotient = wdq(treated=counts["target"], control=counts["control"], displacement=counts["buffer"])
    assert shift["wdq"]["wdq"] == pytest.approx(quotient.wdq, abs=1e-3)
    assert shift["wdq"]["total_net_effect"] == pytest.approx(quotient.total_net_effect, abs=1e-3)
    assert shift["wdq_interpretation"] == quotient.interpretation
    text = _flat(produced.pdf)
    assert f"The neighbourhood that fell most, {shift['area_name']} (z {shift['z']:+.2f})" in text
    assert f"estimate {reference.estimate:+.1f} crimes (standard error {reference.standard_error:.1f}" in text
    assert f"total net effect {quotient.total_net_effect:.1f} crimes" in text
    assert all("for the goal" not in note for note in shift["notes"])  # a year has no SARA goal


def test_forecast_accuracy_is_the_backtest_the_forecast_service_recorded(
    built: tuple[OpenILP, ProducedProduct],
) -> None:
    core, produced = built
    rows = produced.content["forecast_accuracy"]
    assert {r["method"] for r in rows} == {"toprank", "naive"} and produced.content["forecast_note"] == ""
    with Session(core.engine) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "backtest", AuditEntry.object_type == "forecast_model")
        ).all()
    recorded = {str(e.object_id).split("/")[1]: json.loads(e.details or "{}") for e in entries}
    text = _flat(produced.pdf)
    for row in rows:
        details = recorded[row["method"]]
        assert (row["date_from"], row["date_to"]) == (details["date_from"], details["date_to"])
        assert row["date_from"] == "2019-11-06" and row["date_to"] == "2019-12-31" and row["periods"] == 8
        assert row["categories"] == ["burglary"]
        for metric, value in details["metrics"].items():
            assert row["metrics"][metric] == pytest.approx(value, abs=1e-9)
        pai = " ".join(f"{row['metrics'][f'pai@{c}']:.2f}" for c in ("0.01", "0.02", "0.05"))
        assert pai in text
    toprank = next(r for r in rows if r["method"] == "toprank")
    assert toprank["metrics"]["pai@0.01"] > 1.0  # better than chance
    assert "run while building this assessment" in text


def test_civil_rights_rows_are_the_transparency_report_and_the_concentration_audit(
    built: tuple[OpenILP, ProducedProduct],
) -> None:
    core, produced = built
    report = transparency_report(core, None, TransparencyRequest("SLMPD", YEAR))
    expected = [
        {"section": s, "measure": m, "value": v}
        for s, m, v in report.rows
        if s in ("Deployment lists", "Models in use")
    ]
    assert produced.content["civil_rights"] == expected
    assert any("runaway-feedback" in row["measure"] for row in expected)
    audit = concentration_audit(core, None, ConcentrationRequest("SLMPD", dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)))
    shown = produced.content["concentration"]
    assert (shown["lists"], shown["places"], shown["flagged"]) == (audit.lists, audit.places, audit.flagged)
    assert shown["why_no_residents"] == audit.why_no_residents
    text = _flat(produced.pdf)
    assert "runaway-feedback test (Ensign et al. 2018) passed" in text
    assert f"{audit.lists} deployment lists were issued for the shifts of {YEAR}" in text


def test_every_page_is_marked_renders_in_grayscale_and_is_tagged(built: tuple[OpenILP, ProducedProduct]) -> None:
    _, produced = built
    assert produced.marking.tlp == "TLP:GREEN" and not produced.marking.criminal_intelligence
    assert produced.withheld == ()
    pages = pdftoppm_pages(produced.pdf)
    texts = [" ".join(t.split()) for t in page_texts(produced.pdf)]
    assert len(pages) == len(texts) == produced.pdf_pages >= 4
    assert all(png[:4] == b"\x89PNG" for png in pages)
    for number, flat in enumerate(texts, start=1):
        assert MARKING in flat, number
        assert "No criminal intelligence (28 CFR Part 23) records" in flat, number
        assert f"Page {number} of {len(texts)}" in flat
    marked, elements = structure_of(produced.pdf)
    roles = [role for role, _ in elements]
    assert marked and roles.count("/H1") == 1 and roles.count("/H2") >= 6 and roles.count("/Table") >= 6
    figures = [alt for role, alt in elements if role == "/Figure"]
    assert len(figures) == 2
    monthly = produced.content["monthly"]
    assert figures[0].startswith(f"Chart: Incidents per month, {YEAR} against {YEAR - 1}. {YEAR}: ")
    assert ", ".join(str(n) for n in monthly[str(YEAR)]) in figures[0]
    assert sum(monthly[str(YEAR)]) == produced.content["totals"]["current"]
    assert figures[1].startswith(f"Map: Change by neighbourhood, {YEAR} against the same days of {YEAR - 1}.")
    assert f"Outlined: {produced.content['displacement']['area_name']}." in figures[1]


def test_stored_with_its_parameters_and_rebuilt_with_the_same_numbers(built: tuple[OpenILP, ProducedProduct]) -> None:
    core, produced = built
    with Session(core.engine) as session:
        row = session.get(Product, produced.product_id)
        assert row is not None and row.kind == "strategic" and row.data_cutoff is not None
        assert json.loads(row.parameters) == {
            "agency_code": "SLMPD",
            "year": YEAR,
            "backtest_categories": ["burglary"],
            "backtest_weeks": 8,
            "contact": "",
        }
    again = rerender(core, None, produced.product_id)
    assert again.same_numbers and again.changed == ()
    assert again.product.version == produced.version + 1
    # The backtest run while building the first version is recorded: the second finds it, runs none.
    assert "run while building" not in _flat(again.product.pdf)


def test_the_command_line_and_the_web_app_make_the_same_product(
    store: Engine, built: tuple[OpenILP, ProducedProduct], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, produced = built
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", store.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()  # type: ignore[attr-defined]
    try:
        target, html = tmp_path / "strategic.pdf", tmp_path / "strategic.html"
        arguments = ["products", "strategic", "--agency", "SLMPD", "--year", str(YEAR), "-o", str(target)]
        result = runner.invoke(app, [*arguments, "--html", str(html), "--json"])
        assert result.exit_code == 0, result.output
        cli = json.loads(result.output)
        assert target.read_bytes()[:5] == b"%PDF-" and cli["delivered_to"] == [str(target)]
        page = html.read_text(encoding="utf-8")
        assert "<h1" in page and f"Strategic assessment {YEAR}" in page and MARKING in page
        assert f'alt="Chart: Incidents per month, {YEAR} against {YEAR - 1}.' in page
        missing = runner.invoke(app, ["products", "strategic", "--agency", "SLMPD", "--year", "2023", "-o", "x.pdf"])
        assert missing.exit_code == 1 and "no incidents in 2023" in missing.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()  # type: ignore[attr-defined]
    client = make_client(store, tmp_path / "web")
    assert login(client, "strategic-analyst").status_code == 303
    page = client.get("/products")
    assert page.status_code == 200 and 'id="strategic-form"' in page.text
    response = client.post("/api/v1/products/strategic", json={"year": YEAR})
    assert response.status_code == 201, response.text
    web = response.json()
    assert cli["content_sha256"] == web["content_sha256"] == produced.content_sha256
    assert cli["marking"] == web["marking"] == produced.marking.as_dict()
    refused = client.post("/products/strategic", data={"csrf_token": csrf_from(page.text), "year": "1999"})
    assert refused.status_code == 400 and 'id="product-error"' in refused.text and "2000" in refused.text


def test_officers_and_partners_may_not_make_one(store: Engine, tmp_path: Path) -> None:
    core = core_for(store, tmp_path / "core")
    with Session(store) as session:
        from openilp.services.accounts.records import user_by_username, user_info

        officer = user_by_username(session, "strategic-officer")
        assert officer is not None
        info = user_info(session, officer.id)
    assert info is not None
    with pytest.raises(NotPermitted, match="products:produce"):
        strategic_assessment(core, info, StrategicAssessmentRequest("SLMPD", YEAR))
    anonymous = make_client(store, tmp_path / "anonymous")
    assert anonymous.post("/api/v1/products/strategic", json={"year": YEAR}).status_code == 401
    for role in ("officer", "partner"):
        client = make_client(store, tmp_path / role)
        assert login(client, f"strategic-{role}").status_code == 303
        assert client.post("/api/v1/products/strategic", json={"year": YEAR}).status_code == 403
        page = client.get("/products")
        assert 'id="strategic-form"' not in page.text
    with pytest.raises(NoEventsError, match="no incidents in 2030"):
        strategic_assessment(core, None, StrategicAssessmentRequest("SLMPD", 2030))


def test_a_protected_attribute_never_enters_the_assessment(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incident frame carrying a protected attribute is refused before any number is computed."""

    def leaky(engine: Engine, query: Any) -> tuple[pd.DataFrame, Any]:
        frame, agency = load_events(engine, query)
        return frame.assign(race="x"), agency

    monkeypatch.setattr(trend_service, "load_events", leaky)
    core = core_for(store, tmp_path / "core")  # a fresh result cache
    with pytest.raises(ValueError, match="race"):
        strategic_assessment(core, None, StrategicAssessmentRequest("SLMPD", YEAR))


def test_a_year_the_data_stop_in_is_compared_over_the_same_days(engine: Engine, tmp_path: Path) -> None:
    """With 2019 known to the end of March only, 2019 to the last day is compared with the same days of 2018."""
    from openilp.services.analysis.common import latest_incident_date

    monthly = DEMO_DATA_DIR / "stlouis" / "monthly"
    first_quarter = [monthly / "2019" / f"{month}2019.csv.gz" for month in ("january", "february", "march")]
    import_source(engine, load_source_spec("stlouis"), [monthly / "2018", *first_quarter])
    core = core_for(engine, tmp_path)
    produced = strategic_assessment(core, None, StrategicAssessmentRequest("SLMPD", YEAR, backtest_weeks=2))
    content = produced.content
    as_of = dt.date.fromisoformat(content["as_of"])
    assert content["partial_year"] is True and as_of == latest_incident_date(engine, "SLMPD")
    assert as_of.month == 3
    assert content["totals"]["current"] == _count(engine, YEAR, (as_of.month, as_of.day))
    assert content["totals"]["last_year"] == _count(engine, YEAR - 1, (as_of.month, as_of.day))
    assert len(content["monthly"][str(YEAR)]) == 3 and len(content["monthly"][str(YEAR - 1)]) == 12
    assert [(r["date_from"], r["date_to"]) for r in content["forecast_accuracy"]] == [
        (str(as_of - dt.timedelta(days=13)), str(as_of))
    ] * 2
    text = _flat(produced.pdf)
    assert f"The data end on {as_of}" in text and f"1 January to {as_of:%d %B} {YEAR}" in text


def test_problems_evaluated_in_the_year_are_listed_with_their_stored_assessment(store: Engine, tmp_path: Path) -> None:
    """A SARA problem evaluated in 2019 is listed with its newest stored assessment; one of 2017 is not.

    Runs last: the problems it opens are part of every later assessment of the store.
    """
    from openilp.core.boundaries import BoundaryRegistry
    from openilp.db import session_scope
    from openilp.db.models import ProblemEvaluation
    from openilp.services.accounts.records import user_by_username, user_info
    from openilp.services.problems import OpenProblemRequest, open_problem

    core = core_for(store, tmp_path / "core")
    with Session(store) as session:
        account = user_by_username(session, "strategic-analyst")
        assert account is not None
        analyst = user_info(session, account.id)
    assert analyst is not None
    layer = BoundaryRegistry.default().layer_for("SLMPD")
    assert layer is not None
    dutchtown = next(
        f for f in json.loads(layer.path.read_text())["features"] if str(f["properties"]["NHD_NAME"]) == "Dutchtown"
    )
    opened = {}
    for year in (YEAR, 2017):
        request = OpenProblemRequest(
            title=f"Burglary in Dutchtown, {year}",
            categories=["burglary"],
            target_reduction_pct=20.0,
            baseline_start=dt.date(year - 1, 7, 1),
            evaluation_start=dt.date(year, 1, 1),
            evaluation_end=dt.date(year, 6, 30),
            area=dutchtown["geometry"],
            area_name="Dutchtown",
        )
        opened[year] = open_problem(core, analyst, request).id
    counts = {"target": (117, 89), "control": (140, 138), "buffer": (95, 90), "control_buffer": (120, 118)}
    older = wdd(treated=(117, 100), control=(140, 138))
    newest = wdd(
        treated=counts["target"],
        control=counts["control"],
        displacement=counts["buffer"],
        displacement_control=counts["control_buffer"],
    )
    quotient = wdq(treated=counts["target"], control=counts["control"], displacement=counts["buffer"])
    with session_scope(store) as session:
        for problem_id in opened.values():
            for when, result in ((dt.datetime(2019, 7, 5), older), (dt.datetime(2019, 7, 12), newest)):
                report = {
                    "counts": {name: {"pre": pre, "post": post} for name, (pre, post) in counts.items()},
                    "wdd": result.as_dict(),
                    "wdq": quotient.as_dict(),
                }
                session.add(
                    ProblemEvaluation(
                        problem_id=problem_id,
                        kind="assessment",
                        report=json.dumps(report),
                        created_by_id=analyst.id,
                        created_at=when.replace(tzinfo=dt.UTC),
                    )
                )
    produced = strategic_assessment(core, analyst, StrategicAssessmentRequest("SLMPD", YEAR))
    assert produced.content["problem_assessments"] == [
        {
            "id": opened[YEAR],
            "title": f"Burglary in Dutchtown, {YEAR}",
            "area_name": "Dutchtown",
            "stage": "scanning",
            "evaluation": f"{YEAR}-01-01 to {YEAR}-06-30",
            "target_pre": 117.0,
            "target_post": 89.0,
            "wdd_estimate": round(newest.estimate, 1),
            "wdd_p_value": round(newest.p_value, 4),
            "wdq": round(float(quotient.wdq or 0.0), 2),
            "wdq_interpretation": quotient.interpretation,
        }
    ]
    text = _flat(produced.pdf)
    assert f"Burglary in Dutchtown, {YEAR}" in text and "Burglary in Dutchtown, 2017" not in text
    assert f"117 89 {newest.estimate:+.1f} {newest.p_value:.4f} {quotient.wdq:.2f}" in text
