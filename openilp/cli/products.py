"""``openilp products``: intelligence products as PDF (thin shells over :mod:`openilp.services.products`).

Each product verb builds one product, stores it as a new version (with its data cut-off and
parameters) and writes it where asked: ``-o FILE.pdf``, ``--folder DIR`` and/or ``--email ADDRESS``.
Every sending is in the product dissemination log; a failed sending exits 1 with the reason (so a
cron job's failure reaches its owner).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from openilp.cli.common import acting_user, console, core, emit_json, fail, service

#: The ``openilp products`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(
    help="Intelligence products: CompStat packs, bulletins, strategic assessments; stored, marked and logged."
)

_OUTPUT = typer.Option(None, "-o", "--output", help="Write the PDF to this file.")
_FOLDER = typer.Option(None, "--folder", help="Also deliver the PDF into this folder.")
_EMAIL = typer.Option([], "--email", help="Also e-mail the PDF to this address (repeatable; SMTP settings).")
_HTML = typer.Option(None, "--html", help="Also write the HTML version to this file.")
_JSON = typer.Option(False, "--json", help="Print the stored version's facts as JSON.")
_CAUTIONS = (
    "armed, violent, assaults_officers, flight_risk, weapons_at_address, dangerous_dogs, counter_surveillance, "
    "medical_caution"
)
_ON_RESTRICTED = typer.Option("redact", "--on-restricted", help="redact (leave restricted items out) or refuse.")


def _week(value: str) -> dt.date:
    """A week's first day: ``YYYY-MM-DD``, or ``last`` (the Monday of the last complete week)."""
    if value.strip().lower() == "last":
        today = core().now().date()
        return today - dt.timedelta(days=today.weekday() + 7)
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        fail(f"--week must be a date written YYYY-MM-DD or last, got {value!r}")


def _deliver(
    produced: Any,
    output: Path | None,
    folder: Path | None,
    email: list[str],
    html: Path | None,
    reason: str,
    actor: Any = None,
) -> list[str]:
    from openilp.services.products.delivery import SendRequest, send_product

    openilp = core()
    where: list[str] = []
    targets = [("file", str(output))] if output else []
    targets += [("folder", str(folder))] if folder else []
    targets += [("email", ", ".join(email))] if email else []
    if not targets:
        fail("say where the product goes: -o FILE.pdf, --folder DIR or --email ADDRESS")
    if html is not None:
        html.write_text(produced.html, encoding="utf-8")
    for channel, recipient in targets:
        request = SendRequest(produced.product_id, channel, recipient, reason)
        sent = service(functools.partial(send_product, openilp, actor, request, pdf=produced.pdf))
        where.append(sent.path or sent.recipient)
    return where


def _report(produced: Any, where: list[str], as_json: bool) -> None:
    if as_json:
        emit_json({**produced.as_dict(), "delivered_to": where})
        return
    withheld = f"; withheld: {', '.join(produced.withheld)}" if produced.withheld else ""
    console.print(
        f"{produced.title}: product #{produced.product_id} version {produced.version}, "
        f"{produced.pdf_pages} pages, {produced.marking.tlp}{withheld}.",
        soft_wrap=True,  # a path or marking is never broken across lines
    )
    for place in where:
        console.print(escape(f"  delivered: {place}"), soft_wrap=True)


@app.command("compstat")
def compstat(
    agency: str = typer.Option("", "--agency", help="Agency code (default: the only agency in the store)."),
    district: str = typer.Option(..., "--district", help="District as the agency's records name it (e.g. 3)."),
    week: str = typer.Option(..., "--week", help="First day of the week (YYYY-MM-DD), or last."),
    near_repeat: list[str] = typer.Option(
        [], "--near-repeat-category", help="Categories of the near-repeat section (default burglary)."
    ),
    reason: str = typer.Option("Weekly CompStat command meeting", "--reason", help="Why it is sent (logged)."),
    output: Path | None = _OUTPUT,
    folder: Path | None = _FOLDER,
    email: list[str] = _EMAIL,
    html: Path | None = _HTML,
    as_json: bool = _JSON,
) -> None:
    """The weekly CompStat pack of a district: trends (as openilp trends), map, weeks, near repeats."""
    from openilp.services.products.compstat import CompStatPackRequest, compstat_pack

    request = CompStatPackRequest(agency, district, _week(week), tuple(near_repeat) or ("burglary",))
    if not (output or folder or email):
        fail("say where the product goes: -o FILE.pdf, --folder DIR or --email ADDRESS")
    produced = service(lambda: compstat_pack(core(), None, request))
    _report(produced, _deliver(produced, output, folder, email, html, reason), as_json)


@app.command("bulletin")
def bulletin(
    agency: str = typer.Option("", "--agency", help="Agency code (default: the only agency in the store)."),
    category: str = typer.Option("burglary", "--category", help="Offence category or crime group of the series."),
    as_of: str = typer.Option("", "--as-of", help="Last day of the period searched (YYYY-MM-DD)."),
    days: int = typer.Option(60, "--days", help="Days searched, up to --as-of."),
    rank: int = typer.Option(1, "--rank", help="Which possible series: 1 = the strongest."),
    series: int = typer.Option(
        0, "--series", help="A saved series' number instead of a search (see openilp series list)."
    ),
    threshold: float = typer.Option(3.0, "--threshold", help="Mean log Bayes factor a series must reach."),
    min_size: int = typer.Option(3, "--min-size", help="Fewest incidents in a series."),
    hot_spot: bool = typer.Option(
        False,
        "--hot-spot",
        help="A near-repeat hot spot in force on --as-of instead of a series (--rank 1 = the most incidents).",
    ),
    zone_incident: int = typer.Option(
        0, "--zone-incident", help="With --hot-spot: the zone of this incident number (see openilp near-repeat-alerts)."
    ),
    zone_complaint: str = typer.Option(
        "", "--zone-complaint", help="With --hot-spot: the zone of this complaint number (as the CompStat pack lists)."
    ),
    contact: str = typer.Option("", "--contact", help="Contact line (default: the setting products_contact)."),
    reason: str = typer.Option("Tactical bulletin for patrol", "--reason", help="Why it is sent (logged)."),
    on_restricted: str = _ON_RESTRICTED,
    output: Path | None = _OUTPUT,
    folder: Path | None = _FOLDER,
    email: list[str] = _EMAIL,
    html: Path | None = _HTML,
    as_json: bool = _JSON,
) -> None:
    """A tactical bulletin of a saved series (--series), of a possible series found by series linkage
    (--as-of) or of a near-repeat hot spot (--hot-spot --as-of): map, timeline, incidents, MO, look-for."""
    from openilp.services.products.bulletin import BulletinRequest
    from openilp.services.products.bulletin import bulletin as run

    day: dt.date | None = None
    if not series:
        try:
            day = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            fail(f"--as-of must be a date written YYYY-MM-DD (or give --series), got {as_of!r}")
    request = BulletinRequest(
        agency_code=agency,
        category=category,
        as_of=day,
        days=days,
        rank=rank,
        threshold=threshold,
        min_size=min_size,
        contact=contact,
        series_id=series,
        hot_spot=hot_spot,
        zone_incident_id=zone_incident,
        zone_complaint=zone_complaint,
    )
    if not (output or folder or email):
        fail("say where the product goes: -o FILE.pdf, --folder DIR or --email ADDRESS")
    produced = service(lambda: run(core(), None, request, on_restricted=on_restricted))
    _report(produced, _deliver(produced, output, folder, email, html, reason), as_json)


@app.command("safety-alert")
def safety_alert(
    user: str = typer.Option(..., "--user", help="Account to act as: it reads the records (audited)."),
    record: list[int] = typer.Option(..., "--record", help="Intelligence record number (repeatable)."),
    purpose: str = typer.Option(..., "--purpose", help="Why the records are read (audited with each read)."),
    caution: list[str] = typer.Option(..., "--caution", help="Caution flag (repeatable): " + _CAUTIONS + "."),
    instructions: str = typer.Option("", "--instructions", help="What officers should do if they meet the subject."),
    contact: str = typer.Option("", "--contact", help="Contact line (default: the setting products_contact)."),
    reason: str = typer.Option("Officer safety", "--reason", help="Why it is sent (logged)."),
    on_restricted: str = _ON_RESTRICTED,
    output: Path | None = _OUTPUT,
    folder: Path | None = _FOLDER,
    email: list[str] = _EMAIL,
    html: Path | None = _HTML,
    as_json: bool = _JSON,
) -> None:
    """An officer-safety alert from intelligence records: caution flags, subjects, records; marked by the records."""
    from openilp.services.products.safety_alert import SafetyAlertRequest
    from openilp.services.products.safety_alert import safety_alert as run

    actor = acting_user(user, "products:produce")
    request = SafetyAlertRequest(tuple(record), purpose, tuple(caution), instructions, actor.agency_code, contact)
    if not (output or folder or email):
        fail("say where the product goes: -o FILE.pdf, --folder DIR or --email ADDRESS")
    produced = service(lambda: run(core(), actor, request, on_restricted=on_restricted))
    _report(produced, _deliver(produced, output, folder, email, html, reason, actor), as_json)


@app.command("problem-profile")
def problem_profile(
    user: str = typer.Option(..., "--user", help="Account to act as: it reads the problem (audited)."),
    problem: int = typer.Option(..., "--problem", help="The SARA problem's number."),
    as_of: str = typer.Option("", "--as-of", help="Goal progress up to this day (default: the data's end)."),
    contact: str = typer.Option("", "--contact", help="Contact line (default: the setting products_contact)."),
    incident_points: bool = typer.Option(
        False,
        "--incident-points",
        help="Draw each incident on the map as a point (incident locations: the profile becomes TLP:AMBER); "
        "by default they are counted in 250 m squares and the profile stays TLP:GREEN.",
    ),
    reason: str = typer.Option("Problem review", "--reason", help="Why it is sent (logged)."),
    output: Path | None = _OUTPUT,
    folder: Path | None = _FOLDER,
    email: list[str] = _EMAIL,
    html: Path | None = _HTML,
    as_json: bool = _JSON,
) -> None:
    """The profile of a SARA problem: scanning, analysis worksheet and products, responses, assessment charts."""
    from openilp.services.products.problem_profile import ProblemProfileRequest
    from openilp.services.products.problem_profile import problem_profile as run

    day = None
    if as_of.strip():
        try:
            day = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            fail(f"--as-of must be a date written YYYY-MM-DD, got {as_of!r}")
    actor = acting_user(user, "products:produce")
    request = ProblemProfileRequest(problem, day, actor.agency_code, contact, incident_points)
    if not (output or folder or email):
        fail("say where the product goes: -o FILE.pdf, --folder DIR or --email ADDRESS")
    produced = service(lambda: run(core(), actor, request))
    _report(produced, _deliver(produced, output, folder, email, html, reason, actor), as_json)


@app.command("strategic")
def strategic(
    agency: str = typer.Option("", "--agency", help="Agency code (default: the only agency in the store)."),
    year: int = typer.Option(..., "--year", help="The year assessed (YYYY), against the year before."),
    backtest_category: list[str] = typer.Option(
        [], "--backtest-category", help="Categories of the backtest run when none is recorded (default burglary)."
    ),
    backtest_weeks: int = typer.Option(8, "--backtest-weeks", help="Weekly forecasts of that backtest (1-52)."),
    contact: str = typer.Option("", "--contact", help="Contact line (default: the setting products_contact)."),
    reason: str = typer.Option("Annual strategic assessment", "--reason", help="Why it is sent (logged)."),
    output: Path | None = _OUTPUT,
    folder: Path | None = _FOLDER,
    email: list[str] = _EMAIL,
    html: Path | None = _HTML,
    as_json: bool = _JSON,
) -> None:
    """The strategic assessment of a year: trends, places and displacement, forecast accuracy, civil-rights audits."""
    from openilp.services.products.strategic import StrategicAssessmentRequest, strategic_assessment

    request = StrategicAssessmentRequest(
        agency, year, tuple(backtest_category) or ("burglary",), backtest_weeks, contact
    )
    if not (output or folder or email):
        fail("say where the product goes: -o FILE.pdf, --folder DIR or --email ADDRESS")
    produced = service(lambda: strategic_assessment(core(), None, request))
    _report(produced, _deliver(produced, output, folder, email, html, reason), as_json)


@app.command("rerender")
def rerender(
    product_id: int = typer.Argument(..., help="The stored product version to build again."),
    user: str = typer.Option("", "--user", help="Account to act as (needed for products holding intelligence)."),
    output: Path | None = _OUTPUT,
    as_json: bool = _JSON,
) -> None:
    """Build a stored product again from its parameters (a new version) and say whether its numbers changed."""
    from openilp.services.products.catalogue import rerender_product as run

    actor = acting_user(user, "products:produce") if user else None
    result = service(lambda: run(core(), actor, product_id))
    if output is not None:
        output.write_bytes(result.product.pdf)
    if as_json:
        emit_json(result.as_dict())
        return
    same = "the same numbers" if result.same_numbers else f"changed numbers ({', '.join(result.changed)})"
    console.print(
        f"product #{product_id} version {result.original_version} rebuilt as #{result.product.product_id} "
        f"version {result.product.version}: {same}."
    )


@app.command("send")
def send(
    product_id: int = typer.Argument(..., help="The stored product version to send."),
    reason: str = typer.Option(..., "--reason", help="Why it is sent (logged)."),
    output: Path | None = _OUTPUT,
    folder: Path | None = _FOLDER,
    email: list[str] = _EMAIL,
) -> None:
    """Send a stored product version again (PDF rendered from its stored HTML); logged."""
    from openilp.services.products.delivery import SendRequest, send_product

    targets = [("file", str(output))] if output else []
    targets += [("folder", str(folder))] if folder else []
    targets += [("email", ", ".join(email))] if email else []
    if not targets:
        fail("say where the product goes: -o FILE.pdf, --folder DIR or --email ADDRESS")
    for channel, recipient in targets:
        request = SendRequest(product_id, channel, recipient, reason)
        sent = service(functools.partial(send_product, core(), None, request))
        console.print(escape(f"product #{product_id} delivered: {sent.path or sent.recipient}"), soft_wrap=True)
