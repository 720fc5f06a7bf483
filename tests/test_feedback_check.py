"""The live feedback check over issued lists: the service's fit equals the library's on arrays built by hand."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from store_support import core_for
from tasking_support import _TO_LONLAT, _TO_METRES, AGENCY, AS_OF, CENTRE, history, seed_store, trigger, write_halves
from web_support import audit_actions, login, make_client, seed_user

import openilp.services.analysis.feedback_check as feedback_service
from openilp.db import session_scope
from openilp.db.models import Incident
from openilp.db.patrol_models import PatrolLogEntry
from openilp.errors import InvalidRequest, NotPermitted
from openilp.fairness import live_feedback_check
from openilp.security.actors import UserInfo
from openilp.services.analysis.feedback_check import FeedbackRequest, live_feedback_audit
from openilp.services.analysis.forecasting import ForecastRequest, run_forecast
from openilp.services.analysis.tasking import DeployRequest, make_deployment

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

#: The weekly shift days of the issued lists.
WEEKS = [AS_OF - dt.timedelta(days=7 * k) for k in (4, 3, 2, 1, 0)]
#: The grid of neighbourhoods: SIDE × SIDE squares of SQUARE_M metres centred on CENTRE.
SIDE, SQUARE_M = 4, 1250.0
TOML = 'demographics = "../residents.csv"\nid_column = "NHD_NUM"\ngroups = ["group_a", "group_b"]\nlabel = "test"\n'


def _square(x_m: float, y_m: float) -> int:
    """The square (0 … SIDE²-1, row by row from the south-west) holding a point, -1 outside: arithmetic, no polygons."""
    col = int(np.floor((x_m - CENTRE[0] + SIDE * SQUARE_M / 2) / SQUARE_M))
    row = int(np.floor((y_m - CENTRE[1] + SIDE * SQUARE_M / 2) / SQUARE_M))
    return row * SIDE + col if 0 <= col < SIDE and 0 <= row < SIDE else -1


def _write_grid(path: Path) -> None:
    features = []
    half = SIDE * SQUARE_M / 2
    for row in range(SIDE):
        for col in range(SIDE):
            x0, y0 = -half + col * SQUARE_M, -half + row * SQUARE_M
            corners = [(x0, y0), (x0 + SQUARE_M, y0), (x0 + SQUARE_M, y0 + SQUARE_M), (x0, y0 + SQUARE_M), (x0, y0)]
            ring = [list(_TO_LONLAT.transform(CENTRE[0] + dx, CENTRE[1] + dy)) for dx, dy in corners]
            features.append(
                {
                    "type": "Feature",
                    "properties": {"NHD_NUM": row * SIDE + col + 1, "NHD_NAME": f"Square {row}-{col}"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def _recent(seed: int = 3) -> list[tuple[float, float, dt.datetime]]:
    """Reported burglaries in the weeks of the lists (40 a week; with the trigger, 201 in the five weeks):
    more in the north-east, so the areas differ."""
    rng = np.random.default_rng(seed)
    events = []
    for week in (*WEEKS, AS_OF + dt.timedelta(days=7)):
        for _ in range(40):
            spread = 1200.0 if rng.random() < 0.4 else 2400.0
            base = (CENTRE[0] + 1000.0, CENTRE[1] + 1000.0) if spread < 2000 else CENTRE
            x, y = base[0] + rng.uniform(-spread, spread) / 2, base[1] + rng.uniform(-spread, spread) / 2
            day = week + dt.timedelta(days=int(rng.integers(7)))
            events.append((x, y, dt.datetime.combine(day, dt.time(18), tzinfo=dt.UTC)))
    return events


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    seed_store(engine, _recent(), "recent")
    (tmp_path / "boundaries").mkdir()
    _write_grid(tmp_path / "boundaries" / f"{AGENCY}.geojson")
    write_halves(tmp_path)  # residents.csv, read only when a disparity configuration names it
    return engine


def _issue_weekly(store: Engine, tmp_path: Path, weeks: list[dt.date] = WEEKS) -> None:
    core = core_for(store, tmp_path)
    for day in weeks:
        request = DeployRequest(AGENCY, as_of=day, officer_minutes=800.0, method="naive", near_repeat=False)
        assert make_deployment(core, None, request).status == "issued"


def _actor(role: str, agency_code: str = AGENCY) -> UserInfo:
    return UserInfo(
        7,
        role,
        role.title(),
        role,
        1,
        agency_code,
        "Synthetic police",
        True,
        None,
        None,
        dt.datetime(2019, 1, 1, tzinfo=dt.UTC),
    )


def _by_hand(store: Engine, tmp_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """risk, share and reported (16 squares × 5 weeks) from the forecast, the incidents and the log rows."""
    n = SIDE * SIDE
    risk, share, reported = np.zeros((n, len(WEEKS))), np.zeros((n, len(WEEKS))), np.zeros((n, len(WEEKS)))
    core = core_for(store, tmp_path)
    with session_scope(store) as session:
        incidents = session.execute(
            select(Incident.x_m, Incident.y_m, Incident.occurred_from).where(Incident.attention == "reported")
        ).all()
        log = session.execute(
            select(PatrolLogEntry.shift_day, PatrolLogEntry.lon, PatrolLogEntry.lat, PatrolLogEntry.minutes)
        ).all()
    for t, day in enumerate(WEEKS):
        forecast = run_forecast(core, None, ForecastRequest(AGENCY, ("burglary",), day, "naive", 150.0, 7.0))
        cx, cy = forecast.forecaster.grid_.centres_m()
        for x, y, score in zip(cx, cy, np.asarray(forecast.scores, dtype=float), strict=True):
            if (square := _square(x, y)) >= 0:
                risk[square, t] += score
        end = day + dt.timedelta(days=7)
        for x, y, when in incidents:
            local = when.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=-5))).date()
            if day <= local < end and (square := _square(x, y)) >= 0:
                reported[square, t] += 1
        for shift_day, lon, lat, minutes in log:
            if shift_day == day:
                x, y = _TO_METRES.transform(lon, lat)
                share[_square(x, y), t] += minutes
        share[:, t] /= share[:, t].sum()
    return risk, share, reported


def test_the_service_fits_what_the_library_fits_on_arrays_built_by_hand(store: Engine, tmp_path: Path) -> None:
    _issue_weekly(store, tmp_path)
    result = live_feedback_audit(core_for(store, tmp_path), None, FeedbackRequest(AGENCY, WEEKS[0], WEEKS[-1]))
    risk, share, reported = _by_hand(store, tmp_path)
    assert reported.sum() == 201 and (share > 0).sum(axis=0).min() >= 2  # patrol in several squares each week
    expected = live_feedback_check(risk, share, reported)
    assert result.check.beta == pytest.approx(expected.beta, rel=1e-9, abs=1e-12)
    assert result.check.standard_error == pytest.approx(expected.standard_error, rel=1e-9)
    assert result.check.p_value == pytest.approx(expected.p_value, rel=1e-9, abs=1e-12)
    assert result.check.gamma == pytest.approx(expected.gamma, rel=1e-9, abs=1e-12)
    assert result.check.n_observations == 16 * 4 == expected.n_observations
    assert result.cycle_days == tuple(WEEKS) and result.areas == 16 and result.lists == 5
    assert result.places_outside == 0 and result.methods == ("naive",)
    data = result.as_dict()
    assert data["alert"] is expected.alert and data["cycles"] == 5 and data["observations"] == 64
    assert f"{expected.beta:.2f}" in data["meaning"]
    assert ("read", None, "feedback_check") in audit_actions(store)


def test_the_check_refuses_too_few_cycles_or_areas_and_too_many_cycles(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issue_weekly(store, tmp_path, WEEKS[:3])
    core = core_for(store, tmp_path)
    with pytest.raises(InvalidRequest, match="at least 2 shift days; NRT has 1 .*longer period"):
        live_feedback_audit(core, None, FeedbackRequest(AGENCY, WEEKS[0], WEEKS[0]))
    with pytest.raises(InvalidRequest, match="at least 2 shift days; NRT has 0"):
        live_feedback_audit(
            core, None, FeedbackRequest(AGENCY, AS_OF + dt.timedelta(days=1), AS_OF + dt.timedelta(days=9))
        )
    with pytest.raises(InvalidRequest, match="after date_to"):
        live_feedback_audit(core, None, FeedbackRequest(AGENCY, WEEKS[2], WEEKS[0]))
    monkeypatch.setattr(feedback_service, "MAX_CYCLES", 2)
    with pytest.raises(InvalidRequest, match="3 shift days .* at most 2 cycles, give a shorter period"):
        live_feedback_audit(core, None, FeedbackRequest(AGENCY, WEEKS[0], WEEKS[2]))
    monkeypatch.undo()
    halves, _ = write_halves(tmp_path)  # a layer of two areas only
    (tmp_path / "boundaries" / f"{AGENCY}.geojson").write_text(halves.read_text())
    with pytest.raises(InvalidRequest, match="has 2 areas: the check needs at least 3"):
        live_feedback_audit(core_for(store, tmp_path), None, FeedbackRequest(AGENCY, WEEKS[0], WEEKS[2]))
    (tmp_path / "boundaries" / f"{AGENCY}.geojson").unlink()
    with pytest.raises(InvalidRequest, match="no boundary layer"):
        live_feedback_audit(core_for(store, tmp_path), None, FeedbackRequest(AGENCY, WEEKS[0], WEEKS[2]))


def test_protected_attributes_never_enter(store: Engine, tmp_path: Path) -> None:
    _issue_weekly(store, tmp_path, WEEKS[:3])
    request = FeedbackRequest(AGENCY, WEEKS[0], WEEKS[2])
    without = live_feedback_audit(core_for(store, tmp_path), None, request).as_dict()
    (tmp_path / "disparity").mkdir()
    (tmp_path / "disparity" / f"{AGENCY}.toml").write_text(TOML)
    with_data = live_feedback_audit(core_for(store, tmp_path), None, request).as_dict()
    assert with_data == without and without["observations"] == 32
    tree = ast.parse(Path(feedback_service.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    assert not imported & {"read_demographics", "disparity_source_for", "DisparitySource", "concentration_table"}


def test_only_planners_of_the_agency_may_run_it(store: Engine, tmp_path: Path) -> None:
    _issue_weekly(store, tmp_path, WEEKS[:2])
    core = core_for(store, tmp_path)
    request = FeedbackRequest(AGENCY, WEEKS[0], WEEKS[1])
    officer = _actor("officer")
    with pytest.raises(NotPermitted):
        live_feedback_audit(core, officer, request)
    analyst_elsewhere = _actor("analyst", "OTHER")
    with pytest.raises(NotPermitted):
        live_feedback_audit(core, analyst_elsewhere, FeedbackRequest(AGENCY, WEEKS[0], WEEKS[1]))
    analyst = _actor("analyst")
    assert live_feedback_audit(core, analyst, request).areas == 16


def test_the_page_the_json_and_the_command_line_agree(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issue_weekly(store, tmp_path, WEEKS[:3])
    client = make_client(store, tmp_path)
    seed_user(store, "ana", "analyst", agency_code=AGENCY)
    login(client, "ana")
    empty = client.get("/civil-rights/feedback")
    assert empty.status_code == 200 and 'id="feedback-result"' not in empty.text
    page = _when_done(client, f"/civil-rights/feedback?from={WEEKS[0]}&to={WEEKS[2]}")
    assert page.status_code == 200 and 'id="feedback-result"' in page.text and 'id="feedback-meaning"' in page.text
    answer = _when_done(client, f"/api/v1/civil-rights/feedback.json?from={WEEKS[0]}&to={WEEKS[2]}")
    assert answer.status_code == 200
    api = answer.json()
    assert api["cycles"] == 3 and api["areas"] == 16
    refused = client.get(f"/civil-rights/feedback?from={WEEKS[0]}&to={WEEKS[0]}")
    assert (
        refused.status_code == 400 and 'id="feedback-error"' in refused.text and "at least 2 shift days" in refused.text
    )
    assert client.get("/api/v1/civil-rights/feedback.json?from=2019-13-01").status_code == 400
    seed_user(store, "off", "officer", agency_code=AGENCY)
    officer = make_client(store, tmp_path)
    login(officer, "off")
    assert officer.get(f"/api/v1/civil-rights/feedback.json?from={WEEKS[0]}&to={WEEKS[2]}").status_code == 403

    from typer.testing import CliRunner

    from openilp.cli import common
    from openilp.cli.main import app

    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENILP_DATABASE_URL", store.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPENILP_AUDIT_KEY", core_for(store, tmp_path).settings.audit_key)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    try:
        args = ["feedback-check", "--agency", AGENCY, "--from", str(WEEKS[0]), "--to", str(WEEKS[2])]
        result = CliRunner().invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == api
        table = CliRunner().invoke(app, args)
        assert table.exit_code == 0 and "beta (patrol share)" in table.output and "Beta is" in table.output
        short = CliRunner().invoke(app, ["feedback-check", "--from", str(WEEKS[0]), "--to", str(WEEKS[0])])
        assert short.exit_code != 0 and "at least 2 shift days" in short.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()


def _job_status(client, status_url: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Poll the job's status until it is no longer running (at most a minute)."""
    for _ in range(600):
        status = client.get(status_url).json()
        if status["state"] != "running":
            return dict(status)
        time.sleep(0.1)
    raise AssertionError("the job did not end within a minute")


def _status_url(response) -> str:  # type: ignore[no-untyped-def]
    if response.headers["content-type"].startswith("application/json"):
        return str(response.json()["status_url"])
    found = re.search(r'data-job-url="(/api/v1/jobs/[^"]+)"', response.text)
    assert found, "no progress page"
    return found.group(1)


def _when_done(client, url: str):  # type: ignore[no-untyped-def]
    """``url``'s answer once its background job has ended (the machine may be slower than page_wait_ms)."""
    first = client.get(url)
    if first.status_code != 202:
        return first
    _job_status(client, _status_url(first))
    return client.get(url)


def _feedback_reads(store: Engine) -> int:
    return sum(
        1 for action, user, kind in audit_actions(store) if (action, user, kind) == ("read", "ana", "feedback_check")
    )


def test_the_page_and_the_json_answer_at_once_while_the_check_runs_then_give_the_service_numbers(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issue_weekly(store, tmp_path, WEEKS[:3])
    release, calls = threading.Event(), []
    real_arrays = feedback_service.feedback_arrays

    def held_arrays(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        assert release.wait(60), "the test never released the check"
        return real_arrays(*args, **kwargs)

    monkeypatch.setattr(feedback_service, "feedback_arrays", held_arrays)
    client = make_client(store, tmp_path, page_wait_ms=0)
    seed_user(store, "ana", "analyst", agency_code=AGENCY)
    login(client, "ana")
    query = f"from={WEEKS[0]}&to={WEEKS[2]}"
    # The forecasts are held back: both answers come while the job runs, so neither waited for it.
    running = client.get(f"/api/v1/civil-rights/feedback.json?{query}")
    assert running.status_code == 202
    body = running.json()
    assert body["state"] == "running" and body["status_url"] == f"/api/v1/jobs/{body['id']}"
    assert running.headers["location"] == body["status_url"]
    page = client.get(f"/civil-rights/feedback?{query}")
    assert page.status_code == 202 and 'id="job-bar"' in page.text and "Live feedback check" in page.text
    assert _status_url(page) == body["status_url"]  # the page joins the JSON's job: one computation
    assert client.get(body["status_url"]).json()["state"] == "running"
    release.set()
    status = _job_status(client, body["status_url"])
    assert status["state"] == "done" and status["error"] is None and status["fraction"] == 1
    answer = client.get(f"/api/v1/civil-rights/feedback.json?{query}")
    assert answer.status_code == 200
    done = client.get(f"/civil-rights/feedback?{query}")
    assert done.status_code == 200 and 'id="feedback-result"' in done.text
    assert len(calls) == 1  # the stored result, not a second run
    expected = live_feedback_audit(
        core_for(store, tmp_path), _actor("analyst"), FeedbackRequest(AGENCY, WEEKS[0], WEEKS[2])
    )
    assert answer.json() == expected.as_dict()
    assert expected.as_dict()["cycles"] == 3 and expected.areas == 16
    assert f"{expected.check.beta:.4f}" in done.text and f"{expected.check.p_value:.4f}" in done.text
    # Every request is audited as before: the two that answered 202 and the two that answered the result.
    assert _feedback_reads(store) == 4
    # Who may see it is checked at once, not in the job.
    seed_user(store, "off", "officer", agency_code=AGENCY)
    officer = make_client(store, tmp_path, page_wait_ms=0)
    login(officer, "off")
    assert officer.get(f"/api/v1/civil-rights/feedback.json?{query}").status_code == 403
    assert officer.get(f"/civil-rights/feedback?{query}").status_code == 403
    assert client.get(f"/api/v1/civil-rights/feedback.json?from={WEEKS[0]}&to={WEEKS[0]}").status_code == 400


def test_a_failed_check_shows_its_error_once_then_runs_again(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issue_weekly(store, tmp_path, WEEKS[:3])
    release, calls = threading.Event(), []

    def broken_arrays(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        assert release.wait(60), "the test never released the check"
        raise RuntimeError("the forecast store is unreachable")

    monkeypatch.setattr(feedback_service, "feedback_arrays", broken_arrays)
    client = make_client(store, tmp_path, page_wait_ms=0)
    seed_user(store, "ana", "analyst", agency_code=AGENCY)
    login(client, "ana")
    url = f"/civil-rights/feedback?from={WEEKS[0]}&to={WEEKS[2]}"
    running = client.get(url)
    assert running.status_code == 202
    release.set()
    status = _job_status(client, _status_url(running))
    assert status["state"] == "failed" and status["error"] == "the forecast store is unreachable"
    # The reload after the job ended shows the error (not a blank page, not a new run) ...
    failed = client.get(url)
    assert failed.status_code == 500 and 'id="feedback-error"' in failed.text
    assert "The check failed: the forecast store is unreachable" in failed.text and len(calls) == 1
    # ... and the next request tries again; the JSON reports the failure with its message and the job.
    failed_json = _when_done(client, f"/api/v1/civil-rights/feedback.json?from={WEEKS[0]}&to={WEEKS[2]}")
    assert failed_json.status_code == 500 and len(calls) == 2
    assert failed_json.json()["detail"] == "The check failed: the forecast store is unreachable"
    assert failed_json.json()["job"]["state"] == "failed"
