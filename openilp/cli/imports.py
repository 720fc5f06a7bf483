"""``openilp import``, ``openilp sources`` and ``openilp import-stix``: bring police exports and received
intelligence into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import acting_user, console, core, emit_json, fail, progress_bar, service

if TYPE_CHECKING:
    from openilp.services.imports.run import ImportReport

#: The import commands; :mod:`openilp.cli.main` adds them at the top level.
app = typer.Typer()

COUNT_COLUMNS = [
    "rows_read",
    "rejected",
    "folded",
    "created",
    "updated",
    "unchanged",
    "removed",
    "netted_out",
    "withdrawn",
]


@app.command("import")
def import_command(
    source: str = typer.Argument(
        ..., help="A built-in source name (see 'openilp sources') or the path of a mapping .toml file."
    ),
    paths: list[Path] = typer.Argument(..., help="Export files (.csv or .csv.gz) or folders holding them."),
    strict: bool = typer.Option(False, "--strict", help="Fail, importing nothing, if any row would be rejected."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    show_problems: int = typer.Option(20, "--show-problems", help="How many rejected rows to list.", min=0),
) -> None:
    """Import police export files idempotently: re-importing the same files changes nothing.

    Each file is imported in one transaction. The summary reconciles every row read:
    read = rejected + folded + created + updated + unchanged + removed + netted out.
    """
    from openilp.services.imports.run import ImportRequest, import_source

    request = service(lambda: ImportRequest(source=source, paths=tuple(paths), strict=strict).validate())
    label = f"importing {request.spec().name}"
    with progress_bar(label, disable=as_json) as report_progress:
        report = service(lambda: import_source(core(), None, request, progress=report_progress))
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report, show_problems)
    if strict and report.total("rejected"):
        raise typer.Exit(1)


def _print_report(report: ImportReport, show_problems: int) -> None:
    table = Table(title=escape(f"Import of {report.source} ({report.agency})"), show_footer=True)
    table.add_column("file", footer="total")
    table.add_column("status")
    for name in COUNT_COLUMNS:
        table.add_column(name.replace("_", " "), justify="right", footer=f"{report.total(name):,}")
    for file in report.files:
        table.add_row(escape(Path(file.file_name).name), file.status, *(f"{getattr(file, n):,}" for n in COUNT_COLUMNS))
    console.print(table)
    outside = report.total("outside_extent")
    if outside:
        console.print(f"{outside:,} located row(s) lie outside the agency's extent (kept, location status 'outside').")
    unknown = report.unknown_codes
    if unknown:
        listed = escape(", ".join(f"{code} ({n:,})" for code, n in unknown.most_common(15)))
        console.print(
            f"[yellow]{sum(unknown.values()):,} row(s) have offence codes the mapping does not know[/]: {listed}. "
            "They were imported without a category; add the codes to the source's \\[offence.codes]."
        )
    problems = [p for f in report.files for p in f.problems]
    if problems and show_problems:
        console.print(
            f"[yellow]{report.total('rejected'):,} rejected row(s)[/]; the first {min(show_problems, len(problems))}:"
        )
        for problem in problems[:show_problems]:
            console.print(f"  {problem}", markup=False)


@app.command("sources")
def sources_command(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the built-in source descriptions (export formats OpenILP reads without configuration)."""
    from openilp.ingest.spec import builtin_source_names, load_source_spec

    rows = []
    for name in builtin_source_names():
        spec = load_source_spec(name)
        rows.append(
            {
                "name": name,
                "title": spec.title,
                "agency": spec.agency.code,
                "timezone": spec.agency.timezone,
                "crs": spec.agency.crs,
            }
        )
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Built-in sources")
    for column in ("name", "title", "agency", "timezone", "crs"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(row[c]) for c in ("name", "title", "agency", "timezone", "crs")))
    console.print(table)


@app.command("stats")
def stats_command(
    agency: str = typer.Option(None, "--agency", help="Only this agency (code, e.g. SLMPD)."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Counts by offence category, by year (local time) and location coverage, per agency."""
    from openilp.errors import ServiceError
    from openilp.services.analysis.stats import StatsRequest, store_stats

    try:
        results = store_stats(core(), None, StatsRequest(agency)).agencies
    except ServiceError as exc:
        fail(str(exc))
    if as_json:
        emit_json([r.as_dict() for r in results])
        return
    if not results:
        console.print("The store holds no incidents yet: run 'openilp import SOURCE FILES'.")
        return
    for stats in results:
        console.print(
            f"[bold]{escape(stats.agency)}[/] {escape(stats.name)}: {stats.incidents:,} incidents, "
            f"{stats.located_share:.1%} located"
        )
        years = Table(title="by year", show_header=True)
        years.add_column("year")
        years.add_column("incidents", justify="right")
        for year, count in stats.by_year.items():
            years.add_row(year, f"{count:,}")
        categories = Table(title="by category")
        categories.add_column("category")
        categories.add_column("incidents", justify="right")
        for category, count in stats.by_category.items():
            categories.add_row(escape(category), f"{count:,}")
        locations = Table(title="location")
        locations.add_column("status")
        locations.add_column("incidents", justify="right")
        for status, count in stats.locations.items():
            locations.add_row(status, f"{count:,}")
        console.print(years, categories, locations)


@app.command("load-parquet")
def load_parquet_command(
    paths: list[Path] = typer.Argument(..., help="Parquet files, or folders holding them and agencies.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Bulk-load already-normalised incidents from Parquet (e.g. 'openilp synth incidents').

    Into an empty store it is one transaction that builds indexes and checks keys once at the
    end; on PostgreSQL the rows go through COPY. Files loaded before are skipped.
    """
    from openilp.services.imports.parquet import ParquetLoadRequest, load_parquet

    request = service(lambda: ParquetLoadRequest(paths=tuple(paths)).validate())
    with progress_bar("loading", disable=as_json) as report_progress:
        report = service(lambda: load_parquet(core(), None, request, progress=report_progress))
    if as_json:
        emit_json(report.as_dict())
    else:
        console.print(
            f"{report.rows:,} incidents from {report.files} file(s) ({report.skipped} skipped as loaded before) "
            f"in {report.seconds:.1f} s: {report.rows_per_s:,.0f} rows/s"
            + (" (first load: indexes and keys built at the end)" if report.first_load else "")
        )


@app.command("import-stix")
def import_stix_command(
    path: Path = typer.Argument(..., help="A STIX 2.1 bundle (JSON) a partner released to your agency."),
    user: str = typer.Option(..., "--user", help="Account that imports it (audited; may submit intelligence)."),
    require_validator: bool = typer.Option(
        False, "--require-validator", help="Refuse unless the OASIS stix2-validator is installed and passes."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import the intelligence records of a received STIX 2.1 bundle (from `openilp export stix`) as
    received items: their marking, handling code and audience only narrow from here. Idempotent."""
    from openilp.services.exchange.stix_import import IMPORT_PERMISSION, StixImportRequest, import_stix

    actor = acting_user(user, IMPORT_PERMISSION)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    result = service(lambda: import_stix(core(), actor, StixImportRequest(text, require_validator)))
    if as_json:
        emit_json(result.as_dict())
        return
    senders = ", ".join(result.senders)
    console.print(
        escape(
            f"{len(result.imported)} record(s) imported from {senders}"
            + (f", {len(result.unchanged)} already imported" if result.unchanged else "")
            + (" (stix2-validator: no error)" if result.validated else " (stix2-validator not installed)")
            + (f": {', '.join(f'#{i}' for i in result.imported)}" if result.imported else "")
        ),
        soft_wrap=True,
    )
