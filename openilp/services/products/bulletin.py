"""The tactical bulletin of a possible crime series found by series linkage (or of a saved series).

A bulletin of a near-repeat hot spot takes the same request with ``hot_spot`` set and is built by
:mod:`openilp.services.products.hotspot_bulletin` with this module's table, timeline and MO helpers.

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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP
from openilp.db.models import Agency, CrimeSeries, CrimeSeriesMember
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.products import ContentItem
from openilp.products.figures import MapLayer, incident_map
from openilp.products.series_profile import look_for, series_profile
from openilp.security.actors import UserInfo
from openilp.security.roles import has_permission
from openilp.services.analysis.common import NoEventsError
from openilp.services.products.bulletin_parts import (
    MAX_TABLE_ROWS,
    NAME_PROPERTY,
    BulletinRequest,
    bulletin_series_request,
    incident_table,
    member_rows,
    member_timeline,
    neighbourhood_names,
)
from openilp.services.products.common import (
    BuiltProduct,
    ProducedProduct,
    boundary_layer,
    produce,
    producer_agency,
    product_basemap,
    register_builder,
)
from openilp.services.products.hotspot_bulletin import build_hotspot_bulletin
from openilp.services.series.common import LIMITATIONS
from openilp.services.series.possible import find_possible_series

__all__ = ["BulletinRequest", "build_bulletin", "bulletin", "bulletin_series_request"]


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
    """Find the series, gather its incidents and figures (nothing stored; :func:`bulletin` stores it).

    A hot-spot request (``hot_spot``) is built by
    :func:`~openilp.services.products.hotspot_bulletin.build_hotspot_bulletin`.
    """
    request = request.validate()
    if request.hot_spot:
        return build_hotspot_bulletin(core, actor, request)
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
    members, agency = member_rows(core, code, list(series["incident_ids"]))
    if members.empty:
        raise InvalidRequest("the series' incidents are no longer in the store")
    boundaries = boundary_layer(core, code)
    names = neighbourhood_names(boundaries)
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
        basemap=product_basemap(core),
    )
    timeline = member_timeline(members, f"{label[:1].upper() + label[1:]}: when")
    table = incident_table(members)
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
        "hot_spot": None,
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
    if parameters.get("hot_spot"):
        hot_spot = BulletinRequest(
            agency_code=str(parameters["agency_code"]),
            category=str(parameters["category"]),
            as_of=dt.date.fromisoformat(str(parameters["as_of"])),
            rank=int(parameters["rank"]),
            contact=str(parameters.get("contact") or ""),
            hot_spot=True,
            zone_incident_id=int(parameters.get("zone_incident_id") or 0),
            zone_complaint=str(parameters.get("zone_complaint") or ""),
            history_days=int(parameters["history_days"]),
            knox_permutations=int(parameters["knox_permutations"]),
        )
        return build_bulletin(core, actor, hot_spot)
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
