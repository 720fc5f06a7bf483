"""Assembles the Typer application from the command modules."""

from __future__ import annotations

import typer

from openilp import __version__

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


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    from openilp.cli import assess, audit, db, demo, imports, serve, users  # noqa: F401
    from openilp.cli import intel as _intel  # noqa: F401

    # isort: split
    # Analysis commands after the core ones (their order is the order of `openilp --help`).
    from openilp.cli import analysis as _analysis  # noqa: F401
    from openilp.cli import forecast as _forecast  # noqa: F401
    from openilp.cli import problems as _problems  # noqa: F401


_register()
