"""``openilp users``: create and list accounts (a thin shell over :mod:`openilp.services.users`)."""

from __future__ import annotations

import datetime as dt
import sys

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, emit_json, engine, fail, settings
from openilp.security.roles import ROLES

#: The ``openilp users`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Sign-in name (3–80 characters, case-insensitive)."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    agency: str = typer.Option(..., "--agency", help="Code of an existing agency, e.g. SLMPD."),
    full_name: str = typer.Option("", "--full-name", help="Name shown in the app."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
    password: str | None = typer.Option(
        None,
        "--password",
        help="The password (visible in shell history and process lists: prefer the prompt or stdin).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the new account as JSON."),
) -> None:
    """Create a user. Without --password or --password-stdin, prompts for it (hidden, twice)."""
    from openilp.db import session_scope
    from openilp.services.users import create_user

    if password_stdin and password is not None:
        fail("use either --password or --password-stdin, not both")
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    elif password is not None:
        secret = password
    else:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope(engine()) as session:
            user = create_user(session, username, secret, role, agency, full_name)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json(user.as_dict())
    else:
        console.print(escape(f"created user {user.username} ({user.role}, {user.agency_code})"))


@app.command("list")
def list_(
    agency: str | None = typer.Option(None, "--agency", help="Only users of this agency code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List accounts (never shows password hashes)."""
    from openilp.db import session_scope
    from openilp.services.users import list_users

    with session_scope(engine()) as session:
        users = list_users(session, agency_code=agency)
    if as_json:
        emit_json([user.as_dict() for user in users])
        return
    table = Table(
        "username", "full name", "role", "agency", "active", "TOTP", "training until", "locked until", "last sign-in"
    )
    for user in users:
        table.add_row(
            escape(user.username),
            escape(user.full_name),
            user.role,
            escape(user.agency_code),
            "yes" if user.is_active else "no",
            "yes" if user.totp_enabled else "no",
            user.training_valid_until.isoformat() if user.training_valid_until else "",
            user.locked_until.isoformat(timespec="minutes") if user.locked_until else "",
            user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "",
        )
    console.print(table)


@app.command("totp-enroll")
def totp_enroll(
    username: str = typer.Argument(..., help="The account to give a new authenticator secret."),
    as_json: bool = typer.Option(False, "--json", help="Print the secret and URI as JSON."),
) -> None:
    """Give USERNAME a new TOTP secret (replacing any earlier one) and print it to hand over in person."""
    from openilp.db import session_scope
    from openilp.security.secretbox import secret_box_for
    from openilp.services.totp import admin_enrol

    try:
        with session_scope(engine()) as session:
            enrolment = admin_enrol(session, username, secret_box_for(settings()))
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"username": enrolment.username, "secret": enrolment.secret, "uri": enrolment.uri})
        return
    console.print(escape(f"TOTP enrolled for {enrolment.username}; add it to an authenticator app:"))
    console.print(f"  secret: {enrolment.secret}")
    console.print(escape(f"  URI:    {enrolment.uri}"), soft_wrap=True)


@app.command("totp-reset")
def totp_reset(username: str = typer.Argument(..., help="The account whose authenticator was lost.")) -> None:
    """Remove USERNAME's authenticator; roles that need TOTP enrol again at their next sign-in."""
    from openilp.db import session_scope
    from openilp.services.totp import reset_totp

    try:
        with session_scope(engine()) as session:
            reset_totp(session, username)
    except ValueError as exc:
        fail(str(exc))
    console.print(escape(f"TOTP reset for {username.strip().lower()}"))


@app.command("set-training")
def set_training(
    username: str = typer.Argument(..., help="The reviewer (or supervisor) whose training is recorded."),
    valid_until: str = typer.Option(
        ..., "--valid-until", help="Last day the 28 CFR Part 23 training is valid, YYYY-MM-DD; 'none' clears it."
    ),
) -> None:
    """Record until when USERNAME's intelligence-review training is valid (approvals need it current)."""
    from openilp.db import session_scope
    from openilp.services.users import set_training_valid_until

    if valid_until.strip().lower() == "none":
        day = None
    else:
        try:
            day = dt.date.fromisoformat(valid_until.strip())
        except ValueError:
            fail(f"--valid-until must be a date as YYYY-MM-DD (or 'none'), got {valid_until!r}")
    try:
        with session_scope(engine()) as session:
            user = set_training_valid_until(session, username, day)
    except ValueError as exc:
        fail(str(exc))
    shown = user.training_valid_until.isoformat() if user.training_valid_until else "not recorded"
    console.print(escape(f"training of {user.username} ({user.role}) valid until: {shown}"))
