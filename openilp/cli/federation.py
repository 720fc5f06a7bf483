"""``openilp federation``: this instance's signing key, its partner instances, federated search.

``openilp federation keygen`` writes the instance's Ed25519 key pair (private key mode 0600) and
prints the public key partners register; ``partner add|list|remove`` keeps the partner registry.
Thin shells over :mod:`openilp.services.federation`.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import acting_user, console, core, emit_json, service

#: The ``openilp federation`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Federation between OpenILP instances: key, partners, federated search.", no_args_is_help=True)
partner_app = typer.Typer(help="The partner instances this one calls and answers.", no_args_is_help=True)
app.add_typer(partner_app, name="partner")


@app.command("keygen")
def keygen(
    replace: bool = typer.Option(False, "--replace", help="Replace an existing key (every partner must re-register)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Generate this instance's Ed25519 key pair; print the public key and key id for partners."""
    from openilp.services.federation import generate_instance_key

    key = service(lambda: generate_instance_key(core(), replace=replace))
    if as_json:
        emit_json(key.as_dict())
        return
    console.print(escape(f"private key written to {key.path} (mode 0600)"), soft_wrap=True)
    console.print(escape(f"public key: {key.public_key}"), soft_wrap=True)
    console.print(escape(f"key id:     {key.key_id}"), soft_wrap=True)


@app.command("key")
def show_key(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print this instance's public key and key id (what partners register)."""
    from openilp.services.federation import read_instance_key

    key = service(lambda: read_instance_key(core()))
    if as_json:
        emit_json(key.as_dict())
        return
    console.print(escape(f"public key: {key.public_key}"), soft_wrap=True)
    console.print(escape(f"key id:     {key.key_id}"), soft_wrap=True)


@partner_app.command("add")
def partner_add(
    name: str = typer.Argument(..., help="Short name of the partner instance, e.g. county."),
    url: str = typer.Option(..., "--url", help="Its base URL, e.g. https://openilp.county.example."),
    public_key: str = typer.Option(..., "--public-key", help="Its public key ('openilp federation key' there)."),
    agency: list[str] = typer.Option([], "--agency", help="An agency code it holds (repeat)."),
    group: list[str] = typer.Option([], "--group", help="A sharing group it belongs to (repeat)."),
    agreement: str = typer.Option(..., "--agreement", help="The signed sharing agreement on file (reference)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register a partner instance (or update one); audited."""
    from openilp.services.federation import PartnerRequest, add_partner

    request = PartnerRequest(name, url, public_key, tuple(agency), tuple(group), agreement)
    partner = service(lambda: add_partner(core(), None, request))
    if as_json:
        emit_json(partner.as_dict())
    else:
        console.print(escape(f"partner {partner.name} at {partner.base_url} (key id {partner.key_id})"), soft_wrap=True)


@partner_app.command("list")
def partner_list(
    all_: bool = typer.Option(False, "--all", help="Include removed partners."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the registered partner instances."""
    from openilp.services.federation import list_partners

    partners = service(lambda: list_partners(core(), None, include_removed=all_))
    if as_json:
        emit_json([p.as_dict() for p in partners])
        return
    table = Table("name", "base URL", "key id", "agencies", "groups", "agreement", "active")
    for p in partners:
        table.add_row(
            escape(p.name),
            escape(p.base_url),
            p.key_id,
            escape(", ".join(p.agency_codes)),
            escape(", ".join(p.sharing_groups)),
            escape(p.agreement_reference),
            "yes" if p.active else "removed",
        )
    console.print(table)


@partner_app.command("remove")
def partner_remove(name: str = typer.Argument(..., help="The partner's short name.")) -> None:
    """Stop every call to and from a partner (kept in the log); audited."""
    from openilp.services.federation import remove_partner

    partner = service(lambda: remove_partner(core(), None, name))
    console.print(escape(f"removed partner {partner.name}"))


@app.command("search")
def search(
    query: str = typer.Argument(..., help="Name, plate, phone number or address to look for."),
    user: str = typer.Option(..., "--user", help="Account that searches (intel:search; audited in its name)."),
    purpose: str = typer.Option(..., "--purpose", help="Why: a case number or the task (sent and recorded)."),
    kind: str = typer.Option("person", "--kind", help="person, vehicle, phone or address."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ask every partner instance at once; print summaries, pointers and who did not answer."""
    from openilp.services.federation import FederatedSearchRequest, federated_search

    actor = acting_user(user, "intel:search")
    result = service(lambda: federated_search(core(), actor, FederatedSearchRequest(kind, query, purpose)))
    if as_json:
        emit_json(result.as_dict())
        return
    console.print(escape(f"{len(result.hits)} answer(s) from {result.partners_asked} partner(s)"))
    for hit in result.hits:
        if hit.summary is not None:
            console.print(escape(f"[{hit.partner}] {hit.summary.get('title', '')}: {hit.message}"), soft_wrap=True)
        else:
            console.print(escape(f"[{hit.partner}] {hit.message}"), soft_wrap=True)
    for missing in result.unanswered:
        console.print(escape(f"partial answer: {missing.partner} did not answer ({missing.reason})"), soft_wrap=True)


@app.command("deliver")
def deliver(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Send pending correction and purge notices to partner instances now (the web app does it on a schedule)."""
    from openilp.services.federation import deliver_pending

    report = service(lambda: deliver_pending(core()))
    if as_json:
        emit_json({"delivered": report.delivered, "retrying": report.retrying, "failed": report.failed})
        return
    console.print(f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed")
