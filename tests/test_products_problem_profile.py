"""The problem profile of a SARA problem: its record, worksheet, responses and assessment as a marked PDF."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from intel_support import make_agency
from products_support import page_texts, pdftoppm_pages, structure_of
from sqlalchemy import Engine
from store_support import core_for
from typer.testing import CliRunner
from web_support import seed_user

from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import ProblemEvaluation
from openilp.errors import NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import user_info
from openilp.services.problems import (
    InterventionRequest,
    OpenProblemRequest,
    ProblemNotFound,
    WorksheetRequest,
    add_intervention,
    open_problem,
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
    assert marked and len(figures) == 1
    assert figures[0].startswith("Chart: incidents per week in the problem, buffer and control areas, assessment #")
    assert "Problem area: 84 before, 61 during." in figures[0]
    again = rerender_product(core, analyst, produced.product_id)
    assert again.same_numbers


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
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()  # type: ignore[attr-defined]
