"""Every place on a deployment list says why it is there (reason codes; Rudin 2019), on every shell."""

from __future__ import annotations

import datetime as dt
import math

import pyproj
import pytest
from sqlalchemy import Engine
from tasking_support import AS_OF, core_of, history, seed_store, trigger

from openilp.services.analysis import tasking as tasking_service

FAST = {"method": "naive", "knox_permutations": 99, "officer_minutes": 800.0}


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    seed_store(engine, history(5)[:200], "drugs", category="drugs")  # discovered: never counted
    return engine


def test_each_place_gives_its_rank_the_reported_incidents_near_it_and_its_alert(store: Engine) -> None:
    result = tasking_service._plan_shift(
        core_of(store), agency_code="NRT", categories=("burglary",), as_of=AS_OF, **FAST
    )  # type: ignore[arg-type]
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26996", always_xy=True)
    grid = {f["properties"]["cell_id"]: f for f in result.cells["features"]}
    assert set(grid) == {p["cell_id"] for p in result.places}
    shift = dt.datetime.combine(AS_OF, dt.time(), tzinfo=dt.UTC)
    events = history() + trigger()
    for place in result.places:
        # Counted by brute force from the seeded incidents (the cell centre is the place's lon/lat).
        x, y = to_metres.transform(place["lon"], place["lat"])
        near = [when for ex, ey, when in events if math.hypot(ex - x, ey - y) <= 200.0 and when < shift]
        in_8 = sum(1 for when in near if (shift - when).total_seconds() / 86_400 <= 56)
        in_52 = sum(1 for when in near if (shift - when).total_seconds() / 86_400 <= 365)
        reason = place["reason"]
        assert f"forecast rank {place['rank']}" in reason
        noun = "incident" if in_8 == 1 else "incidents"
        assert (
            f": {in_8} reported burglary {noun} within 200 m in the 8 weeks before the shift, {in_52} in 52 weeks"
            in (reason)
        ), reason
    alerted = [p for p in result.places if p["alert"]]
    assert alerted
    trigger_day = str(AS_OF - dt.timedelta(days=2))
    assert alerted[0]["reason"].endswith(f"the alert follows 1 incident on {trigger_day}")
    # The JSON the API and the command line give carries the same words.
    assert [p["reason"] for p in result.to_dict()["places"]] == [p["reason"] for p in result.places]
