"""Loading incidents as analysis-ready event tables (the bridge from the store to ``openilp.analysis``).

Analyses take plain arrays: coordinates in metres in the agency's projected CRS and times. This
module selects the incidents of one agency, by category (a category includes its refinements:
``burglary`` includes ``burglary_residential``), crime group or all, within a date range in the
agency's local calendar, and returns them as a data frame.

Protected attributes (race, ethnicity, national origin, religion) are not stored on incidents and
so can never reach an analysis through this loader; ``EVENT_COLUMNS`` is the complete list of
what an analysis receives, and a test pins it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from openilp.db.models import Agency, Incident, OffenceCategory
from openilp.errors import InvalidRequest

__all__ = [
    "EVENT_COLUMNS",
    "EventQuery",
    "expand_categories",
    "load_events",
    "local_day_bounds",
    "patrol_propensities",
]

#: Everything an analysis receives about an incident.
EVENT_COLUMNS = (
    "incident_id",
    "category",
    "occurred_from",
    "occurred_to",
    "time_precision",
    "x_m",
    "y_m",
    "lon",
    "lat",
    "district",
    "beat",
    "neighbourhood",
)


@dataclass(frozen=True)
class EventQuery:
    """Which incidents to load. Dates are local calendar days, ``date_to`` inclusive."""

    agency_code: str
    #: Category codes or crime groups ("violent", "property", "society", "other"); empty = all.
    categories: Sequence[str] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: Only incidents with a usable location (location_status = "located").
    located_only: bool = True
    #: How the incidents came to police attention ("reported", "discovered", "unknown"); empty = any.
    attention: tuple[str, ...] = ()


def expand_categories(session: Session, requested: Sequence[str]) -> list[str]:
    """Category codes for ``requested`` codes or crime groups, each with its refinements.

    Raises InvalidRequest (a ValueError) naming anything unknown.
    """
    rows = session.execute(select(OffenceCategory.code, OffenceCategory.crime_group, OffenceCategory.parent_code)).all()
    codes = {code for code, _, _ in rows}
    groups = {group for _, group, _ in rows}
    chosen: set[str] = set()
    for name in requested:
        if name in groups:
            chosen |= {code for code, group, _ in rows if group == name}
        elif name in codes:
            chosen.add(name)
        else:
            raise InvalidRequest(
                f"unknown category or crime group {name!r}; groups: {', '.join(sorted(groups))}; "
                f"categories: {', '.join(sorted(codes))}"
            )
    # Add refinements until nothing changes (parents may be nested).
    while True:
        children = {code for code, _, parent in rows if parent in chosen} - chosen
        if not children:
            return sorted(chosen)
        chosen |= children


def _utc_bound(day: dt.date, timezone: str) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def local_day_bounds(timezone: str, date_from: dt.date, date_to: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[start, end)`` in naive UTC of the local days ``date_from … date_to`` (as :func:`load_events` selects).

    >>> local_day_bounds("America/Chicago", dt.date(2019, 3, 10), dt.date(2019, 3, 10))
    (Timestamp('2019-03-10 06:00:00'), Timestamp('2019-03-11 05:00:00'))
    """
    return pd.Timestamp(_utc_bound(date_from, timezone)), pd.Timestamp(
        _utc_bound(date_to + dt.timedelta(days=1), timezone)
    )


def load_events(engine: Engine, query: EventQuery) -> tuple[pd.DataFrame, Agency]:
    """The incidents matching ``query`` as a frame with :data:`EVENT_COLUMNS` (times naive UTC),
    ordered by ``occurred_from``, and the agency (for its CRS and time zone)."""
    with Session(engine, expire_on_commit=False) as session:
        agency = session.scalar(select(Agency).where(Agency.code == query.agency_code))
        if agency is None:
            known = ", ".join(session.scalars(select(Agency.code).order_by(Agency.code))) or "none yet"
            raise InvalidRequest(f"unknown agency {query.agency_code!r}; agencies in the store: {known}")
        if query.date_from and query.date_to and query.date_from > query.date_to:
            raise InvalidRequest(f"date_from {query.date_from} is after date_to {query.date_to}")
        where = ["agency_id = :agency"]
        params: dict[str, Any] = {"agency": agency.id}
        if query.categories:
            codes = expand_categories(session, query.categories)
            names = [f":c{i}" for i in range(len(codes))]
            where.append(f"category_code IN ({', '.join(names)})")
            params.update({f"c{i}": code for i, code in enumerate(codes)})
        if query.date_from:
            where.append("occurred_from >= :start")
            params["start"] = _utc_bound(query.date_from, agency.timezone)
        if query.date_to:
            where.append("occurred_from < :end")
            params["end"] = _utc_bound(query.date_to + dt.timedelta(days=1), agency.timezone)
        if query.located_only:
            where.append("location_status = 'located'")
        if query.attention:
            names = [f":a{i}" for i in range(len(query.attention))]
            where.append(f"attention IN ({', '.join(names)})")
            params.update({f"a{i}": value for i, value in enumerate(query.attention)})
        sql = (
            "SELECT id AS incident_id, category_code AS category, occurred_from, occurred_to, time_precision, "
            "x_m, y_m, lon, lat, district, beat, neighbourhood FROM incidents WHERE "
            + " AND ".join(where)
            + " ORDER BY occurred_from, id"
        )
        # Bind datetimes as SQLAlchemy would, so SQLite text comparison and PostgreSQL agree.
        from openilp.db.bulk import format_timestamps

        for key in ("start", "end"):
            if key in params:
                params[key] = format_timestamps(pd.Series([params[key]]))[0]
        frame = pd.read_sql_query(text(sql), session.connection(), params=params)
    for column in ("occurred_from", "occurred_to"):
        frame[column] = pd.to_datetime(frame[column], format="mixed")
    for column in ("x_m", "y_m", "lon", "lat"):
        frame[column] = frame[column].astype(float)
    frame["incident_id"] = frame["incident_id"].astype(np.int64)
    return frame[list(EVENT_COLUMNS)], agency


def incident_labels(
    engine: Engine, incident_ids: Sequence[int], agency_code: str = ""
) -> dict[int, dict[str, str | None]]:
    """What the agency calls each incident: its complaint number (``source_record_id``), block address and
    neighbourhood, by store id. Lists that people act on show these; ids stay in URLs and exports.
    With ``agency_code``, incidents of other agencies are left out."""
    ids = sorted({int(i) for i in incident_ids})
    labels: dict[int, dict[str, str | None]] = {}
    only_agency = " AND agency_id = (SELECT id FROM agencies WHERE code = :agency_code)" if agency_code else ""
    with Session(engine) as session:
        for start in range(0, len(ids), 900):  # SQLite binds at most 999 parameters
            chunk = ids[start : start + 900]
            names = ", ".join(f":i{k}" for k in range(len(chunk)))
            binds: dict[str, Any] = {f"i{k}": v for k, v in enumerate(chunk)}
            if agency_code:
                binds["agency_code"] = agency_code
            rows = session.execute(
                text(
                    "SELECT id, source_record_id, block_address, neighbourhood FROM incidents "
                    f"WHERE id IN ({names}){only_agency}"
                ),
                binds,
            )
            for incident_id, complaint, address, neighbourhood in rows:
                labels[int(incident_id)] = {
                    "complaint_number": complaint,
                    "block_address": address,
                    "neighbourhood": neighbourhood,
                }
    return labels


def patrol_propensities(engine: Engine, incident_ids: Sequence[int]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The logged patrol propensity of each incident (NaN where none was logged), in the given order."""
    ids = [int(i) for i in incident_ids]
    if not ids:
        return np.zeros(0, dtype=np.float64)
    found: dict[int, float] = {}
    with Session(engine) as session:
        for start in range(0, len(ids), 900):  # SQLite binds at most 999 parameters
            chunk = ids[start : start + 900]
            rows = session.execute(select(Incident.id, Incident.patrol_propensity).where(Incident.id.in_(chunk))).all()
            found.update({int(i): (math.nan if p is None else float(p)) for i, p in rows})
    return np.array([found.get(i, math.nan) for i in ids], dtype=np.float64)


def block_addresses_in_squares(
    engine: Engine, agency_code: str, centres_m: Sequence[tuple[float, float]], half_width_m: float
) -> list[str | None]:
    """For each square (centre x, y and half its side, metres in the agency's CRS), the block address
    most of the agency's incidents inside it were recorded at (None when none has one)."""
    out: list[str | None] = []
    with Session(engine) as session:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == agency_code))
        for x, y in centres_m:
            row = session.execute(
                text(
                    "SELECT block_address, COUNT(*) AS n FROM incidents WHERE agency_id = :agency "
                    "AND block_address IS NOT NULL AND x_m BETWEEN :x0 AND :x1 AND y_m BETWEEN :y0 AND :y1 "
                    "GROUP BY block_address ORDER BY n DESC, block_address LIMIT 1"
                ),
                {
                    "agency": agency_id,
                    "x0": x - half_width_m,
                    "x1": x + half_width_m,
                    "y0": y - half_width_m,
                    "y1": y + half_width_m,
                },
            ).first()
            out.append(None if row is None else str(row[0]))
    return out
