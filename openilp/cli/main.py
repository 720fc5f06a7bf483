"""Assembles the Typer application from the command modules.

Each command module builds its own :class:`typer.Typer` and imports only light things at module
level (typer, rich, the standard library, :mod:`openilp.constants`); the heavy libraries and the
services are imported inside the commands. So ``openilp --help`` and ``--version`` start fast.
"""

from __future__ import annotations

import typer

from openilp import __version__
from openilp.cli import (
    agencies,
    analysis,
    assess,
    audit,
    db,
    deconflict,
    demo,
    entities,
    export,
    federation,
    forecast,
    imports,
    intel,
    networks,
    problems,
    products,
    series,
    serve,
    synth,
    transparency,
    users,
)

app = typer.Typer(
    name="openilp",
    help="OpenILP: intelligence-led policing platform (import, analyse, serve).",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openilp {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """OpenILP command line. Settings come from OPENILP_* environment variables (see docs)."""


# Top-level commands, in the order `openilp --help` lists them: a Typer added without a name
# contributes its commands directly (Typer merges them), groups follow under their names.
for _commands in (demo.app, imports.app, serve.app, analysis.app, forecast.app, transparency.app):
    app.add_typer(_commands)
for _name, _group in (
    ("assess", assess.app),
    ("audit", audit.app),
    ("db", db.app),
    ("users", users.app),
    ("agencies", agencies.app),
    ("intel", intel.app),
    ("problems", problems.app),
    ("series", series.app),
    ("networks", networks.app),
    ("entities", entities.app),
    ("deconflict", deconflict.app),
    ("synth", synth.app),
    ("export", export.app),
    ("federation", federation.app),
    ("products", products.app),
):
    app.add_typer(_group, name=_name)
