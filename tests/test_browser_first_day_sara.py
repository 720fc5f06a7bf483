"""An analyst's first day, SARA in a real browser: from scanning to an assessment chart.

The analyst scans 2019 St. Louis burglaries for candidate problems, opens the strongest as a
problem (its evaluation period lies in the data), has the comparison areas proposed, replaces the
control by choosing a neighbourhood, draws an intervention area on the map, checks the power and
runs the assessment, whose weekly chart the page shows. Real app under uvicorn on 127.0.0.1
(temporary SQLite store with the twelve monthly files of 2019), system Chromium through Playwright.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from conftest import shared_file
from sqlalchemy import Engine, select
from store_support import import_source
from web_support import seed_user

from openilp.db import make_engine, migrate, session_scope
from openilp.db.models import ProblemComparisonArea
from openilp.ingest.spec import load_source_spec

pytestmark = [*BROWSER, pytest.mark.realdata]

MONTHS = ["january", "february", "march", "april", "may", "june"]
MONTHS += ["july", "august", "september", "october", "november", "december"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-first-day-sara")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    files = [shared_file("stlouis", "monthly", "2019", f"{m}2019.csv") for m in MONTHS]
    import_source(engine, load_source_spec("stlouis"), files, workers=1)
    seed_user(engine, "sara", role="analyst")
    with serve(engine, data_dir, "browser-first-day-sara") as url:
        yield url, engine


def test_from_scanning_to_an_assessment_chart(served: tuple[str, Engine]) -> None:
    server, engine = served
    log = PageLog(server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}))

        # 1. Scanning: two half-years up to the end of the data.
        page.goto(f"{server}/problems/new?scan=1&category=burglary&periods=2&period_days=182")
        sign_in(page, "sara")
        page.wait_for_url("**/problems/new?scan=1**")
        rows = page.locator("#candidates tbody tr")
        assert rows.count() >= 1
        first = rows.first
        assert "Dutchtown" in first.inner_text() and "persistent" in first.inner_text()
        # The proposed time frame lies in the data (which end on 2019-12-31).
        assert "evaluation 2019-07-03 – 2019-12-31" in first.inner_text()
        # The category picker lists only what the agency has.
        options = page.locator("#scan-category option").all_inner_texts()
        assert "Burglary" in " ".join(options) and len(options) < 40

        # 2. Open the candidate as a problem.
        first.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/problems/\d+$"))
        problem_id = int(page.url.rsplit("/", 1)[1])
        facts = page.locator("dl.facts").inner_text()
        assert "2019-07-03 – 2019-12-31" in facts and "2019-01-01" in facts
        page.wait_for_selector("#problem-map[data-areas-drawn='1']", state="attached", timeout=30000)

        # 3. Comparison areas proposed automatically are polygons the app accepts.
        page.click("text=Propose comparison areas")
        page.wait_for_url(f"**/problems/{problem_id}")
        assert page.locator("#problem-error").count() == 0
        areas = page.locator("#comparison-areas").inner_text()
        assert areas.count("proposed") == 3, areas
        page.wait_for_selector("#problem-map[data-areas-drawn='4']", state="attached", timeout=30000)
        control = re.search(r"control: proposed \(([^,]+),", areas)
        assert control is not None, areas

        # 4. Replace the control by choosing a neighbourhood (no GeoJSON typed).
        page.click("#replace-control summary")
        page.select_option("#area-control-units", control.group(1))
        page.click("#replace-control button[type=submit]")
        page.wait_for_url(f"**/problems/{problem_id}")
        assert page.locator("#problem-error").count() == 0, page.locator("#problem-error").inner_text()
        assert "control: edited" in page.locator("#comparison-areas").inner_text()

        # 5. Record an intervention whose area is drawn on the map.
        page.fill("#iv-kind", "directed patrol")
        page.fill("#iv-start", "2019-07-03")
        page.fill("#iv-end", "2019-12-31")
        page.click("#intervention-form [data-draw-for='iv-area-drawn']")
        box = page.locator("#problem-map").bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for dx, dy in ((-30, -30), (30, -30), (30, 30), (-30, 30)):
            page.mouse.click(cx + dx, cy + dy)
        page.click("#intervention-form [data-finish-drawing]")
        drawn = json.loads(page.input_value("#iv-area-drawn"))
        assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 5
        page.click("#intervention-form button[type=submit]")
        page.wait_for_url(f"**/problems/{problem_id}")
        assert "own polygon" in page.locator("#interventions").inner_text()

        # 6. Power before launch, then the assessment with its chart.
        page.click("text=Check power")
        page.wait_for_url(f"**/problems/{problem_id}")
        assert page.locator("#problem-error").count() == 0
        assert "Smallest detectable change" in page.locator("#power").inner_text()
        page.click("text=Run the assessment")
        page.wait_for_url(f"**/problems/{problem_id}")
        assert page.locator("#problem-error").count() == 0
        assert "WDD" in page.locator("#assessment").inner_text()
        chart = page.locator("#assessment-chart")
        chart.scroll_into_view_if_needed()
        page.wait_for_function("document.getElementById('assessment-chart').naturalWidth > 0")

        # The history reads as text, not JSON.
        history = page.locator("#history").inner_text()
        assert "{" not in history and "control unit" in history
    log.assert_clean()

    with session_scope(engine) as session:
        kinds = {
            row.role: json.loads(row.geojson)["type"]
            for row in session.scalars(
                select(ProblemComparisonArea).where(ProblemComparisonArea.problem_id == problem_id)
            )
        }
    assert set(kinds) == {"buffer", "control", "control_buffer"}
    assert set(kinds.values()) <= {"Polygon", "MultiPolygon"}, kinds
