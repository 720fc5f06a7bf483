"""Problems (SARA) on every backend: lifecycle with history and audit, validation, scanning, power,
assessment and goal progress on real St. Louis burglaries (2019)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_file
from sqlalchemy import Engine
from store_support import core_for, import_source
from web_support import audit_actions, seed_agency, seed_user

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.ingest.spec import load_source_spec
from openilp.security.actors import UserInfo
from openilp.services import problems
from openilp.services.accounts.records import user_info as get_user_info

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

#: A small square in downtown St. Louis (longitude/latitude).
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-90.21, 38.62], [-90.19, 38.62], [-90.19, 38.64], [-90.21, 38.64], [-90.21, 38.62]]],
}


def _actor(engine: Engine, username: str, role: str = "analyst", agency: str = "SLMPD") -> UserInfo:
    user_id = seed_user(engine, username, role=role, agency_code=agency)
    with session_scope(engine) as session:
        info = get_user_info(session, user_id)
    assert info is not None
    return info


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    """The core over the test store; its boundary registry has the bundled St. Louis neighbourhoods."""
    return core_for(engine, tmp_path)


def _input(**overrides: Any) -> problems.OpenProblemRequest:
    values: dict[str, Any] = {
        "title": "Burglary downtown",
        "categories": ["burglary"],
        "target_reduction_pct": 20.0,
        "baseline_start": dt.date(2019, 1, 1),
        "evaluation_start": dt.date(2019, 7, 1),
        "evaluation_end": dt.date(2019, 12, 31),
        "area": SQUARE,
        "area_name": "Downtown",
    }
    values.update(overrides)
    return problems.OpenProblemRequest(**values)


def test_lifecycle_keeps_history_and_audits(engine: Engine, core: OpenILP) -> None:
    seed_agency(engine)
    analyst = _actor(engine, "ana")
    _actor(engine, "sue", role="supervisor")
    pid = problems.open_problem(core, analyst, _input()).id
    sheet = {"offender": "unknown", "place": "row houses", "guardians": "few"}
    problems.update_worksheet(core, analyst, problems.WorksheetRequest(pid, sheet))
    problems.add_note(core, analyst, problems.NoteRequest(pid, "Residents report open rear doors."))
    problems.set_stage(core, analyst, problems.StageRequest(pid, "analysis"))
    problems.update_problem(
        core, analyst, problems.ChangeProblemRequest(pid, {"target_reduction_pct": 25, "owner": "sue"})
    )
    problems.add_intervention(
        core,
        analyst,
        problems.InterventionRequest(
            problem_id=pid,
            kind="directed patrol",
            start=dt.date(2019, 7, 1),
            end=dt.date(2019, 12, 31),
            dosage_value=45,
            dosage_unit="patrol minutes per day",
        ),
    )
    problems.set_stage(
        core, analyst, problems.StageRequest(pid, "closed", reason="handed over to the neighbourhood team")
    )

    view = problems.get_problem(core, analyst, pid).as_dict()
    assert view["stage"] == "closed"
    assert view["owner"] == "sue"
    assert view["target_reduction_pct"] == 25
    assert view["baseline"] == {"start": "2019-01-01", "end": "2019-06-30"}
    assert view["worksheet"]["place"] == "row houses" and view["worksheet"]["handlers"] == ""
    assert [n["body"] for n in view["notes"]] == ["Residents report open rear doors."]
    assert view["interventions"][0]["dosage_value"] == 45
    assert view["interventions"][0]["dosage_unit"] == "patrol minutes per day"
    history = view["history"]
    assert [h["action"] for h in history] == ["open", "worksheet", "note", "stage", "update", "intervention", "stage"]
    assert all(h["user"] == "ana" for h in history)
    assert history[3]["details"] == {"from": "scanning", "to": "analysis", "reason": ""}
    assert history[4]["details"]["fields"]["target_reduction_pct"] == {"from": 20.0, "to": 25.0}
    assert history[-1]["details"]["reason"] == "handed over to the neighbourhood team"
    audited = [(action, obj) for action, user, obj in audit_actions(engine) if obj.startswith("problem")]
    assert audited[0] == ("create", "problem")
    assert audited.count(("update", "problem")) == 6
    assert audited[-1] == ("read", "problem")
    # Closed problems leave the dashboard.
    assert problems.dashboard(core, analyst).rows == ()


def test_bad_input_is_refused_with_clear_errors(engine: Engine, core: OpenILP) -> None:
    seed_agency(engine)
    seed_agency(engine, "OTHER", timezone="America/New_York")
    analyst = _actor(engine, "ana")
    with pytest.raises(ValueError, match="needs a time frame"):
        problems.open_problem(core, analyst, _input(evaluation_end=None))
    with pytest.raises(ValueError, match="ends .* before it starts"):
        problems.open_problem(core, analyst, _input(evaluation_end=dt.date(2019, 6, 1)))
    with pytest.raises(ValueError, match="unknown category or crime group 'burglery'"):
        problems.open_problem(core, analyst, _input(categories=["burglery"]))
    with pytest.raises(ValueError, match="between 0 and 100"):
        problems.open_problem(core, analyst, _input(target_reduction_pct=120))
    with pytest.raises(ValueError, match="an area is required"):
        problems.open_problem(core, analyst, _input(area=None))
    with pytest.raises(ValueError, match="not valid GeoJSON"):
        problems.open_problem(core, analyst, _input(area="{not json"))
    projected = {"type": "Polygon", "coordinates": [[[0, 0], [500, 0], [500, 500], [0, 500], [0, 0]]]}
    with pytest.raises(ValueError, match="longitude/latitude"):
        problems.open_problem(core, analyst, _input(area=projected))
    with pytest.raises(PermissionError):
        problems.open_problem(core, _actor(engine, "olly", role="officer"), _input())

    pid = problems.open_problem(core, analyst, _input()).id
    with pytest.raises(ValueError, match="needs a period"):
        problems.add_intervention(
            core, analyst, problems.InterventionRequest(pid, kind="patrol", start=dt.date(2019, 7, 1), end=None)
        )
    with pytest.raises(ValueError, match="ends .* before it starts"):
        problems.add_intervention(
            core,
            analyst,
            problems.InterventionRequest(pid, kind="patrol", start=dt.date(2019, 7, 2), end=dt.date(2019, 7, 1)),
        )
    with pytest.raises(ValueError, match="unit of the dosage"):
        problems.add_intervention(
            core,
            analyst,
            problems.InterventionRequest(
                pid, kind="patrol", start=dt.date(2019, 7, 1), end=dt.date(2019, 8, 1), dosage_value=30
            ),
        )
    with pytest.raises(ValueError, match="overlaps the target"):
        problems.set_comparison_area(core, analyst, problems.ComparisonAreaRequest(pid, "control", SQUARE))
    with pytest.raises(ValueError, match="propose the comparison areas"):
        problems.power_check(core, analyst, problems.PowerCheckRequest(pid))
    # No incidents in the store: the baseline is empty.
    with pytest.raises(ValueError, match="baseline is empty"):
        problems.propose_areas(core, analyst, problems.ProposeAreasRequest(pid))
    with pytest.raises(ValueError, match="reason to close"):
        problems.set_stage(core, analyst, problems.StageRequest(pid, "closed"))
    with pytest.raises(ValueError, match="unknown stage"):
        problems.set_stage(core, analyst, problems.StageRequest(pid, "done"))
    with pytest.raises(problems.ProblemNotFound):
        problems.get_problem(core, _actor(engine, "otto", agency="OTHER"), pid)
    # Nothing of the refused changes was stored.
    view = problems.get_problem(core, analyst, pid).as_dict()
    assert [h["action"] for h in view["history"]] == ["open"]
    assert view["interventions"] == [] and view["comparison_areas"] == {}


@pytest.mark.realdata
@pytest.mark.slow
def test_sara_cycle_on_real_st_louis_burglaries(engine: Engine, core: OpenILP) -> None:
    months = ["january", "february", "march", "april", "may", "june"]
    months += ["july", "august", "september", "october", "november", "december"]
    files = [shared_file("stlouis", "monthly", "2019", f"{m}2019.csv") for m in months]
    import_source(engine, load_source_spec("stlouis"), files, workers=1)
    analyst = _actor(engine, "ana")

    # Scanning: two half-years of 2019; Dutchtown is the persistent hot spot (as in docs/sara.md).
    scan = problems.scan_candidates(
        core, analyst, problems.ScanRequest(as_of=dt.date(2019, 12, 31), periods=2, period_days=182)
    ).as_dict()
    first = scan["candidates"][0]
    assert (first["name"], first["stability"]) == ("Dutchtown", "persistent")
    assert first["period_counts"][0] > 80 and first["period_counts"][1] > 100
    assert scan["classes"]["persistent"] == 1
    assert first["goal"] == "Reduce burglary in Dutchtown by 20% over 6 months"

    # Open it with the baseline 2019 H1 and the (hypothetical) response in H2.
    pid = problems.open_problem(
        core,
        analyst,
        _input(
            title=first["title"],
            area=first["area"],
            area_name=first["name"],
            baseline_start=dt.date(2019, 1, 7),
            evaluation_start=dt.date(2019, 7, 1),
            evaluation_end=dt.date(2019, 12, 29),
            origin="hotspot",
        ),
    ).id
    chosen = problems.propose_areas(core, analyst, problems.ProposeAreasRequest(pid)).as_dict()
    assert chosen["control_unit"] != "Dutchtown" and chosen["target_baseline"] > 80
    # Power before launch: six months of one neighbourhood cannot show a 20% reduction.
    power = problems.power_check(core, analyst, problems.PowerCheckRequest(pid)).as_dict()
    assert power["detectable"] is False
    assert power["warning"].startswith("the planned evaluation cannot detect the goal")
    assert power["wdd_mde_fraction"] > 0.2
    assert power["baseline_counts"]["target"] == chosen["target_baseline"]

    # An analyst's control replaces the proposed one unless it overlaps the target's buffer.
    view = problems.get_problem(core, analyst, pid).as_dict()
    buffer_area = view["comparison_areas"]["buffer"]["area"]
    with pytest.raises(ValueError, match="overlaps the buffer area"):
        problems.set_comparison_area(core, analyst, problems.ComparisonAreaRequest(pid, "control", buffer_area))
    control = view["comparison_areas"]["control"]["area"]
    problems.set_comparison_area(core, analyst, problems.ComparisonAreaRequest(pid, "control", control))

    report = problems.run_assessment(core, analyst, problems.RunAssessmentRequest(pid)).as_dict()
    for method in ("wdd", "wdd_quasi", "rate_ratio", "did", "wdq", "etest", "dispersion", "power"):
        assert method in report, method
    assert report["counts"]["target"]["pre"] == chosen["target_baseline"]
    assert report["windows"]["post_days"] == 182

    for kind in problems.PRODUCT_KINDS:
        problems.attach_product(core, analyst, problems.ProductRequest(pid, kind))

    view = problems.get_problem(core, analyst, pid).as_dict()
    assert view["comparison_areas"]["control"]["origin"] == "edited"
    assert view["comparison_areas"]["buffer"]["origin"] == "proposed"
    assessment = [e for e in view["evaluations"] if e["kind"] == "assessment"][0]
    assert assessment["has_chart"]
    svg = problems.evaluation_chart(core, analyst, pid, assessment["id"]).svg
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    kinds = {a["kind"]: a for a in view["attachments"]}
    assert set(kinds) == set(problems.PRODUCT_KINDS)
    listing = problems.attachment_content(core, analyst, pid, kinds["incident_list"]["id"]).content
    assert json.loads(listing)["total"] == chosen["target_baseline"]
    knox = problems.attachment_content(core, analyst, pid, kinds["knox_table"]["id"]).content
    assert json.loads(knox)["events"] == chosen["target_baseline"]
    hotspot = problems.attachment_content(core, analyst, pid, kinds["hotspot_map"]["id"])
    content_type, hotspot_map = hotspot.content_type, hotspot.content
    assert content_type == "application/geo+json" and json.loads(hotspot_map)["features"]

    # Goal progress for the dashboard: the raw change over the whole evaluation period.
    progress = problems.goal_progress(core, analyst, problems.ProgressRequest(pid, today=dt.date(2030, 1, 1))).as_dict()
    assert progress["as_of"] == "2019-12-29"
    assert progress["baseline_count"] == chosen["target_baseline"]
    assert progress["current_count"] == report["counts"]["target"]["post"]
    expected = chosen["target_baseline"] / 175 * 182
    assert progress["expected_count"] == pytest.approx(expected, abs=0.05)
    assert progress["change_pct"] == pytest.approx((progress["current_count"] / expected - 1) * 100, abs=0.05)
    assert progress["status"] in {"goal met", "improving", "not improving"}
    early = problems.goal_progress(core, analyst, problems.ProgressRequest(pid, today=dt.date(2019, 6, 1))).as_dict()
    assert early["status"] == "not started" and early["current_count"] is None
    board = problems.dashboard(core, analyst, problems.DashboardRequest(today=dt.date(2030, 1, 1))).as_dict()[
        "dashboard"
    ]
    assert [row["id"] for row in board] == [pid]
    assert board[0]["progress"]["change_pct"] == progress["change_pct"]
