"""What the tactical bulletins share: the request, the incident rows they print, and their labels.

:class:`BulletinRequest` asks for the bulletin of a possible series found by linkage, of a saved
series, or of a near-repeat hot spot (``hot_spot``). :func:`member_rows` reads the incidents a
bulletin shows (local times, the recorded window, block and neighbourhood) in time order; the series
bulletin (:mod:`~openilp.services.products.bulletin`) and the hot-spot bulletin
(:mod:`~openilp.services.products.hotspot_bulletin`) both build on it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select

from openilp.core import OpenILP, Request
from openilp.core.contract import require
from openilp.db.models import Agency, Incident
from openilp.products.figures import timeline_chart
from openilp.products.series_profile import WEEKDAYS
from openilp.services.series.possible import PossibleSeriesRequest

__all__ = [
    "MAX_TABLE_ROWS",
    "NAME_PROPERTY",
    "BulletinRequest",
    "bulletin_series_request",
    "incident_table",
    "member_rows",
    "member_timeline",
    "neighbourhood_names",
    "when_text",
]

#: Incidents listed in the table (a longer series is counted, the rest left to the series page).
MAX_TABLE_ROWS = 40
#: The boundary property that holds the neighbourhood code incidents store (as the CompStat pack's map).
NAME_PROPERTY = "NHD_NUM"


@dataclass(frozen=True)
class BulletinRequest(Request):
    """The bulletin of the ``rank``-th strongest possible series of ``category`` in ``days`` days to ``as_of``,
    or of the agency's saved series ``series_id`` (the series an analyst kept and reviewed).

    The other fields are those of :class:`PossibleSeriesRequest`, with its defaults; a saved series
    needs none of them (its period is its incidents').
    """

    agency_code: str = ""
    category: str = "burglary"
    as_of: dt.date | None = None
    days: int = 60
    rank: int = 1
    max_distance_m: float = 1500.0
    max_gap_days: float = 30.0
    threshold: float = 3.0
    min_size: int = 3
    contact: str = ""
    #: A saved series of the agency (0: find the series by linkage, as above).
    series_id: int = 0
    #: The bulletin of a near-repeat hot spot instead of a series
    #: (:mod:`~openilp.services.products.hotspot_bulletin`): the ``rank``-th hot spot in force on ``as_of``.
    hot_spot: bool = False
    #: A hot spot chosen by the incident that raised its zone (0: by ``rank``).
    zone_incident_id: int = 0
    #: A hot spot chosen by the complaint number of the incident that raised its zone ("": by ``rank``).
    zone_complaint: str = ""
    #: Days of history the hot spot's Knox test is fitted on (as the CompStat pack's near-repeat section).
    history_days: int = 365
    #: Permutations of the hot spot's Knox test (as the CompStat pack's near-repeat section).
    knox_permutations: int = 99

    def validate(self) -> BulletinRequest:
        require(self.series_id >= 0, "series_id: give a saved series' number")
        require(self.zone_incident_id >= 0, "zone_incident_id: give the incident number that raised the zone")
        require(not (self.hot_spot and self.series_id), "give a saved series or a hot spot, not both")
        require(self.hot_spot or not self.zone_incident_id, "zone_incident_id needs a hot-spot bulletin (hot_spot)")
        require(self.hot_spot or not self.zone_complaint.strip(), "zone_complaint needs a hot-spot bulletin (hot_spot)")
        require(
            not (self.zone_incident_id and self.zone_complaint.strip()),
            "give the zone's incident number or its complaint number, not both",
        )
        require(len(self.zone_complaint) <= 100, "zone_complaint: at most 100 characters")
        if self.hot_spot:
            require(self.as_of is not None, "as_of: give the day the hot spot is in force (--as-of YYYY-MM-DD)")
            require(1 <= self.rank <= 100, "rank: give 1 (the hot spot with the most incidents) to 100")
            require(bool(self.category.strip()), "category: give a category or crime group, e.g. burglary")
            require(28 <= self.history_days <= 3660, "history_days: give 28 to 3,660 days")
            require(9 <= self.knox_permutations <= 9999, "knox_permutations: give 9 to 9,999")
            return dataclasses.replace(
                self,
                category=self.category.strip(),
                contact=self.contact.strip()[:300],
                zone_complaint=self.zone_complaint.strip(),
            )
        if self.series_id:
            return dataclasses.replace(self, category=self.category.strip(), contact=self.contact.strip()[:300])
        require(self.as_of is not None, "as_of: give the last day of the period (--as-of YYYY-MM-DD)")
        require(1 <= self.rank <= 100, "rank: give 1 (the strongest series) to 100")
        self.series_request().validate()
        return dataclasses.replace(self, category=self.category.strip(), contact=self.contact.strip()[:300])

    def series_request(self) -> PossibleSeriesRequest:
        return bulletin_series_request(self)

    def parameters(self) -> dict[str, Any]:
        if self.hot_spot:
            return {
                "agency_code": self.agency_code,
                "hot_spot": True,
                "category": self.category,
                "as_of": str(self.as_of),
                "rank": self.rank,
                "zone_incident_id": self.zone_incident_id,
                "zone_complaint": self.zone_complaint,
                "history_days": self.history_days,
                "knox_permutations": self.knox_permutations,
                "contact": self.contact,
            }
        if self.series_id:
            return {"agency_code": self.agency_code, "series_id": self.series_id, "contact": self.contact}
        return {
            "agency_code": self.agency_code,
            "category": self.category,
            "as_of": str(self.as_of),
            "days": self.days,
            "rank": self.rank,
            "max_distance_m": self.max_distance_m,
            "max_gap_days": self.max_gap_days,
            "threshold": self.threshold,
            "min_size": self.min_size,
            "contact": self.contact,
        }


def bulletin_series_request(request: BulletinRequest) -> PossibleSeriesRequest:
    """The possible-series request the bulletin's series comes from (the same as the series page's)."""
    return PossibleSeriesRequest(
        category=request.category,
        days=request.days,
        as_of=request.as_of,
        max_distance_m=request.max_distance_m,
        max_gap_days=request.max_gap_days,
        threshold=request.threshold,
        min_size=request.min_size,
    )


def _window_hours(row: Incident) -> float:
    if row.time_precision in ("day", "month"):
        return 24.0
    if row.occurred_from is None or row.occurred_to is None:
        return 0.0
    return max(0.0, (row.occurred_to - row.occurred_from).total_seconds() / 3600.0)


def member_rows(core: OpenILP, agency_code: str, incident_ids: list[int]) -> tuple[pd.DataFrame, Agency]:
    """The series' incidents with what the bulletin prints, in time order, times local."""
    with core.unit_of_work(None) as uow:
        agency = uow.session.scalars(select(Agency).where(Agency.code == agency_code)).one()
        rows = uow.session.scalars(select(Incident).where(Incident.id.in_(incident_ids))).all()
        zone = ZoneInfo(agency.timezone)
        records = []
        for row in rows:
            assert row.occurred_from is not None  # linkage only compares dated incidents
            start = row.occurred_from.astimezone(zone).replace(tzinfo=None)
            records.append(
                {
                    "incident_id": row.id,
                    "complaint_number": row.source_record_id or str(row.id),
                    "occurred_local": start,
                    "window_hours": _window_hours(row),
                    "time_precision": row.time_precision,
                    "offence_description": row.offence_description or row.category_code or "",
                    "category": row.category_code or "",
                    "block_address": row.block_address or "",
                    "neighbourhood": row.neighbourhood or "",
                    "district": row.district or "",
                    "lon": row.lon,
                    "lat": row.lat,
                    "x_m": row.x_m,
                    "y_m": row.y_m,
                }
            )
        uow.session.expunge_all()
    frame = pd.DataFrame.from_records(records).sort_values(["occurred_local", "incident_id"]).reset_index(drop=True)
    return frame, agency


def when_text(row: Mapping[str, Any]) -> str:
    start: dt.datetime = row["occurred_local"]
    hours = float(row["window_hours"])
    if row["time_precision"] in ("day", "month"):
        return f"{start:%Y-%m-%d} (date only)"
    if hours <= 0:
        return f"{start:%Y-%m-%d %H:%M}"
    end = start + dt.timedelta(hours=hours)
    if end.date() != start.date():
        return f"{start:%Y-%m-%d %H:%M} to {end:%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


def incident_table(members: pd.DataFrame) -> list[dict[str, Any]]:
    """The bulletin's incidents table: one row per member, numbered as on its map and timeline."""
    return [
        {
            "number": int(row["number"]),
            "incident_id": int(row["incident_id"]),
            "complaint_number": str(row["complaint_number"]),
            "when": when_text({str(k): v for k, v in row.items()}),
            "weekday": WEEKDAYS[row["occurred_local"].weekday()],
            "offence": str(row["offence_description"]),
            "block_address": str(row["block_address"]),
            "neighbourhood": str(row["neighbourhood"]),
        }
        for row in members.to_dict("records")
    ]


def member_timeline(members: pd.DataFrame, title: str) -> Any:
    """The bulletin's timeline: each member at its date and local time, with its recorded window."""
    return timeline_chart(
        list(members["occurred_local"]),
        [float(v) for v in members["window_hours"]],
        [str(n) for n in members["number"]],
        title=title,
    )


def neighbourhood_names(boundaries: Mapping[str, Any] | None) -> dict[str, str]:
    """Neighbourhood number → "number name" from the boundary layer (``NHD_NUM``/``NHD_NAME``), when it has them."""
    names: dict[str, str] = {}
    for feature in (boundaries or {}).get("features", []):
        properties = feature.get("properties") or {}
        number, name = properties.get(NAME_PROPERTY), properties.get("NHD_NAME")
        if number is not None and name:
            code = str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)
            names[code] = f"{code} {name}"
    return names
