"""Incident queries shared by the JSON API, the web pages and the CLI.

The map reads :func:`incident_features`: located incidents of the user's agencies as a GeoJSON
FeatureCollection (RFC 7946, WGS84 longitude/latitude), newest first, with counts that say how
many matched and whether the result was cut at the limit. Reversed records (net count ≤ 0) and
unfounded records are not incidents and are never returned or counted.

Dates are calendar days in each agency's own time zone: ``date_to`` is inclusive, so
``date_from=2019-01-01, date_to=2019-01-31`` is the whole of January wherever the agency is.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP
from openilp.core.dates import parse_day
from openilp.db.models import Agency, Incident, OffenceCategory
from openilp.security.actors import UserInfo

__all__ = [
    "CRIME_GROUPS",
    "CategoryOption",
    "IncidentSummary",
    "category_groups",
    "category_options",
    "incident_features",
    "map_collection",
    "MapCollection",
    "incident_summary",
    "parse_iso_date",
    "validate_filters",
]

#: Crime groups in display order.
CRIME_GROUPS: tuple[str, ...] = ("violent", "property", "society", "other")

#: Decimal places kept for longitude/latitude (6 places ≈ 0.1 m).
COORDINATE_DECIMALS = 6


@dataclass(frozen=True)
class CategoryOption:
    """One offence category as offered in filters."""

    code: str
    label: str
    crime_group: str
    ucr_part: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def category_options(session: Session, agency_ids: Sequence[int] | None = None) -> list[CategoryOption]:
    """Offence categories ordered by crime group (violent, property, society, other), then label.

    With ``agency_ids``, only the categories those agencies have incidents of: a picker does not
    offer what the agency never recorded.
    """
    query = select(OffenceCategory)
    if agency_ids is not None:
        held = select(Incident.category_code).where(Incident.agency_id.in_(list(agency_ids))).distinct()
        query = query.where(OffenceCategory.code.in_(held))
    rows = session.scalars(query).all()
    order = {group: index for index, group in enumerate(CRIME_GROUPS)}
    options = [CategoryOption(c.code, c.label, c.crime_group, c.ucr_part) for c in rows]
    return sorted(options, key=lambda o: (order.get(o.crime_group, len(order)), o.label.lower()))


def category_groups(core: OpenILP, actor: UserInfo | None = None) -> list[tuple[str, list[CategoryOption]]]:
    """The offence categories by crime group, for the pickers of the analysis pages (groups with none left out).

    With ``actor``, only the categories the actor's agency has incidents of, as on the map and the
    problem pages: a picker does not offer what the agency never recorded.
    """
    with core.unit_of_work(None) as uow:
        options = category_options(uow.session, None if actor is None else [actor.agency_id])
    groups = [(group, [o for o in options if o.crime_group == group]) for group in CRIME_GROUPS]
    return [(group, members) for group, members in groups if members]


def parse_iso_date(value: str | None, name: str) -> dt.date | None:
    """Parse ``YYYY-MM-DD`` (empty or None means no filter); InvalidRequest (a ValueError) names the parameter.

    >>> parse_iso_date("2019-01-31", "date_to")
    datetime.date(2019, 1, 31)
    >>> parse_iso_date("", "date_to") is None
    True
    """
    return parse_day(value, name)


def validate_filters(
    session: Session,
    category_codes: Sequence[str] | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int | None = None,
) -> list[str]:
    """Check filter values; return the category codes de-duplicated, in the order given.

    Raises
    ------
    ValueError
        If ``date_from`` is after ``date_to``, a category code is unknown, or ``limit`` < 1.
    """
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValueError(f"date_from ({date_from.isoformat()}) is after date_to ({date_to.isoformat()})")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    codes = list(dict.fromkeys(c.strip() for c in (category_codes or []) if c.strip()))
    if codes:
        known = set(session.scalars(select(OffenceCategory.code)))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(
                f"unknown category {', '.join(repr(c) for c in unknown)}; see /api/v1/categories for the list of codes"
            )
    return codes


def _local_midnight_utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def _filters(
    session: Session,
    agency_ids: Sequence[int],
    category_codes: Sequence[str],
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> list[ColumnElement[bool]]:
    if not agency_ids:
        return [false()]
    conditions: list[ColumnElement[bool]] = [
        Incident.net_count > 0,
        Incident.flag_unfounded.is_(False),
    ]
    if category_codes:
        conditions.append(Incident.category_code.in_(list(category_codes)))
    if date_from is None and date_to is None:
        conditions.append(Incident.agency_id.in_(list(agency_ids)))
        return conditions
    # Each agency reads the dates in its own time zone.
    agencies = session.execute(select(Agency.id, Agency.timezone).where(Agency.id.in_(list(agency_ids)))).all()
    per_agency: list[ColumnElement[bool]] = []
    for agency_id, timezone in agencies:
        zone = ZoneInfo(timezone)
        parts: list[ColumnElement[bool]] = [Incident.agency_id == agency_id]
        if date_from is not None:
            parts.append(Incident.occurred_from >= _local_midnight_utc(date_from, zone))
        if date_to is not None:
            end = _local_midnight_utc(date_to + dt.timedelta(days=1), zone)
            parts.append(Incident.occurred_from < end)
        per_agency.append(and_(*parts))
    conditions.append(or_(*per_agency) if per_agency else false())
    return conditions


def incident_features(
    session: Session,
    agency_ids: Sequence[int],
    category_codes: Sequence[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = 20000,
) -> dict[str, Any]:
    """Located incidents as a GeoJSON FeatureCollection, newest first, at most ``limit`` of them.

    Parameters
    ----------
    agency_ids
        Agencies whose incidents may be returned (the caller decides; an empty list returns none).
    category_codes
        Offence category codes to keep; None or empty keeps all.
    date_from, date_to
        First and last calendar day (inclusive) of ``occurred_from``, in each agency's time zone.
    limit
        Largest number of features returned (≥ 1).

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...], "counts": {...}, "filters": {...}}``.
        Each feature's properties: ``id``, ``category``, ``category_label``, ``crime_group``,
        ``offence_description``, ``occurred_from`` (ISO 8601 UTC), ``time_precision``,
        ``block_address``. ``counts``: ``matching`` (located incidents matching the filters),
        ``returned``, ``truncated`` (more matched than were returned) and ``not_located``
        (matching incidents that cannot be drawn: location missing or withheld).

    Raises
    ------
    ValueError
        On inconsistent filters (see :func:`validate_filters`).
    """
    codes = validate_filters(session, category_codes, date_from, date_to, limit)
    conditions = _filters(session, agency_ids, codes, date_from, date_to)
    status_counts = select(Incident.location_status, func.count()).where(*conditions).group_by(Incident.location_status)
    by_status = dict(session.execute(status_counts).all())
    matching = int(by_status.pop("located", 0))
    not_located = int(sum(by_status.values()))
    rows = session.execute(
        select(
            Incident.id,
            Incident.category_code,
            Incident.offence_description,
            Incident.occurred_from,
            Incident.time_precision,
            Incident.block_address,
            Incident.lon,
            Incident.lat,
        )
        .where(
            *conditions,
            Incident.location_status == "located",
            Incident.lon.is_not(None),
            Incident.lat.is_not(None),
        )
        .order_by(Incident.occurred_from.desc().nulls_last(), Incident.id.desc())
        .limit(limit)
    ).all()
    categories = {option.code: option for option in category_options(session)}
    features = []
    for row in rows:
        option = categories.get(row.category_code) if row.category_code else None
        features.append(
            {
                "type": "Feature",
                "id": row.id,
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        round(float(row.lon), COORDINATE_DECIMALS),
                        round(float(row.lat), COORDINATE_DECIMALS),
                    ],
                },
                "properties": {
                    "id": row.id,
                    "category": row.category_code,
                    "category_label": option.label if option else None,
                    "crime_group": option.crime_group if option else "other",
                    "offence_description": row.offence_description,
                    "occurred_from": row.occurred_from.isoformat() if row.occurred_from else None,
                    "time_precision": row.time_precision,
                    "block_address": row.block_address,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "counts": {
            "matching": matching,
            "returned": len(features),
            "truncated": matching > len(features),
            "not_located": not_located,
            "limit": limit,
        },
        "filters": {
            "category": codes,
            "date_from": date_from.isoformat() if date_from else None,
            "date_to": date_to.isoformat() if date_to else None,
        },
    }


@dataclass(frozen=True)
class IncidentSummary:
    """Headline numbers for an agency's incidents (reversed and unfounded records excluded)."""

    total: int
    located: int
    first_occurred: dt.datetime | None
    last_occurred: dt.datetime | None


def incident_summary(session: Session, agency_ids: Sequence[int]) -> IncidentSummary:
    """How many incidents the agencies hold, how many are located, and the span of dates."""
    conditions = _filters(session, agency_ids, [], None, None)
    total, first, last = session.execute(
        select(func.count(), func.min(Incident.occurred_from), func.max(Incident.occurred_from)).where(*conditions)
    ).one()
    located = session.scalar(select(func.count()).where(*conditions, Incident.location_status == "located"))
    return IncidentSummary(int(total or 0), int(located or 0), first, last)


@dataclass(frozen=True)
class MapCollection:
    """The map's answer to one question: its filters and counts (for the audit entry), and its JSON.

    ``body`` is the encoded JSON; ``gzipped`` the same bytes gzip-compressed once (level 6), so a
    client that accepts gzip is answered without compressing the month again on every request.
    """

    filters: dict[str, Any]
    counts: dict[str, Any]
    body: bytes
    gzipped: bytes = b""


def map_collection(
    core: OpenILP,
    session: Session,
    agency_id: int,
    agency_code: str,
    category_codes: Sequence[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = 20000,
) -> MapCollection:
    """:func:`incident_features` of one agency through the core's result cache, as JSON bytes.

    The map asks the same question many times (every analyst opening the month); the collection is
    built once per question and per state of the agency's data (a new import changes the store's
    fingerprint, so a stale collection is never served). The JSON is encoded once too.
    """
    from openilp.services.analysis.common import store_fingerprint

    codes = tuple(category_codes or ())
    key = (
        "incident_map",
        id(core.engine),
        str(core.engine.url),
        store_fingerprint(core.engine, agency_code),
        agency_id,
        codes,
        date_from,
        date_to,
        limit,
    )

    def build() -> MapCollection:
        collection = incident_features(session, [agency_id], list(codes), date_from, date_to, limit)
        body = json.dumps(collection, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        return MapCollection(dict(collection.get("filters") or {}), dict(collection.get("counts") or {}), body, packed)

    return core.cache.get_or_compute(key, build)
