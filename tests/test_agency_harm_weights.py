"""An agency's own harm weights: parsed with clear errors, used by need-adjusted parity, recorded with
each plan and published in the transparency report (the published defaults: test_harm_weights.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from store_support import core_for
from tasking_support import AGENCY, AS_OF, CENTRE, _moment, history, seed_store, trigger, write_halves

from openilp.db.models import AuditEntry
from openilp.errors import InvalidRequest
from openilp.fairness import HARM_DAYS, HARM_WEIGHTS_VERSION, harm_weights_from_toml
from openilp.services.analysis.tasking import DeployRequest, agency_harm_weights, make_deployment
from openilp.services.transparency import TransparencyRequest, transparency_report

SOURCE = "Board of Police Commissioners, resolution 2026-04: weights from the Cambridge CHI 2020 table"
AGENCY_WEIGHTS = f'version = "NRT-harm-2026"\nsource = "{SOURCE}"\n[days]\nrobbery = 1\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('source = "x"\n', "give version"),
        (f'version = "{HARM_WEIGHTS_VERSION}"\nsource = "{SOURCE}"\n[days]\nrobbery = 1\n', "built-in version"),
        ('version = "v"\nsource = "too short"\n[days]\nrobbery = 1\n', "give source"),
        (f'version = "v"\nsource = "{SOURCE}"\n', "give a \\[days\\] table"),
        (f'version = "v"\nsource = "{SOURCE}"\n[days]\nrobbery = -1\n', "robbery must be a number of days"),
        (f'version = "v"\nsource = "{SOURCE}"\n[days]\nrobbery = true\n', "robbery must be a number of days"),
        (f'version = "v"\nsource = "{SOURCE}"\n[days]\nrobery = 1\n', "robery is not a category"),
        (f'version = "v"\nsource = "{SOURCE}"\nweights = 1\n[days]\nrobbery = 1\n', "unknown key"),
        ("version = ", "not valid TOML"),
    ],
)
def test_unusable_weights_are_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        harm_weights_from_toml(text, name="harm/NRT.toml")


def test_categories_left_out_keep_the_defaults() -> None:
    weights = harm_weights_from_toml(AGENCY_WEIGHTS)
    assert weights.table == {**HARM_DAYS, "robbery": 1.0}
    assert weights.version == "NRT-harm-2026" and weights.source == SOURCE


@pytest.fixture
def store(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    """Burglaries everywhere and 200 robberies in the East half: their weight moves the East's need."""
    seed_store(sqlite_engine, history(), "history")
    seed_store(sqlite_engine, trigger(), "trigger")
    rng = np.random.default_rng(3)
    robberies = []
    for days_before in rng.integers(60, 300, 200):
        x, y = CENTRE[0] + rng.uniform(100, 1900), CENTRE[1] + rng.uniform(-1900, 1900)
        robberies.append((x, y, _moment(AS_OF - dt.timedelta(days=int(days_before)))))
    seed_store(sqlite_engine, robberies, "robberies", category="robbery")
    areas, _ = write_halves(tmp_path)
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    (tmp_path / "disparity").mkdir()
    (tmp_path / "disparity" / f"{AGENCY}.toml").write_text(
        'demographics = "../residents.csv"\nid_column = "NHD_NUM"\ngroups = ["group_a", "group_b"]\n'
    )
    return sqlite_engine


def _plan(store: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    core = core_for(store, tmp_path)
    request = DeployRequest(AGENCY, ("burglary", "robbery"), AS_OF, 480.0, "naive", near_repeat=False)
    return core, make_deployment(core, None, request)


def test_need_adjusted_parity_uses_the_agencys_weights_and_records_their_version(store: Engine, tmp_path: Path) -> None:
    core, default = _plan(store, tmp_path)
    assert default.deployment.harm_weights_version == HARM_WEIGHTS_VERSION
    (tmp_path / "harm").mkdir()
    (tmp_path / "harm" / f"{AGENCY}.toml").write_text(AGENCY_WEIGHTS)
    core, own = _plan(store, tmp_path)
    assert own.deployment.harm_weights_version == "NRT-harm-2026"
    assert own.deployment.to_dict()["harm_weights"] == "NRT-harm-2026"
    # Robbery (the East's crime) weighs 1 day instead of 365: the East's share of need falls, so
    # the group living there (group_b) gets a lower crime share and a higher patrol/need ratio.
    shares = {g.group: g.crime_share for g in default.deployment.disparity.groups}  # type: ignore[union-attr]
    own_shares = {g.group: g.crime_share for g in own.deployment.disparity.groups}  # type: ignore[union-attr]
    assert own_shares["group_b"] < shares["group_b"] and own_shares["group_a"] > shares["group_a"]
    with core.unit_of_work(None) as uow:
        versions = [
            json.loads(d).get("harm_weights")
            for d in uow.session.scalars(select(AuditEntry.details).where(AuditEntry.object_type == "deployment_plan"))
        ]
    assert "NRT-harm-2026" in versions and HARM_WEIGHTS_VERSION in versions
    report = transparency_report(core, None, TransparencyRequest(AGENCY, dt.datetime.now(dt.UTC).year))
    rows = {m: v for s, m, v in report.rows if s.startswith("Harm weights")}
    assert rows["version in force"] == f"NRT-harm-2026: {SOURCE}" and rows["robbery"] == "1 days"


def test_an_unusable_file_stops_plans_and_is_published_as_such(store: Engine, tmp_path: Path) -> None:
    (tmp_path / "harm").mkdir()
    (tmp_path / "harm" / f"{AGENCY}.toml").write_text('version = "NRT-1"\nsource = "short"\n[days]\nrobbery = 1\n')
    with pytest.raises(InvalidRequest, match=f"harm/{AGENCY}.toml: give source"):
        agency_harm_weights(tmp_path, AGENCY)
    with pytest.raises(InvalidRequest, match="give source"):
        _plan(store, tmp_path)
    core = core_for(store, tmp_path)
    report = transparency_report(core, None, TransparencyRequest(AGENCY, dt.datetime.now(dt.UTC).year))
    rows = {m: v for s, m, v in report.rows if s.startswith("Harm weights")}
    assert rows["the agency's own weights"].startswith("not usable: harm/NRT.toml: give source")
    assert rows["version in force"].startswith(HARM_WEIGHTS_VERSION)
