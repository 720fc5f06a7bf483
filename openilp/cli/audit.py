"""``openilp audit``: verify the tamper-evident audit log and list its entries.

A thin shell over :mod:`openilp.services.audit_view`; listing and verifying are themselves
recorded in the log (``read`` and ``verify`` of ``audit_log``, via ``cli``).
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, emit_json, engine, fail
from openilp.constants import AUDIT_MAX_PAGE_SIZE as MAX_PAGE_SIZE

#: The ``openilp audit`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Verify and read the tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify(
    expect_head: str | None = typer.Option(
        None,
        "--expect-head",
        help="SEQ:HASH of the last entry as recorded earlier outside the database (catches a cut-off tail).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Recompute the hash chain. Exits 1 and names the first bad entry when it was tampered with."""
    from openilp.db import session_scope
    from openilp.services.audit_view import verify_audit_log

    with session_scope(engine()) as session:
        result = verify_audit_log(session, None, channel="cli")
    problem = None
    if result.ok and expect_head:
        seq_text, _, hash_text = expect_head.partition(":")
        if not seq_text.isdigit() or len(hash_text) != 64:
            fail("--expect-head must be SEQ:HASH, e.g. 1234:9f86d081…(64 hex digits)")
        # Entries written since the head was taken are fine; the recorded head must still be there.
        with session_scope(engine()) as session:
            from sqlalchemy import select

            from openilp.db.models import AuditEntry

            stored = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == int(seq_text)))
        if stored != hash_text:
            problem = f"entry {seq_text} no longer has the expected hash: the end of the log was cut or rewritten"
    if as_json:
        emit_json({**result.as_dict(), **({"ok": False, "message": problem} if problem else {})})
    elif result.ok and not problem:
        console.print(f"audit log OK: {result.entries} entries, head {result.head_seq}:{result.head_hash}")
    else:
        console.print(f"[bold red]audit log TAMPERED[/]: {escape(problem or result.message)}")
    if not result.ok or problem:
        raise typer.Exit(1)


@app.command("list")
def list_(
    actor: str = typer.Option("", "--actor", help="Only entries by this username."),
    action: str = typer.Option("", "--action", help="Only this action (login, login_failed, search, read, …)."),
    object_type: str = typer.Option("", "--object-type", help="Only this kind of object (incident, user, …)."),
    object_id: str = typer.Option("", "--object-id", help="Only this object id."),
    date_from: str = typer.Option("", "--from", help="First day, YYYY-MM-DD (UTC)."),
    date_to: str = typer.Option("", "--to", help="Last day (inclusive), YYYY-MM-DD (UTC)."),
    limit: int = typer.Option(50, "--limit", help=f"At most this many entries (1–{MAX_PAGE_SIZE}), newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List audit entries, newest first (this view is itself audited)."""
    from openilp.db import session_scope
    from openilp.security.audit import entry_as_dict
    from openilp.services.audit_view import parse_audit_filter, view_audit_log

    try:
        filters = parse_audit_filter(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            date_from=date_from,
            date_to=date_to,
        )
        with session_scope(engine()) as session:
            entries, total = view_audit_log(session, None, filters, limit=limit, channel="cli")
            views = [entry_as_dict(entry) for entry in entries]
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"total": total, "entries": views})
        return
    table = Table("seq", "when (UTC)", "user", "action", "object", "purpose", "details")
    for view in views:
        table.add_row(
            str(view["seq"]),
            str(view["occurred_at"]),
            escape(str(view["actor_username"] or "—")),
            escape(str(view["action"])),
            escape(f"{view['object_type']} {view['object_id'] or ''}".strip()),
            escape(str(view["purpose"] or "")),
            escape(json.dumps(view["details"], ensure_ascii=False, sort_keys=True)),
        )
    console.print(table)
    console.print(f"{len(views)} of {total} matching entries")
