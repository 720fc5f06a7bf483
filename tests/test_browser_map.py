"""The map in a real browser: sign in through the form, open /map, see markers and boundaries.

Starts the real app with uvicorn on a free 127.0.0.1 port (temporary SQLite store) and drives the
system Chromium through Playwright (see ``browser_support``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pyproj
import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from sqlalchemy import text
from web_support import IncidentSpec, seed_agency, seed_incidents, seed_user

from openilp.db import make_engine, migrate

pytestmark = BROWSER

SCREENSHOT = Path(os.environ.get("OPENILP_SCREENSHOT", "/tmp/openilp-map.png"))

# Points inside the City of St. Louis, one per crime group.
POINTS = [
    ("robbery", -90.2494, 38.6270),
    ("burglary_residential", -90.2700, 38.6100),
    ("larceny", -90.2300, 38.6400),
    ("aggravated_assault", -90.2150, 38.6600),
    ("drugs", -90.2900, 38.5900),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_agency(engine, "SLMPD", "America/Chicago")
    seed_user(engine, "mapper", role="analyst")
    when = dt.datetime(2019, 6, 1, 15, 0, tzinfo=dt.UTC)
    specs = [
        IncidentSpec(category, when - dt.timedelta(hours=i), lon=lon, lat=lat, address=f"{i}00 BLOCK <b>X</b> ST")
        for i, (category, lon, lat) in enumerate(POINTS)
    ]
    specs.append(IncidentSpec("rape", when, location_status="withheld"))
    seed_incidents(engine, "SLMPD", specs)
    # Projected coordinates in metres, as an import writes them: the map's cells are counted on these.
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26996", always_xy=True)
    with engine.begin() as connection:
        connection.execute(text("UPDATE agencies SET crs = 'EPSG:26996' WHERE code = 'SLMPD'"))
        for incident_id, lon, lat in connection.execute(
            text("SELECT id, lon, lat FROM incidents WHERE lon IS NOT NULL")
        ).all():
            x, y = to_metres.transform(lon, lat)
            connection.execute(
                text("UPDATE incidents SET x_m = :x, y_m = :y WHERE id = :i"), {"x": x, "y": y, "i": incident_id}
            )
    with serve(engine, data_dir) as url:
        yield url


def test_map_draws_markers_and_boundaries(server: str) -> None:
    log = PageLog(server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1280, "height": 800}))

        page.goto(f"{server}/map")
        assert page.url.startswith(f"{server}/login"), "anonymous visitors are sent to sign in"
        sign_in(page, "mapper")
        page.wait_for_url(f"{server}/map")

        # Selectors, not wait_for_function: the CSP (rightly) forbids the eval that would need.
        page.wait_for_selector("#map:not([data-markers-drawn=''])", state="attached", timeout=15000)
        map_element = page.locator("#map")
        assert map_element.get_attribute("data-markers-drawn") == str(len(POINTS))
        assert map_element.get_attribute("data-boundary-features") == "88"
        # Boundaries are SVG paths in their own pane; markers are drawn on a canvas above them.
        assert page.locator(".leaflet-boundaries-pane path").count() >= 88
        assert page.locator(".leaflet-overlay-pane canvas").count() >= 1
        status = page.locator("#map-status").inner_text()
        assert "5 of 5 located incidents shown" in status
        assert "1 without a location" in status
        assert page.locator("#map-truncated").is_hidden()
        page.screenshot(path=str(SCREENSHOT), full_page=False)

        # Clicking a marker opens its popup; record text is shown as text, never as HTML.
        category, lon, lat = POINTS[0]
        x, y = page.evaluate(
            """([lat, lon]) => {
                const element = document.getElementById('map');
                const point = element.openilpMap.latLngToContainerPoint([lat, lon]);
                const box = element.getBoundingClientRect();
                return [point.x + box.left, point.y + box.top];
            }""",
            [lat, lon],
        )
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5000)
        assert "Robbery" in popup.inner_text()
        assert "000 BLOCK <b>X</b> ST" in popup.inner_text()
        assert popup.locator("b").count() == 0

        # Over the limit: the map draws the database's counts per cell instead of points (the map
        # passes its query to the API, with mode=auto).
        page.goto(f"{server}/map?limit=2")
        page.wait_for_selector("#map[data-cells-drawn='5']", state="attached", timeout=15000)
        assert page.locator("#map").get_attribute("data-markers-drawn") == "0"
        assert not page.locator("#map-truncated").is_visible()
        assert (
            "5 located incidents, too many to draw one by one: counted in 5 cells of 250 m"
            in page.locator("#map-status").inner_text()
        )

        # Filters: one category narrows the markers.
        page.goto(f"{server}/map")
        page.select_option("#category", ["robbery"])
        page.click("#map-filters button[type=submit]")
        page.wait_for_url("**/map?category=robbery**")
        page.wait_for_selector("#map[data-markers-drawn='1']", state="attached", timeout=15000)
    log.assert_clean()
