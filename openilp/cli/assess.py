"""``openilp assess``: assess a place-based response (WDD, WDQ, rate ratio, E-test, DiD, power).

A thin shell over :mod:`openilp.analysis.assessment` (counts given on the command line or as JSON)
and :mod:`openilp.services.problems.assessment` (counts taken from the store for areas given as
GeoJSON files: the command reads the files and hands the service their GeoJSON).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, emit_json, fail

#: The ``openilp assess`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(
    help="Assess responses: power before launch, and every assessment method after.", no_args_is_help=True
)


def _pair(value: str | None, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = value.replace(" ", "").split(",")
    try:
        pre, post = (float(p) for p in parts)
    except ValueError:
        fail(f"{name} must be two counts 'pre,post', e.g. 207,110; got {value!r}")
    return pre, post


def _read_geojson(path: Path | None, option: str) -> dict[str, Any] | None:
    """The GeoJSON object in the file ``path`` given with ``option`` (None when not given)."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{option}: cannot read {path}: {exc.strerror or exc}")
    except json.JSONDecodeError as exc:
        fail(f"{option}: {path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    if not isinstance(data, dict):
        fail(f"{option}: {path} must hold a GeoJSON object (Polygon, Feature or FeatureCollection)")
    return data


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _print_report(report: dict[str, Any]) -> None:
    counts = Table(title="Counts (pre → post)")
    counts.add_column("area")
    counts.add_column("pre", justify="right")
    counts.add_column("post", justify="right")
    for name, value in report["counts"].items():
        counts.add_row(escape(name), f"{value['pre']:g}", f"{value['post']:g}")
    console.print(counts)
    results = Table(title=f"Assessment (alpha {report['alpha']})")
    results.add_column("method")
    results.add_column("estimate", justify="right")
    results.add_column("SE", justify="right")
    results.add_column("interval", justify="right")
    results.add_column("p", justify="right")
    for key, label in (("wdd", "WDD (Poisson), crimes"), ("wdd_quasi", "WDD (quasi-Poisson), crimes")):
        r = report.get(key)
        if r:
            low, high = r["confidence_interval"]
            results.add_row(
                label,
                _fmt(r["estimate"], 1),
                _fmt(r["standard_error"], 2),
                f"[{low:.1f}, {high:.1f}]",
                _fmt(r["p_value"], 4),
            )
    if report.get("rate_ratio"):
        r = report["rate_ratio"]
        low, high = r["confidence_interval"]
        results.add_row(
            "Rate ratio (T vs C)",
            _fmt(r["irr"]),
            _fmt(r["se_log_irr"]),
            f"[{low:.3f}, {high:.3f}]",
            _fmt(r["p_value"], 4),
        )
    if report.get("did"):
        r = report["did"]
        low, high = r["confidence_interval"]
        results.add_row(
            f"Poisson FE DiD IRR ({r['variance']})",
            _fmt(r["irr"]),
            _fmt(r["standard_error"]),
            f"[{low:.3f}, {high:.3f}]",
            _fmt(r["p_value"], 4),
        )
    if report.get("harm"):
        r = report["harm"]["combined"]
        low, high = r["confidence_interval"]
        results.add_row(
            "Harm-weighted WDD",
            _fmt(r["estimate"], 1),
            _fmt(r["standard_error"], 1),
            f"[{low:.1f}, {high:.1f}]",
            _fmt(r["p_value"], 4),
        )
    console.print(results)
    if report.get("wdq"):
        r = report["wdq"]
        console.print(
            f"WDQ {_fmt(r['wdq'])}  total net effect {_fmt(r['total_net_effect'], 1)}  ({r['interpretation']})"
        )
    for name, r in report.get("etest", {}).items():
        console.print(f"E-test post vs pre, {name}: p = {r['p_value']:.4f}  (Poisson z {r['poisson_z']:+.2f})")
    if report.get("dispersion"):
        d = report["dispersion"]
        console.print(f"Dispersion of weekly counts: phi = {d['phi']:.2f} (p = {d['p_value']:.3g})")
    p = report["power"]
    console.print(
        f"Power: the smallest detectable WDD is {p['wdd_mde_crimes']:.1f} crimes "
        f"({p['wdd_mde_fraction']:.0%} of the expected treated count)"
    )
    for note in report["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}")


@app.command("counts")
def counts(
    treated: str | None = typer.Option(None, "--treated", help="Response area counts 'pre,post'."),
    control: str | None = typer.Option(None, "--control", help="Control area counts 'pre,post'."),
    buffer: str | None = typer.Option(None, "--buffer", help="Displacement buffer counts 'pre,post'."),
    control_buffer: str | None = typer.Option(None, "--control-buffer", help="Control buffer counts 'pre,post'."),
    pre_days: float = typer.Option(1.0, "--pre-length", help="Length of the baseline window (any unit)."),
    post_days: float = typer.Option(1.0, "--post-length", help="Length of the response window (same unit)."),
    goal: float | None = typer.Option(None, "--goal", help="Goal reduction as a fraction (0.2 = 20%)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided level of tests and intervals."),
    from_json: Path | None = typer.Option(
        None,
        "--from-json",
        help='JSON file {"target": [pre, post], "control": [...], "buffer": [...], "control_buffer": [...]}.',
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Assess from counts: WDD, WDQ and total net effect, rate ratio, E-tests and the power check."""
    from openilp.analysis.assessment.report import assess_counts

    given: dict[str, Any] = {}
    if from_json is not None:
        try:
            given = json.loads(from_json.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            fail(f"cannot read {from_json}: {exc}")
        if not isinstance(given, dict):
            fail(f"{from_json} must hold a JSON object of area -> [pre, post]")
    for name, value in (
        ("target", treated),
        ("control", control),
        ("buffer", buffer),
        ("control_buffer", control_buffer),
    ):
        pair = _pair(value, name)
        if pair is not None:
            given[name] = pair
    try:
        report = assess_counts(given, pre_length=pre_days, post_length=post_days, goal_reduction=goal, alpha=alpha)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json(report)
    else:
        _print_report(report)


@app.command("power")
def power(
    treated_pre: float = typer.Option(..., "--treated-pre", help="Crimes in the response area in the baseline."),
    control_pre: float = typer.Option(..., "--control-pre", help="Crimes in the control area in the baseline."),
    buffer_pre: float = typer.Option(0.0, "--buffer-pre", help="Crimes in the buffer area in the baseline."),
    control_buffer_pre: float = typer.Option(0.0, "--control-buffer-pre", help="Crimes in the control buffer."),
    pre_days: float = typer.Option(1.0, "--pre-length", help="Length of the baseline window (any unit)."),
    post_days: float = typer.Option(1.0, "--post-length", help="Planned length of the response window."),
    goal: float = typer.Option(0.2, "--goal", help="Goal reduction as a fraction (0.2 = 20%)."),
    dispersion: float = typer.Option(1.0, "--dispersion", help="Overdispersion phi of the counts (1 = Poisson)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided level of the planned test."),
    target_power: float = typer.Option(0.8, "--power", help="Wanted power."),
    as_json: bool = typer.Option(False, "--json", help="Print the check as JSON."),
) -> None:
    """Before launch: the minimum detectable effect, and whether the goal can be detected."""
    from openilp.analysis.assessment.power import check_goal

    try:
        check = check_goal(
            goal_reduction=goal,
            treated_pre=treated_pre,
            control_pre=control_pre,
            displacement_pre=buffer_pre,
            displacement_control_pre=control_buffer_pre,
            pre_length=pre_days,
            post_length=post_days,
            dispersion=dispersion,
            alpha=alpha,
            power=target_power,
        )
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json(check.as_dict())
        return
    console.print(
        f"Goal: {goal:.0%} of {check.expected_treated_post:.1f} expected crimes = {check.goal_crimes:.1f} crimes.\n"
        f"Minimum detectable WDD: {check.wdd_mde_crimes:.1f} crimes ({check.wdd_mde_fraction:.0%}); "
        f"rate ratio: a {check.irr_mde_fraction:.0%} reduction. Power at the goal: {check.power_at_goal:.0%}."
    )
    if check.detectable:
        console.print("[green]The planned evaluation can detect the goal.[/]")
    for note in check.warnings:
        console.print(f"[yellow]warning:[/] {escape(note)}")


@app.command("store")
def store(
    agency: str = typer.Option(..., "--agency", help="Agency code, e.g. SLMPD."),
    target: Path = typer.Option(..., "--target", help="GeoJSON polygon of the response area (lon/lat)."),
    pre_start: str = typer.Option(..., "--pre-start", help="First day of the baseline window (YYYY-MM-DD)."),
    response_start: str = typer.Option(..., "--response-start", help="First day of the response."),
    response_end: str = typer.Option(..., "--response-end", help="Last day of the response window."),
    category: list[str] = typer.Option([], "--category", help="Category code or crime group (repeatable)."),
    buffer: Path | None = typer.Option(None, "--buffer", help="GeoJSON of the buffer (default: a ring)."),
    control: Path | None = typer.Option(None, "--control", help="GeoJSON of the control (default: proposed)."),
    control_buffer: Path | None = typer.Option(None, "--control-buffer", help="GeoJSON of the control's buffer."),
    candidates: Path | None = typer.Option(
        None, "--candidates", help="GeoJSON polygons to choose a control from (e.g. neighbourhoods)."
    ),
    candidate_id: str = typer.Option("NHD_NUM", "--candidate-id", help="Identifying property of the candidates."),
    buffer_m: float = typer.Option(400.0, "--buffer-m", help="Width of the proposed buffer rings (metres)."),
    goal: float | None = typer.Option(None, "--goal", help="Goal reduction as a fraction (0.2 = 20%)."),
    harm: list[str] = typer.Option([], "--harm", help="Harm weight per category, CATEGORY=WEIGHT (repeatable)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided level of tests and intervals."),
    chart: Path | None = typer.Option(None, "--chart", help="Write the weekly chart here (.png or .svg)."),
    areas_out: Path | None = typer.Option(None, "--areas-out", help="Write the four areas as GeoJSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Assess from the store: count incidents in the areas and windows, then run every method."""
    from openilp.analysis.assessment.series import AssessmentWindows
    from openilp.errors import ServiceError
    from openilp.services.problems.assessment import AssessmentRequest, assess_from_store, parse_date

    harm_weights: dict[str, float] = {}
    for item in harm:
        name, _, weight = item.partition("=")
        try:
            harm_weights[name.strip()] = float(weight)
        except ValueError:
            fail(f"--harm takes CATEGORY=WEIGHT, e.g. burglary=5; got {item!r}")
    try:
        windows = AssessmentWindows(
            parse_date(pre_start, "--pre-start"),
            parse_date(response_start, "--response-start"),
            parse_date(response_end, "--response-end"),
        )
        request = AssessmentRequest(
            agency_code=agency,
            windows=windows,
            target=_read_geojson(target, "--target") or {},
            categories=tuple(category),
            buffer=_read_geojson(buffer, "--buffer"),
            control=_read_geojson(control, "--control"),
            control_buffer=_read_geojson(control_buffer, "--control-buffer"),
            buffer_m=buffer_m,
            candidates=_read_geojson(candidates, "--candidates"),
            candidate_id_property=candidate_id,
            goal_reduction=goal,
            harm_weights=harm_weights,
            alpha=alpha,
        )
        result = assess_from_store(core(), None, request)
    except (ServiceError, ValueError) as exc:  # ValueError: windows out of order
        fail(str(exc))
    if chart is not None:
        from openilp.analysis.assessment.charts import save_figure, weekly_series_chart

        figure = weekly_series_chart(result.weekly, windows.response_start, windows.response_end)
        save_figure(figure, chart, format="svg" if chart.suffix.lower() == ".svg" else "png")
    if areas_out is not None:
        areas_out.write_text(json.dumps(result.areas_geojson()))
    if as_json:
        emit_json(result.as_dict())
    else:
        if result.report.get("control_id") is not None:
            console.print(escape(f"Control area proposed: candidate {result.report['control_id']}"))
        _print_report(result.report)
