"""Discovered incidents get the patrol propensity of the issued lists of their day (the patrol log)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from store_support import core_for
from tasking_support import _TO_METRES, AGENCY, AS_OF, CENTRE, _moment, history, seed_store, trigger
from typer.testing import CliRunner
from web_support import seed_user

from openilp.cli import app
from openilp.cli import transparency as transparency_cli
from openilp.db import session_scope
from openilp.db.models import AuditEntry, Incident
from openilp.errors import InvalidRequest, NotPermitted
from openilp.services.analysis.propensities import PropensityRequest, attach_patrol_propensities
from openilp.services.analysis.tasking import DeployRequest, make_deployment


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[Engine, dict[str, object]]:
    """One list issued for AS_OF; drug finds (discovered) at its first place, far from it, the next
    day, and one at the place that already holds a propensity."""
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    issued = make_deployment(
        core_for(engine, tmp_path),
        None,
        DeployRequest(AGENCY, as_of=AS_OF, officer_minutes=800.0, method="naive", near_repeat=False),
    )
    assert issued.status == "issued"
    place = issued.deployment.places[0]
    x, y = _TO_METRES.transform(place["lon"], place["lat"])
    finds = [
        (x + 10.0, y - 10.0, _moment(AS_OF)),  # where the list sent patrol that day
        (CENTRE[0] + 4800.0, CENTRE[1] - 4800.0, _moment(AS_OF)),  # elsewhere on a day with a list
        (x, y, _moment(AS_OF + dt.timedelta(days=1))),  # a day without a list
        (x, y, _moment(AS_OF)),  # already holds a propensity (imported)
    ]
    seed_store(engine, finds, "finds", category="drugs")
    with session_scope(engine) as session:
        ids = session.scalars(
            select(Incident.id).where(Incident.source_key.like("finds-%")).order_by(Incident.id)
        ).all()
        assert {session.get(Incident, i).attention for i in ids} == {"discovered"}  # type: ignore[union-attr]
        session.execute(update(Incident).where(Incident.id == ids[3]).values(patrol_propensity=0.5))
    shift_minutes = issued.deployment.plan.shift_hours * 60
    return engine, {"ids": ids, "expected": place["minutes_on_scene"] / shift_minutes}


def _propensities(engine: Engine, ids: list[int]) -> list[float | None]:
    with session_scope(engine) as session:
        return [session.get(Incident, i).patrol_propensity for i in ids]  # type: ignore[union-attr]


def test_discovered_incidents_get_the_propensity_of_their_days_lists(
    world: tuple[Engine, dict[str, object]], tmp_path: Path
) -> None:
    engine, facts = world
    ids: list[int] = facts["ids"]  # type: ignore[assignment]
    core = core_for(engine, tmp_path)
    request = PropensityRequest(AGENCY, AS_OF, AS_OF + dt.timedelta(days=1))
    result = attach_patrol_propensities(core, None, request)
    assert (result.discovered, result.already, result.patrolled, result.outside_patrol, result.no_list) == (
        4,
        1,
        1,
        1,
        1,
    )
    values = _propensities(engine, ids)
    assert values[0] == pytest.approx(facts["expected"]) and 0 < values[0] <= 1  # type: ignore[operator]
    assert values[1:] == [0.0, None, 0.5]  # elsewhere: 0; no list that day: unknown; recorded: kept
    with session_scope(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "incident_propensities")).one()
        assert entry.action == "update" and json.loads(entry.details)["patrolled"] == 1
    # Again: nothing changes, everything that could be given one now has one.
    again = attach_patrol_propensities(core, None, request)
    assert (again.already, again.patrolled, again.outside_patrol, again.no_list) == (3, 0, 0, 1)
    assert _propensities(engine, ids) == values


def test_who_may_attach_and_bad_periods(world: tuple[Engine, dict[str, object]], tmp_path: Path) -> None:
    engine, _ = world
    core = core_for(engine, tmp_path)
    from openilp.services.accounts.records import user_info

    with session_scope(engine) as session:
        officer = user_info(session, seed_user(engine, "off", "officer", agency_code=AGENCY))
    assert officer is not None
    with pytest.raises(NotPermitted):
        attach_patrol_propensities(core, officer, PropensityRequest(AGENCY, AS_OF, AS_OF))
    with pytest.raises(InvalidRequest, match="after date_to"):
        attach_patrol_propensities(core, None, PropensityRequest(AGENCY, AS_OF, AS_OF - dt.timedelta(days=1)))
    with pytest.raises(InvalidRequest, match="first and the last day"):
        attach_patrol_propensities(core, None, PropensityRequest(AGENCY, AS_OF, None))


def test_the_command_line_gives_the_same_counts(
    world: tuple[Engine, dict[str, object]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = world
    monkeypatch.setattr(transparency_cli, "core", lambda: core_for(engine, tmp_path))
    day = AS_OF.isoformat()
    out = CliRunner().invoke(app, ["patrol-propensities", "--agency", AGENCY, "--from", day, "--to", day, "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    expected = attach_patrol_propensities(core_for(engine, tmp_path), None, PropensityRequest(AGENCY, AS_OF, AS_OF))
    # The second call finds what the command attached: the same incidents, now all recorded.
    assert payload["discovered"] == expected.discovered == 3
    assert (payload["patrolled"], payload["outside_patrol"], payload["no_list"]) == (1, 1, 0)
    assert dataclasses.asdict(expected.request)["agency_code"] == AGENCY and expected.already == 3
