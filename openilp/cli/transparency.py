"""``openilp transparency``: the public transparency report (a thin shell over :mod:`openilp.services.transparency`);
``openilp concentration``: the concentration audit of issued lists (over
:mod:`openilp.services.analysis.concentration`); ``openilp feedback-check``: the live feedback check
of issued lists (over :mod:`openilp.services.analysis.feedback_check`); ``openilp patrol-propensities``:
the patrol log's propensities given to discovered incidents (over :mod:`openilp.services.analysis.propensities`)."""

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


@app.command("concentration")
def concentration(
    date_from: str = typer.Option(..., "--from", help="First shift day of the period (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last shift day of the period (YYYY-MM-DD)."),
    agency: str = typer.Option("", "--agency", help="Agency code (default: the only agency in the store)."),
    measure: str = typer.Option("minutes", "--measure", help="Count patrol 'minutes' or issued 'lists'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """The concentration audit (The Markup 2021) of the deployment lists issued for a period's shifts."""
    from openilp.services.analysis.concentration import ConcentrationAudit, ConcentrationRequest, concentration_audit
    from openilp.services.analysis.incidents import parse_iso_date

    def audit() -> ConcentrationAudit:
        request = ConcentrationRequest(
            agency, parse_iso_date(date_from, "--from"), parse_iso_date(date_to, "--to"), measure
        )
        return concentration_audit(core(), None, request)

    result = service(audit)
    payload = result.as_dict()
    if as_json:
        emit_json(payload)
        return
    console.print(
        escape(
            f"{payload['agency']}: {payload['lists']} issued lists, {payload['places']} places, "
            f"shifts {payload['date_from']} to {payload['date_to']}"
        )
    )
    for key, title in (("residents", "residents by group"), ("income", "households by income")):
        table_data = payload[key]
        if table_data is None:
            continue
        table = Table(title=f"{title}{' (flagged)' if table_data['flagged'] else ''}")
        for column in ("group", "most targeted", "median", "never targeted", "most ÷ median", "never ÷ median"):
            table.add_column(column, justify="left" if column == "group" else "right")
        for row in table_data["rows"]:
            cells = [row["most_targeted_share"], row["median_share"], row["never_targeted_share"]]
            ratios = [row["most_to_median"], row["never_to_median"]]
            table.add_row(
                escape(row["group"]),
                *("–" if v is None else f"{v:.1%}" for v in cells),
                *("–" if v is None else f"{v:.2f}" for v in ratios),
            )
        console.print(table)
        for note in table_data["notes"]:
            console.print(escape(note))
    for why in {payload["why_no_residents"], payload["why_no_income"]} - {""}:
        console.print(escape(why), soft_wrap=True)


@app.command("feedback-check")
def feedback_check(
    date_from: str = typer.Option(..., "--from", help="First shift day of the period (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last shift day of the period (YYYY-MM-DD)."),
    agency: str = typer.Option("", "--agency", help="Agency code (default: the only agency in the store)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a summary."),
) -> None:
    """The live feedback check (Ensign et al. 2018) of the deployment lists issued for a period's shifts:
    does last cycle's patrol share raise this cycle's forecast risk, reported crime aside?"""
    from openilp.services.analysis.feedback_check import FeedbackRequest, LiveFeedbackAudit, live_feedback_audit
    from openilp.services.analysis.incidents import parse_iso_date

    def check() -> LiveFeedbackAudit:
        request = FeedbackRequest(agency, parse_iso_date(date_from, "--from"), parse_iso_date(date_to, "--to"))
        return live_feedback_audit(core(), None, request)

    payload = service(check).as_dict()
    if as_json:
        emit_json(payload)
        return
    table = Table(
        title=escape(f"{payload['agency']}: live feedback check, shifts {payload['date_from']} to {payload['date_to']}")
    )
    for column in ("measure", "value"):
        table.add_column(column)
    for label, key, shown in (
        ("beta (patrol share)", "beta", "{:.4f}"),
        ("standard error", "standard_error", "{:.4f}"),
        ("one-sided p-value", "p_value", "{:.4f}"),
        ("gamma (reported crime)", "gamma", "{:.4f}"),
        ("observations", "observations", "{:,}"),
        ("cycles", "cycles", "{:,}"),
        ("areas", "areas", "{:,}"),
        ("issued lists", "lists", "{:,}"),
        ("alert", "alert", "{}"),
    ):
        value = payload[key]
        table.add_row(label, "–" if value is None else shown.format(value))
    console.print(table)
    console.print(escape(payload["meaning"]), soft_wrap=True)
    for note in payload["notes"]:
        console.print(escape(note), soft_wrap=True)


@app.command("patrol-propensities")
def patrol_propensities(
    date_from: str = typer.Option(..., "--from", help="First local day of the period (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last local day of the period (YYYY-MM-DD)."),
    agency: str = typer.Option("", "--agency", help="Agency code (default: the only agency in the store)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a summary."),
) -> None:
    """Give the period's incidents discovered by police the patrol propensity of the issued lists of
    their day (the patrol log), for inverse-propensity training; recorded values are kept."""
    from openilp.services.analysis.incidents import parse_iso_date
    from openilp.services.analysis.propensities import (
        PropensitiesAttached,
        PropensityRequest,
        attach_patrol_propensities,
    )

    def attach() -> PropensitiesAttached:
        request = PropensityRequest(agency, parse_iso_date(date_from, "--from"), parse_iso_date(date_to, "--to"))
        return attach_patrol_propensities(core(), None, request)

    payload = service(attach).as_dict()
    if as_json:
        emit_json(payload)
        return
    console.print(
        escape(
            f"{payload['agency']}, {payload['date_from']} to {payload['date_to']}: {payload['discovered']:,} "
            f"discovered incidents; {payload['patrolled']:,} found where an issued list sent patrol, "
            f"{payload['outside_patrol']:,} found elsewhere on a day with lists (propensity 0), "
            f"{payload['no_list']:,} on days without a list (left empty), {payload['already']:,} already had one"
        ),
        soft_wrap=True,
    )
