"""The boundary layer in a real browser on every analysis map: one loader (``static/js/boundaries.js``)
draws the agency's 88 St. Louis neighbourhoods under the incident map, the hot-spot and near-repeat
pages (``analysis.js``) and the forecast (``forecast.js``), each polygon named in a tooltip.

Real app under uvicorn on 127.0.0.1 over a temporary SQLite store of a year of synthetic burglaries
inside the city, system Chromium through Playwright (see ``browser_support``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pyproj
import pytest
from browser_support import BROWSER, PageLog, chromium, require_leaflet, serve, sign_in
from sqlalchemy import text
from web_support import IncidentSpec, seed_agency, seed_incidents, seed_user

from openilp.db import make_engine, migrate

pytestmark = BROWSER

#: St. Louis neighbourhoods in the bundled boundary layer.
NEIGHBOURHOODS = 88

PAGES = {
    "incident map": "/map",
    "hot spots": "/analysis/hotspots?category=burglary&date_from=2019-01-01&date_to=2019-12-31",
    "near repeat": "/analysis/near-repeat?category=burglary&permutations=99&history_days=120",
    "forecast": "/forecast?category=burglary",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_leaflet()
    data_dir = tmp_path_factory.mktemp("browser-boundaries")
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    seed_agency(engine, "SLMPD", "America/Chicago")
    seed_user(engine, "mapper", role="analyst")
    rng = random.Random(12)
    start = dt.datetime(2019, 1, 1, 12, tzinfo=dt.UTC)
    specs = [
        IncidentSpec(
            "burglary_residential",
            start + dt.timedelta(hours=rng.randrange(365 * 24)),
            lon=rng.uniform(-90.30, -90.20),
            lat=rng.uniform(38.58, 38.68),
            address=f"{rng.randrange(1, 60)}00 BLOCK MARKET ST",
        )
        for _ in range(400)
    ]
    seed_incidents(engine, "SLMPD", specs)
    # Projected coordinates in metres, as an import writes them: the analyses count cells on these.
    to_metres = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26996", always_xy=True)
    with engine.begin() as connection:
        connection.execute(text("UPDATE agencies SET crs = 'EPSG:26996' WHERE code = 'SLMPD'"))
        for incident_id, lon, lat in connection.execute(text("SELECT id, lon, lat FROM incidents")).all():
            x, y = to_metres.transform(lon, lat)
            connection.execute(
                text("UPDATE incidents SET x_m = :x, y_m = :y WHERE id = :i"), {"x": x, "y": y, "i": incident_id}
            )
    with serve(engine, data_dir, "browser-boundaries") as url:
        yield url


def test_every_analysis_map_draws_the_boundary_layer(server: str) -> None:
    log = PageLog(server)
    with chromium() as browser:
        page = log.watch(browser.new_page(viewport={"width": 1400, "height": 900}))
        page.goto(f"{server}/map")
        sign_in(page, "mapper")
        page.wait_for_url(f"{server}/map")
        for name, path in PAGES.items():
            page.goto(f"{server}{path}")
            # Long analyses run as a job first; the page comes back with the map when done.
            page.wait_for_selector("#map[data-boundary-features]", state="attached", timeout=60000)
            assert page.locator("#map").get_attribute("data-boundary-features") == str(NEIGHBOURHOODS), name
            polygons = page.locator(".leaflet-boundaries-pane path")
            assert polygons.count() == NEIGHBOURHOODS, name
            # Named in a tooltip (as text), under the page's own layers.
            polygons.nth(40).dispatch_event("mouseover")
            assert page.locator(".leaflet-tooltip").last.inner_text().strip(), name
            pane = page.locator(".leaflet-boundaries-pane")
            assert pane.evaluate("node => getComputedStyle(node).zIndex") == "350", name
        # The loader is one file, fetched by each page (the map twice: before and after signing in).
        loads = [url for url in log.requested if url.endswith("/static/js/boundaries.js")]
        assert len(loads) == len(PAGES) + 1
    log.assert_clean()
