"""``openilp intel``: scheduler jobs for the 28 CFR Part 23 review-or-purge cycle, and administration.

``review-due`` and ``purge-expired`` run daily. ``agreements add|list|revoke`` keeps the partner
sharing agreements (23.20(f)(1)), ``groups create|list|members`` the sharing groups and
``grading-scheme show|set`` the agency's grading scheme; they
act as an existing account (``--user``, an administrator or supervisor) and are audited under its
name, through the same services as the web pages (:mod:`openilp.services.intel.agreements`).
A refusal prints its message (naming the field at fault) and exits with status 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import console, core, emit_json, fail
from openilp.constants import AGREEMENT_SCOPES

if TYPE_CHECKING:
    from openilp.security.actors import UserInfo

T = TypeVar("T")

#: The ``openilp intel`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(
    help="Criminal intelligence: review tasks and purges (run daily), sharing agreements and groups, grading scheme.",
    no_args_is_help=True,
)
agreements_app = typer.Typer(help="Partner sharing agreements (28 CFR 23.20(f)(1)): add, list, revoke.")
app.add_typer(agreements_app, name="agreements")
grading_app = typer.Typer(help="The agency's grading scheme (Admiralty or UK 3x5x2): show, set.")
app.add_typer(grading_app, name="grading-scheme")
groups_app = typer.Typer(help="Sharing groups: named audiences of member agencies; create, list, members.")
app.add_typer(groups_app, name="groups")

_USER = typer.Option(..., "--user", help="Account to act as (an administrator or supervisor; audited).")
_JSON = typer.Option(False, "--json", help="Print JSON.")


def _moment(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--now must be an ISO 8601 date or time, e.g. 2029-03-01T12:00:00+00:00 (got {value!r})")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _call(action: Callable[[], T]) -> T:
    """Run a service; print its refusal (naming the field at fault) and exit 1."""
    from openilp.errors import ServiceError

    try:
        return action()
    except ServiceError as exc:
        fail(str(exc))


@app.command("review-due")
def review_due(
    now: str | None = typer.Option(None, "--now", help="Pretend it is this ISO time (UTC if no offset)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Create review tasks for approved records and list those due (90 days before retention ends)."""
    from openilp.services.intel.retention import JobRequest, open_due_reviews

    due = open_due_reviews(core(), None, JobRequest(as_of=_moment(now)))
    rows = due.as_dict()["reviews"]
    if as_json:
        emit_json(rows)
        return
    table = Table("record", "agency id", "due", "retention ends")
    for row in rows:
        table.add_row(str(row["record_id"]), str(row["agency_id"]), str(row["due_at"]), str(row["expires_at"]))
    console.print(table)
    console.print(f"{len(rows)} review(s) due")


@app.command("purge-expired")
def purge(
    now: str | None = typer.Option(None, "--now", help="Pretend it is this ISO time (UTC if no offset)."),
    as_json: bool = typer.Option(False, "--json", help="Print the purged record ids as JSON."),
) -> None:
    """Purge the content of every record whose retention ended without validation (audited)."""
    from openilp.services.intel.retention import JobRequest, purge_expired

    purged = list(purge_expired(core(), None, JobRequest(as_of=_moment(now))).purged)
    if as_json:
        emit_json({"purged": purged})
    else:
        console.print(f"purged {len(purged)} record(s)" + (f": {', '.join(map(str, purged))}" if purged else ""))


def _admin(username: str) -> UserInfo:
    from openilp.services.intel.agreements import settings_actor

    return _call(lambda: settings_actor(core(), username))


@agreements_app.command("list")
def agreements_list(user: str = _USER, as_json: bool = _JSON) -> None:
    """Your agency's agreements with their status (current, not yet valid, expired, revoked)."""
    from openilp.services.intel.agreements import list_agreements

    actor = _admin(user)
    rows = _call(lambda: list_agreements(core(), actor)).as_dict()["agreements"]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "partner", "scope", "reference", "version", "valid from", "valid to", "status")
    for row in rows:
        table.add_row(
            str(row["id"]),
            escape(row["partner_agency"]),
            escape(row["scope"]),
            escape(row["reference"]),
            escape(row["version"]),
            row["valid_from"][:10],
            (row["valid_to"] or "")[:10] or "open-ended",
            row["status"],
        )
    console.print(table)


@agreements_app.command("add")
def agreements_add(
    partner: str = typer.Option(..., "--partner", help="Code of the partner agency."),
    reference: str = typer.Option(..., "--reference", help="The signed MOU or user agreement, e.g. 'MOU 2024/7'."),
    valid_from: str = typer.Option(..., "--valid-from", help="First day it holds (YYYY-MM-DD or ISO time)."),
    valid_to: str | None = typer.Option(None, "--valid-to", help="Last day it holds (inclusive); omit if open-ended."),
    scope: str = typer.Option("releases_and_search", "--scope", help=f"What it covers: {', '.join(AGREEMENT_SCOPES)}."),
    version: str = typer.Option("1", "--version", help="Version of the agreement document."),
    user: str = _USER,
    as_json: bool = _JSON,
) -> None:
    """Put a partner agency's signed sharing agreement on file (audited)."""
    from openilp.services.intel.agreements import AgreementRequest, add_agreement

    actor = _admin(user)
    request = AgreementRequest(partner, reference, valid_from, valid_to or "", scope, version)
    row = _call(lambda: add_agreement(core(), actor, request)).as_dict()
    if as_json:
        emit_json(row)
    else:
        console.print(escape(f"agreement #{row['id']} with {row['partner_agency']} on file ({row['status']})"))


@agreements_app.command("revoke")
def agreements_revoke(
    agreement_id: int = typer.Argument(..., help="Id of the agreement (see `openilp intel agreements list`)."),
    reason: str = typer.Option(..., "--reason", help="Why it is revoked (at least 10 characters)."),
    user: str = _USER,
) -> None:
    """Revoke an agreement at once: no further releases or full search hits (audited)."""
    from openilp.services.intel.agreements import RevocationRequest, revoke_agreement

    actor = _admin(user)
    _call(lambda: revoke_agreement(core(), actor, RevocationRequest(agreement_id, reason)))
    console.print(f"agreement #{agreement_id} revoked")


@grading_app.command("show")
def grading_show(user: str = _USER, as_json: bool = _JSON) -> None:
    """The agency's grading scheme and the schemes it may choose."""
    from openilp.services.intel.agreements import grading_scheme_settings

    actor = _admin(user)
    settings = _call(lambda: grading_scheme_settings(core(), actor))
    if as_json:
        emit_json(settings.as_dict())
        return
    for code, label in settings.schemes.items():
        marker = "*" if code == settings.grading_scheme else " "
        console.print(escape(f"{marker} {code}: {label}"))


@grading_app.command("set")
def grading_set(
    scheme: str = typer.Argument(..., help="admiralty or uk_3x5x2."),
    user: str = _USER,
) -> None:
    """Choose the grading scheme for new submissions (audited); existing records keep theirs."""
    from openilp.services.intel.agreements import GradingSchemeRequest, choose_grading_scheme

    actor = _admin(user)
    chosen = _call(lambda: choose_grading_scheme(core(), actor, GradingSchemeRequest(scheme)))
    console.print(escape(f"grading scheme of {actor.agency_code}: {chosen.grading_scheme}"))


def _members(value: str) -> list[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


def _print_group(row: dict[str, object]) -> None:
    members = row["members"]
    assert isinstance(members, list)
    codes = ", ".join(str(m["code"]) for m in members)
    console.print(escape(f"sharing group #{row['id']} {row['name']!s} ({row['owner_agency']!s}): {codes}"))


@groups_app.command("list")
def groups_list(user: str = _USER, as_json: bool = _JSON) -> None:
    """The sharing groups your agency owns or belongs to, with their member agencies."""
    from openilp.services.intel.groups import list_groups

    actor = _admin(user)
    rows = _call(lambda: list_groups(core(), actor)).as_dict()["groups"]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "name", "owner", "members", "description")
    for row in rows:
        codes = ", ".join(m["code"] for m in row["members"])
        table.add_row(
            str(row["id"]), escape(row["name"]), escape(row["owner_agency"]), escape(codes), escape(row["description"])
        )
    console.print(table)


@groups_app.command("create")
def groups_create(
    name: str = typer.Argument(..., help="Name of the group (unique in your agency)."),
    members: str = typer.Option("", "--members", help="Comma-separated member agency codes (yours is added)."),
    description: str = typer.Option("", "--description", help="Who the group is, on what terms."),
    user: str = _USER,
    as_json: bool = _JSON,
) -> None:
    """Create a sharing group owned by your agency (audited)."""
    from openilp.services.intel.groups import GroupRequest, create_group

    actor = _admin(user)
    row = _call(lambda: create_group(core(), actor, GroupRequest(name, description, _members(members)))).as_dict()
    if as_json:
        emit_json(row)
    else:
        _print_group(row)


@groups_app.command("members")
def groups_members(
    group_id: int = typer.Argument(..., help="Id of the group (see `openilp intel groups list`)."),
    add: str = typer.Option("", "--add", help="Comma-separated agency codes to add."),
    remove: str = typer.Option("", "--remove", help="Comma-separated agency codes to remove."),
    user: str = _USER,
    as_json: bool = _JSON,
) -> None:
    """Add and remove member agencies of a group your agency owns (audited)."""
    from openilp.services.intel.groups import MembersRequest, change_members

    actor = _admin(user)
    request = MembersRequest(group_id, _members(add), _members(remove))
    row = _call(lambda: change_members(core(), actor, request)).as_dict()
    if as_json:
        emit_json(row)
    else:
        _print_group(row)
