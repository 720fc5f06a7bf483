"""``openilp problems``: SARA problems from the command line (list with goal progress, show, scan).

A thin shell over :mod:`openilp.services.problems`: the same requests and results as the web
app. Commands act as an existing account (``--user``): what they read is limited to that
account's agency, checked against its permissions and recorded in the audit log under its name
by the services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from openilp.cli.common import acting_user, console, core, emit_json, fail

if TYPE_CHECKING:
    from openilp.security.actors import UserInfo

#: The ``openilp problems`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="SARA problems: list with goal progress, show one, scan for candidates.")

_USER = typer.Option(..., "--user", help="Account to act as (its agency; recorded in the audit log).")
_JSON = typer.Option(False, "--json", help="Print JSON.")


def _actor(username: str) -> UserInfo:
    """The active account ``username`` (the services check what it may do)."""
    return acting_user(username)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{value:+.1f}%"


@app.command("list")
def list_command(
    user: str = _USER,
    include_closed: bool = typer.Option(False, "--all", help="Include closed problems (no progress shown)."),
    as_json: bool = _JSON,
) -> None:
    """Problems of your agency; open ones with their progress toward the goal."""
    from openilp.errors import ServiceError
    from openilp.services.problems import dashboard, list_problems

    actor = _actor(user)
    try:
        rows = dashboard(core(), actor).as_dict()["dashboard"]
        if include_closed:
            known = {row["id"] for row in rows}
            rows += [
                {k: p[k] for k in ("id", "title", "goal", "owner", "stage", "target_reduction_pct")}
                | {"progress": None}
                for p in list_problems(core(), actor).as_dict()["problems"]
                if p["id"] not in known
            ]
    except ServiceError as exc:
        fail(str(exc))
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"Problems of {actor.agency_code}")
    for column in ("id", "title", "stage", "owner", "goal", "change so far", "status"):
        table.add_column(column)
    for row in rows:
        progress = row.get("progress") or {}
        table.add_row(
            str(row["id"]),
            escape(row["title"]),
            escape(row["stage"]),
            escape(row["owner"]),
            f"-{row['target_reduction_pct']:g}%",
            _pct(progress.get("change_pct")),
            str(progress.get("status", "")),
        )
    console.print(table)


@app.command("show")
def show_command(
    problem_id: int = typer.Argument(..., help="Problem id."), user: str = _USER, as_json: bool = _JSON
) -> None:
    """One problem: goal, worksheet, interventions, comparison areas, evaluations and history."""
    from openilp.errors import ServiceError
    from openilp.services.problems import get_problem

    actor = _actor(user)
    try:
        view = get_problem(core(), actor, problem_id).as_dict()
    except ServiceError as exc:
        fail(str(exc))
    if as_json:
        emit_json(view)
        return
    console.print(
        f"[bold]#{view['id']} {escape(view['title'])}[/] · {escape(view['stage'])} · owner {escape(view['owner'])}"
    )
    console.print(escape(f"Goal: {view['goal']}"))
    console.print(
        f"Baseline {view['baseline']['start']} – {view['baseline']['end']}; "
        f"evaluation {view['evaluation']['start']} – {view['evaluation']['end']}; "
        f"categories {', '.join(view['categories'])}"
    )
    for name, text in view["worksheet"].items():
        if text:
            console.print(escape(f"  {name.replace('_', '/')}: {text}"))
    for item in view["interventions"]:
        dosage = f", {item['dosage_value']:g} {item['dosage_unit']}" if item["dosage_value"] is not None else ""
        console.print(escape(f"Intervention: {item['kind']} {item['start']} – {item['end']}{dosage}"))
    for role, area in view["comparison_areas"].items():
        console.print(escape(f"Comparison area {role}: {area['origin']}"))
    for evaluation in view["evaluations"]:
        report = evaluation["report"]
        if evaluation["kind"] == "power":
            console.print(f"Power check: smallest detectable change {report['wdd_mde_fraction']:.0%}")
            if report.get("warning"):
                console.print(f"[yellow]warning:[/] {escape(report['warning'])}")
        else:
            wdd = report["wdd"]
            console.print(f"Assessment: WDD {wdd['estimate']:+.1f} (p = {wdd['p_value']:.3g})")
    for entry in view["history"]:
        console.print(escape(f"  {entry['at'][:19]} {entry['user']} {entry['action']}"))


@app.command("scan")
def scan_command(
    user: str = _USER,
    category: list[str] | None = typer.Option(
        None, "--category", help="Category or crime group (repeatable) (default: burglary)."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Last day scanned, YYYY-MM-DD (default: latest data)."),
    periods: int | None = typer.Option(
        None, "--periods", help="Consecutive periods for hot-spot stability, 2 to 12 (default: 3)."
    ),
    period_days: int | None = typer.Option(None, "--period-days", help="Length of each period in days (default: 182)."),
    permutations: int | None = typer.Option(
        None, "--permutations", help="Gi* permutations per period (default: 9999)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Candidate problems: persistent or emerging Gi* hot spots and rising trends over the boundary polygons."""
    from openilp.errors import ServiceError
    from openilp.services.problems import ScanRequest, scan_candidates

    actor = _actor(user)
    given: dict[str, Any] = {"categories": tuple(category) if category else None, "periods": periods}
    given |= {"period_days": period_days, "permutations": permutations, "as_of": as_of}
    request = ScanRequest(**{name: value for name, value in given.items() if value is not None})
    try:
        result = scan_candidates(core(), actor, request).as_dict()
    except ServiceError as exc:
        fail(str(exc))
    if as_json:
        emit_json(result)
        return
    console.print(escape(f"Scanned {', '.join(result['categories'])} up to {result['as_of']}: {result['classes']}"))
    table = Table(title="Candidate problems")
    for column in ("unit", "area", "counts per period", "why", "proposed goal"):
        table.add_column(column)
    for c in result["candidates"]:
        table.add_row(
            str(c["unit"]),
            escape(c["name"]),
            ", ".join(map(str, c["period_counts"])),
            escape("; ".join(c["reasons"])),
            escape(c["goal"]),
        )
    console.print(table)
