"""The tactical bulletin on real St. Louis data: a possible burglary series found by series linkage.

The bulletin is rendered to PDF once per backend; its pages are turned into PNG images with
``pdftoppm`` and its text extracted. Its series must be the one ``possible_series`` (the series
page's service) lists for the same request, its incidents table and MO counts must match the
store, and the handling marking must be on every page.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import BACKENDS
from PIL import Image
from products_support import bulletin_store, page_texts, pdftoppm_pages, structure_of
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from store_support import add_user, core_for
from typer.testing import CliRunner

from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db.models import Incident
from openilp.db.product_models import Product
from openilp.errors import NotPermitted
from openilp.products.series_profile import look_for, series_profile
from openilp.services.analysis.common import NoEventsError
from openilp.services.products.bulletin import BulletinRequest, bulletin
from openilp.services.products.catalogue import rerender_product
from openilp.services.products.common import ProducedProduct
from openilp.services.series.possible import PossibleSeriesRequest, possible_series

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

AS_OF = dt.date(2019, 6, 9)
REQUEST = BulletinRequest("SLMPD", "burglary", AS_OF)
runner = CliRunner()


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """St. Louis, June 2018 to June 2019: the 60 days searched and the year the linkage learns from."""
    engine = bulletin_store(request.param, tmp_path_factory.mktemp("bulletin"))
    yield engine
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture(scope="module")
def produced(store: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[OpenILP, ProducedProduct]:
    core = core_for(store, tmp_path_factory.mktemp("core"), products_contact="Crime analysis unit, 314-555-0100")
    return core, bulletin(core, None, REQUEST)


def test_the_bulletin_shows_the_series_the_linkage_service_finds(produced: tuple[OpenILP, ProducedProduct]) -> None:
    core, product = produced
    with Session(core.engine) as session:
        analyst = add_user(session, "analyst.bulletin", "correct horse battery", "analyst", "SLMPD")
        session.commit()
    found = possible_series(
        core, analyst, PossibleSeriesRequest(category="burglary", days=60, as_of=AS_OF)
    )  # what the series page lists
    assert len(found.series) >= 1
    strongest = found.series[0]
    assert product.content["incident_ids"] == strongest["incident_ids"]
    assert product.content["series_found"] == len(found.series)
    assert product.content["crimes_compared"] == found.crimes and product.content["pairs_scored"] == found.pairs_scored
    assert product.content["mean_score"] == pytest.approx(strongest["mean_score"], abs=1e-6)
    assert [row["incident_id"] for row in product.content["incidents"]] != []
    assert sorted(row["incident_id"] for row in product.content["incidents"]) == sorted(strongest["incident_ids"])


def test_the_incidents_table_and_mo_counts_match_the_store(produced: tuple[OpenILP, ProducedProduct]) -> None:
    """Complaint numbers, offences and days recounted from the incident rows themselves, and found in the PDF."""
    core, product = produced
    ids = product.content["incident_ids"]
    with Session(core.engine) as session:
        rows = session.scalars(select(Incident).where(Incident.id.in_(ids))).all()
    assert len(rows) == len(ids) == product.content["profile"]["incidents"]
    offences = Counter(row.offence_description for row in rows)
    assert {name: count for name, count in product.content["profile"]["offences"]} == dict(offences)
    local = [pd.Timestamp(row.occurred_from).tz_convert("America/Chicago") for row in rows]
    weekdays = Counter(when.day_name() for when in local)
    assert {d: c for d, c in product.content["profile"]["weekdays"].items() if c} == dict(weekdays)
    text = " ".join(" ".join(page_texts(product.pdf)).split())
    for row in rows:
        assert row.source_record_id and row.source_record_id in text
    name, count = offences.most_common(1)[0]
    assert f"{name} ({count} of {len(rows)})" in text  # what to look for, stated from the counts
    assert f"{len(rows)} incidents from" in text
    assert "Crime analysis unit, 314-555-0100" in text  # the contact


def test_the_bulletin_pages_render_and_carry_the_marking(produced: tuple[OpenILP, ProducedProduct]) -> None:
    _, product = produced
    assert product.marking.tlp == "TLP:AMBER" and not product.marking.criminal_intelligence
    pages = pdftoppm_pages(product.pdf)
    assert len(pages) == product.pdf_pages >= 2
    for png in pages:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.size == (425, 550)  # US Letter at 50 dpi
        darkest, lightest = image.convert("L").getextrema()
        assert darkest < 64 and lightest > 240  # text on paper, not a blank page
    texts = page_texts(product.pdf)
    for number, text in enumerate(texts, start=1):
        flat = " ".join(text.split())
        assert "TLP:AMBER · LAW ENFORCEMENT USE" in flat, number
        assert "No criminal intelligence (28 CFR Part 23) records" in flat, number
        assert f"Page {number} of {len(texts)}" in flat


def test_the_bulletin_is_accessible(produced: tuple[OpenILP, ProducedProduct]) -> None:
    _, product = produced
    marked, elements = structure_of(product.pdf)
    roles = [role for role, _ in elements]
    assert marked and roles.count("/H1") == 1 and roles.count("/H2") == 6
    assert roles.count("/Table") >= 3 and "/L" in roles
    figures = [alt for role, alt in elements if role == "/Figure"]
    n = product.content["profile"]["incidents"]
    assert len(figures) == 2
    assert figures[0].startswith("Map: Burglary series #1, ")
    assert f"Shows {n} burglary series #1 incidents" in figures[0]
    assert figures[1].startswith(f"Timeline: Burglary series #1: when. {n} incidents from ")


def test_the_bulletin_is_stored_and_rerenders_to_the_same_numbers(produced: tuple[OpenILP, ProducedProduct]) -> None:
    core, product = produced
    with Session(core.engine) as session:
        row = session.get(Product, product.product_id)
        assert row is not None and row.kind == "bulletin"
        assert json.loads(row.parameters)["as_of"] == str(AS_OF) and row.data_cutoff is not None
    again = rerender_product(core, None, product.product_id)
    assert again.same_numbers and again.changed == ()
    assert again.product.version == product.version + 1


def test_officers_may_not_produce_bulletins_and_a_missing_series_is_explained(
    produced: tuple[OpenILP, ProducedProduct],
) -> None:
    core, _ = produced
    with Session(core.engine) as session:
        officer = add_user(session, "officer.bulletin", "correct horse battery", "officer", "SLMPD")
        session.commit()
    with pytest.raises(NotPermitted, match="products:produce"):
        bulletin(core, officer, REQUEST)
    with pytest.raises(NoEventsError, match="no series ranked 100"):
        bulletin(core, None, BulletinRequest("SLMPD", "burglary", AS_OF, rank=100))


def test_the_cli_writes_the_bulletin(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, produced: tuple[OpenILP, ProducedProduct]
) -> None:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", store.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()  # type: ignore[attr-defined]
    try:
        target = tmp_path / "bulletin.pdf"
        result = runner.invoke(
            app, ["products", "bulletin", "--agency", "SLMPD", "--as-of", str(AS_OF), "-o", str(target), "--json"]
        )
        assert result.exit_code == 0, result.output
        assert target.read_bytes()[:5] == b"%PDF-"
        facts = json.loads(result.output)
        assert facts["kind"] == "bulletin" and facts["delivered_to"] == [str(target)]
        result = runner.invoke(
            app, ["products", "rerender", str(facts["product_id"])]
        )  # a fresh process knows every kind
        assert result.exit_code == 0 and "the same numbers" in result.output, result.output
        result = runner.invoke(app, ["products", "bulletin", "--as-of", "2019-06-09", "--rank", "100", "-o", "x.pdf"])
        assert result.exit_code == 1 and "no series ranked 100" in result.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()  # type: ignore[attr-defined]


def test_the_mo_summary_counts_what_is_recorded_and_nothing_protected() -> None:
    """Date-only records have no time of day; a protected column beside the records changes nothing."""
    members = pd.DataFrame(
        {
            "occurred_local": pd.to_datetime(["2019-05-06 22:15", "2019-05-07 00:00", "2019-05-12 23:30"]),
            "window_hours": [0.5, 24.0, 0.0],
            "offence_description": ["BURGLARY-RESIDENCE/FORCE"] * 3,
            "x_m": [0.0, 100.0, 200.0],
            "y_m": [0.0, 0.0, 0.0],
            "neighbourhood": ["43", "43", "44"],
            "block_address": ["A", "B", "C"],
        }
    )
    profile = series_profile(members)
    assert profile.time_bands == {"00:00–06:00": 0, "06:00–12:00": 0, "12:00–18:00": 0, "18:00–24:00": 2}
    assert profile.no_time == 1 and profile.weekdays["Monday"] == 1 and profile.weekdays["Sunday"] == 1
    assert profile.radius_m == pytest.approx(100.0) and profile.median_gap_days == pytest.approx(3.0, abs=0.1)
    assert look_for(profile)[1].startswith("Time: 18:00–24:00 (2 of the 2 incidents with a recorded time)")
    with_race = members.assign(race=["B", "W", "B"], ethnicity=["H", "N", "N"])
    assert series_profile(with_race) == profile
    assert not {"race", "ethnicity", "religion", "national_origin"} & set(json.dumps(profile.as_dict()).split('"'))


def test_a_saved_series_makes_its_own_bulletin(produced: tuple[OpenILP, ProducedProduct], tmp_path: Path) -> None:
    """An analyst keeps the series (with a title); the bulletin of the saved series shows exactly its
    incidents and says it is the saved one, is marked on every page, and builds again the same."""
    from openilp.errors import NotFound
    from openilp.services.series.records import SaveSeriesRequest, save_series

    core, found = produced
    with Session(core.engine) as session:
        analyst = add_user(session, "analyst.saved", "correct horse battery", "analyst", "SLMPD")
        officer = add_user(session, "officer.saved", "correct horse battery", "officer", "SLMPD")
        session.commit()
    ids = tuple(found.content["incident_ids"])
    saved = save_series(core, analyst, SaveSeriesRequest("South side garage burglaries", ids))
    product = bulletin(core, analyst, BulletinRequest("SLMPD", series_id=saved.series_id))
    assert product.content["saved_series"]["id"] == saved.series_id
    assert sorted(product.content["incident_ids"]) == sorted(ids)
    assert sorted(r["incident_id"] for r in product.content["incidents"]) == sorted(ids)
    texts = [" ".join(t.split()) for t in page_texts(product.pdf)]
    text = " ".join(texts)
    assert f"Saved series {saved.series_id}" in text and "South side garage burglaries" in text
    assert all(product.marking.tlp in t for t in texts) and len(texts) == len(pdftoppm_pages(product.pdf))
    again = rerender_product(core, analyst, product.product_id)
    assert again.same_numbers
    with pytest.raises(NotPermitted):
        bulletin(core, officer, BulletinRequest("SLMPD", series_id=saved.series_id))
    with pytest.raises(NotFound, match="no crime series 999999"):
        bulletin(core, analyst, BulletinRequest("SLMPD", series_id=999999))
