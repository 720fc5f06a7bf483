"""``openilp networks``: the network around a person, group, series or record, from the command line.

``openilp networks chart --user ANALYST --around "Johnny Suspect"`` draws on the intelligence
records the account may read (28 CFR Part 23); ``--offenders OFFENDERS.csv`` adds co-offending
links from a file in the ``crimelinkage`` layout (``offenderID, crimeID``), which needs no account.
``--format graphml`` or ``anb_csv`` writes the export (to ``--output`` or standard output). A thin
shell over :func:`openilp.services.networks.network_chart`. ``openilp networks purge-designations``
is the daily job that purges gang/enterprise designations whose retention ended.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import acting_user, console, core, emit_json, fail, service

#: The ``openilp networks`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Networks of people: co-offending, associations, key players, link-chart exports.")


def _date(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date such as 2024-03-01 (got {value!r})")


def _offender_rows(path: Path) -> tuple[tuple[str, str, str], ...]:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {path}: {exc}")
    columns = {c.lower(): c for c in frame.columns}
    person = columns.get("offenderid") or columns.get("person")
    incident = columns.get("crimeid") or columns.get("incident")
    if person is None or incident is None:
        fail(f"{path} needs the columns offenderID and crimeID (or person and incident)")
    date = columns.get("date")
    dates = frame[date] if date else [""] * len(frame)
    return tuple(zip(frame[person], frame[incident], dates, strict=True))


@app.command("chart")
def chart_command(
    user: str | None = typer.Option(None, "--user", help="Account to act as: its readable intelligence (audited)."),
    around: list[str] = typer.Option([], "--around", help="Seed: a name or node id (repeat the option)."),
    series_id: int | None = typer.Option(None, "--series", help="A saved series: the people of its record."),
    record_id: int | None = typer.Option(None, "--record", help="An intelligence record: its subjects."),
    hops: int = typer.Option(2, "--hops", help="Links from the seeds (1 to 4)."),
    link_type: list[str] = typer.Option([], "--link-type", help="Keep only these link types (repeat)."),
    date_from: str | None = typer.Option(None, "--from", help="Links dated on or after this day."),
    date_to: str | None = typer.Option(None, "--to", help="Links dated on or before this day."),
    key_players: int = typer.Option(3, "--key-players", help="Size of the KPP-Neg and KPP-Pos sets (0: none)."),
    offenders: Path | None = typer.Option(
        None, "--offenders", help="OFFENDERS.csv: offenderID, crimeID (co-offending)."
    ),
    export_format: str = typer.Option("json", "--format", help="json, graphml or anb_csv (Analyst's Notebook)."),
    output: Path | None = typer.Option(None, "--output", help="Write the export here instead of standard output."),
    as_json: bool = typer.Option(False, "--json", help="Print the chart as JSON."),
) -> None:
    """The network around the seeds: nodes, links, metrics, key players; or its export."""
    from openilp.analysis.networks import LINK_TYPES
    from openilp.services.networks import NetworkRequest, network_chart

    actor = acting_user(user, "networks:read") if user else None
    request = NetworkRequest(
        around=tuple(around),
        series_id=series_id,
        record_id=record_id,
        hops=hops,
        link_types=tuple(link_type) or LINK_TYPES,
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--to"),
        key_players=key_players,
        format=export_format,
        co_offending=_offender_rows(offenders) if offenders else (),
    )
    chart = service(lambda: network_chart(core(), actor, request))
    if chart.format != "json":
        if output is not None:
            output.write_text(chart.export, encoding="utf-8")
            console.print(
                f"wrote {chart.filename} export of {len(chart.nodes)} nodes, {len(chart.links)} links to {output}"
            )
        else:
            sys.stdout.write(chart.export)
        return
    if as_json:
        emit_json(chart.as_dict())
        return
    summary = chart.summary
    console.print(
        f"{summary['nodes']} nodes ({summary['people']} people), {summary['links']} links, "
        f"{summary['components']} components, {summary['communities']} communities (Q = {summary['modularity']}), "
        f"{summary['bridges']} bridges"
    )
    if chart.key_players_negative:
        console.print(f"key players, disruption (KPP-Neg): {', '.join(chart.key_players_negative)}", markup=False)
        console.print(f"key players, reach (KPP-Pos): {', '.join(chart.key_players_positive)}", markup=False)
    table = Table("node", "kind", "degree", "betweenness", "pagerank", "community")
    for node in sorted(chart.nodes, key=lambda n: -float(n["betweenness"]))[:20]:
        table.add_row(
            escape(str(node["label"])),
            escape(str(node["kind"])),
            f"{node['degree']:.3f}",
            f"{node['betweenness']:.3f}",
            f"{node['pagerank']:.4f}",
            str(node["community"]),
        )
    console.print(table)
    for membership in chart.memberships:  # a layer beside the network: approved designations only
        console.print(
            f"designated member: {membership['person']} ({membership['source']}) of {membership['organisation']} "
            f"({membership['target']}), designation {membership['designation_id']}, "
            f"review due {membership['review_due_on']}",
            markup=False,
        )
    for note in chart.notes:
        console.print(note, style="dim", markup=False)


@app.command("purge-designations")
def purge_designations_command(
    now: str | None = typer.Option(None, "--now", help="Pretend it is this ISO time (UTC if no offset)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Purge gang/enterprise designations five years after their latest criterion (run daily; audited)."""
    from openilp.services.networks import PurgeDesignationsRequest, purge_expired_designations

    moment = None
    if now:
        try:
            moment = dt.datetime.fromisoformat(now)
        except ValueError:
            fail(f"--now must be an ISO 8601 date or time, e.g. 2029-03-01T12:00:00+00:00 (got {now!r})")
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    result = service(lambda: purge_expired_designations(core(), None, PurgeDesignationsRequest(as_of=moment)))
    if as_json:
        emit_json(result.as_dict())
        return
    console.print(f"{len(result.purged)} designation(s) purged")
