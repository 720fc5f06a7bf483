"""The published, versioned harm weights of need-adjusted parity: in the library, the plan, the page and the report."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from store_support import core_for
from tasking_support import AGENCY, AS_OF, history, seed_store, trigger, write_halves
from web_support import login, make_client, seed_user

from openilp.db import session_scope
from openilp.db.models import AuditEntry
from openilp.fairness import HARM_DAYS, HARM_WEIGHTS_VERSION, published_harm_weights
from openilp.fairness.harm import HARM_WEIGHT_VERSIONS
from openilp.ingest.categories import category_attention
from openilp.services.analysis.tasking import DeployRequest, make_deployment
from openilp.services.transparency import TransparencyRequest, transparency_report

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

#: SHA-256 of each published version's weights (JSON of the sorted items), taken when it was published:
#: a published version is never edited; new weights are a new version.
PUBLISHED = {"openilp-harm-1": "85b966d066ba167b5775116397c85365dea3784d429f603313cee007d05c5af0"}


def test_the_weights_in_force_are_published_with_their_version_and_source() -> None:
    weights = published_harm_weights()
    assert weights.version == HARM_WEIGHTS_VERSION and list(HARM_WEIGHT_VERSIONS)[-1] == HARM_WEIGHTS_VERSION
    assert dict(weights.days) == HARM_DAYS
    assert "Cambridge Crime Harm Index" in weights.source and "Not the published CHI table" in weights.source
    assert {c for c, _ in weights.weighted} | set(weights.unweighted) == set(HARM_DAYS)
    assert [d for _, d in weights.weighted] == sorted((d for _, d in weights.weighted), reverse=True)
    # Every category has a published weight; those found mostly by police weigh nothing (as in the CHI).
    attention = category_attention()
    assert set(HARM_DAYS) == set(attention)
    assert all(HARM_DAYS[code] == 0 for code, (route, _) in attention.items() if route == "discovered")
    with pytest.raises(KeyError):
        published_harm_weights("no-such-version")


def test_a_published_version_never_changes() -> None:
    assert set(PUBLISHED) == set(HARM_WEIGHT_VERSIONS)
    for version, table in HARM_WEIGHT_VERSIONS.items():
        digest = hashlib.sha256(json.dumps(sorted(table.items())).encode()).hexdigest()
        assert digest == PUBLISHED[version], f"{version} was edited: publish new weights as a new version"


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    seed_store(engine, history(), "history")
    seed_store(engine, trigger(), "trigger")
    areas, _ = write_halves(tmp_path)
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / f"{AGENCY}.geojson").write_text(areas.read_text())
    (tmp_path / "disparity").mkdir()
    (tmp_path / "disparity" / f"{AGENCY}.toml").write_text(
        'demographics = "../residents.csv"\nid_column = "NHD_NUM"\ngroups = ["group_a", "group_b"]\n'
    )
    return engine


def test_each_plan_records_the_weights_it_used_and_the_page_and_report_show_them(store: Engine, tmp_path: Path) -> None:
    request = DeployRequest(AGENCY, as_of=AS_OF, officer_minutes=800.0, method="naive", near_repeat=False)
    plan = make_deployment(core_for(store, tmp_path), None, request)
    assert plan.as_dict()["harm_weights"] == HARM_WEIGHTS_VERSION
    with session_scope(store) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "deployment_plan")).one()
        assert json.loads(entry.details)["harm_weights"] == HARM_WEIGHTS_VERSION

    client = make_client(store, tmp_path)
    seed_user(store, "ana", "analyst", agency_code=AGENCY)
    login(client, "ana")
    page = client.get(f"/deploy?as_of={AS_OF}&officer_minutes=800&method=naive&near_repeat=off")
    assert page.status_code == 200 and 'id="disparity-harm-weights"' in page.text
    assert f"<strong>{HARM_WEIGHTS_VERSION}</strong>" in page.text and "burglary 120" in page.text

    year = dt.datetime.now(dt.UTC).year
    report = transparency_report(core_for(store, tmp_path), None, TransparencyRequest(AGENCY, year))
    rows = {measure: value for section, measure, value in report.rows if section.startswith("Harm weights")}
    assert rows["version in force"].startswith(f"{HARM_WEIGHTS_VERSION}: OpenILP policy defaults")
    assert rows["homicide"] == "5,475 days" and rows["burglary"] == "120 days"
    assert rows["categories weighing nothing"].startswith("0 days: ") and "drugs" in rows["categories weighing nothing"]
    assert set(rows) == {"version in force", "categories weighing nothing"} | {
        c for c, _ in published_harm_weights().weighted
    }
