"""The problem profile of a SARA problem: its record, worksheet, responses and assessment as a marked PDF.

Its map outlines the problem's area with the problem's incidents counted in 250 m squares (the
profile stays TLP:GREEN) or, when asked, drawn as points (incident locations: TLP:AMBER).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyproj
import pytest
from intel_support import make_agency
from products_support import page_texts, pdftoppm_pages, structure_of
from sqlalchemy import Engine
from store_support import core_for
from typer.testing import CliRunner
from web_support import IncidentSpec, seed_incidents, seed_user

from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import ProblemEvaluation
from openilp.errors import NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import user_info
from openilp.services.problems import (
    ComparisonAreaRequest,
    InterventionRequest,
    OpenProblemRequest,
    ProblemNotFound,
    ProgressRequest,
    WorksheetRequest,
    add_intervention,
    goal_progress,
    open_problem,
    set_comparison_area,
    update_worksheet,
)
from openilp.services.products.catalogue import rerender_product
from openilp.services.products.problem_profile import ProblemProfileRequest, problem_profile

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-90.21, 38.62], [-90.19, 38.62], [-90.19, 38.64], [-90.21, 38.64], [-90.21, 38.62]]],
}
REPORT: dict[str, Any] = {
    "counts": {
        "target": {"pre": 84, "post": 61},
        "buffer": {"pre": 40, "post": 38},
        "control": {"pre": 90, "post": 88},
    },
    "wdd": {"estimate": -21.4, "p_value": 0.0312},
    "notes": ["the control area was edited by the analyst"],
}


def _actor(engine: Engine, username: str, role: str) -> UserInfo:
    with session_scope(engine) as session:
        make_agency(session, "SLMPD")
    user_id = seed_user(engine, username, role=role, agency_code="SLMPD")
    with session_scope(engine) as session:
        info = user_info(session, user_id)
    assert info is not None
    return info


def _chart_svg() -> str:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1, 2, 3], [12, 9, 7, 6], color="#000000")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return buffer.getvalue()


@pytest.fixture
def problem(engine: Engine, tmp_path: Path) -> tuple[OpenILP, UserInfo, int]:
    core = core_for(engine, tmp_path)
    analyst = _actor(engine, "ana", "analyst")
    request = OpenProblemRequest(
        title="Burglary downtown",
        categories=["burglary"],
        target_reduction_pct=20.0,
        baseline_start=dt.date(2019, 1, 1),
        evaluation_start=dt.date(2019, 7, 1),
        evaluation_end=dt.date(2019, 12, 31),
        area=SQUARE,
        area_name="Downtown",
    )
    pid = open_problem(core, analyst, request).id
    fields = {"place": "Rear doors of row houses on unlit alleys", "guardians": "Few neighbours home by day"}
    update_worksheet(core, analyst, WorksheetRequest(pid, fields))
    add_intervention(
        core,
        analyst,
        InterventionRequest(
            pid, "lighting", dt.date(2019, 7, 1), dt.date(2019, 9, 30), "Alley lights repaired", None, 14, "lights"
        ),
    )
    with session_scope(engine) as session:
        session.add(
            ProblemEvaluation(
                problem_id=pid,
                kind="assessment",
                report=json.dumps(REPORT),
                chart_svg=_chart_svg(),
                created_by_id=analyst.id,
                created_at=dt.datetime(2020, 1, 5, tzinfo=dt.UTC),
            )
        )
    return core, analyst, pid


def test_the_profile_shows_the_sara_record_and_is_marked(problem: tuple[OpenILP, UserInfo, int]) -> None:
    core, analyst, pid = problem
    produced = problem_profile(core, analyst, ProblemProfileRequest(pid))
    assert produced.marking.tlp == "TLP:GREEN" and not produced.marking.criminal_intelligence
    texts = [" ".join(t.split()) for t in page_texts(produced.pdf)]
    assert len(pdftoppm_pages(produced.pdf)) == produced.pdf_pages == len(texts)
    for number, flat in enumerate(texts, start=1):
        assert "TLP:GREEN · LAW ENFORCEMENT USE" in flat and f"Page {number} of {len(texts)}" in flat
    text = " ".join(texts)
    assert "Reduce burglary" in text or "Burglary downtown" in text
    assert "Rear doors of row houses on unlit alleys" in text and "Alley lights repaired" in text
    assert "14 lights" in text and "2019-07-01" in text
    assert "Weighted displacement difference: estimate -21.4; p value 0.0312" in text
    assert "target 84 61" in text and "Note: the control area was edited by the analyst" in text
    assert produced.content["progress"]["status"] == "no baseline"  # no incidents in this store
    marked, elements = structure_of(produced.pdf)
    figures = [alt for role, alt in elements if role == "/Figure"]
    assert marked and len(figures) == 2
    assert figures[0].startswith("Map: Downtown: burglary, 2019-01-01 to ")
    assert "Outlined: problem area: Downtown (solid black line). No incidents in the period" in figures[0]
    assert figures[1].startswith("Chart: incidents per week in the problem, buffer and control areas, assessment #")
    assert "Problem area: 84 before, 61 during." in figures[1]
    again = rerender_product(core, analyst, produced.product_id)
    assert again.same_numbers


#: Burglaries inside the problem's square (two 250 m squares apart) and outside it, and a robbery inside.
INSIDE_A = (-90.2049, 38.6251)
INSIDE_B = (-90.1951, 38.6349)
OUTSIDE = (-90.25, 38.66)


def _incidents(engine: Engine) -> None:
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", "ESRI:102696", always_xy=True)

    def at(day: dt.date, where: tuple[float, float], category: str = "burglary") -> IncidentSpec:
        x_m, y_m = to_metres.transform(*where)  # projected as an import would (the agency's CRS)
        occurred = dt.datetime(day.year, day.month, day.day, 18, tzinfo=dt.UTC)
        return IncidentSpec(category, occurred, *where, extra={"x_m": x_m, "y_m": y_m})

    specs = [at(dt.date(2019, 2, d), INSIDE_A) for d in (4, 11, 18, 25)]
    specs += [at(dt.date(2019, 3, d), INSIDE_B) for d in (5, 12)]
    specs += [at(dt.date(2019, 8, 6), INSIDE_A), at(dt.date(2019, 8, 7), OUTSIDE), at(dt.date(2019, 8, 8), OUTSIDE)]
    specs += [at(dt.date(2019, 4, 2), INSIDE_A, "robbery")]
    seed_incidents(engine, "SLMPD", specs)


def test_the_profile_maps_its_area_with_incidents_counted_in_squares(problem: tuple[OpenILP, UserInfo, int]) -> None:
    core, analyst, pid = problem
    _incidents(core.engine)
    produced = problem_profile(core, analyst, ProblemProfileRequest(pid))
    progress = goal_progress(core, analyst, ProgressRequest(pid)).as_dict()
    # The map changes no number: the profile's progress is the dashboard's, and the map counts the same incidents.
    assert produced.content["progress"] == progress
    assert (progress["baseline_count"], progress["current_count"], progress["as_of"]) == (6, 1, "2019-08-08")
    assert produced.marking.tlp == "TLP:GREEN"
    texts = [" ".join(t.split()) for t in page_texts(produced.pdf)]
    assert all(
        "TLP:GREEN · LAW ENFORCEMENT USE" in t and f"Page {n} of {len(texts)}" in t for n, t in enumerate(texts, 1)
    )
    assert "counted in squares of 250 m so that no incident's location is shown" in " ".join(texts)
    marked, elements = structure_of(produced.pdf)
    maps = [alt for role, alt in elements if role == "/Figure" and alt.startswith("Map:")]
    assert marked and len(maps) == 1
    assert maps[0].startswith("Map: Downtown: burglary, 2019-01-01 to 2019-08-08.")
    assert "7 incidents counted in 2 squares of 250 m (at most 5 in one square)" in maps[0]
    assert "Map of the problem's areas, incidents counted in 250 m squares (areas, no incidents)" in produced.items
    assert rerender_product(core, analyst, produced.product_id).same_numbers


def test_the_control_area_gets_its_own_panel(problem: tuple[OpenILP, UserInfo, int]) -> None:
    core, analyst, pid = problem
    _incidents(core.engine)
    outer = [[-90.215, 38.615], [-90.185, 38.615], [-90.185, 38.645], [-90.215, 38.645], [-90.215, 38.615]]
    ring = {"type": "Polygon", "coordinates": [outer, SQUARE["coordinates"][0][::-1]]}  # around the square
    corners = [[-90.26, 38.655], [-90.24, 38.655], [-90.24, 38.665], [-90.26, 38.665], [-90.26, 38.655]]
    control = {"type": "Polygon", "coordinates": [corners]}
    set_comparison_area(core, analyst, ComparisonAreaRequest(pid, "buffer", area=ring))
    set_comparison_area(core, analyst, ComparisonAreaRequest(pid, "control", area=control))
    produced = problem_profile(core, analyst, ProblemProfileRequest(pid))
    assert produced.marking.tlp == "TLP:GREEN"
    maps = [alt for role, alt in structure_of(produced.pdf)[1] if role == "/Figure" and alt.startswith("Map:")]
    assert len(maps) == 1
    assert "2 panels: The problem area and its buffer, The control area." in maps[0]
    assert "displacement buffer (dashed line), control area (dash-dotted line)" in maps[0]
    # The two burglaries outside the problem's square lie in the control area: 9 in all, in 3 squares.
    assert "9 incidents counted in 3 squares of 250 m" in maps[0]


def test_incident_points_make_the_profile_amber(problem: tuple[OpenILP, UserInfo, int]) -> None:
    core, analyst, pid = problem
    _incidents(core.engine)
    cells = problem_profile(core, analyst, ProblemProfileRequest(pid))
    points = problem_profile(core, analyst, ProblemProfileRequest(pid, incident_points=True))
    assert points.marking.tlp == "TLP:AMBER" and points.content == cells.content
    texts = [" ".join(t.split()) for t in page_texts(points.pdf)]
    assert all("TLP:AMBER · LAW ENFORCEMENT USE" in t and "TLP:GREEN" not in t for t in texts)
    maps = [alt for role, alt in structure_of(points.pdf)[1] if role == "/Figure" and alt.startswith("Map:")]
    assert len(maps) == 1 and "7 incidents as points" in maps[0]
    assert "Map of the problem's incidents (locations)" in points.items


def test_who_may_build_a_profile(engine: Engine, problem: tuple[OpenILP, UserInfo, int], tmp_path: Path) -> None:
    core, analyst, pid = problem
    officer = _actor(engine, "off", "officer")
    with pytest.raises(NotPermitted):
        problem_profile(core, officer, ProblemProfileRequest(pid))
    with pytest.raises(NotPermitted, match="as a user"):
        problem_profile(core, None, ProblemProfileRequest(pid))
    with pytest.raises(ProblemNotFound):
        problem_profile(core, analyst, ProblemProfileRequest(pid + 99))


def test_the_cli_writes_a_profile(
    problem: tuple[OpenILP, UserInfo, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    core, analyst, pid = problem
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", core.engine.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()  # type: ignore[attr-defined]
    try:
        target = tmp_path / "profile.pdf"
        result = CliRunner().invoke(
            app, ["products", "problem-profile", "--user", analyst.username, "--problem", str(pid), "-o", str(target)]
        )
        assert result.exit_code == 0, result.output
        assert target.read_bytes()[:5] == b"%PDF-" and "TLP:GREEN" in result.output
        points = CliRunner().invoke(
            app,
            ["products", "problem-profile", "--user", analyst.username, "--problem", str(pid), "--incident-points"]
            + ["-o", str(tmp_path / "amber.pdf")],
        )
        assert points.exit_code == 0, points.output
        assert "TLP:AMBER" in points.output and (tmp_path / "amber.pdf").read_bytes()[:5] == b"%PDF-"
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()  # type: ignore[attr-defined]
