"""``openilp db``: schema migrations."""

from __future__ import annotations

import typer
from rich.markup import escape

from openilp.cli.common import console, engine, settings
from openilp.cli.main import app

db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the schema to the latest version (safe to repeat)."""
    engine()
    console.print(escape(f"database ready: {settings().resolved_database_url}"))
