"""``openilp hotspots|knox|near-repeat-alerts|trends``: crime analysis from the store.

Thin shells over :mod:`openilp.services.analysis.hotspots`, :mod:`openilp.services.analysis.nearrepeat`
and :mod:`openilp.services.analysis.trends`: the same functions, with the same requests, that the
web app's analysis pages and ``/api/v1/analysis/...`` endpoints call. The command line acts as the
system (no signed-in user); without ``--agency`` the service takes the only agency in the store.
The services (numpy, pandas, SQLAlchemy) are imported inside the commands, so that ``openilp
--help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, default_agency, emit_json, err_console, fail, progress_bar, read_area
from openilp.constants import AREA_LEVELS, DEFAULT_SPACE_BANDS_M, DEFAULT_TIME_BANDS_DAYS

__all__ = ["app", "hotspots", "knox", "near_repeat_alerts", "trends"]

#: The analysis commands; :mod:`openilp.cli.main` adds them at the top level.
app = typer.Typer()

_SPACE_DEFAULT = ",".join(f"{b:g}" for b in DEFAULT_SPACE_BANDS_M)
_TIME_DEFAULT = ",".join(f"{b:g}" for b in DEFAULT_TIME_BANDS_DAYS)

# Options shared by the commands.
_AGENCY = typer.Option(
    None, "--agency", help="Agency code (default: the default_agency setting, else the only agency in the store)."
)
_CATEGORY = typer.Option([], "--category", help="Category code or crime group (repeatable; none = all).")
_FROM = typer.Option(None, "--from", help="First day, YYYY-MM-DD (agency local time).")
_TO = typer.Option(None, "--to", help="Last day (inclusive), YYYY-MM-DD.")
_OUTPUT = typer.Option(None, "--output", "-o", help="Write the GeoJSON or CSV to this file instead of stdout.")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} must be a date written YYYY-MM-DD, got {value!r}")


def _bands(value: str, option: str) -> tuple[float, ...]:
    from openilp.services.analysis.nearrepeat import parse_bands

    try:
        return parse_bands(value, option)
    except ValueError as exc:
        fail(str(exc))


def _write(content: str, output: Path | None, what: str) -> None:
    if output is None:
        typer.echo(content, nl=not content.endswith("\n"))
        return
    output.write_text(content, encoding="utf-8")
    err_console.print(escape(f"wrote {what} to {output}"))


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        fail(f"--format must be one of {', '.join(allowed)}, got {fmt!r}")


def _run(label: str, quiet: bool, call: Any) -> Any:
    try:
        with progress_bar(label, disable=quiet) as progress:
            return call(progress)
    except ValueError as exc:  # InvalidRequest, including NoEventsError
        fail(str(exc))


# ------------------------------------------------------------------------------------ hotspots


@app.command("hotspots")
def hotspots(
    agency: str | None = _AGENCY,
    category: list[str] = _CATEGORY,
    date_from: str | None = _FROM,
    date_to: str | None = _TO,
    cell_size_m: float = typer.Option(150.0, "--cell-size-m", help="Side of a grid cell, metres."),
    bandwidth_m: float | None = typer.Option(
        None, "--bandwidth-m", help="KDE bandwidth, metres (default: Silverman's rule)."
    ),
    kernel: str = typer.Option("quartic", "--kernel", help="KDE kernel: quartic or gaussian."),
    neighbourhood_m: float | None = typer.Option(
        None,
        "--neighbourhood-m",
        help="Gi* neighbourhood: a distance band in metres (default: chosen from the data).",
    ),
    inference: str = typer.Option(
        "",
        "--inference",
        help="Gi* p-values: exact (the default), permutation or normal (default: from --permutations).",
    ),
    permutations: int | None = typer.Option(
        None,
        "--permutations",
        help="Gi* permutations (0: normal approximation; none: exact p-values, or enough for FDR on this grid).",
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="False discovery rate of the hot/cold flags."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutations."),
    study_area: str = typer.Option(
        "auto", "--study-area", help="auto (the agency's boundary layer, else hull), hull, or a GeoJSON file."
    ),
    fmt: str = typer.Option("table", "--format", help="table, geojson or csv."),
    output: Path | None = _OUTPUT,
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Hot spots: kernel density and Getis-Ord Gi* hot/cold cells on a grid over the study area."""
    from openilp.services.analysis.hotspots import HotspotRequest, run_hotspots

    _check_format(fmt, ("table", "geojson", "csv"))
    request = HotspotRequest(
        agency_code=default_agency(agency),
        categories=tuple(category),
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--to"),
        cell_size_m=cell_size_m,
        bandwidth_m=bandwidth_m,
        kernel=kernel,
        neighbourhood_m=neighbourhood_m,
        inference=inference,
        permutations=permutations,
        alpha=alpha,
        seed=seed,
        study_area=read_area(study_area, ("auto", "boundary", "hull"), "--study-area"),
    )
    result = _run(
        "hot spots",
        as_json or (fmt != "table" and output is None),
        lambda p: run_hotspots(core(), None, request, progress=p),
    )
    if fmt != "table" and (output is not None or not as_json):
        content = json.dumps(result.to_geojson()) if fmt == "geojson" else result.to_csv()
        _write(content, output, "GeoJSON" if fmt == "geojson" else "CSV")
    if as_json:
        emit_json(result.summary())
        return
    if fmt != "table":
        return
    summary = result.summary()
    console.print(
        f"[bold]{summary['events_in_study_area']:,}[/] incidents in {summary['cells']:,} cells of "
        f"{summary['cell_size_m']:g} m ({summary['study_area']}); KDE {summary['kernel']}, bandwidth "
        f"{summary['bandwidth_m']:,.0f} m; Gi* {_inference_text(summary)}, FDR {summary['alpha_fdr']:g}: "
        f"[bold]{summary['hot_cells']}[/] hot and [bold]{summary['cold_cells']}[/] cold cells."
    )
    if summary["diagnosis"]:
        console.print(f"[yellow]{escape(summary['diagnosis'])}[/]")
    frame = result.to_frame().sort_values(["kde_per_km2"], ascending=False).head(10)
    table = Table(title="Densest cells")
    for column in ("unit_id", "count", "kde_per_km2", "gi_z", "gi_q", "gi_class", "lon", "lat"):
        table.add_column(column, justify="right")
    for row in frame.itertuples():
        table.add_row(
            str(row.unit_id),
            str(row.count),
            f"{row.kde_per_km2:.2f}",
            f"{row.gi_z:.2f}",
            f"{row.gi_q:.3f}",
            row.gi_class,
            f"{row.lon:.5f}",
            f"{row.lat:.5f}",
        )
    console.print(table)


def _inference_text(summary: dict[str, Any]) -> str:
    if summary["inference"] == "permutation":
        return f"{summary['permutations']:,} permutations"
    return "exact p-values" if summary["inference"] == "exact" else "normal approximation"


# ---------------------------------------------------------------------------------------- knox


def _print_knox(result: Any) -> None:
    table = Table(
        title=f"Knox ratios ({result.n_events:,} {result.event_name}, {result.request.permutations} permutations)"
    )
    table.add_column("space band")
    for label in result.time_labels:
        table.add_column(label, justify="right")
    for label, cells in result.heat_rows():
        values = []
        for cell in cells:
            ratio = cell["knox_ratio"]
            text_ = "—" if ratio is None else f"{ratio:.2f}"
            values.append(f"[bold]{text_}*[/]" if cell["significant"] else text_)
        table.add_row(label, *values)
    console.print(table)
    console.print("* p < alpha and ratio ≥ min ratio (Ratcliffe's flag)")
    for sentence in result.summary:
        console.print(f"- {escape(sentence)}")


@app.command("knox")
def knox(
    agency: str | None = _AGENCY,
    category: list[str] = typer.Option(["burglary"], "--category", help="Category code or crime group (repeatable)."),
    date_from: str | None = _FROM,
    date_to: str | None = _TO,
    space_bands: str = typer.Option(_SPACE_DEFAULT, "--space-bands", help="Upper edges of the distance bands, m."),
    time_bands: str = typer.Option(_TIME_DEFAULT, "--time-bands", help="Upper edges of the time bands, days."),
    same_location_m: float = typer.Option(0.0, "--same-location-m", help="'Same location' distance, m."),
    permutations: int = typer.Option(999, "--permutations", help="Random permutations of the event times."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutations."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of a cell."),
    min_ratio: float = typer.Option(1.2, "--min-ratio", help="Knox ratio a significant cell needs."),
    as_csv: bool = typer.Option(False, "--csv", help="Print (or --output) the table as CSV."),
    output: Path | None = _OUTPUT,
    as_json: bool = typer.Option(False, "--json", help="Print the table and summary as JSON."),
) -> None:
    """Knox near-repeat test: a space band × time band table with plain-language findings."""
    from openilp.services.analysis.nearrepeat import KnoxRequest, run_knox

    request = KnoxRequest(
        default_agency(agency),
        tuple(category),
        _date(date_from, "--from"),
        _date(date_to, "--to"),
        _bands(space_bands, "space bands"),
        _bands(time_bands, "time bands"),
        same_location_m,
        permutations,
        seed,
        alpha,
        min_ratio,
    )
    result = _run(
        "Knox test", as_json or (as_csv and output is None), lambda p: run_knox(core(), None, request, progress=p)
    )
    if as_json:
        emit_json(result.to_json())
    elif as_csv:
        _write(result.to_csv(), output, "CSV")
    else:
        _print_knox(result)


# -------------------------------------------------------------------------- near-repeat alerts


@app.command("near-repeat-alerts")
def near_repeat_alerts(
    agency: str | None = _AGENCY,
    category: list[str] = typer.Option(["burglary"], "--category", help="Category code or crime group (repeatable)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Day of the alerts (default: the latest incident's day)."),
    history_days: int = typer.Option(365, "--history-days", help="Days of history the Knox test is fitted on."),
    space_bands: str = typer.Option(_SPACE_DEFAULT, "--space-bands", help="Upper edges of the distance bands, m."),
    time_bands: str = typer.Option(_TIME_DEFAULT, "--time-bands", help="Upper edges of the time bands, days."),
    permutations: int = typer.Option(999, "--permutations", help="Knox permutations."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutations."),
    fmt: str = typer.Option("table", "--format", help="table, geojson or csv."),
    output: Path | None = _OUTPUT,
    as_json: bool = typer.Option(False, "--json", help="Print zones, summary and Knox table as JSON."),
) -> None:
    """Near-repeat alerts: zones of elevated risk around recent incidents, from a Knox fit on history."""
    from openilp.services.analysis.nearrepeat import KnoxRequest, NearRepeatAlertRequest, run_near_repeat_alerts

    _check_format(fmt, ("table", "geojson", "csv"))
    code = default_agency(agency)
    knox_request = KnoxRequest(
        code,
        tuple(category),
        space_bands_m=_bands(space_bands, "space bands"),
        time_bands_days=_bands(time_bands, "time bands"),
        permutations=permutations,
        seed=seed,
    )
    request = NearRepeatAlertRequest(code, tuple(category), _date(as_of, "--as-of"), history_days, knox_request)
    result = _run(
        "near-repeat alerts",
        as_json or (fmt != "table" and output is None),
        lambda p: run_near_repeat_alerts(core(), None, request, progress=p),
    )
    if as_json:
        emit_json(result.to_json())
        return
    if fmt == "geojson":
        _write(json.dumps(result.to_geojson()), output, "GeoJSON")
        return
    if fmt == "csv":
        _write(result.to_csv(), output, "CSV")
        return
    s = result.summary()
    console.print(
        f"As of [bold]{s['as_of']}[/]: {s['zones']} alert zones from {s['recent_incidents']} incidents since "
        f"{s['recent_from']}; Knox fitted on {s['history_incidents']:,} incidents {s['history_from']} to "
        f"{s['history_to']} ({s['elevated_cells']} elevated cells)."
    )
    for sentence in result.knox.summary:
        console.print(f"- {escape(sentence)}")
    table = Table(title="Strongest zones")
    for column in ("complaint", "address", "category", "date", "radius m", "multiplier", "expires", "days left"):
        table.add_column(column, justify="left" if column in ("complaint", "address") else "right")
    for zone in result.to_json()["zones"][:15]:
        table.add_row(
            escape(str(zone["complaint_number"] or f"incident {zone['incident_id']}")),
            escape(str(zone["block_address"] or "–")),
            escape(zone["category"]),
            zone["incident_date"],
            f"{zone['radius_m']:g}",
            f"{zone['max_multiplier']:.2f}",
            zone["expires_date"],
            str(zone["days_left"]),
        )
    console.print(table)


# -------------------------------------------------------------------------------------- trends


@app.command("trends")
def trends(
    agency: str | None = _AGENCY,
    category: list[str] = _CATEGORY,
    as_of: str | None = typer.Option(None, "--as-of", help="Last day of the periods (default: latest incident's)."),
    period: list[str] = typer.Option([], "--period", help="week, 28d or ytd (repeatable; default all)."),
    baseline: list[str] = typer.Option(
        [], "--baseline", help="previous, last_year, rolling or seasonal (repeatable; default all)."
    ),
    by: str = typer.Option("neighbourhood", "--by", help=f"Area level: {', '.join(AREA_LEVELS)}."),
    show_all: bool = typer.Option(False, "--all", help="Include rows that are neither alert nor watch."),
    limit: int = typer.Option(30, "--limit", help="Rows shown in the table."),
    fmt: str = typer.Option("table", "--format", help="table or csv."),
    output: Path | None = _OUTPUT,
    as_json: bool = typer.Option(False, "--json", help="Print the rows (with incident ids) as JSON."),
    layout: str = typer.Option(
        "alerts", "--layout", help="alerts (one row per comparison) or compstat (area × category, against last year)."
    ),
) -> None:
    """CompStat trend alerts per area × category × period against baselines (Poisson z, E-test)."""
    from openilp.services.analysis.trends import TrendRequest, run_trends

    _check_format(fmt, ("table", "csv"))
    if layout not in ("alerts", "compstat"):
        raise typer.BadParameter(f"--layout must be alerts or compstat, got {layout!r}")
    request = TrendRequest(
        default_agency(agency),
        tuple(category),
        _date(as_of, "--as-of"),
        by,
        tuple(period) or ("week", "28d", "ytd"),
        tuple(baseline) or ("previous", "last_year", "rolling", "seasonal"),
    )
    result = _run(
        "trend alerts",
        as_json or (fmt == "csv" and output is None),
        lambda p: run_trends(core(), None, request, progress=p),
    )
    if layout == "compstat":
        _print_compstat(result, as_json, limit)
        return
    if as_json:
        emit_json(result.to_json(flagged_only=not show_all))
        return
    if fmt == "csv":
        _write(result.to_csv(flagged_only=not show_all), output, "CSV")
        return
    s = result.summary()
    console.print(f"As of [bold]{s['as_of']}[/]: {s['alerts']} alerts, {s['watches']} watches in {s['rows']:,} rows.")
    rows = result.rows(flagged_only=not show_all).head(limit)
    table = Table()
    for column in ("area", "category", "period", "baseline", "current", "expected", "change %", "z", "q", "severity"):
        table.add_column(column, justify="right")
    for row in rows.itertuples():
        change = "—" if row.change_pct != row.change_pct else f"{row.change_pct:+.0f}"
        table.add_row(
            escape(str(row.area)),
            escape(str(row.category)),
            str(row.period),
            str(row.baseline),
            str(row.current),
            f"{row.expected:.1f}",
            change,
            f"{row.z:+.2f}",
            f"{row.q_value:.3f}",
            str(row.severity),
        )
    console.print(table)


def _print_compstat(result: Any, as_json: bool, limit: int) -> None:
    """The CompStat layout: the JSON of ``/api/v1/analysis/compstat.json``, or a table of its first rows."""
    rows = result.compstat()
    if as_json:
        emit_json({"analysis": result.summary(), "rows": rows})
        return
    table = Table(title=f"CompStat to {result.as_of} (against the same period last year)")
    table.add_column("area")
    table.add_column("category")
    periods = [p for p in ("week", "28d", "ytd") if p in result.request.periods]
    for period in periods:
        table.add_column(f"{period} now/last yr", justify="right")
        table.add_column(f"{period} z", justify="right")
    for row in rows[:limit]:
        cells = [escape(str(row["area_name"])), escape(str(row["category_label"]))]
        for period in periods:
            cell = row["periods"].get(period)
            flag = {"alert": " !!", "watch": " !"}.get(cell["severity"], "") if cell else ""
            cells += [f"{cell['current']}/{cell['last_year']}", f"{cell['z']:+.1f}{flag}"] if cell else ["–", "–"]
        table.add_row(*cells)
    console.print(table)
