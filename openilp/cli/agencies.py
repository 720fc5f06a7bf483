"""``openilp agencies``: create and list agencies (a thin shell over :mod:`openilp.services.accounts.agencies`)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, emit_json, service

#: The ``openilp agencies`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Create and list agencies.", no_args_is_help=True)


@app.command("create")
def create(
    code: str = typer.Argument(..., help="Short unique code, e.g. SLMPD (1–32 characters, no spaces)."),
    name: str = typer.Option(..., "--name", help="Display name, e.g. 'St. Louis Metropolitan Police'."),
    timezone: str = typer.Option(..., "--timezone", help="IANA time zone, e.g. America/Chicago."),
    crs: str = typer.Option(..., "--crs", help="Projected CRS in metres for analysis, e.g. EPSG:26915."),
    as_json: bool = typer.Option(False, "--json", help="Print the new agency as JSON."),
) -> None:
    """Create an agency before its first import (a partner, or users who come before the data)."""
    from openilp.services.accounts.agencies import CreateAgencyRequest, create_agency

    agency = service(lambda: create_agency(core(), None, CreateAgencyRequest(code, name, timezone, crs)))
    if as_json:
        emit_json(agency.as_dict())
    else:
        console.print(escape(f"created agency {agency.code} ({agency.name}, {agency.timezone}, {agency.crs})"))


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List agencies with their users and imported files."""
    from openilp.services.accounts.agencies import list_agencies

    agencies = service(lambda: list_agencies(core(), None)).agencies
    if as_json:
        emit_json([agency.as_dict() for agency in agencies])
        return
    table = Table("code", "name", "time zone", "CRS", "users", "import files")
    for agency in agencies:
        table.add_row(
            escape(agency.code),
            escape(agency.name),
            agency.timezone,
            escape(agency.crs),
            str(agency.users),
            str(agency.import_files),
        )
    console.print(table)
