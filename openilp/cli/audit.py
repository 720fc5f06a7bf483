"""``openilp audit``: verify the tamper-evident audit log, anchor its head, and list its entries.

A thin shell over :mod:`openilp.services.accounts.audit_log`. Listing is itself recorded in the
log (``read`` of ``audit_log``, via ``cli``); verifying and anchoring write nothing, so they never
move the head they check or sign.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, emit_json, service
from openilp.constants import AUDIT_MAX_PAGE_SIZE as MAX_PAGE_SIZE

#: The ``openilp audit`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Verify, anchor and read the tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify(
    expect_head: str | None = typer.Option(
        None,
        "--expect-head",
        help="SEQ:HASH of the last entry as recorded earlier outside the database (catches a cut-off tail).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Recompute the hash chain and check it against every signed anchor; writes nothing.

    Exits 1 and names the first bad entry when the log was tampered with, or the anchor that a
    removed tail no longer matches.
    """
    from openilp.services.accounts.audit_log import VerifyAuditRequest, verify_audit_log

    request = VerifyAuditRequest(channel="cli", expect_head=expect_head or "")
    result = service(lambda: verify_audit_log(core(), None, request))
    if as_json:
        emit_json(result.as_dict())
    elif result.ok:
        chain = result.chain
        console.print(
            f"audit log OK: {chain.entries} entries, head {chain.head_seq}:{chain.head_hash}; "
            f"{result.anchors.anchors} anchor(s) checked"
        )
    else:
        console.print(f"[bold red]audit log TAMPERED[/]: {escape(result.message)}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("anchor")
def anchor(
    if_moved: bool = typer.Option(False, "--if-moved", help="Write nothing when the head was anchored already."),
    as_json: bool = typer.Option(False, "--json", help="Print the anchor as JSON."),
) -> None:
    """Sign the head of the audit log and append it to the anchor file (and syslog when configured).

    Run it from cron (e.g. every 15 minutes) when the web app's schedule is off; keep the anchor
    file on write-once storage. 'openilp audit verify' then catches a removed tail.
    """
    from openilp.services.accounts.audit_log import AnchorRequest, anchor_audit_log

    result = service(lambda: anchor_audit_log(core(), None, AnchorRequest(only_if_moved=if_moved)))
    if as_json:
        emit_json(result.as_dict())
    elif result.anchor is None:
        console.print(escape(f"nothing to anchor (empty log, or head already anchored in {result.anchor_file})"))
    else:
        console.print(escape(f"anchored entry {result.anchor.seq}:{result.anchor.entry_hash} in {result.anchor_file}"))


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
    from openilp.services.accounts.audit_log import AuditLogRequest, view_audit_log

    request = AuditLogRequest(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        channel="cli",
    )
    page = service(lambda: view_audit_log(core(), None, request))
    if as_json:
        emit_json({"total": page.total, "entries": list(page.entries)})
        return
    table = Table("seq", "when (UTC)", "user", "action", "object", "purpose", "details")
    for view in page.entries:
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
    console.print(f"{len(page.entries)} of {page.total} matching entries")
