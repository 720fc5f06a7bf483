"""The worked example of docs/tasking.md on the real St. Louis files: the numbers the guide prints."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import REPO_ROOT, shared_file
from sqlalchemy import Engine
from store_support import import_source
from tasking_support import core_of

from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.tasking import DeployRequest, DisparitySource, make_deployment

pytestmark = pytest.mark.realdata

GUIDE = REPO_ROOT / "docs" / "tasking.md"


@pytest.fixture(scope="module")
def stlouis(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from openilp.db import make_engine, migrate

    folder: Path = tmp_path_factory.mktemp("stlouis-tasking")
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    months = [shared_file("stlouis", "monthly", "2018"), shared_file("stlouis", "monthly", "2019")]
    import_source(engine, load_source_spec("stlouis"), months)
    return engine


def test_the_guides_st_louis_deployment_list(stlouis: Engine) -> None:
    neighbourhoods = shared_file("stlouis", "stl_neighborhoods_wgs84.geojson")
    disparity = DisparitySource(
        demographics_path=shared_file("stlouis", "stl_race_by_neighborhood_1940_2017.csv"),
        group_columns=("white17", "black17"),
        population_path=shared_file("stlouis", "stl_population_by_neighborhood_1940_2017.csv"),
        population_column="pop17",
        neighbourhoods_path=neighbourhoods,
    )
    request = DeployRequest("SLMPD", as_of=dt.date(2019, 12, 2), officer_minutes=960, method="naive")
    # The default study area is SLMPD's boundary layer: the same neighbourhoods.
    result = make_deployment(core_of(stlouis), None, request, disparity=disparity).deployment
    guide = GUIDE.read_text(encoding="utf-8")
    assert len(result.places) == 9 and result.plan.minutes_used == 900
    assert result.alert_zone_count == 304 and len(result.alert_cells) == 704
    assert result.cells["forecast"]["events_used"] == 5795 and result.cells["forecast"]["cells"] == 7148
    assert [p["rank"] for p in result.places] == [10, 11, 1, 2, 3, 4, 5, 6, 7]
    assert [p["alert"] for p in result.places] == [True, True, False, True, True, False, False, True, True]
    # The guide's CLI table, each place's row with its wrapped lines joined (a reason spans two lines).
    guide_rows: dict[str, list[str]] = {}
    number = ""
    for line in guide.splitlines():
        if not line.startswith("│ "):
            continue
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells[0]:
            number = cells[0]
            guide_rows[number] = cells
        else:
            guide_rows[number] = [f"{a} {b}".strip() for a, b in zip(guide_rows[number], cells, strict=True)]
    assert sorted(guide_rows, key=int) == [str(p["number"]) for p in result.places]
    for place in result.places:
        assert guide_rows[str(place["number"])][1:] == [
            place["block_address"],
            place["neighbourhood"],
            f"{place['lat']:.5f}, {place['lon']:.5f}",
            str(place["cell_id"]),
            str(place["rank"]),
            str(place["visits"]),
            str(place["minutes_on_scene"]),
            place["reason"],
        ]
    # Each place gives the block address most of its cell's incidents were recorded at, and its alert the
    # complaint numbers of the incidents behind it: what an officer and the agency use, not store ids.
    assert all(place["block_address"] for place in result.places)
    for place in result.places:
        assert len(place["alert_complaints"]) == len(place["alert_incidents"])
        assert all(c.startswith("19-") for c in place["alert_complaints"]), place["alert_complaints"]
    assert sum(len(p["alert_complaints"]) for p in result.places) >= 6
    rounds = result.schedule_rows(dt.time(7, 0))
    first_round = ", ".join(str(r["place"]) for r in rounds if r["round"] == 1)
    assert f"Round 1 (07:00–09:00): places {first_round}" in guide
    assert result.disparity is not None
    for group in result.disparity.groups:
        line = (
            f"{group.group}: exposure {group.exposure_share:.1%}, population {group.population_share:.1%} "
            f"(ratio {group.exposure_to_population:.2f}), crime {group.crime_share:.1%} "
            f"(ratio {group.exposure_to_crime:.2f})"
        )
        assert line in guide, line


def test_a_study_area_file_is_audited_by_its_digest(stlouis: Engine) -> None:
    """The guide's command passes 88 neighbourhoods (~1 MB of GeoJSON) as the study area: the audit
    entry names the area by SHA-256 and size instead of failing on the log's size limit."""
    import hashlib
    import json

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from openilp.db.models import AuditEntry

    area = shared_file("stlouis", "stl_neighborhoods_wgs84.geojson").read_text(encoding="utf-8")
    request = DeployRequest("SLMPD", as_of=dt.date(2019, 12, 2), officer_minutes=960, method="naive", study_area=area)
    issued = make_deployment(core_of(stlouis), None, request)
    assert len(issued.deployment.places) == 9
    with Session(stlouis) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "deployment_plan").order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None
    audited = json.loads(entry.details)["parameters"]["study_area"]
    assert audited.startswith(f"GeoJSON sha256:{hashlib.sha256(area.encode()).hexdigest()}") and "bytes" in audited
