"""``openilp db``: schema migrations."""

from __future__ import annotations

import typer
from rich.markup import escape

from openilp.cli.common import console, core

#: The ``openilp db`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the schema to the latest version (safe to repeat)."""
    from openilp.services.entities.backfill import memberships_to_backfill

    deployment = core()  # migrated when built
    console.print(escape(f"database ready: {deployment.settings.resolved_database_url}"))
    missing = memberships_to_backfill(deployment)
    if missing:
        console.print(
            f"{missing} approved designations have no organisation membership yet (approved before "
            "migration 0022): run openilp entities backfill-memberships",
            markup=False,
        )
