"""``openilp users``: create and list accounts (a thin shell over :mod:`openilp.services.users`)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from openilp.cli.common import console, emit_json, engine, fail
from openilp.cli.main import app
from openilp.db import session_scope
from openilp.security.roles import ROLES
from openilp.services.users import create_user, list_users

users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
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
        console.print(f"created user {user.username} ({user.role}, {user.agency_code})")


@users_app.command("list")
def list_(
    agency: str | None = typer.Option(None, "--agency", help="Only users of this agency code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List accounts (never shows password hashes)."""
    with session_scope(engine()) as session:
        users = list_users(session, agency_code=agency)
    if as_json:
        emit_json([user.as_dict() for user in users])
        return
    table = Table("username", "full name", "role", "agency", "active", "locked until", "last sign-in")
    for user in users:
        table.add_row(
            user.username,
            user.full_name,
            user.role,
            user.agency_code,
            "yes" if user.is_active else "no",
            user.locked_until.isoformat(timespec="minutes") if user.locked_until else "",
            user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "",
        )
    console.print(table)
