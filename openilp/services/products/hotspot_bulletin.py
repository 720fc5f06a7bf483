"""The tactical bulletin of a hot spot: a near-repeat alert zone in force and the incidents inside it.

A *hot spot* here is one of the zones :func:`openilp.services.analysis.nearrepeat.run_near_repeat_alerts`
finds for the request's category on ``as_of`` (the zones the CompStat pack's near-repeat section
lists, with the same Knox settings by default): a circle around a recent incident (the *trigger*)
whose radius is the furthest space band the Knox test (Knox 1964; Ratcliffe 2009) found elevated,
still in force on ``as_of``. Its **members** are the trigger and the other incidents of the same
category in the alert window (``recent_from`` to ``as_of``) within that radius of the trigger
(:meth:`~openilp.services.analysis.nearrepeat.NearRepeatAlertResult.zone_members`); nothing but
where and when an incident happened decides membership.

Hot spots are ranked by how many incidents they hold (then the risk multiplier, the later trigger,
the smaller incident number); a zone whose trigger already lies inside a higher-ranked hot spot is
the same place and is not ranked again, so ``rank 2`` is a different place from ``rank 1``.
``zone_incident_id`` picks the zone of one trigger instead (the incident number of
``openilp near-repeat-alerts``), or ``zone_complaint`` its complaint number (as the CompStat pack and
the near-repeat page print it).

Why near-repeat zones and not the Gi* cells of :mod:`openilp.services.analysis.hotspots`: a tactical
bulletin is about what patrol can act on in the coming days. A near-repeat zone is recent, small
(a few hundred metres), has a tested elevation of risk and an expiry date; a Gi* or KDE cell
describes where crime concentrated over months, which is the matter of a problem profile or the
strategic assessment.

The bulletin has the sections of the series bulletin (:mod:`openilp.services.products.bulletin`;
the request and helpers are :mod:`~openilp.services.products.bulletin_parts`'s): what to look for,
the map (the zone's circle and its incidents over the boundary layer), the timeline, the incidents
table, the MO summary and how the hot spot was found. Handling as the series bulletin: incident
detail, TLP:AMBER, no criminal intelligence record.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from openilp.core import OpenILP
from openilp.products import ContentItem
from openilp.products.figures import MapCircle, MapLayer, incident_map
from openilp.products.series_profile import look_for, series_profile
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import NoEventsError
from openilp.services.analysis.nearrepeat import (
    KnoxRequest,
    NearRepeatAlertRequest,
    NearRepeatAlertResult,
    run_near_repeat_alerts,
)
from openilp.services.products.bulletin_parts import (
    MAX_TABLE_ROWS,
    NAME_PROPERTY,
    BulletinRequest,
    incident_table,
    member_rows,
    member_timeline,
    neighbourhood_names,
)
from openilp.services.products.common import BuiltProduct, boundary_layer, producer_agency, product_basemap

__all__ = ["build_hotspot_bulletin", "hot_spot_alert_request", "rank_hot_spots"]

#: What the bulletin says of each zone it ranks.
_ZONE_FIELDS = (
    "incident_id",
    "complaint_number",
    "block_address",
    "neighbourhood",
    "incident_date",
    "radius_m",
    "max_multiplier",
    "expires_date",
    "days_left",
    "lon",
    "lat",
)


def hot_spot_alert_request(request: BulletinRequest) -> NearRepeatAlertRequest:
    """The near-repeat alert request a hot-spot bulletin reads its zones from (the CompStat pack's, by default)."""
    knox = KnoxRequest(request.agency_code, permutations=request.knox_permutations)
    return NearRepeatAlertRequest(
        request.agency_code, (request.category,), request.as_of, history_days=request.history_days, knox=knox
    )


def rank_hot_spots(alerts: NearRepeatAlertResult) -> list[dict[str, Any]]:
    """The distinct hot spots of ``alerts``, strongest first, each a zone with its ``members`` (incident ids).

    Ranked by members (more first), then the zone's risk multiplier, the later trigger and the smaller
    incident number; a zone whose trigger is a member of a higher-ranked hot spot is skipped.
    """
    zones = alerts.to_json()["zones"]
    if not zones:
        return []
    members = alerts.zone_members()
    by_zone: dict[int, list[int]] = {}
    for zone_id, incident_id in zip(members["zone_incident_id"], members["incident_id"], strict=True):
        by_zone.setdefault(int(zone_id), []).append(int(incident_id))
    candidates = []
    for zone in zones:
        entry = {key: zone[key] for key in _ZONE_FIELDS}
        entry["incident_id"] = int(zone["incident_id"])
        entry["members"] = by_zone.get(entry["incident_id"], [entry["incident_id"]])
        candidates.append(entry)
    candidates.sort(key=lambda z: z["incident_id"])
    candidates.sort(key=lambda z: str(z["incident_date"]), reverse=True)  # stable: the later trigger first
    candidates.sort(key=lambda z: (-len(z["members"]), -float(z["max_multiplier"])))
    covered: set[int] = set()
    ranked = []
    for zone in candidates:
        if zone["incident_id"] in covered:
            continue
        ranked.append(zone)
        covered.update(zone["members"])
    return ranked


def _choose(alerts: NearRepeatAlertResult, request: BulletinRequest) -> tuple[dict[str, Any], int]:
    """The hot spot asked for and how many distinct hot spots there were."""
    ranked = rank_hot_spots(alerts)
    summary = alerts.summary()
    where = (
        f"{summary['zones']} near-repeat zones of {request.category.replace('_', ' ')} in force on {alerts.as_of} "
        f"({summary['recent_incidents']} incidents from {summary['recent_from']}, {summary['elevated_cells']} "
        f"elevated Knox cells)"
    )
    zones = alerts.to_json()["zones"]
    if request.zone_complaint:
        named = [int(z["incident_id"]) for z in zones if str(z["complaint_number"] or "") == request.zone_complaint]
        if not named:
            raise NoEventsError(f"complaint {request.zone_complaint} raised none of the {where}")
        request = dataclasses.replace(request, zone_incident_id=named[0])
    if request.zone_incident_id:
        every = {int(z["incident_id"]): z for z in zones}
        if request.zone_incident_id not in every:
            raise NoEventsError(f"incident {request.zone_incident_id} raised none of the {where}")
        zone = {key: every[request.zone_incident_id][key] for key in _ZONE_FIELDS}
        zone["incident_id"] = request.zone_incident_id
        members = alerts.zone_members(request.zone_incident_id)
        zone["members"] = [int(i) for i in members["incident_id"]]
        return zone, len(ranked)
    if len(ranked) < request.rank:
        raise NoEventsError(f"{len(ranked)} distinct hot spots among the {where}; no hot spot ranked {request.rank}")
    return ranked[request.rank - 1], len(ranked)


def _elevated_cells(alerts: NearRepeatAlertResult) -> list[str]:
    """The Knox table's elevated cells, e.g. ``"100–200 m within 0–7 days: ×1.85"``."""
    table = alerts.knox.table
    cells = table[table["significant"].astype(bool)].sort_values(["space_index", "time_index"])
    lines = []
    for cell in cells.to_dict("records"):
        space = (
            "same location"
            if cell.get("same_location")
            else f"{cell['distance_from_m']:,.0f}–{cell['distance_to_m']:,.0f} m"
        )
        lines.append(f"{space} within {cell['days_from']:g}–{cell['days_to']:g} days: ×{cell['knox_ratio']:.2f}")
    return lines


def build_hotspot_bulletin(core: OpenILP, actor: UserInfo | None, request: BulletinRequest) -> BuiltProduct:
    """Find the hot spot, gather its incidents and figures (nothing stored).

    :func:`~openilp.services.products.bulletin.bulletin` stores it.
    """
    request = request.validate()
    code = producer_agency(core, actor, request.agency_code)
    request = dataclasses.replace(request, agency_code=code)
    assert request.as_of is not None  # validate() requires it
    alerts = run_near_repeat_alerts(core, actor, hot_spot_alert_request(request))
    zone, found = _choose(alerts, request)
    summary = alerts.summary()
    members, agency = member_rows(core, code, list(zone["members"]))
    if members.empty:
        raise NoEventsError("the hot spot's incidents are no longer in the store")
    distances = alerts.zone_members(int(zone["incident_id"])).set_index("incident_id")["distance_m"]
    members["distance_m"] = [float(distances.get(int(i), 0.0)) for i in members["incident_id"]]
    boundaries = boundary_layer(core, code)
    names = neighbourhood_names(boundaries)
    codes = sorted({str(v) for v in members["neighbourhood"] if v})
    members["neighbourhood"] = [names.get(str(v), str(v)) for v in members["neighbourhood"]]
    profile = series_profile(members)
    lines = look_for(profile, centre="the hot spot's incidents' centre")
    members["number"] = range(1, len(members) + 1)
    category_label = request.category.replace("_", " ")
    place = str(zone["block_address"] or zone["complaint_number"] or zone["incident_id"])
    label = f"{category_label} hot spot at {place}"
    period_start, period_end = str(summary["recent_from"]), str(alerts.as_of)
    radius = float(zone["radius_m"])
    located = members.dropna(subset=["lon", "lat"])
    capital = label[:1].upper() + label[1:]
    figure = incident_map(
        boundaries,
        [MapLayer("Hot spot incidents", located["lon"].tolist(), located["lat"].tolist(), "o")],
        title=f"{capital}, {period_start} to {period_end}",
        circles=[MapCircle(float(zone["lon"]), float(zone["lat"]), radius, "near-repeat zone")],
        labels=[str(n) for n in located["number"]],
        highlight=codes,
        name_property=NAME_PROPERTY,
        height_in=4.2,
        basemap=product_basemap(core),
    )
    timeline = member_timeline(members, f"{capital}: when")
    trigger = int(zone["incident_id"])
    table = [
        {**row, "distance_m": round(float(distance)), "trigger": row["incident_id"] == trigger}
        for row, distance in zip(incident_table(members), members["distance_m"], strict=True)
    ]
    knox = alerts.request.knox
    hot_spot = {key: zone[key] for key in _ZONE_FIELDS}
    hot_spot["incidents"] = len(members)
    content = {
        "agency": code,
        "category": request.category,
        "period": [period_start, period_end],
        "rank": request.rank,
        "zone_incident_id": request.zone_incident_id,
        "zone_complaint": request.zone_complaint,
        "hot_spot": hot_spot,
        "hot_spots_found": found,
        "zones_in_force": int(summary["zones"]),
        "recent_incidents": int(summary["recent_incidents"]),
        "history": [summary["history_from"], summary["history_to"]],
        "history_incidents": int(summary["history_incidents"]),
        "elevated_cells": int(summary["elevated_cells"]),
        "knox": {
            "permutations": knox.permutations,
            "seed": knox.seed,
            "alpha": knox.alpha,
            "min_ratio": knox.min_ratio,
            "space_bands_m": list(knox.space_bands_m),
            "time_bands_days": list(knox.time_bands_days),
        },
        "incident_ids": [int(v) for v in members["incident_id"]],
        "incidents": table,
        "profile": profile.as_dict(),
        "look_for": lines,
    }
    items = (
        ContentItem("Incidents table (complaint numbers and block addresses)", "TLP:AMBER"),
        ContentItem("Map of the hot spot and its incidents (locations)", "TLP:AMBER"),
        ContentItem("Timeline and MO summary (the hot spot's incidents)", "TLP:AMBER"),
    )
    context = {
        "series_label": label,
        "category_label": category_label,
        "period_start": period_start,
        "period_end": period_end,
        "series": {"incident_ids": content["incident_ids"]},
        "saved_series": None,
        "hot_spot": hot_spot,
        "hot_spots_found": found,
        "by_zone": bool(request.zone_incident_id or request.zone_complaint),
        "rank": request.rank,
        "analysis": summary,
        "knox": content["knox"],
        "space_bands": ", ".join(f"{b:g}" for b in knox.space_bands_m),
        "time_bands": ", ".join(f"{b:g}" for b in knox.time_bands_days),
        "elevated": _elevated_cells(alerts),
        "history_days": request.history_days,
        "profile": profile,
        "look_for": lines,
        "limitations": [],
        "map": figure,
        "map_caption": (
            f"{len(located)} of the {len(members)} incidents have a location; numbers as in the incidents table; "
            f"the dashed circle is the near-repeat zone ({radius:,.0f} m around incident "
            f"{_number_of(table, trigger)}); their neighbourhoods are shaded."
        ),
        "timeline": timeline,
        "incidents": table[:MAX_TABLE_ROWS],
        "incidents_more": max(0, len(table) - MAX_TABLE_ROWS),
        "timezone": agency.timezone,
    }
    return BuiltProduct(
        kind="bulletin",
        agency_code=code,
        title=f"Tactical bulletin: {label}, {period_start} to {period_end}",
        short_title=f"Bulletin hot spot {request.category} {_which(request)} {request.as_of}",
        subtitle=(
            f"{len(members)} {category_label} incidents within {radius:,.0f} m of a near-repeat zone in force on "
            f"{period_end} (until {zone['expires_date']})"
        ),
        template="bulletin.html",
        parameters=request.parameters(),
        items=items,
        content=content,
        context=context,
        contact=request.contact,
    )


def _which(request: BulletinRequest) -> str:
    if request.zone_complaint:
        return f"zone {request.zone_complaint}"
    return f"zone {request.zone_incident_id}" if request.zone_incident_id else f"#{request.rank}"


def _number_of(table: list[dict[str, Any]], incident_id: int) -> str:
    return next((str(row["number"]) for row in table if row["incident_id"] == incident_id), "–")
