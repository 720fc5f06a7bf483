"""The patrol log of issued lists (propensities) and the concentration audit over it."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select
from store_support import core_for
from tasking_support import _TO_METRES, AGENCY, AS_OF, CENTRE, history, seed_store, trigger, write_halves
from web_support import login, make_client, seed_user

import openilp.services.analysis.concentration as concentration_service
from openilp.db import session_scope
from openilp.db.patrol_models import PatrolLogEntry
from openilp.fairness import concentration_table
from openilp.services.analysis.concentration import ConcentrationRequest, concentration_audit
from openilp.services.analysis.patrol_log import PATROL_COLUMNS, place_propensity
from openilp.services.analysis.tasking import DeployRequest, OverrideRequest, make_deployment, override_deployment

REASON = "Confirmed burglary series in the east half; reviewed with the community board this week."
TOML = 'demographics = "../residents.csv"\nid_column = "NHD_NUM"\ngroups = ["group_a", "group_b"]\nlabel = "test"\n'
PROTECTED = ("race", "ethnic", "national", "religio", "black", "white", "hispanic", "latino", "group_")

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    areas, _ = write_halves(tmp_path)
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    return engine


def _configure(tmp_path: Path, extra: str = "") -> None:
    (tmp_path / "disparity").mkdir(exist_ok=True)
    (tmp_path / "disparity" / f"{AGENCY}.toml").write_text(TOML + extra)


def _request(day: dt.date = AS_OF, budget: float = 800.0) -> DeployRequest:
    return DeployRequest(AGENCY, as_of=day, officer_minutes=budget, method="naive", near_repeat=False)


def _log(engine: Engine) -> list[PatrolLogEntry]:
    with session_scope(engine) as session:
        rows = session.scalars(select(PatrolLogEntry).order_by(PatrolLogEntry.id)).all()
        session.expunge_all()
        return list(rows)


def _override(store: Engine, tmp_path: Path, day: dt.date, budget: float = 800.0) -> str:
    core = core_for(store, tmp_path)
    held = make_deployment(core, None, _request(day, budget))
    assert held.status == "held"
    cells = tuple(p["cell_id"] for p in held.deployment.places)
    issued = override_deployment(core, None, OverrideRequest(held.request, held.reference, cells, REASON))
    assert issued.status == "issued"
    return held.reference


def test_an_issued_list_logs_its_places_with_their_propensity(store: Engine, tmp_path: Path) -> None:
    issued = make_deployment(core_for(store, tmp_path), None, _request())  # no disparity data: no gate holds it
    assert issued.status == "issued"
    rows = _log(store)
    assert [r.cell_id for r in rows] == [p["cell_id"] for p in issued.deployment.places]
    assert {r.plan_reference for r in rows} == {issued.reference} and {r.shift_day for r in rows} == {AS_OF}
    shift_minutes = issued.deployment.plan.shift_hours * 60
    for row, place in zip(rows, issued.deployment.places, strict=True):
        assert row.minutes == place["minutes_on_scene"] and row.visits == place["visits"]
        assert row.propensity == pytest.approx(place["minutes_on_scene"] / shift_minutes)
        assert 0 < row.propensity <= 1
        assert (row.lon, row.lat) == (place["lon"], place["lat"]) and row.neighbourhood == place["neighbourhood"]
        assert row.method == "naive" and row.cell_size_m == 150.0
    assert place_propensity(minutes=600.0, shift_hours=8.0) == 1.0


def test_a_held_list_is_not_logged_until_an_override_issues_it(store: Engine, tmp_path: Path) -> None:
    _configure(tmp_path)
    core = core_for(store, tmp_path)
    held = make_deployment(core, None, _request())
    assert held.status == "held" and _log(store) == []
    cells = tuple(p["cell_id"] for p in held.deployment.places)
    override_deployment(core, None, OverrideRequest(held.request, held.reference, cells, REASON))
    rows = _log(store)
    assert [r.cell_id for r in rows] == list(cells) and {r.plan_reference for r in rows} == {held.reference}


def test_the_log_holds_no_protected_attribute_and_does_not_depend_on_demographics(
    store: Engine, tmp_path: Path
) -> None:
    columns = {c["name"] for c in inspect(store).get_columns("patrol_log")}
    assert set(PATROL_COLUMNS) <= columns
    assert not [c for c in columns for word in PROTECTED if word in c.lower()]
    make_deployment(core_for(store, tmp_path), None, _request())  # issued without demographic data
    without = [(r.cell_id, r.minutes, r.propensity) for r in _log(store)]
    _configure(tmp_path)
    _override(store, tmp_path, AS_OF)
    with_data = [(r.cell_id, r.minutes, r.propensity) for r in _log(store)][len(without) :]
    assert with_data == without  # the same places and propensities whether or not the area data exist


def test_the_concentration_audit_reads_area_data_only_after_the_log(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(tmp_path)
    _override(store, tmp_path, AS_OF)
    order: list[str] = []
    real_log, real_read = concentration_service.issued_patrol, concentration_service.read_demographics

    def log_spy(*args: object, **kwargs: object) -> object:
        order.append("log")
        return real_log(*args, **kwargs)  # type: ignore[arg-type]

    def read_spy(*args: object, **kwargs: object) -> object:
        order.append("demographics")
        return real_read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(concentration_service, "issued_patrol", log_spy)
    monkeypatch.setattr(concentration_service, "read_demographics", read_spy)
    concentration_audit(core_for(store, tmp_path), None, ConcentrationRequest(AGENCY, AS_OF, AS_OF))
    assert order == ["log", "demographics"]
    # The service module never hands area data to a forecaster or a plan.
    tree = ast.parse(Path(concentration_service.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    assert not imported & {"make_deployment", "plan_deployment", "run_forecast", "FORECASTERS", "make_forecaster"}


def _by_hand(rows: list[PatrolLogEntry], measure: str) -> dict[int, float]:
    """Targeting by half (West 1, East 2), from the cell centres against the centre line."""
    totals: dict[int, float] = {}
    seen: set[tuple[int, str]] = set()
    for row in rows:
        x, _ = _TO_METRES.transform(row.lon, row.lat)
        half = 1 if x < CENTRE[0] else 2
        if measure == "minutes":
            totals[half] = totals.get(half, 0.0) + row.minutes
        elif (half, row.plan_reference) not in seen:
            seen.add((half, row.plan_reference))
            totals[half] = totals.get(half, 0.0) + 1.0
    return totals


@pytest.mark.parametrize("measure", ["minutes", "lists"])
def test_the_concentration_audit_over_issued_lists_equals_the_table_by_hand(
    store: Engine, tmp_path: Path, measure: str
) -> None:
    _configure(tmp_path)
    held_only = make_deployment(core_for(store, tmp_path), None, _request(AS_OF, 700.0))
    assert held_only.status == "held"  # never issued: not counted
    for budget in (800.0, 775.0):
        _override(store, tmp_path, AS_OF, budget)
    rows = _log(store)
    audit = concentration_audit(core_for(store, tmp_path), None, ConcentrationRequest(AGENCY, AS_OF, AS_OF, measure))
    assert audit.lists == 2 and audit.places == len(rows) and audit.places_outside == 0
    expected = _by_hand(rows, measure)
    assert {int(k): v for k, v in audit.targeted.items()} == pytest.approx(expected)
    import pandas as pd

    residents = pd.DataFrame({"group_a": [900.0, 100.0], "group_b": [100.0, 900.0]}, index=[1, 2])
    reference = concentration_table(expected, residents)
    assert audit.residents is not None
    assert audit.residents.as_dict() == reference.as_dict()
    assert audit.income is None and "no households by income" in audit.why_no_income
    # Another period holds no issued list: nothing targeted, and the table says so.
    empty = concentration_audit(
        core_for(store, tmp_path),
        None,
        ConcentrationRequest(AGENCY, AS_OF - dt.timedelta(days=30), AS_OF - dt.timedelta(days=1), measure),
    )
    assert empty.lists == 0 and empty.targeted == {} and "no area was targeted" in empty.residents.notes  # type: ignore[union-attr]


def test_income_bands_from_the_configuration_get_their_own_table(store: Engine, tmp_path: Path) -> None:
    (tmp_path / "income.csv").write_text("NHD_NUM,under_25k,over_25k\n1,50,450\n2,400,100\n")
    _configure(tmp_path, 'income = "../income.csv"\nincome_groups = ["under_25k", "over_25k"]\n')
    _override(store, tmp_path, AS_OF)
    audit = concentration_audit(core_for(store, tmp_path), None, ConcentrationRequest(AGENCY, AS_OF, AS_OF))
    assert audit.income is not None and audit.why_no_income == ""
    assert [r.group for r in audit.income.rows] == ["under_25k", "over_25k"]
    import pandas as pd

    households = pd.DataFrame({"under_25k": [50.0, 400.0], "over_25k": [450.0, 100.0]}, index=[1, 2])
    by_hand = concentration_table(_by_hand(_log(store), "minutes"), households)
    assert audit.income.as_dict() == by_hand.as_dict()
    # Half a pair makes the configuration unusable, and the audit says why.
    _configure(tmp_path, 'income = "../income.csv"\n')
    broken = concentration_audit(core_for(store, tmp_path), None, ConcentrationRequest(AGENCY, AS_OF, AS_OF))
    assert broken.residents is None and "income_groups" in broken.why_no_residents


def test_without_area_data_the_audit_says_why(store: Engine, tmp_path: Path) -> None:
    make_deployment(core_for(store, tmp_path), None, _request())
    audit = concentration_audit(core_for(store, tmp_path), None, ConcentrationRequest(AGENCY, AS_OF, AS_OF))
    assert audit.lists == 1 and audit.residents is None and "no demographic data" in audit.why_no_residents


def test_the_page_the_json_and_the_command_line(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(tmp_path)
    _override(store, tmp_path, AS_OF)
    client = make_client(store, tmp_path)
    seed_user(store, "ana", "analyst", agency_code=AGENCY)
    login(client, "ana")
    page = client.get(f"/civil-rights/concentration?from={AS_OF}&to={AS_OF}")
    assert page.status_code == 200
    assert 'id="concentration-residents"' in page.text and "1 issued list with" in page.text
    assert "No income comparison" in page.text
    answer = client.get(f"/api/v1/civil-rights/concentration.json?from={AS_OF}&to={AS_OF}&measure=lists")
    assert answer.status_code == 200
    data = answer.json()
    assert data["lists"] == 1 and data["measure"] == "lists" and data["residents"]["n_areas"] == 2
    assert client.get("/api/v1/civil-rights/concentration.json?measure=hours").status_code == 400
    assert client.get("/civil-rights/concentration?from=2019-13-01").status_code == 400
    seed_user(store, "off", "officer", agency_code=AGENCY)
    officer = make_client(store, tmp_path)
    login(officer, "off")
    assert officer.get("/api/v1/civil-rights/concentration.json").status_code == 403

    from typer.testing import CliRunner

    from openilp.cli import common
    from openilp.cli.main import app

    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENILP_DATABASE_URL", store.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPENILP_AUDIT_KEY", core_for(store, tmp_path).settings.audit_key)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    try:
        result = CliRunner().invoke(app, ["concentration", "--from", str(AS_OF), "--to", str(AS_OF), "--json"])
        assert result.exit_code == 0, result.output
        cli = json.loads(result.output)
        direct = concentration_audit(core_for(store, tmp_path), None, ConcentrationRequest(AGENCY, AS_OF, AS_OF))
        assert cli == direct.as_dict() and cli["lists"] == 1
        table = CliRunner().invoke(app, ["concentration", "--from", str(AS_OF), "--to", str(AS_OF)])
        assert table.exit_code == 0 and "residents by group" in table.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
