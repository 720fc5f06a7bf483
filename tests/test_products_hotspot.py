"""The tactical bulletin of a hot spot on real St. Louis data: a near-repeat alert zone in force.

The bulletin of the strongest burglary hot spot in force on 2019-06-09 is rendered to PDF once per
backend; its pages are turned into PNG images with ``pdftoppm`` and its text extracted. Its zone must
be one the near-repeat service finds for the same request (the CompStat pack's), its incidents the
service's members of that zone and, recounted by brute force from the incident rows, the same; the
handling marking on every page. Protected attributes cannot reach the selection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from conftest import BACKENDS
from PIL import Image
from products_support import TileServer, bulletin_store, page_texts, pdftoppm_pages, structure_of
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from store_support import add_user, core_for
from typer.testing import CliRunner

from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db.models import Incident
from openilp.db.product_models import Product
from openilp.errors import InvalidRequest, NotPermitted
from openilp.services.analysis import nearrepeat as nearrepeat_service
from openilp.services.analysis.common import NoEventsError, guard_event_frame
from openilp.services.analysis.events import EVENT_COLUMNS, load_events
from openilp.services.analysis.nearrepeat import run_near_repeat_alerts
from openilp.services.products.bulletin import BulletinRequest, bulletin
from openilp.services.products.catalogue import rerender_product
from openilp.services.products.common import ProducedProduct
from openilp.services.products.hotspot_bulletin import hot_spot_alert_request, rank_hot_spots

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

AS_OF = dt.date(2019, 6, 9)
REQUEST = BulletinRequest("SLMPD", "burglary", AS_OF, hot_spot=True)
runner = CliRunner()


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """St. Louis, June 2018 to June 2019: the alert window and the year its Knox test learns from."""
    engine = bulletin_store(request.param, tmp_path_factory.mktemp("hotspot"))
    yield engine
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture(scope="module")
def produced(store: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[OpenILP, ProducedProduct]:
    core = core_for(store, tmp_path_factory.mktemp("core"), products_contact="Crime analysis unit, 314-555-0100")
    return core, bulletin(core, None, REQUEST)


def _local_day(row: Incident, zone: ZoneInfo) -> dt.date:
    """The local day of the midpoint of the occurrence window (the near-repeat services' event day)."""
    assert row.occurred_from is not None
    start = row.occurred_from.replace(tzinfo=row.occurred_from.tzinfo or dt.UTC)
    end = start if row.occurred_to is None else row.occurred_to.replace(tzinfo=row.occurred_to.tzinfo or dt.UTC)
    return (start + (end - start) / 2).astimezone(zone).date()


def test_the_hot_spot_is_the_service_zone_and_its_members_are_recounted(
    produced: tuple[OpenILP, ProducedProduct],
) -> None:
    """Member count = the near-repeat service's members of the same zone = a brute-force recount from the store."""
    core, product = produced
    alerts = run_near_repeat_alerts(
        core, None, hot_spot_alert_request(dataclasses.replace(REQUEST, agency_code="SLMPD"))
    )
    spot = product.content["hot_spot"]
    zones = {int(z["incident_id"]): z for z in alerts.to_json()["zones"]}
    assert spot["incident_id"] in zones
    assert spot["radius_m"] == zones[spot["incident_id"]]["radius_m"]
    assert spot["expires_date"] == zones[spot["incident_id"]]["expires_date"]
    members = alerts.zone_members(spot["incident_id"])
    assert len(members) == spot["incidents"] == len(product.content["incident_ids"]) >= 2
    assert sorted(members["incident_id"]) == sorted(product.content["incident_ids"])
    # Rank 1 holds the most incidents of any zone in force.
    counts = alerts.zone_members().groupby("zone_incident_id").size()
    assert spot["incidents"] == int(counts.max())
    assert product.content["hot_spots_found"] == len(rank_hot_spots(alerts)) >= 1
    # Brute force from the incident rows: same category, located, in the alert window, within the radius.
    recent_from = dt.date.fromisoformat(product.content["period"][0])
    with Session(core.engine) as session:
        trigger = session.get(Incident, spot["incident_id"])
        assert trigger is not None and trigger.x_m is not None and trigger.y_m is not None
        rows = session.scalars(
            select(Incident).where(Incident.category_code == "burglary", Incident.x_m.is_not(None))
        ).all()
        inside = sorted(
            row.id
            for row in rows
            if row.occurred_from is not None
            and recent_from <= _local_day(row, ZoneInfo("America/Chicago")) <= AS_OF
            and math.hypot(row.x_m - trigger.x_m, row.y_m - trigger.y_m) <= spot["radius_m"] + 1e-6  # type: ignore[operator]
        )
    assert inside == sorted(product.content["incident_ids"])
    assert (recent_from - AS_OF).days == -41  # the 42 days of the last time band, to as_of
    # The numbers as printed.
    text = " ".join(" ".join(page_texts(product.pdf)).split())
    assert f"{spot['incidents']} incidents from" in text
    assert f"radius {spot['radius_m']:,.0f} m" in text
    assert f"{alerts.summary()['zones']} zones are in force" in text
    assert f"number 1 of {product.content['hot_spots_found']} distinct hot spots" in text
    assert "How the hot spot was found" in text and "Knox test" in text
    for row in product.content["incidents"]:
        assert row["complaint_number"] in text
    assert "Crime analysis unit, 314-555-0100" in text


def test_the_hot_spot_bulletin_pages_render_and_carry_the_marking(produced: tuple[OpenILP, ProducedProduct]) -> None:
    _, product = produced
    assert product.marking.tlp == "TLP:AMBER" and not product.marking.criminal_intelligence
    pages = pdftoppm_pages(product.pdf)
    assert len(pages) == product.pdf_pages >= 2
    for png in pages:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.size == (425, 550)
        darkest, lightest = image.convert("L").getextrema()
        assert darkest < 64 and lightest > 240
    texts = page_texts(product.pdf)
    for number, text in enumerate(texts, start=1):
        flat = " ".join(text.split())
        assert "TLP:AMBER · LAW ENFORCEMENT USE" in flat, number
        assert "No criminal intelligence (28 CFR Part 23) records" in flat, number
        assert f"Page {number} of {len(texts)}" in flat
    marked, elements = structure_of(product.pdf)
    figures = [alt for role, alt in elements if role == "/Figure"]
    assert marked and len(figures) == 2
    assert figures[0].startswith("Map: Burglary hot spot at ") and "1 near-repeat zones (dashed circles)" in figures[0]


def test_the_hot_spot_bulletin_is_stored_and_rerenders_to_the_same_numbers(
    produced: tuple[OpenILP, ProducedProduct],
) -> None:
    core, product = produced
    with Session(core.engine) as session:
        row = session.get(Product, product.product_id)
        assert row is not None and row.kind == "bulletin" and row.data_cutoff is not None
        parameters = json.loads(row.parameters)
    assert parameters["hot_spot"] is True and parameters["as_of"] == str(AS_OF)
    assert parameters["knox_permutations"] == 99 and parameters["history_days"] == 365
    again = rerender_product(core, None, product.product_id)
    assert again.same_numbers and again.changed == ()
    assert again.product.version == product.version + 1


def test_a_zone_is_chosen_by_its_incident_and_ranks_are_distinct_places(
    produced: tuple[OpenILP, ProducedProduct],
) -> None:
    core, first = produced
    alerts = run_near_repeat_alerts(
        core, None, hot_spot_alert_request(dataclasses.replace(REQUEST, agency_code="SLMPD"))
    )
    ranked = rank_hot_spots(alerts)
    if len(ranked) >= 2:
        second = bulletin(core, None, dataclasses.replace(REQUEST, rank=2)).content
        assert second["hot_spot"]["incident_id"] == ranked[1]["incident_id"]
        assert second["hot_spot"]["incident_id"] not in first.content["incident_ids"]
    chosen = int(alerts.zones["incident_id"].iloc[-1])
    by_zone = bulletin(core, None, dataclasses.replace(REQUEST, zone_incident_id=chosen)).content
    assert by_zone["hot_spot"]["incident_id"] == chosen
    assert sorted(by_zone["incident_ids"]) == sorted(int(i) for i in alerts.zone_members(chosen)["incident_id"])
    complaint = str(alerts.zones.set_index("incident_id").loc[chosen, "complaint_number"])
    by_complaint = bulletin(core, None, dataclasses.replace(REQUEST, zone_complaint=f" {complaint} ")).content
    assert by_complaint["hot_spot"] == by_zone["hot_spot"] and by_complaint["incident_ids"] == by_zone["incident_ids"]
    with pytest.raises(NoEventsError, match="complaint NO-SUCH-1 raised none"):
        bulletin(core, None, dataclasses.replace(REQUEST, zone_complaint="NO-SUCH-1"))
    with pytest.raises(InvalidRequest, match="not both"):
        bulletin(core, None, dataclasses.replace(REQUEST, zone_complaint=complaint, zone_incident_id=chosen))
    with pytest.raises(InvalidRequest, match="needs a hot-spot bulletin"):
        bulletin(core, None, BulletinRequest("SLMPD", as_of=AS_OF, zone_complaint=complaint))
    with pytest.raises(NoEventsError, match="distinct hot spots among the .* arson .*; no hot spot ranked 100"):
        bulletin(core, None, dataclasses.replace(REQUEST, category="arson", rank=100))  # St. Louis has a few
    with pytest.raises(NoEventsError, match="incident 999999999 raised none"):
        bulletin(core, None, dataclasses.replace(REQUEST, zone_incident_id=999999999))
    with pytest.raises(InvalidRequest, match="not both"):
        bulletin(core, None, BulletinRequest("SLMPD", as_of=AS_OF, hot_spot=True, series_id=1))
    with pytest.raises(InvalidRequest, match="as_of"):
        bulletin(core, None, BulletinRequest("SLMPD", hot_spot=True))
    with Session(core.engine) as session:
        officer = add_user(session, "officer.hotspot", "correct horse battery", "officer", "SLMPD")
        session.commit()
    with pytest.raises(NotPermitted, match="products:produce"):
        bulletin(core, officer, REQUEST)


def test_protected_attributes_never_enter_the_hot_spot_selection(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The selection sees exactly EVENT_COLUMNS; a loader that let a protected column through is refused."""
    seen: list[tuple[str, ...]] = []

    def spy(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(tuple(frame.columns))
        return guard_event_frame(frame)

    monkeypatch.setattr(nearrepeat_service, "guard_event_frame", spy)
    core = core_for(store, tmp_path / "spy")  # a fresh result cache
    bulletin(core, None, REQUEST)
    assert seen and all(columns == EVENT_COLUMNS for columns in seen)
    monkeypatch.undo()

    def leaky(engine: Engine, query: object) -> tuple[pd.DataFrame, object]:
        frame, agency = load_events(engine, query)  # type: ignore[arg-type]
        return frame.assign(race="x", ethnicity="y"), agency

    monkeypatch.setattr(nearrepeat_service, "load_events", leaky)
    with pytest.raises((ValueError, InvalidRequest), match="race"):
        bulletin(core_for(store, tmp_path / "leaky"), None, REQUEST)


def test_the_cli_writes_the_hot_spot_bulletin(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, produced: tuple[OpenILP, ProducedProduct]
) -> None:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", store.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()  # type: ignore[attr-defined]
    try:
        target = tmp_path / "hotspot.pdf"
        result = runner.invoke(
            app,
            [
                "products",
                "bulletin",
                "--agency",
                "SLMPD",
                "--hot-spot",
                "--as-of",
                str(AS_OF),
                "-o",
                str(target),
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
        assert target.read_bytes()[:5] == b"%PDF-"
        facts = json.loads(result.output)
        assert facts["kind"] == "bulletin" and facts["title"] == produced[1].title
        result = runner.invoke(app, ["products", "rerender", str(facts["product_id"])])
        assert result.exit_code == 0 and "the same numbers" in result.output, result.output
        complaint = produced[1].content["hot_spot"]["complaint_number"]
        result = runner.invoke(
            app,
            ["products", "bulletin", "--hot-spot", "--as-of", str(AS_OF), "--zone-complaint", complaint]
            + ["-o", str(tmp_path / "zone.pdf"), "--json"],
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["title"] == produced[1].title
        result = runner.invoke(
            app,
            ["products", "bulletin", "--hot-spot", "--category", "arson", "--as-of", str(AS_OF), "--rank", "100"]
            + ["-o", "x.pdf"],
        )
        assert result.exit_code == 1 and "no hot spot ranked 100" in result.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()  # type: ignore[attr-defined]


def test_the_web_form_and_the_api_make_the_hot_spot_bulletin(
    store: Engine, tmp_path: Path, produced: tuple[OpenILP, ProducedProduct]
) -> None:
    """The products page's "Or a hot spot" box and ``hot_spot`` in the API call the same service."""
    from web_support import csrf_from, login, make_client, seed_user

    seed_user(store, "hotspot-analyst", role="analyst")
    client = make_client(store, tmp_path / "web")
    assert login(client, "hotspot-analyst").status_code == 303
    page = client.get("/products")
    assert page.status_code == 200 and 'name="hot_spot"' in page.text and 'name="zone_incident_id"' in page.text
    form = {"csrf_token": csrf_from(page.text), "category": "burglary", "as_of": str(AS_OF), "hot_spot": "true"}
    response = client.post("/products/bulletin", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    with Session(store) as session:
        row = session.get(Product, int(response.headers["location"].split("=")[1]))
        assert row is not None and row.title == produced[1].title
        assert json.loads(row.content)["incident_ids"] == produced[1].content["incident_ids"]
    trigger = produced[1].content["hot_spot"]["incident_id"]
    made = client.post(
        "/api/v1/products/bulletin",
        json={"as_of": str(AS_OF), "hot_spot": True, "zone_incident_id": trigger},
    )
    assert made.status_code == 201, made.text
    with Session(store) as session:
        row = session.get(Product, made.json()["product_id"])
        assert row is not None and json.loads(row.parameters)["zone_incident_id"] == trigger
        chosen = json.loads(row.content)
    assert chosen["hot_spot"] == produced[1].content["hot_spot"]  # the same zone, the same incidents
    assert chosen["incident_ids"] == produced[1].content["incident_ids"]
    complaint = produced[1].content["hot_spot"]["complaint_number"]
    named = client.post("/products/bulletin", data={**form, "zone_complaint": complaint}, follow_redirects=False)
    assert named.status_code == 303, named.text
    with Session(store) as session:
        row = session.get(Product, int(named.headers["location"].split("=")[1]))
        assert row is not None and json.loads(row.content)["incident_ids"] == produced[1].content["incident_ids"]
        assert json.loads(row.parameters)["zone_complaint"] == complaint
    refused = client.post("/api/v1/products/bulletin", json={"as_of": str(AS_OF), "zone_incident_id": 2**63})
    assert refused.status_code == 422
    lost = client.post("/products/bulletin", data={**form, "category": "arson", "rank": "100"})
    assert lost.status_code == 400 and "no hot spot ranked 100" in lost.text
    assert 'name="hot_spot" value="true" checked' in lost.text


def _map_image(product: ProducedProduct) -> Image.Image:
    """The bulletin's map as drawn (the first figure of the HTML whose alt text starts with "Map:")."""
    import base64
    import re

    match = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="Map:', product.html)
    assert match, "no map in the bulletin"
    return Image.open(io.BytesIO(base64.b64decode(match.group(1)))).convert("L")


def _tile_share(image: Image.Image) -> float:
    """The share of the map's pixels in the grey the tile server's tiles are drawn in (blended toward white)."""
    expected = 255 - 0.45 * (255 - TileServer.GREY)
    histogram = image.histogram()
    near = sum(histogram[int(expected) - 3 : int(expected) + 4])
    return near / (image.size[0] * image.size[1])


def test_product_maps_draw_the_configured_tiles_under_the_data(
    store: Engine, tmp_path: Path, produced: tuple[OpenILP, ProducedProduct]
) -> None:
    """With tile_url set the map has the local server's tiles under it and the note says so; without it
    nothing is fetched; a failing server leaves the boundary-only map and the note says why."""
    with TileServer() as tiles:
        unset = bulletin(core_for(store, tmp_path / "unset"), None, REQUEST)
        assert tiles.requests == []  # not configured: nothing fetched
        core = core_for(store, tmp_path / "tiles", tile_url=tiles.url, tile_attribution="Test tiles CC0")
        drawn = bulletin(core, None, REQUEST)
    assert 1 <= len(tiles.requests) <= 36
    for path in tiles.requests:
        z, x, y = (int(part) for part in path.removesuffix(".png").strip("/").split("/"))
        assert 10 <= z <= 19 and 0 <= x < 2**z and 0 <= y < 2**z
    zoom = int(tiles.requests[0].strip("/").split("/")[0])
    # The tile under the zone's incident (slippy-map numbering, computed here independently) was fetched.
    lon, lat = drawn.content["hot_spot"]["lon"], drawn.content["hot_spot"]["lat"]
    column = int((lon + 180) / 360 * 2**zoom)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**zoom)
    assert f"/{zoom}/{column}/{row}.png" in tiles.requests
    text = " ".join(" ".join(page_texts(drawn.pdf)).split())
    port = tiles.url.split(":")[2].split("/")[0]
    assert f"Base map: tiles of 127.0.0.1:{port} (Test tiles CC0), zoom {zoom}" in text
    assert drawn.content == unset.content  # the tiles change the picture, not the numbers
    assert _tile_share(_map_image(drawn)) > 0.3 > _tile_share(_map_image(unset))
    assert "Base map" not in " ".join(page_texts(unset.pdf))
    with TileServer(failing=True) as down:
        core = core_for(store, tmp_path / "down", tile_url=down.url)
        fallback = bulletin(core, None, REQUEST)
    assert down.requests, "the failing server was asked"
    text = " ".join(" ".join(page_texts(fallback.pdf)).split())
    assert f"Base map: the tiles of 127.0.0.1:{down.url.split(':')[2].split('/')[0]} could not be drawn" in text
    assert "the maps show the boundaries only" in text and "500" in text
    assert _tile_share(_map_image(fallback)) < 0.3 and fallback.content == unset.content
