"""A synthetic store for the tasking tests: a forecast hot spot, a history of near repeats, one recent trigger.

Agency ``NRT`` (EPSG:26996 metres, America/Chicago) with burglaries in a 4 km square:

* a hot spot at :data:`HOT` (300 burglaries within ~40 m over the year), which the forecast ranks first;
* 600 burglaries spread uniformly, and 80 near-repeat series (a burglary and 3 more within 50 m and
  6 days), so the Knox test finds risk elevated close by for a week;
* all of it before the 42 days ahead of the shift, so the only recent incident is the **trigger** at
  :data:`TRIGGER` (a quiet corner), two days before the shift on :data:`AS_OF`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyproj
from sqlalchemy import Engine, select

from openilp.core import OpenILP
from openilp.db import Agency, ImportFile, Incident, session_scope
from openilp.services.accounts.records import ensure_agency

AGENCY = "NRT"
CRS = "EPSG:26996"
AS_OF = dt.date(2019, 6, 3)
_TO_METRES = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
_TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
CENTRE: tuple[float, float] = tuple(float(v) for v in _TO_METRES.transform(-90.25, 38.63))  # type: ignore[assignment]
HOT = (CENTRE[0] + 1500.0, CENTRE[1] + 1500.0)
TRIGGER = (CENTRE[0] - 1500.0, CENTRE[1] - 1500.0)

#: (x_m, y_m, occurred UTC)
Event = tuple[float, float, dt.datetime]


def _moment(day: dt.date, hour: int = 18) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)  # 13:00 in St. Louis summer time


def history(seed: int = 0) -> list[Event]:
    """Everything before the recent window (days AS_OF-400 … AS_OF-45)."""
    rng = np.random.default_rng(seed)
    first = AS_OF - dt.timedelta(days=400)
    span = 355
    events: list[Event] = []
    for _ in range(300):
        x, y = HOT[0] + rng.normal(0, 40), HOT[1] + rng.normal(0, 40)
        events.append((x, y, _moment(first + dt.timedelta(int(rng.integers(span))))))
    for _ in range(600):
        x, y = CENTRE[0] + rng.uniform(-2000, 2000), CENTRE[1] + rng.uniform(-2000, 2000)
        events.append((x, y, _moment(first + dt.timedelta(int(rng.integers(span))))))
    for _ in range(80):
        x, y = CENTRE[0] + rng.uniform(-1800, 1800), CENTRE[1] + rng.uniform(-1800, 1800)
        day = first + dt.timedelta(int(rng.integers(span - 7)))
        events.append((x, y, _moment(day)))
        for _ in range(3):
            later = day + dt.timedelta(int(rng.integers(1, 7)))
            events.append((x + rng.uniform(-50, 50), y + rng.uniform(-50, 50), _moment(later)))
    return events


def trigger() -> list[Event]:
    """The one recent burglary: two days before the shift, in a quiet corner."""
    return [(TRIGGER[0], TRIGGER[1], _moment(AS_OF - dt.timedelta(days=2)))]


def seed_store(engine: Engine, events: Sequence[Event], batch: str, category: str = "burglary") -> None:
    """Insert ``events`` (one import file named ``batch``) for the agency, creating it on first use."""
    with session_scope(engine) as session:
        ensure_agency(session, AGENCY, "Synthetic police", "America/Chicago", CRS)
        agency = session.scalars(select(Agency).where(Agency.code == AGENCY)).one()
        import_file = ImportFile(
            agency_id=agency.id,
            source="test",
            file_name=f"{batch}.csv",
            sha256=hashlib.sha256(batch.encode()).hexdigest(),
        )
        session.add(import_file)
        session.flush()
        for line, (x, y, when) in enumerate(events, start=1):
            lon, lat = _TO_LONLAT.transform(x, y)
            session.add(
                Incident(
                    agency_id=agency.id,
                    source="test",
                    source_key=f"{batch}-{line}",
                    offence_description="BURGLARY",
                    category_code=category,
                    occurred_from=when,
                    occurred_to=when,
                    time_precision="minute",
                    lon=float(lon),
                    lat=float(lat),
                    x_m=float(x),
                    y_m=float(y),
                    location_status="located",
                    block_address="100 TEST ST",
                    net_count=1,
                    import_file_id=import_file.id,
                    source_line=line,
                    content_hash=line,
                    raw=f"line {line}",
                )
            )


def write_halves(folder: Path, residents: str = "NHD_NUM,group_a,group_b\n1,900,100\n2,100,900\n") -> tuple[Path, Path]:
    """Two neighbourhoods, West (1) and East (2) of the centre, and a residents CSV; returns their paths."""
    features = []
    for number, name, (x0, x1) in ((1, "West", (-5000, 0)), (2, "East", (0, 5000))):
        corners = [(x0, -5000), (x1, -5000), (x1, 5000), (x0, 5000), (x0, -5000)]
        ring = [list(_TO_LONLAT.transform(CENTRE[0] + dx, CENTRE[1] + dy)) for dx, dy in corners]
        features.append(
            {
                "type": "Feature",
                "properties": {"NHD_NUM": number, "NHD_NAME": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    areas = folder / "halves.geojson"
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    csv = folder / "residents.csv"
    csv.write_text(residents)
    return areas, csv


def core_of(engine: Engine) -> OpenILP:
    """A core object over ``engine`` with its own empty data folder (no boundary layers beyond the bundled)."""
    import tempfile

    from openilp.config import Settings

    folder = tempfile.mkdtemp(prefix="openilp-core-")
    return OpenILP(Settings(data_dir=folder, secret_key="k" * 40, audit_key="a" * 40), engine)
