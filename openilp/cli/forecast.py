"""``openilp forecast``, ``openilp backtest`` and ``openilp deploy``: forecasts anyone can score.

Thin shells over :mod:`openilp.services.analysis.forecasting` and
:mod:`openilp.services.analysis.tasking`, with the requests the web app builds: the same default
study area (the agency's boundary layer, else cells near past events), the same meaning of
``--category`` (category codes or crime groups, comma-separated), the same bounds, and a
deployment list written to the audit log as on ``/deploy``. Files are read here and passed to the
services as GeoJSON.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, default_agency, emit_json, fail, read_area, service
from openilp.constants import DEFAULT_FORECAST_METHOD, FORECAST_METHODS

#: The forecasting commands; :mod:`openilp.cli.main` adds them at the top level.
app = typer.Typer()

METHODS_HELP = f"{', '.join(FORECAST_METHODS)}."
_STUDY_AREA_HELP = (
    "auto (the agency's boundary layer, else cells within 300 m of past events), near_events, or a GeoJSON file."
)


def _day(value: str | None, option: str) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} expects a date such as 2019-06-03, got {value!r}")


def _categories(category: str) -> tuple[str, ...]:
    from openilp.services.analysis.forecasting import split_categories

    return split_categories(category)


def _study_area(value: Path | None) -> str:
    return "auto" if value is None else read_area(str(value), ("auto", "boundary", "near_events"), "--study-area")


@app.command("forecast")
def forecast_command(
    agency: str = typer.Option(
        "", "--agency", help="Agency code (default: the default_agency setting, else the only one)."
    ),
    category: str = typer.Option(
        "burglary", "--category", help="Category codes or crime groups, comma-separated (burglary, violent…)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Forecast issued at local midnight starting this date (default: after the latest incident).",
    ),
    method: str = typer.Option(DEFAULT_FORECAST_METHOD, "--method", help=f"Forecasting method: {METHODS_HELP}"),
    cell_size: float = typer.Option(150.0, "--cell-size", help="Cell side in metres."),
    horizon: float = typer.Option(7.0, "--horizon", help="Forecast horizon in days."),
    study_area: Path | None = typer.Option(None, "--study-area", help=_STUDY_AREA_HELP),
    out: Path = typer.Option(Path("forecast.geojson"), "--out", help="Where to write the GeoJSON."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Write a forecast as GeoJSON: one EPSG:4326 polygon per study-area cell, with cell_id and score
    (higher = more risk). Only events known before the as-of moment are used."""
    from openilp.services.analysis.forecasting import ForecastRequest, run_forecast

    request = ForecastRequest(
        default_agency(agency),
        _categories(category),
        _day(as_of, "--as-of"),
        method,
        cell_size,
        horizon,
        study_area=_study_area(study_area),
    )
    try:
        result = run_forecast(core(), None, request)
    except ValueError as exc:
        fail(str(exc))
    collection = result.to_geojson()
    out.write_text(json.dumps(collection))
    if as_json:
        emit_json({**result.as_dict(), "out": str(out)})
    else:
        console.print(
            f"{method} forecast of {escape(category)} for {horizon:g} days from {result.request.as_of}: "
            f"{len(collection['features']):,} cells of {cell_size:g} m, "
            f"{result.forecaster.n_events_:,} past events → {out}"
        )


@app.command("backtest")
def backtest_command(
    agency: str = typer.Option(
        "", "--agency", help="Agency code (default: the default_agency setting, else the only one)."
    ),
    category: str = typer.Option("burglary", "--category", help="Category codes or crime groups, comma-separated."),
    date_from: str = typer.Option(..., "--from", help="First forecast date (local midnight)."),
    date_to: str = typer.Option(..., "--to", help="Last day of the evaluation span."),
    methods: str = typer.Option(",".join(FORECAST_METHODS), "--methods", help="Comma-separated methods."),
    cell_size: float = typer.Option(150.0, "--cell-size", help="Cell side in metres."),
    horizon: int = typer.Option(7, "--horizon", help="Days per forecast (and between forecasts)."),
    study_area: Path | None = typer.Option(None, "--study-area", help=_STUDY_AREA_HELP),
    out_json: Path | None = typer.Option(None, "--out-json", help="Write the full results as JSON."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the coverage curves (.png or .svg)."),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", help="Write each scored forecast as GeoJSON (as openilp forecast) with a manifest.json."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Rolling-origin backtest: fit before each period, forecast it, score it (hit rate, PAI, PEI, RRI)."""
    from openilp.analysis.backtest import plot_coverage_curves
    from openilp.services.analysis.forecasting import BacktestRequest, run_backtest

    request = BacktestRequest(
        default_agency(agency),
        _categories(category),
        _day(date_from, "--from"),
        _day(date_to, "--to"),
        tuple(m.strip() for m in methods.split(",") if m.strip()),
        cell_size,
        horizon,
        study_area=_study_area(study_area),
    )
    try:
        report = run_backtest(core(), None, request, forecast_dir=out_dir)
    except ValueError as exc:
        fail(str(exc))
    result = report.backtest
    if out_json:
        result.write_json(out_json)
    if plot:
        plot_coverage_curves({category: result}, plot)
    payload = report.as_dict()
    if as_json:
        emit_json(payload)
        return
    means = {(r["method"], r["metric"]): float("nan" if r["mean"] is None else r["mean"]) for r in payload["summary"]}
    metrics = [f"{m}@{c:g}" for m in ("pai", "pei") for c in result.coverages]
    table = Table(title=f"{category}: {payload['periods']} forecasts of {horizon} days, {result.n_cells:,} cells")
    table.add_column("method")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for method in result.methods:
        table.add_row(method, *(f"{means[(method, m)]:.3g}" for m in metrics))
    console.print(table)


@app.command("justify")
def justify_command(
    method: str = typer.Argument(
        ..., help=f"Forecasting method whose scores leak a demographic majority: {METHODS_HELP}"
    ),
    reason: str = typer.Option(..., "--reason", help="The written justification (kept in the audit log)."),
    agency: str = typer.Option(
        "", "--agency", help="Agency code (default: the default_agency setting, else the only one)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the justification as JSON."),
) -> None:
    """Justify a forecasting model held by the proxy gate (its scores predict an area's demographic
    majority with AUC at least 0.70); plans held only for that may be issued for a year (audited)."""
    from openilp.services.analysis.gates import JustifyRequest, justify_model

    result = service(lambda: justify_model(core(), None, JustifyRequest(default_agency(agency), method, reason)))
    if as_json:
        emit_json(result.as_dict())
        return
    console.print(f"{result.model} justified until {result.valid_until}", markup=False)


@app.command("deploy")
def deploy_command(
    agency: str = typer.Option(
        "", "--agency", help="Agency code (default: the default_agency setting, else the only one)."
    ),
    category: str = typer.Option("burglary", "--category", help="Category codes or crime groups, comma-separated."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date of the shift (the forecast uses events before it; default: after the latest)."
    ),
    officer_minutes: float = typer.Option(..., "--officer-minutes", help="Patrol minutes available in the shift."),
    method: str = typer.Option(DEFAULT_FORECAST_METHOD, "--method", help=f"Forecasting method: {METHODS_HELP}"),
    shift_hours: float = typer.Option(8.0, "--shift-hours", help="Shift length in hours."),
    shift_start: str = typer.Option("", "--shift-start", help="Clock time the shift starts (HH:MM), for the rounds."),
    visit_minutes: int = typer.Option(15, "--visit-minutes", help="Minutes per visit (Koper: 10-15)."),
    travel_minutes: int = typer.Option(10, "--travel-minutes", help="Travel and overhead per visit."),
    near_repeat: bool = typer.Option(
        True,
        "--near-repeat/--no-near-repeat",
        help="Move cells under a near-repeat alert in force on the shift's day ahead (at most 1/4 of the places).",
    ),
    cell_size: float = typer.Option(150.0, "--cell-size", help="Cell side in metres."),
    study_area: Path | None = typer.Option(None, "--study-area", help=_STUDY_AREA_HELP),
    neighbourhoods: Path | None = typer.Option(None, "--neighbourhoods", help="Neighbourhood polygons (GeoJSON)."),
    neighbourhood_id: str = typer.Option("NHD_NUM", "--neighbourhood-id", help="Neighbourhood id property/column."),
    demographics: Path | None = typer.Option(None, "--demographics", help="CSV of residents by group and area."),
    groups: str = typer.Option("", "--groups", help="Comma-separated group columns of the CSV (e.g. white17,black17)."),
    population: Path | None = typer.Option(None, "--population", help="CSV of total residents (adds 'other')."),
    population_column: str | None = typer.Option(None, "--population-column", help="Column of --population."),
    out: Path | None = typer.Option(None, "--out", help="Write the planned cells as GeoJSON."),
    override_reason: str = typer.Option(
        "",
        "--override-reason",
        help="A plan held by the parity gate is issued on this written reason (audited; the agency's configured "
        "demographic data decide the gate).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the plan and the disparity check as JSON."),
) -> None:
    """A shift's hot-spot patrol list (Koper-curve visits in random order) with its disparity check.

    The list is written to the audit log, as on the web app's Deploy page. Without --demographics,
    the agency's configured demographic data (disparity/<AGENCY>.toml in the data folder) are used."""
    from openilp.services.analysis.tasking import DeployRequest, DisparitySource, make_deployment

    request = DeployRequest(
        default_agency(agency),
        _categories(category),
        _day(as_of, "--as-of"),
        officer_minutes,
        method,
        cell_size,
        shift_hours,
        shift_start,
        visit_minutes,
        travel_minutes,
        near_repeat=near_repeat,
        study_area=_study_area(study_area),
    )
    source = None
    if demographics is not None:
        source = DisparitySource(
            demographics_path=demographics,
            group_columns=tuple(g.strip() for g in groups.split(",") if g.strip()),
            id_column=neighbourhood_id,
            population_path=population,
            population_column=population_column,
            neighbourhoods_path=neighbourhoods,
        )
    try:
        issued = make_deployment(core(), None, request, disparity=source)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    if override_reason and issued.status == "held":
        from openilp.services.analysis.tasking import OverrideRequest, override_deployment

        overriding = OverrideRequest(
            issued.request,
            issued.reference,
            tuple(int(p["cell_id"]) for p in issued.deployment.places),
            override_reason,
        )
        issued = service(lambda: override_deployment(core(), None, overriding))
    elif override_reason:
        console.print("[yellow]Note:[/] the plan passes every gate; --override-reason was not needed")
    result, officer_minutes = issued.deployment, issued.request.officer_minutes
    as_of, start = str(issued.request.as_of), issued.request.start_time
    plan, report = result.plan, result.disparity
    if out:
        out.write_text(json.dumps(result.cells))
    if as_json:
        emit_json(issued.as_dict())
        return
    table = Table(
        title=f"Patrol plan {as_of}: {len(plan.places)} places, {plan.minutes_used} of {officer_minutes:g} min"
    )
    for column in ("place", "address", "neighbourhood", "lat, lon", "cell", "rank", "visits", "minutes", "reason"):
        table.add_column(column)
    for p in result.places:
        table.add_row(
            str(p["number"]),
            escape(p.get("block_address") or "–"),
            escape(p["neighbourhood"]),
            f"{p['lat']:.5f}, {p['lon']:.5f}",
            str(p["cell_id"]),
            str(p["rank"]),
            str(p["visits"]),
            str(p["minutes_on_scene"]),
            escape(p["reason"]),
        )
    console.print(table)
    rounds: dict[int, list[str]] = {}
    window: dict[int, str] = {}
    for row in result.schedule_rows(start):
        rounds.setdefault(row["round"], []).append(str(row["place"]))
        window[row["round"]] = row.get("window", f"minute {row['window_start_minute']}-{row['window_end_minute']}")
    for round_, order in rounds.items():
        console.print(escape(f"Round {round_} ({window[round_]}): places {', '.join(order)}"))
    if result.alerts is not None:
        console.print(f"Near-repeat alert zones in force on {as_of}: {result.alert_zone_count}")
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {escape(note)}")
    if report is not None:
        console.print("[bold]Disparity check[/] (exposure share / population share, / reported-crime share):")
        for g in report.groups:
            flag = " [red]FLAG[/]" if g.population_ratio_flag or g.crime_ratio_flag else ""
            console.print(
                f"  {g.group}: exposure {g.exposure_share:.1%}, population {g.population_share:.1%} "
                f"(ratio {g.exposure_to_population:.2f}), crime {g.crime_share:.1%} "
                f"(ratio {g.exposure_to_crime:.2f}){flag}"
            )
    if issued.why_no_disparity:
        console.print(f"No disparity check: {escape(issued.why_no_disparity)}")
    console.print(f"Reference {issued.reference} (in the audit log)")
    if not issued.issued:
        console.print("[bold]Held: not issued.[/bold] A civil-rights gate holds this plan:")
        for held in issued.held_because:
            console.print(f"  {escape(held['why'])}")
