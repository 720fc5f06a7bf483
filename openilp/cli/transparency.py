"""``openilp transparency``: the public transparency report (a thin shell over :mod:`openilp.services.transparency`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, emit_json, service

#: The ``openilp transparency`` command (added by :mod:`openilp.cli.main`).
app = typer.Typer()


@app.command("transparency")
def transparency(
    agency: str = typer.Option("", "--agency", help="Agency code (default: the only agency in the store)."),
    year: int = typer.Option(0, "--year", help="Year of the report (default: the current year)."),
    quarter: int = typer.Option(0, "--quarter", help="Quarter 1-4 (default: the whole year)."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write the report as CSV to this file."),
    pdf_path: Path | None = typer.Option(None, "--pdf", help="Write the report as a printable PDF to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The public transparency report: aggregate counts only, every count below 5 shown as <5."""
    from openilp.services.transparency import TransparencyRequest, transparency_report

    openilp = core()
    request = TransparencyRequest(agency, year or openilp.clock().year, quarter)
    report = service(lambda: transparency_report(openilp, None, request))
    if csv_path is not None:
        csv_path.write_text(report.to_csv(), encoding="utf-8")
    if pdf_path is not None:
        from openilp.services.transparency.pdf import report_pdf

        pdf_path.write_bytes(report_pdf(report))
    if as_json:
        emit_json(report.as_dict())
        return
    table = Table(title=escape(f"{report.agency_name} ({report.agency_code}), {report.period}"))
    for column in ("section", "measure", "value"):
        table.add_column(column)
    for section, measure, value in report.rows:
        table.add_row(escape(section), escape(measure), escape(value))
    console.print(table)
    for note in report.notes:
        console.print(escape(note))
