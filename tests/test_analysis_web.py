"""Analysis in the web app: the JSON API's shapes and the three pages, on real St. Louis data."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import shared_file
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from store_support import import_source
from web_support import login, make_client, seed_user

from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.hotspots import HOTSPOT_COLUMNS
from openilp.services.analysis.nearrepeat import KNOX_COLUMNS, ZONE_COLUMNS
from openilp.services.analysis.trends import TREND_COLUMNS
from openilp.web.paging import PAGE_ROWS

pytestmark = pytest.mark.realdata

KNOX_QUERY = "category=burglary&space_bands=100,200&time_bands=7,14&permutations=99"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    folder = tmp_path_factory.mktemp("analysis-web")
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    files = [shared_file("stlouis", "monthly", "2019", name) for name in ("january2019.csv", "february2019.csv")]
    import_source(engine, load_source_spec("stlouis"), files, workers=1)
    seed_user(engine, "analyst-web", role="analyst")
    seed_user(engine, "partner-web", role="partner")
    yield engine, folder
    engine.dispose()


@pytest.fixture
def client(store: tuple[Engine, Path]) -> TestClient:
    engine, folder = store
    web = make_client(engine, folder)
    assert login(web, "analyst-web").status_code == 303
    return web


def test_hotspots_api(client: TestClient) -> None:
    query = "category=burglary&cell_size_m=300&permutations=99"
    response = client.get(f"/api/v1/analysis/hotspots.geojson?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["analysis"]["study_area"] == "boundary layer"
    assert tuple(body["features"][0]["properties"]) == HOTSPOT_COLUMNS
    assert sum(f["properties"]["count"] for f in body["features"]) == body["analysis"]["events_in_study_area"]
    cache = client.app.state.openilp.core.cache  # type: ignore[attr-defined]
    hits = cache.hits
    text = client.get(f"/api/v1/analysis/hotspots.csv?{query}")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    assert cache.hits == hits + 1  # the CSV reused the GeoJSON's computation
    rows = list(csv.DictReader(io.StringIO(text.text)))
    assert len(rows) == len(body["features"]) and list(rows[0]) == [*HOTSPOT_COLUMNS, "lon", "lat"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("cell_size_m=0", "cell size must be a positive"),
        ("cell_size_m=1", "at most 250,000"),
        ("permutations=100000", "permutations must be between"),
        ("category=", "category must not be empty"),
        ("date_from=2030-01-01", "no located incidents"),
        ("date_from=2019-13-01", "date_from must be a date"),
        ("date_to=9999-12-31", "date_to must be a day from 1900-01-01 to 2199-12-31"),
        ("bandwidth_m=150000", "bandwidth_m must be at most 5,000 m"),
        ("inference=bayes", "inference must be one of exact, permutation, normal"),
        # Areas from a request are GeoJSON only: a file name is never opened.
        ("study_area=/etc/passwd", "a file name is never read here"),
        ("study_area=openilp.sqlite3", "a file name is never read here"),
    ],
)
def test_hotspots_api_rejects_bad_requests(client: TestClient, query: str, message: str) -> None:
    response = client.get(f"/api/v1/analysis/hotspots.geojson?{query}")
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_knox_cost_is_bounded(client: TestClient) -> None:
    response = client.get("/api/v1/analysis/knox.json?category=property&permutations=9999")
    assert response.status_code == 400
    assert "exceed the work one Knox test may take" in response.json()["detail"]


def test_knox_and_alerts_api(client: TestClient) -> None:
    body = client.get(f"/api/v1/analysis/knox.json?{KNOX_QUERY}").json()
    assert body["space_bands"] == ["same location", "[0, 100) m", "[100, 200) m"]
    assert len(body["cells"]) == 6 and tuple(body["cells"][0]) == KNOX_COLUMNS
    assert body["summary"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/analysis/knox.csv?{KNOX_QUERY}").text)))
    assert len(rows) == 6
    bad = client.get("/api/v1/analysis/knox.json?time_bands=14,7")
    assert bad.status_code == 400 and "increasing" in bad.json()["detail"]
    alerts = client.get(f"/api/v1/analysis/near-repeat-alerts.geojson?{KNOX_QUERY}&history_days=40")
    assert alerts.status_code == 200, alerts.text
    collection = alerts.json()
    assert collection["analysis"]["as_of"] == "2019-02-28"
    assert len(collection["features"]) == collection["analysis"]["zones"]
    for feature in collection["features"][:5]:
        assert tuple(feature["properties"]) == (*ZONE_COLUMNS, "lon", "lat")


def test_the_alert_page_lists_zones_by_complaint_number_and_address(client: TestClient) -> None:
    query = "category=burglary&time_bands=7,14,21&space_bands=100,200&permutations=99&history_days=30&as_of=2019-02-28"
    zones = client.get(f"/api/v1/analysis/near-repeat-alerts.geojson?{query}").json()["features"]
    assert zones, "burglary in early 2019 leaves near-repeat zones in force on 20 February"
    table = ""
    for number in range(1, -(-len(zones) // PAGE_ROWS) + 1):
        page = client.get(f"/analysis/near-repeat?{query}&page={number}")
        assert page.status_code == 200 and 'id="alert-zones"' in page.text
        table += page.text.split('id="alert-zones"')[1].split("</table>")[0]
    for props in (f["properties"] for f in zones):
        assert f">{props['complaint_number']}</th>" in table and str(props["block_address"]) in table
        assert f">incident {props['incident_id']}<" not in table


def test_the_alert_zones_are_paged_and_sorted(client: TestClient) -> None:
    query = "category=burglary&category=motor_vehicle_theft&time_bands=7,14,21&space_bands=100,200&permutations=99"
    query += "&history_days=58&as_of=2019-02-28"
    zones = [
        f["properties"] for f in client.get(f"/api/v1/analysis/near-repeat-alerts.geojson?{query}").json()["features"]
    ]
    assert len(zones) > PAGE_ROWS, f"{len(zones)} zones: more than one page holds"

    def listed(html: str) -> list[str]:
        table = html.split('id="alert-zones"')[1].split("</table>")[0]
        return re.findall(r'<th scope="row">([^<]+)</th>', table)

    def every_page(order: str) -> list[str]:
        first = client.get(f"/analysis/near-repeat?{query}&sort={order}")
        assert first.status_code == 200
        pages = int(re.search(r"page 1 of (\d+)", first.text).group(1))  # type: ignore[union-attr]
        assert pages == -(-len(zones) // PAGE_ROWS) and f"{len(zones):,} rows" in first.text
        assert len(listed(first.text)) == min(len(zones), PAGE_ROWS)
        shown = listed(first.text)
        for number in range(2, pages + 1):
            shown += listed(client.get(f"/analysis/near-repeat?{query}&sort={order}&page={number}").text)
        return shown

    def number(z: dict[str, object]) -> str:
        return str(z["complaint_number"] or f"incident {z['incident_id']}")

    by_risk = every_page("risk")
    assert sorted(by_risk) == sorted(number(z) for z in zones)  # every zone once, over the pages
    risk = {number(z): float(z["max_multiplier"]) for z in zones}  # type: ignore[arg-type]
    assert [risk[n] for n in by_risk] == sorted(risk.values(), reverse=True)
    expires = {number(z): str(z["expires_date"]) for z in zones}
    by_expiry = every_page("expires")
    assert [expires[n] for n in by_expiry] == sorted(expires.values())
    # The sort links keep the filters; the column sorted on says so; a page past the end shows the last.
    page = client.get(f"/analysis/near-repeat?{query}&sort=risk")
    assert 'aria-sort="descending"><a href="/analysis/near-repeat?category=burglary' in page.text
    assert "Alert zones, highest risk first" in page.text
    last = client.get(f"/analysis/near-repeat?{query}&page=10000")
    assert last.status_code == 200 and listed(last.text) == by_expiry[-len(listed(last.text)) :]
    assert client.get(f"/analysis/near-repeat?{query}&page=0").status_code == 422
    assert "Alert zones, soonest to expire first" in client.get(f"/analysis/near-repeat?{query}&sort=nonsense").text
    # Nine permutations cannot reach p < 0.05: no band is elevated, and the page says so instead of a table.
    none = client.get("/analysis/near-repeat?category=burglary&space_bands=100,200&time_bands=7,14&permutations=9")
    assert none.status_code == 200 and 'id="alert-zones"' not in none.text
    assert "found no distance and time band of elevated risk" in none.text
    # The CSV download (linked from the page) has every zone, by complaint number and block address.
    assert "/api/v1/analysis/near-repeat-alerts.csv?" in page.text
    download = client.get(f"/api/v1/analysis/near-repeat-alerts.csv?{query}")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["complaint_number"] for r in rows] == [str(z["complaint_number"] or "") for z in zones]
    assert tuple(rows[0])[: len(ZONE_COLUMNS)] == ZONE_COLUMNS and rows[0]["block_address"]


def test_trends_api(client: TestClient) -> None:
    body = client.get("/api/v1/analysis/trends.json?category=burglary&category=robbery&period=28d&all=true").json()
    assert body["flagged_only"] is False and body["rows"]
    assert tuple(k for k in body["rows"][0] if k != "incident_ids") == TREND_COLUMNS
    assert all(len(r["incident_ids"]) == r["current"] for r in body["rows"])
    flagged = client.get("/api/v1/analysis/trends.json?category=burglary&category=robbery&period=28d").json()
    assert all(r["severity"] in ("alert", "watch") for r in flagged["rows"])
    text = client.get("/api/v1/analysis/trends.csv?category=burglary&period=week&all=true")
    assert text.status_code == 200 and text.text.startswith(",".join(TREND_COLUMNS))
    assert client.get("/api/v1/analysis/trends.json?period=month").status_code == 400


def test_pages_render(client: TestClient) -> None:
    page = client.get("/analysis/hotspots?category=burglary&cell_size_m=300")
    assert page.status_code == 200
    assert 'data-hotspots-url="/api/v1/analysis/hotspots.geojson?category=burglary' in page.text
    assert 'id="hotspot-summary"' in page.text
    default = client.get("/analysis/hotspots")
    assert default.status_code == 200 and 'value="2019-02-28"' in default.text  # a year to the latest incident
    bad = client.get("/analysis/hotspots?cell_size_m=-1")
    assert bad.status_code == 400 and "cell size must be a positive" in bad.text

    knox = client.get(f"/analysis/near-repeat?{KNOX_QUERY}&history_days=40")
    assert knox.status_code == 200
    assert 'id="knox-heat"' in knox.text and "same location" in knox.text
    assert (
        'id="knox-summary"' in knox.text and 'data-alerts-url="/api/v1/analysis/near-repeat-alerts.geojson' in knox.text
    )
    assert "knox-r" in knox.text

    trends = client.get("/analysis/trends?category=burglary&category=robbery&period=28d")
    assert trends.status_code == 200 and 'id="trend-summary"' in trends.text
    body = client.get("/api/v1/analysis/trends.json?category=burglary&category=robbery&period=28d&all=true").json()
    row = max(body["rows"], key=lambda r: r["current"])
    from urllib.parse import urlencode

    link = f"/analysis/trends?category=burglary&category=robbery&period=28d&{urlencode({'row': row['key']})}"
    drill = client.get(link)
    assert drill.status_code == 200 and 'id="drill-incidents"' in drill.text
    listed = drill.text.split('id="drill-incidents"')[1].split("</table>")[0]
    # The drill-down names incidents by complaint number and block address, not store ids.
    assert listed.count("<tr><td>19-0") == min(row["current"], PAGE_ROWS) and "incident " not in listed

    # A long drill-down is paged; over its pages every incident of the row once (the map has them all).
    query = "category=burglary&category=robbery&period=ytd&by=district"
    body = client.get(f"/api/v1/analysis/trends.json?{query}&all=true").json()
    row = max(body["rows"], key=lambda r: r["current"])
    assert row["current"] > PAGE_ROWS, "a row with more incidents than one page holds"
    link = f"/analysis/trends?{query}&{urlencode({'row': row['key']})}"
    pages = -(-row["current"] // PAGE_ROWS)
    numbers: list[str] = []
    for number in range(1, pages + 1):
        more = client.get(f"{link}&drill_page={number}")
        assert more.status_code == 200 and f"page {number} of {pages}" in more.text and 'id="drill-pages"' in more.text
        listed = more.text.split('id="drill-incidents"')[1].split("</table>")[0]
        shown = re.findall(r"<tr><td>([^<]+)</td><td>", listed)
        assert len(shown) == (PAGE_ROWS if number < pages else row["current"] - PAGE_ROWS * (pages - 1))
        numbers += shown
    assert len(numbers) == row["current"] and "incident " not in "".join(numbers)


def test_the_analysis_pickers_offer_only_the_agencys_categories(client: TestClient, store: tuple[Engine, Path]) -> None:
    engine, _ = store
    with engine.connect() as connection:
        held = set(connection.execute(text("SELECT DISTINCT category_code FROM incidents")).scalars())
        taxonomy = set(connection.execute(text("SELECT code FROM offence_categories")).scalars())
    assert held < taxonomy, "the taxonomy has categories St. Louis never recorded"
    for path in ("/analysis/hotspots", f"/analysis/near-repeat?{KNOX_QUERY}&history_days=40", "/analysis/trends"):
        page = client.get(path)
        picker = page.text.split('<select id="category"')[1].split("</select>")[0]
        offered = set(re.findall(r'<option value="([^"]+)"', picker))
        assert offered - {"violent", "property", "society", "other"} == held, path


def test_trends_in_compstat_layout_with_names_sparklines_paging_and_print(client: TestClient) -> None:
    query = "category=burglary&category=robbery"
    body = client.get(f"/api/v1/analysis/compstat.json?{query}").json()
    rows = body["rows"]
    assert rows[0]["area"] == "(all areas)" and {r["category"] for r in rows} == {"burglary", "robbery"}
    named = [r for r in rows if r["area"] != "(all areas)"]
    unnamed = {r["area"] for r in named if r["area_name"] == r["area"]}
    assert named and unnamed <= {"0", "(unknown)"}, unnamed  # "16" -> "Dutchtown"; 0 = no neighbourhood
    assert any(r["area_name"] == "Dutchtown" for r in named)
    city = rows[0]
    assert set(city["periods"]) == {"week", "28d", "ytd"} and len(city["weekly"]) == 12
    ytd = city["periods"]["ytd"]
    assert ytd["current"] >= city["periods"]["28d"]["current"] >= city["periods"]["week"]["current"]
    # The same numbers as the alert list's last-year rows.
    flat = client.get(f"/api/v1/analysis/trends.json?{query}&all=true&baseline=last_year").json()["rows"]
    match = next(r for r in flat if r["key"] == ytd["key"])
    assert (match["current"], match["baseline_count"]) == (ytd["current"], ytd["last_year"])
    page = client.get(f"/analysis/trends?{query}")
    assert page.status_code == 200 and 'id="compstat-table"' in page.text and "Dutchtown" in page.text
    assert page.text.count('class="sparkline"') == min(len(rows), 50)
    assert f"{len(rows):,} rows" in page.text
    if len(rows) > 50:
        second = client.get(f"/analysis/trends?{query}&layout=compstat&page=2")
        assert second.status_code == 200 and "page 2 of" in second.text
    alerts = client.get(f"/analysis/trends?{query}&layout=alerts")
    assert 'id="compstat-table"' not in alerts.text
    printable = client.get(f"/analysis/trends/print?{query}")
    assert printable.status_code == 200 and 'id="compstat-table"' in printable.text
    assert printable.text.count('class="sparkline"') == len(rows) and 'id="print-button"' in printable.text
    assert client.get("/analysis/trends?row=nowhere").status_code == 400
    empty = client.get("/analysis/trends?category=burglary&as_of=2005-01-01")
    assert empty.status_code == 200 and 'id="analysis-notice"' in empty.text


def test_partners_may_not_analyse(store: tuple[Engine, Path]) -> None:
    engine, folder = store
    web = make_client(engine, folder)
    login(web, "partner-web")
    assert web.get("/api/v1/analysis/knox.json").status_code == 403
    assert web.get("/analysis/hotspots", follow_redirects=False).status_code == 403
