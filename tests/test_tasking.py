"""The tasking service: near-repeat alerts feed the deployment list, leak-proof; demographics only audit it."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from tasking_support import AS_OF, TRIGGER, _moment, core_of, history, seed_store, trigger, write_halves

from openilp.services.analysis import tasking as tasking_service
from openilp.services.analysis.tasking import Deployment, DisparitySource, disparity_source_for
from openilp.tasking import plan_deployment

#: 8 places (4 visits of 15 + 10 min each): two of them may go to alert cells.
BUDGET = 8 * 4 * 25
FAST = {"method": "naive", "knox_permutations": 99, "officer_minutes": BUDGET}


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    return engine


def _plan(engine: Engine, **kwargs: object) -> Deployment:
    # The planning step behind make_deployment, with explicit files (the contract is tested in test_tasking_web).
    return tasking_service._plan_shift(
        core_of(engine), agency_code="NRT", categories=("burglary",), as_of=AS_OF, **{**FAST, **kwargs}
    )  # type: ignore[arg-type]


def _distance_to_trigger(place: dict[str, object], result: Deployment) -> float:
    grid_cells = {f["properties"]["cell_id"]: f for f in result.cells["features"]}
    assert place["cell_id"] in grid_cells
    import pyproj

    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26996", always_xy=True).transform(place["lon"], place["lat"])
    return math.hypot(x - TRIGGER[0], y - TRIGGER[1])


def test_an_alert_cell_is_moved_ahead_of_the_forecast(store: Engine) -> None:
    with_alerts = _plan(store)
    without = _plan(store, near_repeat=False)
    assert with_alerts.alerts is not None and with_alerts.alert_zone_count == 1  # the trigger's zone only
    zone = with_alerts.alerts["features"][0]["properties"]
    assert zone["incident_date"] == str(AS_OF - dt.timedelta(days=2)) and zone["expires_date"] > str(AS_OF)
    first = with_alerts.places[0]
    assert first["alert"] and first["reason"].startswith("near-repeat alert; forecast rank")
    assert first["rank"] > len(with_alerts.places)  # the forecast alone would not have chosen it
    assert _distance_to_trigger(first, with_alerts) <= zone["radius_m"] + 150
    assert len(first["alert_incidents"]) == 1 and first["alert_expires"] == zone["expires_date"]
    alert_places = [p for p in with_alerts.places if p["alert"]]
    assert 1 <= len(alert_places) == min(2, len(with_alerts.alert_cells))  # at most a quarter of the 8 places
    assert {p["cell_id"] for p in alert_places} <= set(with_alerts.alert_cells)
    # Without alerts: the forecast's top 8, none near the trigger, none marked.
    assert [p["rank"] for p in without.places] == list(range(1, 9))
    assert not any(p["alert"] for p in without.places) and without.alerts is None
    assert len(with_alerts.places) == len(without.places) == 8
    assert with_alerts.plan.minutes_used == without.plan.minutes_used == BUDGET
    # The remaining places keep their forecast order.
    assert [p["rank"] for p in with_alerts.places if not p["alert"]] == list(range(1, 9 - len(alert_places)))


def test_incidents_at_or_after_the_shift_never_raise_an_alert(store: Engine) -> None:
    before = _plan(store)
    quiet_corner = (TRIGGER[0] + 3000.0, TRIGGER[1])
    future = [
        (quiet_corner[0], quiet_corner[1], dt.datetime.combine(AS_OF, dt.time(5, 1), tzinfo=dt.UTC)),  # 00:01 local
        (quiet_corner[0] + 20, quiet_corner[1], _moment(AS_OF)),
        (quiet_corner[0] - 20, quiet_corner[1], _moment(AS_OF + dt.timedelta(days=1))),
    ]
    seed_store(store, future, "future")
    after = _plan(store)
    assert after.places == before.places
    assert after.alerts is not None and before.alerts is not None
    assert after.alerts["features"] == before.alerts["features"]
    assert after.plan.schedule == before.plan.schedule


def test_yesterdays_incident_does_raise_an_alert(store: Engine) -> None:
    quiet_corner = (TRIGGER[0] + 3000.0, TRIGGER[1])
    seed_store(store, [(quiet_corner[0], quiet_corner[1], _moment(AS_OF - dt.timedelta(days=1)))], "yesterday")
    result = _plan(store)
    assert result.alert_zone_count == 2


def test_too_little_history_for_a_knox_test_plans_from_the_forecast(engine: Engine) -> None:
    seed_store(engine, trigger() + [(TRIGGER[0] + 500, TRIGGER[1], _moment(AS_OF - dt.timedelta(days=3)))], "few")
    result = _plan(engine, officer_minutes=100)
    assert [p["rank"] for p in result.places] == [1]
    assert result.notes and result.notes[0].startswith("no near-repeat alerts:")


def test_demographics_are_read_only_after_the_plan_and_never_change_it(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    areas, residents = write_halves(tmp_path)
    order: list[str] = []
    real_plan, real_read = tasking_service.plan_deployment, tasking_service.read_demographics

    def plan_spy(*args: object, **kwargs: object) -> object:
        order.append("plan")
        return real_plan(*args, **kwargs)  # type: ignore[arg-type]

    def read_spy(*args: object, **kwargs: object) -> object:
        order.append("demographics")
        return real_read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tasking_service, "plan_deployment", plan_spy)
    monkeypatch.setattr(tasking_service, "read_demographics", read_spy)
    audit = dict(neighbourhoods_path=areas, demographics_path=residents, group_columns=("group_a", "group_b"))
    audited = _plan(store, **audit)
    assert order[0] == "plan" and set(order[1:]) == {"demographics"}  # the disparity and proxy audits
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("NHD_NUM,group_a,group_b\n1,100,900\n2,900,100\n")
    other = _plan(store, **{**audit, "demographics_path": swapped})
    plain = _plan(store, place_names_path=areas)  # the same labels, no demographic data
    assert audited.places == other.places == plain.places
    assert audited.plan.schedule == other.plan.schedule == plain.plan.schedule
    assert audited.disparity is not None and other.disparity is not None and plain.disparity is None
    shares = {g.group: g.exposure_share for g in audited.disparity.groups}
    swapped_shares = {g.group: g.exposure_share for g in other.disparity.groups}
    assert shares["group_a"] == pytest.approx(swapped_shares["group_b"])
    assert {p["neighbourhood"] for p in audited.places} <= {"West", "East"}


def test_schedule_rows_give_each_round_a_window(store: Engine) -> None:
    result = _plan(store, near_repeat=False)
    rows = result.schedule_rows(dt.time(7, 0))
    assert len(rows) == 8 * 4
    assert rows[0]["window"] == "07:00–09:00" and rows[-1]["window"] == "13:00–15:00"
    assert sorted(r["place"] for r in rows if r["round"] == 2) == list(range(1, 9))
    assert "window" not in result.schedule_rows()[0]


def test_koper_marks_alert_cells_it_does_not_move() -> None:
    scores = np.arange(20.0)[::-1]  # cell 0 is the riskiest
    plan = plan_deployment(scores, officer_minutes=4 * 4 * 25, alert_cells=[1, 15, 16], seed=0)
    assert [p.cell_id for p in plan.places] == [15, 0, 1, 2]
    assert [p.alert for p in plan.places] == [True, False, True, False]
    assert plan.places[2].reason == "forecast rank 2; under a near-repeat alert"
    with pytest.raises(ValueError, match="max_alert_share"):
        plan_deployment(scores, officer_minutes=400, max_alert_share=1.5)


def test_disparity_source_from_toml(tmp_path: Path) -> None:
    areas, residents = write_halves(tmp_path)
    folder = tmp_path / "disparity"
    folder.mkdir()
    assert disparity_source_for(tmp_path, "NRT")[0] is None
    assert "disparity/NRT.toml" in disparity_source_for(tmp_path, "NRT")[1]
    (folder / "NRT.toml").write_text(
        'demographics = "../residents.csv"\ngroups = ["group_a", "group_b"]\nneighbourhoods = "../halves.geojson"\n'
    )
    source, why = disparity_source_for(tmp_path, "NRT")
    assert why == "" and source == DisparitySource(
        demographics_path=folder / "../residents.csv",
        group_columns=("group_a", "group_b"),
        neighbourhoods_path=folder / "../halves.geojson",
    )
    (folder / "NRT.toml").write_text('demographics = "missing.csv"\ngroups = ["a"]\n')
    assert "does not exist" in disparity_source_for(tmp_path, "NRT")[1]
    (folder / "NRT.toml").write_text('demographics = "../residents.csv"\ngroups = ["a"]\ncolour = 1\n')
    assert "unknown key(s) colour" in disparity_source_for(tmp_path, "NRT")[1]


def test_unusable_demographic_data_fail_unless_the_list_may_stand_alone(store: Engine, tmp_path: Path) -> None:
    areas, residents = write_halves(tmp_path)
    audit = dict(neighbourhoods_path=areas, demographics_path=residents, group_columns=("group_c",), near_repeat=False)
    with pytest.raises(ValueError, match="disparity check: .*no column"):
        _plan(store, **audit)
    kept = _plan(store, **audit, keep_list_without_disparity=True)
    assert kept.disparity is None and "no column(s) group_c" in kept.disparity_error and len(kept.places) == 8
