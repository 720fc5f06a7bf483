"""Reproduce the St. Louis SARA case of docs/sara.md: scanning, the power check, every assessment method, charts.

Runs on a store holding the bundled St. Louis sample (``openilp demo --no-serve``)::

    OPENILP_DATA_DIR=var/demo .venv/bin/python scripts/sara_case.py            # writes docs/images/sara-*.png
    OPENILP_DATA_DIR=var/demo .venv/bin/python scripts/sara_case.py --json out.json

The response period is hypothetical: no real intervention is known in the chosen area.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.assessment.charts import save_figure, weekly_series_chart
from openilp.analysis.assessment.charts_areas import areas_map
from openilp.analysis.assessment.comparison import points_in_areas
from openilp.analysis.assessment.did import poisson_did
from openilp.analysis.assessment.rates import etest, rate_ratio
from openilp.analysis.assessment.series import AssessmentWindows, weekly_counts, weekly_panel, window_counts
from openilp.analysis.assessment.wdd import wdd
from openilp.analysis.hotspots import gi_star, hotspot_stability
from openilp.config import get_settings
from openilp.core import OpenILP
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.problems.assessment import AssessmentRequest, assess_from_store

ROOT = Path(__file__).resolve().parent.parent
NEIGHBOURHOODS = ROOT / "openilp" / "demo_data" / "stlouis" / "stl_neighborhoods_wgs84.geojson"
IMAGES = ROOT / "docs" / "images"

#: Scanning: half-years before the (hypothetical) response.
SCAN_PERIODS = [
    (dt.date(2018, 1, 1), dt.date(2018, 6, 30)),
    (dt.date(2018, 7, 1), dt.date(2018, 12, 31)),
    (dt.date(2019, 1, 1), dt.date(2019, 6, 30)),
]
#: A 52-week baseline and a 26-week hypothetical response, both whole weeks from a Monday.
WINDOWS = AssessmentWindows(dt.date(2018, 7, 2), dt.date(2019, 7, 1), dt.date(2019, 12, 29))
CATEGORY = "burglary"
GOAL = 0.2
#: Illustrative harm weights for the property crimes a burglary response might also move (not the CHI).
HARM = {"burglary": 5.0, "larceny": 1.0, "motor_vehicle_theft": 3.0, "vandalism": 1.0}


def scan(engine: Any) -> dict[str, Any]:
    """Gi* on neighbourhoods per half-year; persistent hot spots; the one with the most burglaries."""
    events, agency = load_events(engine, EventQuery("SLMPD", (CATEGORY,), SCAN_PERIODS[0][0], SCAN_PERIODS[-1][1]))
    areas = PolygonAreas.from_geojson(NEIGHBOURHOODS, id_property="NHD_NUM", target_crs=agency.crs)
    weights = areas.weights("queen")
    local = events["occurred_from"].dt.tz_localize("UTC").dt.tz_convert(agency.timezone).dt.date
    unit = areas.assign(events["x_m"].to_numpy(), events["y_m"].to_numpy())
    flags, counts = [], []
    for i, (start, end) in enumerate(SCAN_PERIODS):
        inside = ((local >= start) & (local <= end)).to_numpy() & (unit >= 0)
        period_counts = np.bincount(unit[inside], minlength=areas.n_units)
        result = gi_star(period_counts, weights, permutations=9999, seed=20190701 + i)
        flags.append(result.hot_spots(0.05))
        counts.append(period_counts)
    stability = hotspot_stability(flags)
    total = np.sum(counts, axis=0)
    persistent = np.flatnonzero(stability == "persistent")
    ranked = persistent[np.argsort(-total[persistent])]
    names = [p.get("NHD_NAME", "") for p in areas.properties]
    table = [
        {
            "nhd_num": int(areas.ids[i]),
            "name": names[i],
            "counts": [int(c[i]) for c in counts],
            "class": str(stability[i]),
        }
        for i in ranked
    ]
    return {
        "persistent": table,
        "classes": {c: int(np.sum(stability == c)) for c in np.unique(stability)},
        "target": table[0],
        "areas": areas,
        "city_total": [int(c.sum()) for c in counts],
    }


def pooled_design(
    engine: Any, neighbourhoods: PolygonAreas, target: shapely.Geometry, buffer: shapely.Geometry
) -> dict[str, Any]:
    """A pooled control: every neighbourhood at least 400 m clear of the target's buffer.

    The control counts are put on the target's scale with an area weight equal to the ratio of the
    baseline counts (Wheeler & Ratcliffe 2018), which shrinks the control's share of the variance.
    """
    events, agency = load_events(engine, EventQuery("SLMPD", (CATEGORY,), WINDOWS.pre_start, WINDOWS.response_end))
    local = events["occurred_from"].dt.tz_localize("UTC").dt.tz_convert(agency.timezone).dt.tz_localize(None)
    keep = shapely.distance(neighbourhoods.polygons(), shapely.union(target, buffer)) > 400
    control = shapely.union_all(neighbourhoods.polygons()[keep])
    masks = points_in_areas(events["x_m"].to_numpy(), events["y_m"].to_numpy(), {"target": target, "control": control})
    counts = window_counts(local, masks, WINDOWS)
    weekly = weekly_counts(local, masks, WINDOWS)
    weight = counts["control"][0] / counts["target"][0]
    time_weights = (WINDOWS.pre_days / WINDOWS.post_days, 1.0)
    result = wdd(treated=counts["target"], control=counts["control"], time_weights=time_weights,
                 area_weights=(1.0, weight, 1.0, 1.0))  # fmt: skip
    did = poisson_did(weekly_panel(weekly, ["target"], ["control"]))
    quasi = wdd(treated=counts["target"], control=counts["control"], time_weights=time_weights,
                area_weights=(1.0, weight, 1.0, 1.0), dispersion=max(did.dispersion.phi, 1.0))  # fmt: skip
    return {
        "neighbourhoods": int(keep.sum()),
        "counts": counts,
        "area_weight": weight,
        "wdd": result.as_dict(),
        "wdd_quasi": quasi.as_dict(),
        "rate_ratio": rate_ratio(treated=counts["target"], control=counts["control"]).as_dict(),
        "etest_control": etest(counts["control"][1], counts["control"][0], WINDOWS.post_days, WINDOWS.pre_days),
        "did": did.as_dict(),
        "weekly": weekly,
    }


def target_feature(areas: PolygonAreas, nhd_num: int) -> dict[str, Any]:
    data = json.loads(NEIGHBOURHOODS.read_text())
    for feature in data["features"]:
        if feature["properties"]["NHD_NUM"] == nhd_num:
            return feature
    raise KeyError(nhd_num)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    parser.add_argument("--images", type=Path, default=IMAGES, help="folder for the charts (default docs/images)")
    args = parser.parse_args(argv)
    images: Path = args.images
    core = OpenILP(get_settings())
    engine = core.engine
    scanned = scan(engine)
    target = scanned["target"]
    request = AssessmentRequest(
        agency_code="SLMPD",
        windows=WINDOWS,
        target=target_feature(scanned["areas"], target["nhd_num"]),
        categories=(CATEGORY,),
        candidates=json.loads(NEIGHBOURHOODS.read_text(encoding="utf-8")),
        candidate_id_property="NHD_NUM",
        goal_reduction=GOAL,
        harm_weights=HARM,
    )
    result = assess_from_store(core, None, request)
    images.mkdir(parents=True, exist_ok=True)
    control_name = next(
        p.get("NHD_NAME", "")
        for i, p in zip(scanned["areas"].ids, scanned["areas"].properties, strict=True)
        if i == result.areas.control_id
    )
    labels = {
        "target": f"Response area: {target['name']} (T)",
        "control": f"Control area: {control_name} (C)",
    }
    figure = weekly_series_chart(
        result.weekly,
        WINDOWS.response_start,
        WINDOWS.response_end,
        labels=labels,
        title="Burglaries per week, St. Louis (hypothetical response period shaded)",
    )
    save_figure(figure, images / "sara-weekly.png")
    background = list(scanned["areas"].polygons())
    save_figure(
        areas_map(result.areas.geometries(), background, title="Response, buffer (400 m), control and its buffer"),
        images / "sara-areas.png",
    )
    pooled = pooled_design(engine, scanned["areas"], result.areas.target, result.areas.buffer)
    pooled_weekly = pooled.pop("weekly")
    save_figure(
        weekly_series_chart(
            pooled_weekly,
            WINDOWS.response_start,
            WINDOWS.response_end,
            panels=(("target",), ("control",)),
            labels={"target": f"Response area: {target['name']} (T)", "control": "Pooled control: rest of city (C)"},
            title="Burglaries per week: the response area and the pooled rest-of-city control",
        ),
        images / "sara-weekly-pooled.png",
    )
    output = {
        "pooled": pooled,
        "scan": {k: v for k, v in scanned.items() if k != "areas"},
        "control_name": control_name,
        "report": result.report,
    }
    text = json.dumps(output, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
