"""The tactical bulletin of a possible crime series found by series linkage.

The series is one of those :func:`openilp.services.series.possible.possible_series` lists for the
same request (category, the recent days up to ``as_of``, blocking limits, threshold): the
``rank``-th strongest. The bulletin computes no linkage of its own: it takes that series' incidents
and shows them to the officers who patrol the area:

* a **map** of the incidents, numbered as in the table, over the agency's boundary layer;
* a **timeline**: date across, local time of day up (incidents recorded with a date only apart);
* the **incidents table**: complaint number, when (local), offence as recorded, block, neighbourhood;
* the **MO summary** (:func:`openilp.products.series_profile.series_profile`): offences, days of
  the week, time of day, spread and pace, all counted from the records;
* **what to look for**, stated from those counts, with the linkage's limits, and the **contact**.

Handling: the incidents table and map carry complaint numbers and block addresses (incident detail,
TLP:AMBER); the MO summary and the timeline are TLP:AMBER too (they describe the same incidents). The
bulletin holds no criminal intelligence record and says so.
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
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request
from openilp.core.contract import require
from openilp.db.models import Agency, CrimeSeries, CrimeSeriesMember, Incident
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.products import ContentItem
from openilp.products.figures import MapLayer, incident_map, timeline_chart
from openilp.products.series_profile import WEEKDAYS, look_for, series_profile
from openilp.security.actors import UserInfo
from openilp.security.roles import has_permission
from openilp.services.analysis.common import NoEventsError
from openilp.services.products.common import (
    BuiltProduct,
    ProducedProduct,
    boundary_layer,
    produce,
    producer_agency,
    register_builder,
)
from openilp.services.series.common import LIMITATIONS
from openilp.services.series.possible import PossibleSeriesRequest, find_possible_series

__all__ = ["BulletinRequest", "build_bulletin", "bulletin", "bulletin_series_request"]

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

    def validate(self) -> BulletinRequest:
        require(self.series_id >= 0, "series_id: give a saved series' number")
        if self.series_id:
            return dataclasses.replace(self, category=self.category.strip(), contact=self.contact.strip()[:300])
        require(self.as_of is not None, "as_of: give the last day of the period (--as-of YYYY-MM-DD)")
        require(1 <= self.rank <= 100, "rank: give 1 (the strongest series) to 100")
        self.series_request().validate()
        return dataclasses.replace(self, category=self.category.strip(), contact=self.contact.strip()[:300])

    def series_request(self) -> PossibleSeriesRequest:
        return bulletin_series_request(self)

    def parameters(self) -> dict[str, Any]:
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


def _members(core: OpenILP, agency_code: str, incident_ids: list[int]) -> tuple[pd.DataFrame, Agency]:
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


def _when(row: Mapping[str, Any]) -> str:
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


def _neighbourhood_names(boundaries: Mapping[str, Any] | None) -> dict[str, str]:
    """Neighbourhood number → "number name" from the boundary layer (``NHD_NUM``/``NHD_NAME``), when it has them."""
    names: dict[str, str] = {}
    for feature in (boundaries or {}).get("features", []):
        properties = feature.get("properties") or {}
        number, name = properties.get(NAME_PROPERTY), properties.get("NHD_NAME")
        if number is not None and name:
            code = str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)
            names[code] = f"{code} {name}"
    return names


def _saved_series(core: OpenILP, actor: UserInfo | None, code: str, series_id: int) -> dict[str, Any]:
    """The saved series ``series_id`` of agency ``code``: title, status, review and member incident ids."""
    if actor is not None and not has_permission(actor.role, "series:read"):
        raise NotPermitted(f"your role ({actor.role}) may not read crime series (series:read)")
    with Session(core.engine) as session:
        row = session.execute(
            select(CrimeSeries)
            .join(Agency, Agency.id == CrimeSeries.agency_id)
            .where(CrimeSeries.id == series_id, Agency.code == code)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no crime series {series_id} in {code}")
        ids = session.scalars(select(CrimeSeriesMember.incident_id).where(CrimeSeriesMember.series_id == row.id)).all()
        return {
            "id": row.id,
            "title": row.title,
            "status": row.status,
            "reviewed_at": None if row.reviewed_at is None else row.reviewed_at.date().isoformat(),
            "review_note": row.review_note or "",
            "incident_ids": [int(i) for i in ids],
        }


def build_bulletin(core: OpenILP, actor: UserInfo | None, request: BulletinRequest) -> BuiltProduct:
    """Find the series, gather its incidents and figures (nothing stored; :func:`bulletin` stores it)."""
    request = request.validate()
    code = producer_agency(core, actor, request.agency_code)
    request = dataclasses.replace(request, agency_code=code)
    saved: dict[str, Any] | None = None
    if request.series_id:
        saved = _saved_series(core, actor, code, request.series_id)
        series: dict[str, Any] = {"incident_ids": saved["incident_ids"], "mean_score": None, "min_score": None}
        crimes = pairs_scored = 0
        found: list[Any] = [series]
    else:
        assert request.as_of is not None
        start, crimes, pairs_scored, found = find_possible_series(core, code, request.series_request(), request.as_of)
        if len(found) < request.rank:
            raise NoEventsError(
                f"{len(found)} possible {request.category} series among {crimes:,} crimes from {start} to "
                f"{request.as_of} (threshold {request.threshold:g}, at least {request.min_size} crimes); "
                f"no series ranked {request.rank}"
            )
        series = found[request.rank - 1]
    members, agency = _members(core, code, list(series["incident_ids"]))
    if members.empty:
        raise InvalidRequest("the series' incidents are no longer in the store")
    boundaries = boundary_layer(core, code)
    names = _neighbourhood_names(boundaries)
    codes = sorted({str(v) for v in members["neighbourhood"] if v})
    members["neighbourhood"] = [names.get(str(v), str(v)) for v in members["neighbourhood"]]
    profile = series_profile(members)
    lines = look_for(profile)
    members["number"] = range(1, len(members) + 1)
    label = f"{request.category.replace('_', ' ')} series #{request.rank}"
    if saved is not None:
        label = f"series {saved['id']}: {saved['title']}"
        categories = sorted({str(c) for c in members["category"] if c}) if "category" in members else []
        request = dataclasses.replace(request, category=", ".join(categories) or request.category)
        start, request = profile.first.date(), dataclasses.replace(request, as_of=profile.last.date())
    located = members.dropna(subset=["lon", "lat"])
    layers = [
        MapLayer(f"{label[:1].upper() + label[1:]} incidents", located["lon"].tolist(), located["lat"].tolist(), "o")
    ]
    figure = incident_map(
        boundaries,
        layers,
        title=f"{label[:1].upper() + label[1:]}, {profile.first:%Y-%m-%d} to {profile.last:%Y-%m-%d}",
        labels=[str(n) for n in located["number"]],
        highlight=codes,
        name_property=NAME_PROPERTY,
        height_in=4.2,
    )
    timeline = timeline_chart(
        list(members["occurred_local"]),
        [float(v) for v in members["window_hours"]],
        [str(n) for n in members["number"]],
        title=f"{label[:1].upper() + label[1:]}: when",
    )
    table = [
        {
            "number": int(row["number"]),
            "incident_id": int(row["incident_id"]),
            "complaint_number": str(row["complaint_number"]),
            "when": _when({str(k): v for k, v in row.items()}),
            "weekday": WEEKDAYS[row["occurred_local"].weekday()],
            "offence": str(row["offence_description"]),
            "block_address": str(row["block_address"]),
            "neighbourhood": str(row["neighbourhood"]),
        }
        for row in members.to_dict("records")
    ]
    content = {
        "agency": code,
        "category": request.category,
        "period": [str(start), str(request.as_of)],
        "rank": request.rank,
        "series_found": len(found),
        "crimes_compared": crimes,
        "pairs_scored": pairs_scored,
        "incident_ids": [int(v) for v in series["incident_ids"]],
        "mean_score": None if series["mean_score"] is None else round(float(series["mean_score"]), 6),
        "min_score": None if series["min_score"] is None else round(float(series["min_score"]), 6),
        "saved_series": saved,
        "incidents": table,
        "profile": profile.as_dict(),
        "look_for": lines,
    }
    items = (
        ContentItem("Incidents table (complaint numbers and block addresses)", "TLP:AMBER"),
        ContentItem("Map of the series' incidents (locations)", "TLP:AMBER"),
        ContentItem("Timeline and MO summary (the series' incidents)", "TLP:AMBER"),
    )
    context = {
        "series_label": label,
        "category_label": request.category.replace("_", " "),
        "period_start": str(start),
        "period_end": str(request.as_of),
        "series": series,
        "saved_series": saved,
        "series_found": len(found),
        "crimes_compared": crimes,
        "pairs_scored": pairs_scored,
        "threshold": f"{request.threshold:g}",
        "max_distance_m": f"{request.max_distance_m:,.0f}",
        "max_gap_days": f"{request.max_gap_days:g}",
        "profile": profile,
        "look_for": lines,
        "limitations": LIMITATIONS,
        "map": figure,
        "map_caption": (
            f"{len(located)} of the {len(members)} incidents have a location; numbers as in the incidents table; "
            f"their neighbourhoods are shaded."
        ),
        "timeline": timeline,
        "incidents": table[:MAX_TABLE_ROWS],
        "incidents_more": max(0, len(table) - MAX_TABLE_ROWS),
        "timezone": agency.timezone,
    }
    if saved is not None:
        title = f"Tactical bulletin: {label}, {profile.first:%Y-%m-%d} to {profile.last:%Y-%m-%d}"
        short_title = f"Bulletin series {saved['id']}"
        subtitle = f"{len(members)} incidents of saved series {saved['id']} ({saved['status']})"
    else:
        title = f"Tactical bulletin: possible {label}, {profile.first:%Y-%m-%d} to {profile.last:%Y-%m-%d}"
        short_title = f"Bulletin {request.category} #{request.rank} {request.as_of}"
        subtitle = (
            f"{len(members)} incidents linked by where, when and offence; found among {crimes:,} "
            f"{request.category.replace('_', ' ')} crimes from {start} to {request.as_of}"
        )
    return BuiltProduct(
        kind="bulletin",
        agency_code=code,
        title=title,
        short_title=short_title,
        subtitle=subtitle,
        template="bulletin.html",
        parameters=request.parameters(),
        items=items,
        content=content,
        context=context,
        contact=request.contact,
    )


def bulletin(
    core: OpenILP, actor: UserInfo | None, request: BulletinRequest, *, on_restricted: str = "redact"
) -> ProducedProduct:
    """Build, render and store the bulletin of a possible series (a new version each call)."""
    return produce(core, actor, build_bulletin(core, actor, request), on_restricted=on_restricted)


def _rebuild(core: OpenILP, actor: UserInfo | None, parameters: Mapping[str, Any]) -> BuiltProduct:
    if parameters.get("series_id"):
        saved = BulletinRequest(
            agency_code=str(parameters["agency_code"]),
            series_id=int(parameters["series_id"]),
            contact=str(parameters.get("contact") or ""),
        )
        return build_bulletin(core, actor, saved)
    request = BulletinRequest(
        agency_code=str(parameters["agency_code"]),
        category=str(parameters["category"]),
        as_of=dt.date.fromisoformat(str(parameters["as_of"])),
        days=int(parameters["days"]),
        rank=int(parameters["rank"]),
        max_distance_m=float(parameters["max_distance_m"]),
        max_gap_days=float(parameters["max_gap_days"]),
        threshold=float(parameters["threshold"]),
        min_size=int(parameters["min_size"]),
        contact=str(parameters.get("contact") or ""),
    )
    return build_bulletin(core, actor, request)


register_builder("bulletin", _rebuild)
