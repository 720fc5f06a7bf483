"""``openilp entities``: person records resolved into entities, from the command line.

``import MAPPING.toml FILE.csv`` reads person records through a TOML mapping, ``resolve`` links
them into entities (stable ids), ``review`` lists the uncertain pairs and records decisions,
``show`` prints one entity, ``export --format csv`` writes one row per mention, ``backfill-memberships``
links the members of designations approved before memberships existed. A thin shell over
:mod:`openilp.services.entities`; the command line acts as the store's operator unless ``--as``
names an account.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import acting_user, console, core, emit_json, fail, service

if TYPE_CHECKING:
    from openilp.security.actors import UserInfo

#: The ``openilp entities`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Entities: import person records, resolve them, review uncertain pairs, show, export.")

_AGENCY = typer.Option("", "--agency", help="Agency code (default: the only agency in the store).")
_AS = typer.Option("", "--as", help="Act as this account (its agency and permissions apply).")
_JSON = typer.Option(False, "--json", help="Print JSON.")


def _actor(username: str, permission: str) -> UserInfo | None:
    return acting_user(username, permission) if username else None


@app.command("import")
def import_command(
    mapping: Path = typer.Argument(..., help="MAPPING.toml: which column holds which part of a person."),
    files: list[Path] = typer.Argument(..., help="Person files (CSV) to read; each is one transaction."),
    agency: str = _AGENCY,
    acting: str = _AS,
    show_rejections: int = typer.Option(20, "--show-rejections", help="Rejected rows to print per file."),
    as_json: bool = _JSON,
) -> None:
    """Read person records into mentions; every rejected row is reported with its file, line and field."""
    from functools import partial

    from openilp.services.entities import ImportPersonsRequest, ImportPersonsResult, import_persons

    try:
        mapping_text = mapping.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{mapping}: cannot read the mapping ({exc})")
    actor = _actor(acting, "entities:write")
    results: list[ImportPersonsResult] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            fail(f"{path}: cannot read the file ({exc})")
        request = ImportPersonsRequest(
            mapping_toml=mapping_text, file_name=path.name, data=data, agency=agency, mapping_name=mapping.name
        )
        results.append(service(partial(import_persons, core(), actor, request)))
    if as_json:
        emit_json([r.as_dict() for r in results])
        return
    for result in results:
        console.print(
            f"{result.file_name} ({result.source}, {result.agency}): {result.rows_read} read, "
            f"{result.rows_accepted} accepted, {result.rows_rejected} rejected; {result.mentions_added} added, "
            f"{result.mentions_updated} updated, {result.mentions_unchanged} unchanged"
        )
        for rejection in result.rejections[:show_rejections]:
            console.print(f"  rejected {rejection}", markup=False)
        if len(result.rejections) > show_rejections:
            console.print(f"  … {len(result.rejections) - show_rejections} more rejected rows (--json lists all)")


@app.command("resolve")
def resolve_command(
    agency: str = _AGENCY,
    acting: str = _AS,
    match_threshold: float = typer.Option(0.999, "--match-threshold", help="Link pairs at or above this probability."),
    review_threshold: float = typer.Option(
        0.5, "--review-threshold", help="Send pairs from here to the match threshold to the review queue."
    ),
    seed: int = typer.Option(42, "--seed", help="Seed of the random pairs that estimate u."),
    kinds: list[str] = typer.Option(
        [],
        "--kind",
        help="Resolve only this kind (person, vehicle, phone, handle, address, organisation; repeatable). "
        "Default: every kind; people are skipped with a note when too few to train a model.",
    ),
    as_json: bool = _JSON,
) -> None:
    """Link the agency's mentions into entities (ids stay stable): people by a trained model, vehicles,
    phones, handles, addresses and organisations by their normalised values."""
    from openilp.errors import InvalidRequest
    from openilp.services.entities import (
        ResolveRequest,
        ResolveThingsRequest,
        resolve_entities,
        resolve_things,
    )
    from openilp.services.entities.resolve import MIN_MENTIONS

    actor = _actor(acting, "entities:write")
    chosen = kinds or ["person", "vehicle", "phone", "handle", "address", "organisation"]
    things = tuple(k for k in chosen if k != "person")
    output: dict[str, object] = {}
    if things:
        thing_result = service(lambda: resolve_things(core(), actor, ResolveThingsRequest(agency=agency, kinds=things)))
        output["things"] = thing_result.as_dict()
    result = None
    if "person" in chosen:
        request = ResolveRequest(
            agency=agency, match_threshold=match_threshold, review_threshold=review_threshold, seed=seed
        )
        try:
            result = resolve_entities(core(), actor, request)
        except InvalidRequest as exc:
            if kinds or f"at least {MIN_MENTIONS}" not in str(exc):
                fail(str(exc))
            output["person_note"] = str(exc)
        else:
            output["person"] = result.as_dict()
    if as_json:
        # The people's counts at the top level (as before), the other kinds under "things".
        person = output.pop("person", {})
        emit_json({**(person if isinstance(person, dict) else {}), **output})
        return
    if "things" in output:
        for kind, counts in thing_result.kinds.items():
            if counts["mentions"]:
                console.print(
                    f"{thing_result.agency}: {counts['mentions']} {kind} mentions, {counts['entities']} entities "
                    f"({counts['created']} new), {counts['linked']} mentions linked, {counts['review']} pairs "
                    "sent to review",
                    markup=False,
                )
    if "person_note" in output:
        console.print(f"people not resolved: {output['person_note']}", markup=False)
    if result is None:
        return
    console.print(
        f"{result.agency}: {result.mentions} person mentions, {result.pairs_scored} pairs scored, "
        f"{result.entities} entities ({result.entities_created} new, {result.entities_merged} merged by decisions), "
        f"{result.mentions_linked} mentions linked, {result.review_pairs_opened} pairs sent to review; "
        f"fields compared: {', '.join(result.fields)}"
    )


@app.command("review")
def review_command(
    agency: str = _AGENCY,
    acting: str = _AS,
    limit: int = typer.Option(20, "--limit", help="Open pairs to list."),
    decide: int = typer.Option(0, "--decide", help="Decide this review pair (with --decision and --reason)."),
    decision: str = typer.Option("", "--decision", help="match, not_match or unsure."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = _JSON,
) -> None:
    """List the uncertain pairs with each field's weight, or decide one (the decision overrides the model)."""
    from openilp.services.entities import DecideRequest, ReviewQueueRequest, decide_pair, review_queue

    actor = _actor(acting, "entities:review")
    if decide:
        outcome = service(lambda: decide_pair(core(), actor, DecideRequest(decide, decision, reason)))
        if as_json:
            emit_json(outcome.as_dict())
        else:
            console.print(f"pair {outcome.pair_id}: {outcome.decision} ({outcome.effect})", markup=False)
        return
    queue = service(lambda: review_queue(core(), actor, ReviewQueueRequest(agency=agency, limit=limit)))
    if as_json:
        emit_json(queue.as_dict())
        return
    console.print(f"{queue.agency}: {queue.open_pairs} open review pairs")
    for pair in queue.pairs:
        table = Table(title=f"pair {pair.pair_id}: p = {pair.match_probability:.3f}")
        for column in ("field", "left", "right", "weight (bits)"):
            table.add_column(column)
        table.add_row("name", escape(pair.left.display_name), escape(pair.right.display_name), "")
        for name, part in pair.explanation.fields.items():
            table.add_row(name, "", "", f"{part.weight:+.2f}")
        console.print(table)


@app.command("show")
def show_command(
    entity_id: int = typer.Argument(..., help="Entity id."),
    acting: str = _AS,
    as_json: bool = _JSON,
) -> None:
    """One entity: its mentions (with provenance), designated memberships (active designations) and lineage."""
    from openilp.services.entities import ShowEntityRequest, show_entity

    actor = _actor(acting, "entities:read")
    detail = service(lambda: show_entity(core(), actor, ShowEntityRequest(entity_id)))
    if as_json:
        emit_json(detail.as_dict())
        return
    merged = f", merged into {detail.merged_into_id}" if detail.merged_into_id else ""
    console.print(
        f"entity {detail.entity_id} ({detail.kind}, {detail.status}{merged}): {detail.display_name}", markup=False
    )
    table = Table()
    for column in ("mention", "source", "record", "name", "date of birth", "address", "file:line"):
        table.add_column(column)
    for m in detail.mentions:
        if m.file_name:
            where = f"{m.file_name}:{m.line_number}"
        elif m.designation_id is not None:
            where = f"designation {m.designation_id}"
        else:
            where = f"intel record {m.intel_record_id}"
        table.add_row(
            str(m.mention_id),
            *(escape(str(value or "")) for value in (m.source, m.source_record_id, m.display_name, m.date_of_birth)),
            escape(m.address),
            escape(where),
        )
    console.print(table)
    for title, rows, other in (
        ("designated members", detail.members, "person"),
        ("designated member of", detail.member_of, "organisation"),
    ):
        if rows:
            console.print(f"{title}:", markup=False)
        for row in rows:
            console.print(
                f"  {row[other]} (entity {row[f'{other}_entity_id']}): designation {row['designation_id']}, "
                f"review due {row['review_due_on']}, purged by {row['expires_on']}",
                markup=False,
            )
    for event in detail.lineage:
        other = event["other_entity_id"] or ""
        console.print(f"  {event['occurred_at']}: {event['event']} {other} {event['reason']}", markup=False)


@app.command("export")
def export_command(
    agency: str = _AGENCY,
    acting: str = _AS,
    export_format: str = typer.Option("csv", "--format", help="csv: one row per mention."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """One row per mention: source, source_record_id, entity_id, mention_id, kind, name, date of birth, file, line."""
    from openilp.services.entities import ExportRequest, export_mentions

    actor = _actor(acting, "entities:read")
    result = service(lambda: export_mentions(core(), actor, ExportRequest(agency=agency, format=export_format)))
    handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow(["" if value is None else value for value in row])
    finally:
        if output:
            handle.close()


@app.command("backfill-memberships")
def backfill_memberships_command(
    agency: str = typer.Option(
        "", "--agency", help="Agency code (default: every agency; with --as, the account's own)."
    ),
    acting: str = _AS,
    as_json: bool = _JSON,
) -> None:
    """Link the members of gang/enterprise designations approved before memberships existed (migration
    0022) to their organisations, as an approval does; run once after upgrading, safe to run again."""
    from openilp.services.entities import BackfillMembershipsRequest, backfill_memberships

    actor = _actor(acting, "designations:write")
    result = service(lambda: backfill_memberships(core(), actor, BackfillMembershipsRequest(agency=agency)))
    if as_json:
        emit_json(result.as_dict())
        return
    added = ", ".join(str(i) for i in result.added) or "none"
    console.print(
        f"{', '.join(result.agencies) or 'no agency'}: {len(result.added)} designations given their membership "
        f"({added}), {len(result.unchanged)} already had one",
        markup=False,
    )
