"""``openilp deconflict``: officer-safety deconfliction of planned operations from the command line.

``openilp deconflict submit --user OFFICER --type raid --name "Operation Lantern" --lon -90.2 --lat 38.6
--radius 50 --start 2024-03-01T22:00:00+00:00 --end 2024-03-02T01:00:00+00:00 --contact-name "Sgt Diaz"
--contact-phone "314-555-0100" --target "vehicle:ABC123"`` records the event and prints its conflicts
(the other side's agency and point of contact only); ``list`` shows the agency's events and
``cancel`` cancels (or, with ``--ended``, ends) one and tells partners told of its conflicts;
``notify-partners`` sends the notices partners have not yet acknowledged; ``purge`` erases the
locations of events past the purge time. Thin shells over
:mod:`openilp.services.deconfliction`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import acting_user, console, core, emit_json, fail, service

if TYPE_CHECKING:
    from openilp.services.deconfliction import PartnerNotice

#: The ``openilp deconflict`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Officer-safety deconfliction: planned operations checked against every agency's.")

PERMISSION = "deconfliction:submit"


def _moment(value: str, option: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be an ISO 8601 time, e.g. 2024-03-01T22:00:00+00:00 (got {value!r})")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _polygon(text: str) -> tuple[tuple[float, float], ...]:
    try:
        return tuple((float(lon), float(lat)) for lon, lat in (pair.split() for pair in text.split(",")))
    except ValueError:
        fail(f"--polygon must be 'lon lat, lon lat, lon lat, ...' (got {text!r})")


@app.command("submit")
def submit_command(
    user: str = typer.Option(..., "--user", help="Account that plans the operation (its agency; audited)."),
    event_type: str = typer.Option(..., "--type", help="raid, search_warrant, arrest_attempt, surveillance, ..."),
    name: str = typer.Option(..., "--name", help="Case or operation name (shown to your agency only)."),
    start: str = typer.Option(..., "--start", help="Start, ISO 8601 (UTC if no offset)."),
    end: str = typer.Option(..., "--end", help="End, ISO 8601 (UTC if no offset)."),
    contact_name: str = typer.Option(..., "--contact-name", help="Point of contact (24/7)."),
    contact_phone: str = typer.Option(..., "--contact-phone", help="Point of contact's phone."),
    radius: float = typer.Option(100.0, "--radius", help="Radius of the operation, metres."),
    x: float | None = typer.Option(None, "--x", help="Centre x, metres in the agency CRS (with --y)."),
    y: float | None = typer.Option(None, "--y", help="Centre y, metres in the agency CRS (with --x)."),
    lon: float | None = typer.Option(None, "--lon", help="Centre longitude, WGS84 (with --lat)."),
    lat: float | None = typer.Option(None, "--lat", help="Centre latitude, WGS84 (with --lon)."),
    address: str = typer.Option("", "--address", help="The geocoded address, as text."),
    target: list[str] = typer.Option([], "--target", help="Target kind:value, e.g. vehicle:ABC123 (repeat)."),
    polygon: str = typer.Option(
        "", "--polygon", help="An area instead of a centre: 'lon lat, lon lat, lon lat, ...' (WGS84, 3+ vertices)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Submit a planned operation; print its conflicts (other side's agency and contact only)."""
    from openilp.services.deconfliction import SubmitEventRequest, submit_event

    actor = acting_user(user, PERMISSION)
    request = SubmitEventRequest(
        event_type=event_type,
        operation_name=name,
        starts_at=_moment(start, "--start"),
        ends_at=_moment(end, "--end"),
        contact_name=contact_name,
        contact_phone=contact_phone,
        radius_m=radius,
        x_m=x,
        y_m=y,
        lon=lon,
        lat=lat,
        address=address,
        targets=tuple(target),
        polygon=_polygon(polygon) if polygon else None,
    )
    result = service(lambda: submit_event(core(), actor, request))
    if as_json:
        emit_json(result.as_dict())
        return
    partners = result.partners
    console.print(f"event {result.event_id} recorded; {len(result.conflicts) + len(partners.conflicts)} conflict(s)")
    for notice in result.conflicts:
        console.print(
            f"CONFLICT ({' and '.join(notice.reasons)}): {notice.agency_name} ({notice.agency_code}); "
            f"call {notice.contact_name} on {notice.contact_phone}",
            markup=False,
        )
    for other in partners.conflicts:
        console.print(
            f"CONFLICT ({' and '.join(other.reasons)}) at partner {other.partner}: {other.agency_name} "
            f"({other.agency_code}); call {other.contact_name} on {other.contact_phone}",
            markup=False,
            soft_wrap=True,
        )
    for missing in partners.unanswered:
        console.print(
            f"NOT CHECKED at partner {missing.partner} ({missing.reason}): deconflict with them by phone",
            markup=False,
            soft_wrap=True,
        )


@app.command("list")
def list_command(
    user: str = typer.Option(..., "--user", help="Account whose agency's events to list (audited)."),
    include_closed: bool = typer.Option(False, "--all", help="Include cancelled and ended events."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Your agency's events and their conflicts."""
    from openilp.services.deconfliction import ListEventsRequest, list_events

    actor = acting_user(user, PERMISSION)
    result = service(lambda: list_events(core(), actor, ListEventsRequest(include_closed=include_closed)))
    if as_json:
        emit_json(result.as_dict())
        return
    table = Table("id", "type", "operation", "starts", "ends", "status", "conflicts (agency: contact)")
    for event in result.events:
        table.add_row(
            str(event["id"]),
            escape(event["event_type"]),
            escape(event["operation_name"]),
            event["starts_at"],
            event["ends_at"],
            event["status"],
            escape(
                "; ".join(
                    [f"{c['agency_code']}: {c['contact_name']} {c['contact_phone']}" for c in event["conflicts"]]
                    + [
                        f"P{c['partner_conflict_id']} {c['partner_side']['agency_code']} at partner {c['partner']}: "
                        f"{c['partner_side']['contact_name']} {c['partner_side']['contact_phone']} ({c['status']})"
                        for c in event["partner_conflicts"]
                    ]
                )
            ),
        )
    console.print(table)


@app.command("cancel")
def cancel_command(
    event_id: int = typer.Argument(..., help="The event's id."),
    user: str = typer.Option(..., "--user", help="Account of the event's agency (audited)."),
    ended: bool = typer.Option(False, "--ended", help="Mark the event ended rather than cancelled."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Cancel (or end) one of your agency's active events; it is no longer checked against, and partners
    told of its conflicts are sent a notice."""
    from openilp.services.deconfliction import CloseEventRequest, close_event

    actor = acting_user(user, PERMISSION)
    request = CloseEventRequest(event_id=event_id, outcome="ended" if ended else "cancelled", reason=reason)
    result = service(lambda: close_event(core(), actor, request))
    if as_json:
        emit_json(result.as_dict())
        return
    console.print(f"event {result.event_id} {result.status}")
    _print_notices(result.partners.notices)


def _print_notices(notices: Sequence[PartnerNotice]) -> None:
    for notice in notices:
        if notice.told:
            console.print(f"partner {notice.partner} told ({notice.events} event(s))", markup=False, soft_wrap=True)
        else:
            console.print(
                f"partner {notice.partner} NOT YET TOLD ({notice.error}); "
                "retried at the next notice or by 'openilp deconflict notify-partners'",
                markup=False,
                soft_wrap=True,
            )


@app.command("notify-partners")
def notify_partners_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Send the pending notices that events were cancelled or ended to the partners not yet told (audited)."""
    from openilp.services.deconfliction import notify_partners

    result = service(lambda: notify_partners(core()))
    if as_json:
        emit_json(result.as_dict())
        return
    if not result.notices:
        console.print("no partner is waiting for a notice")
    _print_notices(result.notices)
    if result.pending:
        raise typer.Exit(1)


@app.command("purge")
def purge_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Erase the locations of events that ended more than deconfliction_purge_after_h hours ago (audited)."""
    from openilp.services.deconfliction.purge import purge_event_locations

    result = service(lambda: purge_event_locations(core()))
    if as_json:
        emit_json(result.as_dict())
        return
    console.print(f"{result.events} event location(s) purged")


WATCH = "deconfliction:watch"


@app.command("queue")
def queue_command(
    user: str = typer.Option(..., "--user", help="Watch officer (audited)."),
    include_resolved: bool = typer.Option(False, "--all", help="Include resolved conflicts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The watch centre's queue: open and acknowledged conflicts, oldest alarm first; then the conflicts
    with partner instances' events (ids P1, P2, ...: act on them with --partner)."""
    from openilp.services.deconfliction import WatchQueueRequest, watch_queue

    actor = acting_user(user, WATCH)
    result = service(lambda: watch_queue(core(), actor, WatchQueueRequest(include_resolved=include_resolved)))
    if as_json:
        emit_json(result.as_dict())
        return
    table = Table("conflict", "found", "reasons", "status", "submitted (agency, type, contact)", "existing")
    for c in result.conflicts:
        sides = [
            f"{s['agency_code']} {s['event_type']} {s['starts_at']}: {s['contact_name']} {s['contact_phone']}"
            for s in (c["submitted"], c["existing"])
        ]
        status = c["status"] + (f" ({c['resolution']})" if c["resolution"] else "")
        table.add_row(
            str(c["conflict_id"]), c["found_at"], ", ".join(c["reasons"]), status, escape(sides[0]), escape(sides[1])
        )
    if result.conflicts or not result.partner_conflicts:
        console.print(table)
    partners = Table("partner conflict", "found", "reasons", "status", "here (agency, type, contact)", "partner")
    for p in result.partner_conflicts:
        here, there = p["here"], p["partner_side"]
        status = p["status"] + (f" ({p['resolution']})" if p["resolution"] else "")
        if p["event_closed"]:
            status += f"; {'their' if p['event_closed_side'] == 'partner' else 'our'} event {p['event_closed']}"
        if p["notice_status"] == "pending":
            status += "; partner not yet told"
        ref = f" event #{there['event_ref']}" if there["event_ref"] else ""
        partners.add_row(
            f"P{p['partner_conflict_id']}",
            p["found_at"],
            ", ".join(p["reasons"]),
            status,
            escape(
                f"{here['agency_code']} {here['event_type']} {here['starts_at']}: {here['contact_name']} "
                f"{here['contact_phone']}"
            ),
            escape(f"{p['partner']}: {there['agency_code']}{ref}: {there['contact_name']} {there['contact_phone']}"),
        )
    if result.partner_conflicts:
        console.print(partners)


PARTNER_HELP = "The id is a conflict with a partner instance's event (P<id> in the queue)."


def _conflict_id(text: str) -> int:
    """A conflict's id as the queue prints it (``12``, or ``P3`` for a partner conflict)."""
    digits = text[1:] if text[:1] in ("P", "p") else text
    if not digits.isdigit():
        fail(f"a conflict's id is a number, or P and a number for a partner conflict (got {text!r})")
    return int(digits)


def _label(partner: bool) -> str:
    return "partner conflict P" if partner else "conflict "


@app.command("acknowledge")
def acknowledge_command(
    conflict_id: str = typer.Argument(..., help="The conflict's id (P<id>: with a partner's event)."),
    user: str = typer.Option(..., "--user", help="Watch officer (audited)."),
    partner: bool = typer.Option(False, "--partner", help=PARTNER_HELP),
) -> None:
    """Acknowledge an open conflict; both parties are told."""
    from openilp.services.deconfliction import AcknowledgeRequest, acknowledge_conflict, acknowledge_partner_conflict

    actor = acting_user(user, WATCH)
    partner = partner or conflict_id[:1] in ("P", "p")
    act = acknowledge_partner_conflict if partner else acknowledge_conflict
    request = AcknowledgeRequest(_conflict_id(conflict_id))
    result = service(lambda: act(core(), actor, request))
    console.print(f"{_label(partner)}{result.conflict_id} {result.status}")


@app.command("resolve")
def resolve_command(
    conflict_id: str = typer.Argument(..., help="The conflict's id (P<id>: with a partner's event)."),
    user: str = typer.Option(..., "--user", help="Watch officer (audited)."),
    resolution: str = typer.Option(..., "--resolution", help="proceed, joint, delay or cancel."),
    note: str = typer.Option("", "--note", help="Which team moves or stands down, and to when."),
    partner: bool = typer.Option(False, "--partner", help=PARTNER_HELP),
) -> None:
    """Record how a conflict was resolved; both parties are told."""
    from openilp.services.deconfliction import ResolveRequest, resolve_conflict, resolve_partner_conflict

    actor = acting_user(user, WATCH)
    partner = partner or conflict_id[:1] in ("P", "p")
    act = resolve_partner_conflict if partner else resolve_conflict
    request = ResolveRequest(_conflict_id(conflict_id), resolution, note)
    result = service(lambda: act(core(), actor, request))
    console.print(f"{_label(partner)}{result.conflict_id} resolved: {result.resolution}")


@app.command("waive")
def waive_command(
    conflict_id: str = typer.Argument(..., help="The conflict's id (P<id>: with a partner's event)."),
    user: str = typer.Option(..., "--user", help="Supervisor of either party (audited)."),
    reason: str = typer.Option(..., "--reason", help="The exigency: why the team must proceed now."),
    partner: bool = typer.Option(False, "--partner", help=PARTNER_HELP),
) -> None:
    """Exigency waiver: a supervisor lets their team proceed before the watch centre resolves the conflict."""
    from openilp.services.deconfliction import WaiveRequest, waive_conflict, waive_partner_conflict

    actor = acting_user(user, "deconfliction:waive")
    partner = partner or conflict_id[:1] in ("P", "p")
    act = waive_partner_conflict if partner else waive_conflict
    request = WaiveRequest(_conflict_id(conflict_id), reason)
    result = service(lambda: act(core(), actor, request))
    console.print(f"{_label(partner)}{result.conflict_id} resolved: proceed under an exigency waiver")
