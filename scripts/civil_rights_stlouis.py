"""Recompute the St. Louis 2019 numbers of docs/civil-rights.md: proxy leakage per forecaster, parity per
weekly plan and The Markup's concentration table over the year's plans.

Imports the St. Louis monthly files of 2018 and 2019 from the shared data folder into a temporary
store, then plans a Monday shift for every week of 2019 with the deployment defaults (960
officer-minutes, 150 m cells, burglary) and prints Markdown tables::

    .venv/bin/python scripts/civil_rights_stlouis.py --data ../shared/data/stlouis [--weeks 52] [--json out.json]

With ``--issue`` a supervisor's recorded justification of the model and an override of each plan
held for parity issue every list (as an agency that accepted the gates' findings on the record
would), and the concentration audit and the live feedback check then run over the issued lists, as
``openilp concentration`` and ``openilp feedback-check`` do, from the patrol log.

Residents by neighbourhood are the 2017 estimates of the shared files (white, Black, other =
total - white - Black); they are read only to audit plans already made.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from openilp.analysis.areas import PolygonAreas
from openilp.analysis.forecast import FORECASTERS
from openilp.config import Settings
from openilp.core import OpenILP
from openilp.db import make_engine, migrate
from openilp.fairness import concentration_table, majority_areas, proxy_auc
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.concentration import ConcentrationRequest, concentration_audit
from openilp.services.analysis.feedback_check import (
    FeedbackCycle,
    FeedbackRequest,
    feedback_of_cycles,
    live_feedback_audit,
)
from openilp.services.analysis.forecasting import ForecastRequest, run_forecast
from openilp.services.analysis.gates import JustifyRequest, justify_model
from openilp.services.analysis.tasking import (
    DeployRequest,
    DisparitySource,
    OverrideRequest,
    make_deployment,
    override_deployment,
)
from openilp.services.imports.run import ImportRequest, import_source
from openilp.tasking import read_demographics

#: Mondays on which the proxy leakage of every forecaster is measured (one a quarter).
PROXY_DAYS = (dt.date(2019, 2, 4), dt.date(2019, 5, 6), dt.date(2019, 8, 5), dt.date(2019, 11, 4))


def _store(data: Path, folder: Path) -> OpenILP:
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    core = OpenILP(Settings(data_dir=str(folder), secret_key="s" * 40, audit_key="a" * 40), engine)
    months = [data / "monthly" / "2018", data / "monthly" / "2019"]
    import_source(core, None, ImportRequest(source=load_source_spec("stlouis"), paths=tuple(months)))
    return core


def _disparity(data: Path) -> DisparitySource:
    return DisparitySource(
        demographics_path=data / "stl_race_by_neighborhood_1940_2017.csv",
        group_columns=("white17", "black17"),
        population_path=data / "stl_population_by_neighborhood_1940_2017.csv",
        population_column="pop17",
        neighbourhoods_path=data / "stl_neighborhoods_wgs84.geojson",
    )


def proxy_by_forecaster(core: OpenILP, source: DisparitySource) -> list[dict[str, Any]]:
    """The leakage (AUC for Black-majority neighbourhoods) of each forecaster's scores, per quarter."""
    assert source.neighbourhoods_path is not None
    residents = read_demographics(
        source.demographics_path,
        id_column=source.id_column,
        group_columns=source.group_columns,
        population_path=source.population_path,
        population_column=source.population_column,
    )
    majorities = {group: majority_areas(residents, str(group)) for group in residents.columns}
    rows = []
    for method in FORECASTERS:
        aucs = []
        gate = []
        started = time.perf_counter()
        for day in PROXY_DAYS:
            result = run_forecast(core, None, ForecastRequest("SLMPD", ("burglary",), day, method, 150.0))
            grid = result.forecaster.grid_
            areas = PolygonAreas.from_geojson(source.neighbourhoods_path, id_property="NHD_NUM", target_crs=grid.crs)
            cx, cy = grid.centres_m()
            area = areas.assign(cx, cy)
            scores: dict[Any, list[float]] = {}
            for a, s in zip(area, np.asarray(result.scores, dtype=float), strict=True):
                if a >= 0:
                    scores.setdefault(areas.ids[int(a)].item(), []).append(float(s))
            means = {k: float(np.mean(v)) for k, v in scores.items()}
            aucs.append(proxy_auc(means, majorities["black17"], group="black17"))
            # What the gate reads: the group whose majority the scores tell best.
            audits = [proxy_auc(means, m, group=str(g)) for g, m in majorities.items()]
            gate.append(max((a for a in audits if np.isfinite(a.leakage)), key=lambda a: a.leakage))
        rows.append(
            {
                "method": method,
                "auc": [round(a.auc, 3) for a in aucs],
                "leakage": [round(a.leakage, 3) for a in aucs],
                "mean_leakage": round(float(np.mean([a.leakage for a in aucs])), 3),
                "gate_leakage": [round(a.leakage, 3) for a in gate],
                "gate_group": [a.group for a in gate],
                "mean_gate_leakage": round(float(np.mean([a.leakage for a in gate])), 3),
                "areas": aucs[0].n_areas,
                "black_majority_areas": aucs[0].n_majority,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(f"proxy {method}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


#: The written reasons recorded when ``--issue`` releases the gates (kept in the audit log).
JUSTIFICATION = (
    "Reported burglary in St. Louis follows the residential pattern; the model is kept to compare its plans "
    "with that need on the record."
)
OVERRIDE = "Issued to audit where these plans send patrols; parity findings recorded for the governance board."


def _issue(core: OpenILP, issued: Any, method: str) -> Any:
    """Release a held plan: the model's justification (once), then a parity override."""
    if any(h["gate"] == "proxy" for h in issued.held_because):
        justify_model(core, None, JustifyRequest("SLMPD", method, JUSTIFICATION))
        issued = make_deployment(core, None, issued.request)
    if issued.status == "held":
        cells = tuple(p["cell_id"] for p in issued.deployment.places)
        issued = override_deployment(core, None, OverrideRequest(issued.request, issued.reference, cells, OVERRIDE))
    return issued


def weekly_plans(
    core: OpenILP, source: DisparitySource, weeks: int, method: str, issue: bool = False
) -> tuple[list[dict[str, Any]], dict[Any, float], dict[str, Any]]:
    """Every Monday's plan of 2019: parity by group, gates, patrol minutes by neighbourhood, and the live
    feedback check over the weeks (:mod:`openilp.services.analysis.feedback_check`). With ``issue`` every
    list is issued and the check is the service's over the patrol log (``openilp feedback-check``);
    without, lists held by a gate are not in the log, so the check runs on the plans as made."""
    assert source.neighbourhoods_path is not None
    first = dt.date(2019, 1, 7)
    rows = []
    minutes: dict[Any, float] = {}
    areas = PolygonAreas.from_geojson(source.neighbourhoods_path, id_property="NHD_NUM", target_crs="EPSG:4326")
    cycles = []
    for week in range(weeks):
        day = first + dt.timedelta(days=7 * week)
        request = DeployRequest("SLMPD", ("burglary",), day, 960.0, method, near_repeat=False)
        issued = make_deployment(core, None, request, disparity=None if issue else source)
        held_because = [h["gate"] for h in issued.held_because]
        status = issued.status
        if issue and issued.status == "held":
            issued = _issue(core, issued, method)
        plan = issued.deployment
        report = plan.disparity
        assert report is not None
        ratios = {g.group: round(g.exposure_to_population, 2) for g in report.groups}
        need = {g.group: round(g.exposure_to_crime, 2) for g in report.groups}
        rows.append(
            {
                "day": str(day),
                "places": len(plan.places),
                "parity": ratios,
                "need": need,
                "outside_parity": any(g.population_ratio_flag for g in report.groups),
                "proxy_leakage": None if plan.proxy is None else round(plan.proxy.leakage, 3),
                "status": status,
                "held_because": held_because,
                "issued": issued.status == "issued",
            }
        )
        grid_places = plan.places
        lon = np.array([p["lon"] for p in grid_places])
        lat = np.array([p["lat"] for p in grid_places])
        which = areas.assign(lon, lat)
        for a, place in zip(which, grid_places, strict=True):
            if a >= 0:
                key = areas.ids[int(a)].item()
                minutes[key] = minutes.get(key, 0.0) + float(place["minutes_on_scene"])
        cycles.append(
            FeedbackCycle(
                day,
                method,
                ("burglary",),
                request.cell_size_m,
                tuple((float(p["lon"]), float(p["lat"]), float(p["minutes_on_scene"])) for p in grid_places),
            )
        )
        print(f"week {day}: {rows[-1]}", file=sys.stderr, flush=True)
    live: dict[str, Any] = {}
    if weeks >= 2:
        last = first + dt.timedelta(days=7 * (weeks - 1))
        check = (
            live_feedback_audit(core, None, FeedbackRequest("SLMPD", first, last))
            if issue
            else feedback_of_cycles(core, "SLMPD", cycles)
        )
        live = {**check.check.as_dict(), "meaning": check.meaning, "areas": check.areas, "cycles": len(cycles)}
    return rows, minutes, live


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared stlouis folder")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--method", default=DeployRequest().method, help="forecaster of the weekly plans")
    parser.add_argument("--skip-proxy", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--issue", action="store_true", help="justify, override and issue every plan")
    args = parser.parse_args(argv)
    source = _disparity(args.data)
    with tempfile.TemporaryDirectory(prefix="openilp-civil-") as folder:
        core = _store(args.data, Path(folder))
        if args.issue:  # the configured area data, which the override and the audit read
            (Path(folder) / "disparity").mkdir()
            (Path(folder) / "disparity" / "SLMPD.toml").write_text(
                f'demographics = "{source.demographics_path}"\nid_column = "NHD_NUM"\n'
                'groups = ["white17", "black17"]\n'
                f'population = "{source.population_path}"\npopulation_column = "pop17"\n'
                f'neighbourhoods = "{source.neighbourhoods_path}"\nlabel = "2017 estimates by neighbourhood"\n'
            )
        proxy = [] if args.skip_proxy else proxy_by_forecaster(core, source)
        plans, minutes, live = weekly_plans(core, source, args.weeks, args.method, args.issue)
        audit = None
        if args.issue:
            last = dt.date(2019, 1, 7) + dt.timedelta(days=7 * (args.weeks - 1))
            audit = concentration_audit(core, None, ConcentrationRequest("SLMPD", dt.date(2019, 1, 7), last)).as_dict()
    residents = read_demographics(
        source.demographics_path,
        id_column=source.id_column,
        group_columns=source.group_columns,
        population_path=source.population_path,
        population_column=source.population_column,
    )
    table = concentration_table(minutes, residents)
    out = {
        "proxy": proxy,
        "plans": plans,
        "concentration": table.as_dict(),
        "issued_concentration": audit,
        "live": live,
        "method": args.method,
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print("| forecaster | AUC, Black-majority: 4 Feb | 6 May | 5 Aug | 4 Nov | mean | gate's leakage, mean (group) |")
    print("|---|---|---|---|---|---|---|")
    for row in proxy:
        groups = ", ".join(sorted(set(row["gate_group"])))
        print(
            f"| {row['method']} | "
            + " | ".join(f"{v:.2f}" for v in row["auc"])
            + f" | {np.mean(row['auc']):.2f} | {row['mean_gate_leakage']:.2f} ({groups}) |"
        )
    print()
    print("| week of | white | Black | other | need: white | Black | other | status |")
    print("|---|---|---|---|---|---|---|---|")
    for row in plans:
        p, n = row["parity"], row["need"]
        print(
            f"| {row['day']} | {p['white17']:.2f} | {p['black17']:.2f} | {p['other']:.2f} | "
            f"{n['white17']:.2f} | {n['black17']:.2f} | {n['other']:.2f} | {row['status']} "
            f"{'(' + ', '.join(row['held_because']) + ')' if row['held_because'] else ''} |"
        )
    outside = sum(r["outside_parity"] for r in plans)
    print(f"\n{outside} of {len(plans)} weekly plans outside parity")
    print()
    print("| group | most targeted | median | never targeted | most ÷ median | never ÷ median |")
    print("|---|---|---|---|---|---|")
    for r in table.rows:
        print(
            f"| {r.group} | {r.most_targeted_share:.1%} | {r.median_share:.1%} | {r.never_targeted_share:.1%} | "
            f"{r.most_to_median:.2f} | {r.never_to_median:.2f} |"
        )
    print(f"\nlive feedback check: {live}")
    if audit is not None:
        print(f"\nconcentration audit over the issued lists: {audit['lists']} lists, {audit['places']} places")
        for r in audit["residents"]["rows"]:
            print(
                f"| {r['group']} | {r['most_targeted_share']:.1%} | {r['median_share']:.1%} | "
                f"{r['never_targeted_share']:.1%} | {r['most_to_median']:.2f} | {r['never_to_median']:.2f} |"
            )
        print(audit["why_no_income"])
    print(
        f"\n{len(table.most_targeted)} most targeted, {len(table.median_areas)} median, "
        f"{len(table.never_targeted)} never targeted of {table.n_areas} neighbourhoods"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
