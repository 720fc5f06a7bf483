"""``openilp export``: an agency's data in the formats partners read, written to a file and audited.

``openilp export nibrs --agency SLMPD --from 2019-01-01 --to 2019-12-31 --ori MO0000000 -o slmpd-2019.zip``
writes NIBRS XML (one submission per incident) with the offences that could not be mapped, and
prints the counts by reason. Thin shells over :mod:`openilp.services.exchange`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import acting_user, console, core, emit_json, fail, service

#: The ``openilp export`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Export an agency's data: NIBRS XML, STIX 2.1 bundles, GeoPackage.", no_args_is_help=True)

_AGENCY = typer.Option(..., "--agency", help="Agency code, e.g. SLMPD.")
_FROM = typer.Option(..., "--from", help="First day, YYYY-MM-DD (agency local time).")
_TO = typer.Option(..., "--to", help="Last day, YYYY-MM-DD (agency local time, inclusive).")
_OUTPUT = typer.Option(..., "-o", "--output", help="File to write.")
_USER = typer.Option(None, "--user", help="Account that exports (its agency; audited). Default: the operator.")
_JSON = typer.Option(False, "--json", help="Print the summary as JSON.")


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} must be a date written YYYY-MM-DD, got {value!r}")


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


@app.command("nibrs")
def nibrs_command(
    agency: str = _AGENCY,
    date_from: str = _FROM,
    date_to: str = _TO,
    output: Path = _OUTPUT,
    ori: str = typer.Option(..., "--ori", help="The agency's ORI, NIBRS element 1 (9 characters, e.g. MO0950000)."),
    schema: Path | None = typer.Option(
        None,
        "--schema",
        help="nibrs.xsd or the folder of the FBI's NIBRS IEPD 2019.1: validate every document before writing.",
    ),
    report: Path | None = typer.Option(None, "--report", help="Also write the unmapped offences to this CSV."),
    user: str | None = _USER,
    as_json: bool = _JSON,
) -> None:
    """NIBRS XML (Group A incident reports) of the incidents that occurred in the window, as a ZIP.

    The archive holds one nibrs:Submission per incident (nibrs/*.xml), unmapped.csv (each offence not
    exported, with its reason) and summary.json.
    """
    from openilp.services.exchange import NibrsExportRequest, export_nibrs
    from openilp.services.exchange.common import EXPORT_PERMISSION

    actor = acting_user(user, EXPORT_PERMISSION) if user else None
    request = NibrsExportRequest(
        agency=agency,
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--to"),
        ori=ori,
        schema_path=str(schema) if schema is not None else None,
    )
    result = service(lambda: export_nibrs(core(), actor, request))
    _write(output, result.archive)
    if report is not None:
        import zipfile
        from io import BytesIO

        with zipfile.ZipFile(BytesIO(result.archive)) as archive:
            _write(report, archive.read("unmapped.csv"))
    if as_json:
        emit_json(result.as_dict())
        return
    checked = f", validated against {result.validated_against}: 0 schema errors" if result.validated_against else ""
    console.print(
        f"{result.incidents_exported} of {result.incidents} incidents exported "
        f"({result.offences_exported} offences){checked} -> {escape(str(output))}"
    )
    table = Table("not exported: reason", "incidents", "offence records")
    for reason in sorted(set(result.incidents_not_exported_by_reason) | set(result.offences_unmapped_by_reason)):
        table.add_row(
            reason,
            str(result.incidents_not_exported_by_reason.get(reason, 0)),
            str(result.offences_unmapped_by_reason.get(reason, 0)),
        )
    console.print(table)


@app.command("gpkg")
def gpkg_command(
    agency: str = _AGENCY,
    date_from: str = _FROM,
    date_to: str = _TO,
    output: Path = _OUTPUT,
    layers: str = typer.Option(
        "incidents,hotspots,forecast,deployment", "--layers", help="Comma-separated layers to write."
    ),
    categories: str = typer.Option(
        "burglary", "--categories", help="Categories or crime groups of the hot spots, forecast and deployment."
    ),
    cell_size: float = typer.Option(150.0, "--cell-size", help="Grid cell size, metres."),
    method: str = typer.Option("kde", "--method", help="Forecasting method of the forecast and deployment layers."),
    officer_minutes: float = typer.Option(960.0, "--officer-minutes", help="Patrol minutes of the planned shift."),
    user: str | None = _USER,
    as_json: bool = _JSON,
) -> None:
    """GeoPackage for QGIS/ArcGIS: located incidents of the window, Gi* hot spots over it, and the
    forecast and deployment plan for the day after, in the agency's CRS."""
    from openilp.services.exchange import GeoPackageExportRequest, export_geopackage
    from openilp.services.exchange.common import EXPORT_PERMISSION

    actor = acting_user(user, EXPORT_PERMISSION) if user else None
    request = GeoPackageExportRequest(
        agency=agency,
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--to"),
        layers=tuple(part.strip() for part in layers.split(",") if part.strip()),
        categories=tuple(part.strip() for part in categories.split(",") if part.strip()),
        cell_size_m=cell_size,
        forecast_method=method,
        officer_minutes=officer_minutes,
    )
    result = service(lambda: export_geopackage(core(), actor, request))
    _write(output, result.content)
    if as_json:
        emit_json(result.as_dict())
        return
    console.print(f"GeoPackage in {result.crs} -> {escape(str(output))}")
    table = Table("layer", "features")
    for name, count in result.layers.items():
        table.add_row(name, str(count))
    console.print(table)
    for note in result.notes:
        console.print(note, markup=False)


@app.command("stix")
def stix_command(
    agency: str = _AGENCY,
    date_from: str = _FROM,
    date_to: str = _TO,
    output: Path = _OUTPUT,
    user: str = typer.Option(..., "--user", help="Account that releases the records (audited; intel:disseminate)."),
    to_agency: str = typer.Option(..., "--to-agency", help="Recipient agency code (a current sharing agreement)."),
    recipient: str = typer.Option(..., "--recipient", help="Username of the law-enforcement recipient there."),
    purpose: str = typer.Option(..., "--purpose", help="Purpose of the release (kept in the audit log)."),
    need_to_know: str = typer.Option(..., "--need-to-know", help="The recipient's need to know (23.20(e))."),
    items: str = typer.Option("summary,subjects,labels", "--items", help="What to release: summary, subjects, labels."),
    tlp: str = typer.Option(
        "",
        "--tlp",
        help="Export every record at this TLP 2.0 level (CLEAR, GREEN, AMBER, AMBER+STRICT, RED); it may only "
        "narrow each record's own marking, never widen it. Default: each record's own.",
    ),
    as_json: bool = _JSON,
) -> None:
    """STIX 2.1 bundle of the agency's approved intelligence records submitted in the window, each
    released to the named recipient through the dissemination rules and log (refused records are listed)."""
    from openilp.services.exchange import StixExportRequest, export_stix
    from openilp.services.exchange.common import EXPORT_PERMISSION

    actor = acting_user(user, EXPORT_PERMISSION)
    request = StixExportRequest(
        agency=agency,
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--to"),
        recipient_agency=to_agency,
        recipient_username=recipient,
        purpose=purpose,
        need_to_know=need_to_know,
        items=tuple(part.strip() for part in items.split(",") if part.strip()),
        tlp=tlp,
    )
    result = service(lambda: export_stix(core(), actor, request))
    _write(output, result.bundle.encode("utf-8"))
    if as_json:
        emit_json({key: value for key, value in result.as_dict().items() if key != "bundle"})
        return
    console.print(
        f"{len(result.released)} record(s) released to {escape(result.recipient)}"
        + (f" at {escape(result.tlp)}" if result.tlp else "")
        + f" (dissemination log {', '.join(map(str, result.disseminations))}) -> {escape(str(output))}"
    )
    for record_id, reason in result.refused.items():
        console.print(f"record {record_id} not released: {reason}", markup=False)
