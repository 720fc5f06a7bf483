"""The weekly CompStat pack of one district: trends, map, weeks, neighbourhoods, near repeats.

The trend table is the CompStat layout of :func:`openilp.services.analysis.trends.run_trends` at
the district level, for the week's last day, the very request ``openilp trends --by district
--layout compstat --as-of <week end> --json`` makes: the pack shows those rows for its district and
computes nothing of its own. The neighbourhood section is the same service at the neighbourhood
level against last year only (the flagged rows of the neighbourhoods whose incidents lie mostly in the
district), and the
near-repeat section the zones of :func:`openilp.services.analysis.nearrepeat.run_near_repeat_alerts`
in force on the week's last day around the district's incidents.

Handling: the trend table is TLP:GREEN (aggregate counts); the map of the week's incidents and the
near-repeat zones (complaint numbers, block addresses) are incident detail, TLP:AMBER, so the pack is
marked TLP:AMBER on every page. It holds no criminal intelligence and says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from openilp.core import OpenILP, Request
from openilp.core.dates import check_day
from openilp.db.models import OffenceCategory
from openilp.errors import InvalidRequest
from openilp.products import ContentItem
from openilp.products.figures import MapCircle, MapLayer, incident_map, weekly_chart
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import NoEventsError, check_categories
from openilp.services.analysis.nearrepeat import KnoxRequest, NearRepeatAlertRequest, run_near_repeat_alerts
from openilp.services.analysis.trends import SPARK_WEEKS, TrendRequest, run_trends
from openilp.services.products.common import (
    BuiltProduct,
    ProducedProduct,
    boundary_layer,
    produce,
    producer_agency,
    product_basemap,
    register_builder,
)

__all__ = [
    "CompStatPackRequest",
    "build_compstat_pack",
    "compstat_pack",
    "district_trend_request",
    "neighbourhood_trend_request",
]

PERIOD_LABELS = {"week": "Week", "28d": "28 days", "ytd": "Year to date"}
#: Knox permutations of the pack's near-repeat section (p-values to 0.01; the page's default is 999).
PACK_KNOX_PERMUTATIONS = 99
#: Rows shown of the neighbourhood and near-repeat tables (the strongest first; the rest are counted).
MAX_NEIGHBOURHOOD_ROWS = 20
MAX_ZONE_ROWS = 15
_GROUP_MARKERS = (("violent", "Violent", "o"), ("property", "Property", "s"), ("", "Other", "^"))


@dataclass(frozen=True)
class CompStatPackRequest(Request):
    """The pack of ``district`` for the week starting ``week`` (seven local days to ``week`` + 6)."""

    agency_code: str = ""
    district: str = ""
    week: dt.date | None = None
    #: Categories of the near-repeat section (codes or crime groups).
    near_repeat_categories: tuple[str, ...] = ("burglary",)

    def validate(self) -> CompStatPackRequest:
        district = str(self.district).strip()
        if not district:
            raise InvalidRequest("give the district (--district), as the agency's records name it")
        if self.week is None:
            raise InvalidRequest("give the first day of the week (--week YYYY-MM-DD)")
        check_day(self.week, "week")
        return dataclasses.replace(
            self, district=district, near_repeat_categories=check_categories(self.near_repeat_categories)
        )

    @property
    def week_end(self) -> dt.date:
        assert self.week is not None
        return self.week + dt.timedelta(days=6)

    def parameters(self) -> dict[str, Any]:
        return {
            "agency_code": self.agency_code,
            "district": self.district,
            "week": str(self.week),
            "near_repeat_categories": list(self.near_repeat_categories),
        }


def district_trend_request(agency_code: str, as_of: dt.date) -> TrendRequest:
    """The trend request of the pack's table: what ``openilp trends --by district --as-of DAY`` asks."""
    return TrendRequest(agency_code, (), as_of, "district")


def neighbourhood_trend_request(agency_code: str, as_of: dt.date) -> TrendRequest:
    """The neighbourhood section's request: ``openilp trends --by neighbourhood --baseline last_year --as-of DAY``."""
    return TrendRequest(agency_code, (), as_of, "neighbourhood", baselines=("last_year",))


def _crime_groups(core: OpenILP) -> dict[str, str]:
    with core.unit_of_work(None) as uow:
        return {c.code: c.crime_group for c in uow.session.scalars(select(OffenceCategory))}


def _district_problems(
    core: OpenILP, code: str, boundaries: Mapping[str, Any] | None, neighbourhoods: list[str], as_of: dt.date
) -> list[dict[str, Any]]:
    """The agency's open SARA problems whose area meets the district's neighbourhoods, with goal progress."""
    import shapely
    from shapely.geometry import shape

    from openilp.services.problems.progress import agency_open_problems

    chosen = set(neighbourhoods)
    polygons = [
        shape(feature["geometry"])
        for feature in (boundaries or {}).get("features", [])
        if _code((feature.get("properties") or {}).get("NHD_NUM")) in chosen and feature.get("geometry")
    ]
    if not polygons:
        return []
    district = shapely.union_all(polygons).buffer(0)
    rows = []
    for problem in agency_open_problems(core, code, as_of):
        if not shape(problem["area"]).intersects(district):
            continue
        rows.append({k: problem[k] for k in ("id", "title", "goal", "stage", "area_name", "progress")})
    return rows


def _code(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def build_compstat_pack(core: OpenILP, actor: UserInfo | None, request: CompStatPackRequest) -> BuiltProduct:
    """Gather the pack's numbers, figures and items (nothing stored; :func:`compstat_pack` stores it)."""
    request = request.validate()
    code = producer_agency(core, actor, request.agency_code)
    request = dataclasses.replace(request, agency_code=code)
    assert request.week is not None
    week_start, week_end = request.week, request.week_end
    by_district = run_trends(core, actor, district_trend_request(code, week_end))
    rows = [row for row in by_district.compstat() if row["area"] == request.district]
    if not rows:
        known = sorted({str(a) for a in by_district.table["area"].unique()} - {"(all areas)"})
        raise NoEventsError(
            f"district {request.district!r} has no incidents in the year to {week_end}; districts: {', '.join(known)}"
        )
    periods = [p for p in ("week", "28d", "ytd") if p in by_district.request.periods]
    district_events = by_district.events[by_district.events["area"] == request.district]
    day = pd.to_datetime(district_events["occurred_local"]).dt.normalize()
    this_week = district_events[(day >= pd.Timestamp(week_start)) & (day <= pd.Timestamp(week_end))]

    # Neighbourhoods whose incidents lie mostly in the district, and their flagged rows.
    by_neighbourhood = run_trends(core, actor, neighbourhood_trend_request(code, week_end))
    joined = by_neighbourhood.events[["incident_id", "area"]].merge(
        by_district.events[["incident_id", "area"]], on="incident_id", suffixes=("_n", "_d")
    )
    share = joined.assign(inside=joined["area_d"] == request.district).groupby("area_n")["inside"].mean()
    neighbourhoods = sorted(str(n) for n, s in share.items() if s >= 0.5 and n != "(unknown)")
    flagged: list[dict[str, Any]] = []
    for row in by_neighbourhood.compstat():
        if row["area"] not in neighbourhoods:
            continue
        for period in periods:
            cell = row["periods"].get(period)
            if cell and cell["severity"] in ("alert", "watch"):
                flagged.append(
                    {
                        "area": row["area"],
                        "area_name": row["area_name"],
                        "category": row["category"],
                        "category_label": row["category_label"],
                        "period": period,
                        "current": cell["current"],
                        "last_year": cell["last_year"],
                        "z": cell["z"],
                        "severity": cell["severity"],
                    }
                )
    flagged.sort(key=lambda r: (r["severity"] != "alert", -abs(r["z"]), r["area_name"]))

    # Near-repeat zones in force around the district's incidents.
    knox = KnoxRequest(code, permutations=PACK_KNOX_PERMUTATIONS)
    near = run_near_repeat_alerts(
        core, actor, NearRepeatAlertRequest(code, request.near_repeat_categories, week_end, knox=knox)
    )
    in_district = set(int(i) for i in district_events["incident_id"])
    zones = [z for z in near.to_json()["zones"] if int(z["incident_id"]) in in_district]
    zones.sort(key=lambda z: (-float(z["max_multiplier"]), str(z["incident_date"])), reverse=False)

    # Open problems whose area touches the district (its neighbourhoods), with their goal progress.
    problems = _district_problems(core, code, boundary_layer(core, code), neighbourhoods, week_end)

    # Figures.
    groups = _crime_groups(core)
    located = this_week.dropna(subset=["lon", "lat"])
    layers = []
    for group, label, marker in _GROUP_MARKERS:
        if group:
            chosen = located[[groups.get(str(c), "") == group for c in located["category"]]]
        else:
            chosen = located[[groups.get(str(c), "") not in ("violent", "property") for c in located["category"]]]
        if len(chosen):
            layers.append(MapLayer(label, chosen["lon"].tolist(), chosen["lat"].tolist(), marker))
    circles = [MapCircle(float(z["lon"]), float(z["lat"]), float(z["radius_m"])) for z in zones]
    area_label = f"District {request.district}"
    figure = incident_map(
        boundary_layer(core, code),
        layers,
        title=f"{area_label}, {week_start} to {week_end}",
        circles=circles,
        highlight=neighbourhoods,
        name_property="NHD_NUM",
        basemap=product_basemap(core),
    )
    weekly_total = [sum(int(row["weekly"][k]) for row in rows) for k in range(SPARK_WEEKS)]
    week_starts = [str(week_end - dt.timedelta(days=7 * (SPARK_WEEKS - 1 - k) + 6)) for k in range(SPARK_WEEKS)]
    by_group: dict[str, list[int]] = {"All incidents": weekly_total}
    for group, label, _ in _GROUP_MARKERS[:2]:
        by_group[label] = [
            sum(int(row["weekly"][k]) for row in rows if groups.get(row["category"]) == group)
            for k in range(SPARK_WEEKS)
        ]
    chart = weekly_chart(week_starts, by_group, title=f"{area_label}: incidents per week")
    alerts = sum(1 for row in rows if row["severity"] == "alert")
    watches = sum(1 for row in rows if row["severity"] == "watch")
    week_total = sum(int(row["periods"]["week"]["current"]) for row in rows if "week" in row["periods"])
    week_last_year = sum(int(row["periods"]["week"]["last_year"]) for row in rows if "week" in row["periods"])
    summary = near.summary()
    near_label = ", ".join(c.replace("_", " ") for c in request.near_repeat_categories)
    content = {
        "agency": code,
        "district": request.district,
        "week_start": str(week_start),
        "week_end": str(week_end),
        "trend_rows": [{k: v for k, v in row.items() if k != "max_abs_z"} for row in rows],
        "week_total": week_total,
        "week_total_last_year": week_last_year,
        "weekly_total": weekly_total,
        "neighbourhoods": neighbourhoods,
        "neighbourhood_rows": flagged,
        "near_repeat_zones": [
            {k: z[k] for k in ("incident_id", "complaint_number", "block_address", "incident_date", "radius_m")}
            for z in zones
        ],
        "incidents_this_week": len(this_week),
        "incidents_mapped": len(located),
        "open_problems": problems,
    }
    items = (
        ContentItem("Trend table (counts by category)", "TLP:GREEN"),
        ContentItem("Weekly chart (counts)", "TLP:GREEN"),
        ContentItem("Neighbourhood alerts (counts)", "TLP:GREEN"),
        ContentItem("Open problems and their progress (counts)", "TLP:GREEN"),
        ContentItem("Map of the week's incidents (locations)", "TLP:AMBER"),
        ContentItem("Near-repeat zones (complaint numbers and block addresses)", "TLP:AMBER"),
    )
    context = {
        "area_label": area_label,
        "area_level": "district",
        "week_start": str(week_start),
        "week_end": str(week_end),
        "periods": periods,
        "period_labels": PERIOD_LABELS,
        "trend_rows": rows,
        "week_total": week_total,
        "week_total_last_year": week_last_year,
        "alerts": alerts,
        "watches": watches,
        "z_alert": f"{by_district.request.z_alert:g}",
        "z_watch": f"{by_district.request.z_watch:g}",
        "map": figure,
        "map_caption": (
            f"{len(located)} of the week's {len(this_week)} incidents in {area_label} have a location; the "
            f"{len(neighbourhoods)} neighbourhoods of the district are shaded, near-repeat zones dashed."
        ),
        "chart": chart,
        "chart_weeks": SPARK_WEEKS,
        "neighbourhood_rows": flagged[:MAX_NEIGHBOURHOOD_ROWS],
        "neighbourhood_rows_more": max(0, len(flagged) - MAX_NEIGHBOURHOOD_ROWS),
        "zones": zones[:MAX_ZONE_ROWS],
        "zones_more": max(0, len(zones) - MAX_ZONE_ROWS),
        "open_problems": problems,
        "near_repeat_label": near_label,
        "near_repeat_summary": (
            f"{len(zones)} zones in {area_label} of {summary['zones']} in the city; the Knox test on "
            f"{summary['history_incidents']:,} {near_label} incidents from {summary['history_from']} to "
            f"{summary['history_to']} found {summary['elevated_cells']} elevated space-time cells."
        ),
    }
    return BuiltProduct(
        kind="compstat",
        agency_code=code,
        title=f"CompStat: {area_label}, week of {week_start}",
        short_title=f"CompStat {area_label} {week_start}",
        subtitle=f"{week_start} to {week_end}, against the same periods last year",
        template="compstat.html",
        parameters=request.parameters(),
        items=items,
        content=content,
        context=context,
    )


def compstat_pack(core: OpenILP, actor: UserInfo | None, request: CompStatPackRequest) -> ProducedProduct:
    """Build, render and store the district's weekly CompStat pack (a new version each call)."""
    return produce(core, actor, build_compstat_pack(core, actor, request))


def _rebuild(core: OpenILP, actor: UserInfo | None, parameters: Mapping[str, Any]) -> BuiltProduct:
    request = CompStatPackRequest(
        agency_code=str(parameters["agency_code"]),
        district=str(parameters["district"]),
        week=dt.date.fromisoformat(str(parameters["week"])),
        near_repeat_categories=tuple(parameters.get("near_repeat_categories") or ("burglary",)),
    )
    return build_compstat_pack(core, actor, request)


register_builder("compstat", _rebuild)
