"""Crime series in practice: "crimes like this one" and possible series on St. Louis burglaries, saving
and reviewing a series (both engines), need-to-know between agencies, and the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file
from sqlalchemy import Engine, select
from store_support import core_for, import_source
from web_support import (
    IncidentSpec,
    audit_actions,
    csrf_from,
    login,
    make_client,
    seed_agency,
    seed_incidents,
    seed_user,
)

from openilp.db import make_engine, migrate, session_scope
from openilp.db.models import Incident
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.ingest.spec import load_source_spec
from openilp.services import series
from openilp.services.accounts.records import user_by_username as get_user_by_username
from openilp.services.accounts.records import user_info as get_user_info
from openilp.services.series.common import SCORED_VARIABLES, crime_table, fitted_prior_model

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _actor(engine: Engine, username: str):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        user = get_user_by_username(session, username)
        assert user is not None
        info = get_user_info(session, user.id)
    assert info is not None
    return info


@pytest.fixture(scope="module")
def stl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    folder = tmp_path_factory.mktemp("series-stl")
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    files = [shared_file("stlouis", "monthly", "2019", name) for name in ("january2019.csv", "february2019.csv")]
    import_source(engine, load_source_spec("stlouis"), files, workers=1)
    seed_user(engine, "series-analyst", role="analyst")
    yield engine, folder
    engine.dispose()


def _burglary(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(
            session.scalars(
                select(Incident.id)
                .where(Incident.category_code.like("burglary%"), Incident.location_status == "located")
                .order_by(Incident.occurred_from)
                .offset(200)
                .limit(1)
            ).one()
        )


@pytest.mark.realdata
def test_crimes_like_this_one_on_st_louis(stl: tuple[Engine, Path]) -> None:
    engine, _ = stl
    core = core_for(engine)
    actor = _actor(engine, "series-analyst")
    seed = _burglary(engine)
    result = series.similar_incidents(core, actor, series.SimilarRequest(incident_id=seed, top=20))
    rows = result.similar
    assert len(rows) == 20 and result.compared > 1000
    assert seed not in {r["incident_id"] for r in rows}
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    # the best-scored crimes are near in space and time, far nearer than crimes in general
    assert np.median([r["distance_m"] for r in rows]) < 1500
    assert np.median([r["days_apart"] for r in rows]) < 30
    assert result.method["variables"] == list(SCORED_VARIABLES)
    assert any("no offender truth" in line for line in result.limitations)
    assert "series_similar" in [a for a, _, _ in audit_actions(engine)]


@pytest.mark.realdata
def test_possible_series_on_st_louis_burglaries(stl: tuple[Engine, Path]) -> None:
    engine, _ = stl
    core = core_for(engine)
    actor = _actor(engine, "series-analyst")
    request = series.PossibleSeriesRequest(category="burglary", days=59, as_of=dt.date(2019, 2, 28))
    result = series.possible_series(core, actor, request)
    assert result.crimes > 300 and result.pairs_scored > 0
    assert result.period == ("2019-01-01", "2019-02-28")
    assert result.series, "a city's two months of burglaries hold some tight clusters"
    for found in result.series:
        assert found["size"] >= 3 and found["mean_score"] >= request.threshold
        assert "2019-01-01" <= found["first"][:10] <= found["last"][:10] <= "2019-02-28"
    means = [s["mean_score"] for s in result.series]
    assert means == sorted(means, reverse=True)


def test_the_score_sees_only_where_when_and_category() -> None:
    """Protected attributes never enter the score: the model reads three variables, the table refuses more."""
    import pandas as pd

    events = pd.DataFrame(
        {
            "incident_id": [1, 2, 3],
            "category": ["burglary", "burglary", "robbery"],
            "occurred_from": pd.to_datetime(["2019-01-01", "2019-01-03", "2019-02-01"]),
            "occurred_to": pd.to_datetime(["2019-01-01", "2019-01-03", "2019-02-01"]),
            "x_m": [0.0, 100.0, 5000.0],
            "y_m": [0.0, 0.0, 0.0],
        }
    )
    crimes = crime_table(events)
    assert list(crimes.fields) == ["category"]
    model = fitted_prior_model(crimes, series.common.ScoringPrior(), pairs=50)
    assert set(model.feature_names_) <= set(SCORED_VARIABLES)
    with pytest.raises(ValueError, match="protected attribute"):
        crime_table(events.assign(race=["a", "b", "c"])).__class__.from_frame(
            events.assign(race=["a", "b", "c"]), x="x_m", y="y_m", fields=["category", "race"]
        )


@pytest.fixture
def two_agencies(engine: Engine) -> tuple[Engine, list[int], list[int]]:
    seed_agency(engine, "SLMPD")
    seed_agency(engine, "OTHER", timezone="America/New_York")
    when = dt.datetime(2019, 3, 4, 10, tzinfo=dt.UTC)
    mine = seed_incidents(engine, "SLMPD", [IncidentSpec("burglary", when + dt.timedelta(days=k)) for k in range(3)])
    theirs = seed_incidents(engine, "OTHER", [IncidentSpec("burglary", when), IncidentSpec("burglary", when)])
    for name, role, agency in (
        ("ana", "analyst", "SLMPD"),
        ("sup", "supervisor", "SLMPD"),
        ("off", "officer", "SLMPD"),
        ("aud", "auditor", "SLMPD"),
        ("other", "analyst", "OTHER"),
    ):
        seed_user(engine, name, role=role, agency_code=agency)
    return engine, mine, theirs


def test_save_review_and_need_to_know(two_agencies: tuple[Engine, list[int], list[int]]) -> None:
    engine, mine, theirs = two_agencies
    core = core_for(engine)
    ana, sup, off, aud, other = (_actor(engine, n) for n in ("ana", "sup", "off", "aud", "other"))
    saved = series.save_series(
        core, ana, series.SaveSeriesRequest(title="Market St burglaries", incident_ids=tuple(mine), notes="same door")
    )
    assert saved.members == 3
    # another agency's incidents can neither be saved nor seen
    with pytest.raises(NotFound):
        series.save_series(core, ana, series.SaveSeriesRequest(title="x", incident_ids=(mine[0], theirs[0])))
    with pytest.raises(NotFound):
        series.show_series(core, other, saved.series_id)
    assert series.list_series(core, other).series == ()
    with pytest.raises(NotFound):
        series.similar_incidents(core, ana, series.SimilarRequest(incident_id=theirs[0]))
    # roles: officers read, may not save or review; auditors may not read
    assert series.show_series(core, off, saved.series_id).series["title"] == "Market St burglaries"
    with pytest.raises(NotPermitted):
        series.save_series(core, off, series.SaveSeriesRequest(title="x", incident_ids=tuple(mine)))
    with pytest.raises(NotPermitted):
        series.list_series(core, aud)
    with pytest.raises(NotPermitted):
        series.review_series(core, off, series.ReviewSeriesRequest(saved.series_id, "confirmed"))
    # an intelligence record must be one the saver may read (none exists here)
    with pytest.raises(NotFound, match="intelligence record"):
        series.save_series(core, ana, series.SaveSeriesRequest(title="x", incident_ids=tuple(mine), intel_record_id=1))
    with pytest.raises(InvalidRequest, match="2 to"):
        series.save_series(core, ana, series.SaveSeriesRequest(title="x", incident_ids=(mine[0],)))
    # four eyes: the analyst who saved it cannot review it even as a supervisor would
    mine_by_sup = series.save_series(core, sup, series.SaveSeriesRequest(title="y", incident_ids=tuple(mine[:2])))
    with pytest.raises(InvalidRequest, match="someone other"):
        series.review_series(core, sup, series.ReviewSeriesRequest(mine_by_sup.series_id, "rejected"))
    detail = series.review_series(
        core, sup, series.ReviewSeriesRequest(saved.series_id, "confirmed", "same tool marks")
    )
    assert detail.series["status"] == "confirmed" and detail.series["review_note"] == "same tool marks"
    assert [m["incident_id"] for m in detail.members] == mine
    actions = [a for a, _, _ in audit_actions(engine)]
    for action in ("series_saved", "series_read", "series_reviewed"):
        assert action in actions


def test_pages_save_and_review(two_agencies: tuple[Engine, list[int], list[int]], tmp_path: Path) -> None:
    engine, mine, theirs = two_agencies
    client = make_client(engine, tmp_path)
    assert login(client, "ana").status_code == 303
    page = client.get("/series")
    assert page.status_code == 200 and "Possible series" in page.text
    response = client.post(
        "/series",
        data={
            "csrf_token": csrf_from(page.text),
            "title": "Three on Market St",
            "incident_ids": [str(i) for i in mine],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    detail_url = response.headers["location"]
    detail = client.get(detail_url)
    assert detail.status_code == 200 and "Three on Market St" in detail.text and 'id="series-map"' in detail.text
    assert client.get(f"/api/v1/series/{detail_url.rsplit('/', 1)[1]}").json()["series"]["status"] == "possible"
    assert "review-series" not in detail.text  # analysts do not review
    other = make_client(engine, tmp_path)
    login(other, "other")
    assert other.get(detail_url).status_code == 404
    assert other.get(f"/api/v1/series/similar?incident_id={mine[0]}").status_code == 404
    reviewer = make_client(engine, tmp_path)
    login(reviewer, "sup")
    page = reviewer.get(detail_url)
    assert "review-series" in page.text
    response = reviewer.post(
        f"{detail_url}/review",
        data={"csrf_token": csrf_from(page.text), "status": "rejected", "note": "different entry"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "rejected" in reviewer.get(detail_url).text
    bad = client.get("/series?category=nonsense")
    assert bad.status_code == 400 and "unknown category" in bad.text


@pytest.mark.realdata
def test_similar_page_on_st_louis(stl: tuple[Engine, Path]) -> None:
    engine, folder = stl
    client = make_client(engine, folder)
    assert login(client, "series-analyst").status_code == 303
    seed = _burglary(engine)
    page = client.get(f"/series/similar?incident_id={seed}")
    assert page.status_code == 200
    assert 'id="similar-table"' in page.text and 'id="series-timeline"' in page.text
    assert "no offender truth" in page.text
    api = client.get(f"/api/v1/series/similar?incident_id={seed}&top=5").json()
    assert len(api["similar"]) == 5 and api["seed"]["incident_id"] == seed
