"""``openilp users``: create, list and administer accounts (a thin shell over :mod:`openilp.services.accounts`).

The command line acts for whoever controls the server (``actor=None``): it manages every agency.
"""

from __future__ import annotations

import datetime as dt
import sys

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, emit_json, fail, service
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
    from openilp.services.accounts.users import CreateUserRequest, create_user

    if password_stdin and password is not None:
        fail("use either --password or --password-stdin, not both")
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    elif password is not None:
        secret = password
    else:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    request = CreateUserRequest(username, secret, role, agency, full_name)
    user = service(lambda: create_user(core(), None, request)).user
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
    from openilp.services.accounts.users import ListUsersRequest, list_users

    users = service(lambda: list_users(core(), None, ListUsersRequest(agency_code=agency))).users
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
    from openilp.services.accounts.totp import EnrolmentRequest, admin_enrol

    enrolment = service(lambda: admin_enrol(core(), None, EnrolmentRequest(username=username)))
    if as_json:
        emit_json(enrolment.as_dict())
        return
    console.print(escape(f"TOTP enrolled for {enrolment.username}; add it to an authenticator app:"))
    console.print(f"  secret: {enrolment.secret}")
    console.print(escape(f"  URI:    {enrolment.uri}"), soft_wrap=True)


@app.command("totp-reset")
def totp_reset(username: str = typer.Argument(..., help="The account whose authenticator was lost.")) -> None:
    """Remove USERNAME's authenticator; roles that need TOTP enrol again at their next sign-in."""
    from openilp.services.accounts.totp import TotpResetRequest, reset_totp

    reset = service(lambda: reset_totp(core(), None, TotpResetRequest(username)))
    console.print(escape(f"TOTP reset for {reset.username}"))


@app.command("set-training")
def set_training(
    username: str = typer.Argument(..., help="The reviewer (or supervisor) whose training is recorded."),
    valid_until: str = typer.Option(
        ..., "--valid-until", help="Last day the 28 CFR Part 23 training is valid, YYYY-MM-DD; 'none' clears it."
    ),
) -> None:
    """Record until when USERNAME's intelligence-review training is valid (approvals need it current)."""
    from openilp.services.accounts.users import SetTrainingRequest
    from openilp.services.accounts.users import set_training as record

    if valid_until.strip().lower() == "none":
        day = None
    else:
        try:
            day = dt.date.fromisoformat(valid_until.strip())
        except ValueError:
            fail(f"--valid-until must be a date as YYYY-MM-DD (or 'none'), got {valid_until!r}")
    user = service(lambda: record(core(), None, SetTrainingRequest(username, day))).user
    shown = user.training_valid_until.isoformat() if user.training_valid_until else "not recorded"
    console.print(escape(f"training of {user.username} ({user.role}) valid until: {shown}"))


@app.command("set-role")
def set_role(
    username: str = typer.Argument(..., help="The account to change."),
    role: str = typer.Argument(..., help=f"The new role: {', '.join(ROLES)}."),
) -> None:
    """Give USERNAME another role (ends the account's open sessions)."""
    from openilp.services.accounts.users import UpdateUserRequest, update_user

    user = service(lambda: update_user(core(), None, UpdateUserRequest(username, role=role))).user
    console.print(escape(f"{user.username} is now {user.role}"))


@app.command("deactivate")
def deactivate(username: str = typer.Argument(..., help="The account to close.")) -> None:
    """Deactivate USERNAME: no more sign-ins, and every open session ends at once."""
    from openilp.services.accounts.users import UpdateUserRequest, update_user

    user = service(lambda: update_user(core(), None, UpdateUserRequest(username, is_active=False))).user
    console.print(escape(f"{user.username} deactivated"))


@app.command("activate")
def activate(username: str = typer.Argument(..., help="The account to reopen.")) -> None:
    """Reactivate USERNAME (also clears a lockout)."""
    from openilp.services.accounts.users import UpdateUserRequest, update_user

    user = service(lambda: update_user(core(), None, UpdateUserRequest(username, is_active=True))).user
    console.print(escape(f"{user.username} activated"))


@app.command("revoke-sessions")
def revoke_sessions(
    username: str = typer.Argument(..., help="The account whose sessions end."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
) -> None:
    """End every open web session of USERNAME at once (a lost device, a copied cookie)."""
    from openilp.services.accounts.sessions import RevokeSessionsRequest
    from openilp.services.accounts.sessions import revoke_sessions as revoke

    ended = service(lambda: revoke(core(), None, RevokeSessionsRequest(username, reason))).ended
    console.print(escape(f"{ended} session(s) of {username.strip().lower()} ended"))
