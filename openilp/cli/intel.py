"""``openilp intel``: scheduler jobs for the 28 CFR Part 23 review-or-purge cycle."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from openilp.cli.common import console, emit_json, engine, fail
from openilp.cli.main import app
from openilp.db import session_scope
from openilp.db.models import IntelRecord
from openilp.services.intel_retention import open_due_reviews, purge_expired

intel_app = typer.Typer(help="Criminal intelligence: review tasks and purges (run daily).", no_args_is_help=True)
app.add_typer(intel_app, name="intel")


def _moment(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--now must be an ISO 8601 date or time, e.g. 2029-03-01T12:00:00+00:00 (got {value!r})")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@intel_app.command("review-due")
def review_due(
    now: str | None = typer.Option(None, "--now", help="Pretend it is this ISO time (UTC if no offset)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Create review tasks for approved records and list those due (90 days before retention ends)."""
    moment = _moment(now)
    with session_scope(engine()) as session:
        tasks = open_due_reviews(session, now=moment)
        rows = [
            {
                "record_id": t.record_id,
                "agency_id": session.get(IntelRecord, t.record_id).agency_id,  # type: ignore[union-attr]
                "due_at": t.due_at.isoformat(),
                "expires_at": t.expires_at.isoformat(),
            }
            for t in tasks
        ]
    if as_json:
        emit_json(rows)
        return
    table = Table("record", "agency id", "due", "retention ends")
    for row in rows:
        table.add_row(str(row["record_id"]), str(row["agency_id"]), str(row["due_at"]), str(row["expires_at"]))
    console.print(table)
    console.print(f"{len(rows)} review(s) due")


@intel_app.command("purge-expired")
def purge(
    now: str | None = typer.Option(None, "--now", help="Pretend it is this ISO time (UTC if no offset)."),
    as_json: bool = typer.Option(False, "--json", help="Print the purged record ids as JSON."),
) -> None:
    """Purge the content of every record whose retention ended without validation (audited)."""
    moment = _moment(now)
    with session_scope(engine()) as session:
        purged = purge_expired(session, now=moment)
    if as_json:
        emit_json({"purged": purged})
    else:
        console.print(f"purged {len(purged)} record(s)" + (f": {', '.join(map(str, purged))}" if purged else ""))
