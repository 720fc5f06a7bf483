"""The public transparency report (modelled on the surveillance-ordinance annual reports of Oakland and Seattle).

:func:`transparency_report` answers, for one agency and one year or quarter, with **aggregate counts
only**: deployment lists issued, held by a civil-rights gate (and which gate), issued on a
supervisor's override, and model justifications recorded (all read from the audit log). A list's
decisions belong to the period of the shift it plans (its ``as_of``, the data's day), not to the day
they were recorded, so a 2019 list planned or backfilled in 2026 counts in 2019, as its patrol does
in the concentration audit; how many were recorded after the period ended is published beside them.
A justification covers no shift and counts when it was recorded. The
forecasting methods behind the plans with their measured out-of-sample accuracy (PAI and PEI at 1, 2
and 5 % of the area, from the latest rolling-origin backtest recorded before the period ends, else,
for a period reported after the fact, the latest on data up to its end with the day it was recorded:
:mod:`openilp.services.analysis.accuracy`); the harm weights in force for need-adjusted parity,
with their version and source (:func:`openilp.fairness.published_harm_weights`); the runaway-feedback
test every release passes; The Markup's concentration audit of the lists issued in the period
(residents of the most-targeted 5 % of neighbourhoods against the median and the never-targeted
ones, group shares and ratios only, not published over fewer than five lists:
:mod:`openilp.services.analysis.concentration`); intelligence records by status, purges and
disseminations; tips received and rewards paid.

**Small-count suppression.** Every count below :data:`SUPPRESS_BELOW` (5) is published as ``"<5"``,
zero included, so that no cell can single out a person, an officer or a tipster
(:func:`public_cell`); the HTML page, the CSV export and the JSON all carry the suppressed cells only.
The report needs no sign-in and is not about anyone: it holds no name, no place smaller than the
agency, and no record.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, AuditEntry, IntelDissemination, IntelRecord, Tip, TipReward
from openilp.errors import InvalidRequest
from openilp.fairness import CONCENTRATION_FLAG, published_harm_weights
from openilp.security.actors import UserInfo
from openilp.services.analysis.accuracy import accuracy_cell, latest_accuracy, recorded_in_span
from openilp.services.analysis.concentration import (
    ConcentrationAudit,
    ConcentrationRequest,
    concentration_of_issued_lists,
)
from openilp.services.analysis.tasking import agency_harm_weights

__all__ = [
    "SUPPRESS_BELOW",
    "TransparencyReport",
    "TransparencyRequest",
    "public_agencies",
    "public_cell",
    "transparency_report",
]

#: Counts below this are published as "<5".
SUPPRESS_BELOW = 5

#: The runaway-feedback test every release passes (tests/test_fairness_feedback.py; docs/civil-rights.md).
FEEDBACK_TEST = (
    "part of every build: with equal true rates in four areas, after 1,000 weekly forecast and patrol "
    "cycles with the default model and plan, each area's patrol share stays within 0.1 of its fair share; "
    "a model trained on unweighted officer-discovered incidents fails it"
)


def public_cell(count: int) -> str:
    """A count as it may be published: ``"<5"`` below :data:`SUPPRESS_BELOW`, else the number.

    >>> [public_cell(n) for n in (0, 4, 5, 1234)]
    ['<5', '<5', '5', '1,234']
    """
    if count < SUPPRESS_BELOW:
        return f"<{SUPPRESS_BELOW}"
    return f"{count:,}"


@dataclass(frozen=True)
class TransparencyRequest(Request):
    """One agency's report for a year, or one quarter (1-4) of it."""

    agency_code: str = ""
    year: int = 0
    quarter: int = 0

    def validate(self) -> TransparencyRequest:
        if not 2000 <= self.year <= 2199:
            raise InvalidRequest(f"give a year between 2000 and 2199, got {self.year}")
        if not 0 <= self.quarter <= 4:
            raise InvalidRequest(f"the quarter must be 1-4 (or 0 for the whole year), got {self.quarter}")
        return self

    @property
    def period(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start, end)`` in UTC."""
        if self.quarter:
            start = dt.datetime(self.year, 3 * self.quarter - 2, 1, tzinfo=dt.UTC)
            end_month = 3 * self.quarter + 1
            end = dt.datetime(self.year + end_month // 13, (end_month - 1) % 12 + 1, 1, tzinfo=dt.UTC)
        else:
            start, end = dt.datetime(self.year, 1, 1, tzinfo=dt.UTC), dt.datetime(self.year + 1, 1, 1, tzinfo=dt.UTC)
        return start, end

    @property
    def label(self) -> str:
        return f"{self.year} Q{self.quarter}" if self.quarter else str(self.year)


@dataclass(frozen=True)
class TransparencyReport(Result):
    """The report's rows: ``(section, measure, cell)``, every cell already suppressed."""

    agency_code: str
    agency_name: str
    period: str
    rows: tuple[tuple[str, str, str], ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency_code,
            "agency_name": self.agency_name,
            "period": self.period,
            "suppression": f"counts below {SUPPRESS_BELOW} are shown as <{SUPPRESS_BELOW}",
            "rows": [{"section": s, "measure": m, "value": v} for s, m, v in self.rows],
            "notes": list(self.notes),
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["agency", "period", "section", "measure", "value"])
        for section, measure, value in self.rows:
            writer.writerow([self.agency_code, self.period, section, measure, value])
        return out.getvalue()


def _public_agency(session: Session, agency_code: str) -> Agency:
    if agency_code:
        agency = session.scalars(select(Agency).where(Agency.code == agency_code)).first()
        if agency is None:
            raise InvalidRequest(f"no agency {agency_code!r} publishes a report here")
        return agency
    agencies = session.scalars(select(Agency).order_by(Agency.code)).all()
    if len(agencies) == 1:
        return agencies[0]
    raise InvalidRequest(f"choose an agency: {', '.join(a.code for a in agencies) or 'none yet'}")


def public_agencies(core: OpenILP) -> list[tuple[str, str]]:
    """``(code, name)`` of every agency that publishes a report here."""
    with Session(core.engine) as session:
        return [(a.code, a.name) for a in session.scalars(select(Agency).order_by(Agency.code))]


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _accuracy(session: Session, agency: Agency, method: str, before: dt.datetime, last_day: dt.date) -> str:
    """The published accuracy of ``method``: its latest backtest recorded before the period's end, else
    (a period reported after the fact) its latest backtest on data up to the period's last day, with
    the day it was recorded."""
    recorded = latest_accuracy(session, agency, method, before)
    if recorded is not None and recorded.metrics:
        return f"{accuracy_cell(recorded.metrics)} ({recorded.protocol})"
    measured = [r for r in recorded_in_span(session, agency, dt.date.min, last_day) if r.method == method and r.metrics]
    if measured:
        later = max(measured, key=lambda r: r.recorded_at)
        return (
            f"{accuracy_cell(later.metrics)} ({later.protocol}; recorded on {later.recorded_at:%Y-%m-%d}, "
            "after the period, on its data)"
        )
    return "not measured: no backtest of this model was recorded (openilp backtest records one)"


def _percent(share: float) -> str:
    return "n/a" if share != share else f"{100 * share:.1f} %"


def _ratio_cell(ratio: float, flagged: bool) -> str:
    return "n/a" if ratio != ratio else f"{ratio:.2f}" + (" (flag)" if flagged else "")


def concentration_rows(audit: ConcentrationAudit) -> list[tuple[str, str, str]]:
    """The report's rows of a concentration audit: group shares and ratios, never a place or a count
    under :data:`SUPPRESS_BELOW` (over fewer than five issued lists the table is not published)."""
    section = "Concentration of patrol (The Markup 2021)"
    rows = [(section, "issued lists audited", public_cell(audit.lists))]
    table = audit.residents
    if audit.lists < SUPPRESS_BELOW:
        rows.append((section, "residents of the most-targeted neighbourhoods", "not published: fewer than 5 lists"))
        return rows
    if table is None:
        reason = audit.why_no_residents or "no area data"
        rows.append((section, "residents of the most-targeted neighbourhoods", f"not computed: {reason}"))
        return rows
    for row in table.rows:
        flag = CONCENTRATION_FLAG
        rows.append(
            (
                section,
                f"{row.group} residents: most-targeted 5 %, median and never-targeted neighbourhoods",
                f"most targeted {_percent(row.most_targeted_share)}, median {_percent(row.median_share)}, "
                f"never targeted {_percent(row.never_targeted_share)}; most / median "
                f"{_ratio_cell(row.most_to_median, row.most_to_median > flag)}, never / median "
                f"{_ratio_cell(row.never_to_median, row.never_to_median > flag)}",
            )
        )
    return rows


def _plan_day(details: dict[str, Any], occurred_at: dt.datetime) -> dt.date:
    """The shift day a plan's audit entry covers (its ``as_of``); the day it was recorded if it names none."""
    as_of = (details.get("parameters") or {}).get("as_of")
    try:
        return dt.date.fromisoformat(str(as_of)) if as_of else occurred_at.date()
    except ValueError:
        return occurred_at.date()


def _gate_decisions(
    session: Session, agency_id: int, first_day: dt.date, end_day: dt.date, lo: dt.datetime, hi: dt.datetime
) -> list[tuple[str, dict[str, Any], dt.datetime]]:
    """The agency's gate decisions that belong to the period: (action, details, when recorded).

    A deployment list's decision (``create``, ``hold``, ``override``) belongs to the period of the
    shift it plans (``parameters.as_of``, the data's day), whenever it was recorded: a list for a
    2019 shift planned or backfilled in 2026 counts in 2019, as its patrol counts in the 2019
    concentration audit. A model's justification (``justify``) covers no shift and belongs to the
    period in which it was recorded.
    """
    plan_rows = session.execute(
        select(AuditEntry.action, AuditEntry.details, AuditEntry.occurred_at).where(
            AuditEntry.agency_id == agency_id,
            AuditEntry.object_type == "deployment_plan",
            AuditEntry.action.in_(("create", "hold", "override")),
        )
    ).all()
    justified = session.execute(
        select(AuditEntry.action, AuditEntry.details, AuditEntry.occurred_at).where(
            AuditEntry.agency_id == agency_id,
            AuditEntry.object_type == "forecast_model",
            AuditEntry.action == "justify",
            AuditEntry.occurred_at >= lo,
            AuditEntry.occurred_at < hi,
        )
    ).all()
    decisions: list[tuple[str, dict[str, Any], dt.datetime]] = []
    for action, details_text, occurred_at in plan_rows:
        details = json.loads(details_text or "{}")
        recorded = _naive(occurred_at)
        if first_day <= _plan_day(details, recorded) < end_day:
            decisions.append((str(action), details, recorded))
    decisions += [(str(action), json.loads(text or "{}"), _naive(at)) for action, text, at in justified]
    return decisions


def transparency_report(core: OpenILP, actor: UserInfo | None, request: TransparencyRequest) -> TransparencyReport:
    """The aggregate report of ``request`` (module docstring); public: no sign-in, nothing audited
    because nothing about anyone is read out."""
    request = request.validate()
    start, end = request.period
    lo, hi = _naive(start), _naive(end)
    with Session(core.engine) as session:
        agency = _public_agency(session, request.agency_code)
        entries = _gate_decisions(session, int(agency.id), start.date(), end.date(), lo, hi)
        actions: Counter[str] = Counter()
        gates: Counter[str] = Counter()
        methods: Counter[str] = Counter()
        recorded_later = 0
        for action, details, occurred_at in entries:
            actions[action] += 1
            if action != "justify" and occurred_at >= hi:
                recorded_later += 1
            if action == "hold":
                for held in details.get("held_because") or []:
                    gates[str(held.get("gate"))] += 1
            if action in ("create", "override"):
                method = (details.get("parameters") or {}).get("method")
                if method:
                    methods[str(method)] += 1
        statuses = dict(
            session.execute(
                select(IntelRecord.status, func.count())
                .where(IntelRecord.agency_id == agency.id)
                .group_by(IntelRecord.status)
            ).all()
        )
        purged = session.scalar(
            select(func.count())
            .select_from(IntelRecord)
            .where(IntelRecord.agency_id == agency.id, IntelRecord.purged_at >= lo, IntelRecord.purged_at < hi)
        )
        released = session.scalar(
            select(func.count())
            .select_from(IntelDissemination)
            .join(IntelRecord, IntelRecord.id == IntelDissemination.record_id)
            .where(
                IntelRecord.agency_id == agency.id,
                IntelDissemination.released_at >= lo,
                IntelDissemination.released_at < hi,
            )
        )
        tips = session.scalar(
            select(func.count())
            .select_from(Tip)
            .where(Tip.agency_id == agency.id, Tip.created_at >= lo, Tip.created_at < hi)
        )
        last_day = (end - dt.timedelta(days=1)).date()
        accuracy = {method: _accuracy(session, agency, method, hi, last_day) for method in methods}
        paid = session.scalar(
            select(func.count())
            .select_from(TipReward)
            .join(Tip, Tip.id == TipReward.tip_id)
            .where(Tip.agency_id == agency.id, TipReward.paid_at >= lo, TipReward.paid_at < hi)
        )
    concentration = concentration_of_issued_lists(
        core, ConcentrationRequest(agency.code, start.date(), last_day, "minutes").validate(), int(agency.id)
    )
    plans = "Deployment lists"
    rows: list[tuple[str, str, str]] = [
        (plans, "lists issued (passed every gate)", public_cell(actions["create"])),
        (plans, "lists held by a civil-rights gate", public_cell(actions["hold"])),
        (plans, "held: patrol outside demographic parity (0.8-1.25)", public_cell(gates["parity"])),
        (plans, "held: model scores leak a demographic majority (AUC >= 0.70)", public_cell(gates["proxy"])),
        (plans, "issued on a supervisor's recorded override of the parity gate", public_cell(actions["override"])),
        (plans, "written justifications of a model recorded", public_cell(actions["justify"])),
        (plans, "decisions on the period's lists recorded after it ended", public_cell(recorded_later)),
    ]
    for method in sorted(methods):
        rows.append(("Models in use", f"lists planned with the {method} forecaster", public_cell(methods[method])))
        rows.append(("Models in use", f"{method}: measured out-of-sample accuracy", accuracy[method]))
    rows.append(("Models in use", "runaway-feedback test (Ensign et al. 2018)", "passed: " + FEEDBACK_TEST))
    rows += concentration_rows(concentration)
    harm = "Harm weights (need-adjusted parity)"
    try:
        weights = agency_harm_weights(core.settings.data_dir, agency.code)
    except InvalidRequest as exc:  # published as such: the plans cannot run with these weights either
        weights = published_harm_weights()
        rows.append((harm, "the agency's own weights", f"not usable: {exc}"))
    rows.append((harm, "version in force", f"{weights.version}: {weights.source}"))
    rows += [(harm, category, f"{days:,g} days") for category, days in weights.weighted]
    rows.append((harm, "categories weighing nothing", "0 days: " + ", ".join(weights.unweighted)))
    intel = "Criminal intelligence (28 CFR Part 23)"
    for status in ("pending", "approved", "rejected", "purged"):
        rows.append((intel, f"records {status} (now)", public_cell(int(statuses.get(status, 0)))))
    rows += [
        (intel, "records purged in the period", public_cell(int(purged or 0))),
        (intel, "disseminations in the period", public_cell(int(released or 0))),
        ("Community tips", "tips received", public_cell(int(tips or 0))),
        ("Community tips", "rewards paid", public_cell(int(paid or 0))),
    ]
    notes = (
        f"Counts below {SUPPRESS_BELOW} are shown as <{SUPPRESS_BELOW} so that no one can be singled out.",
        "Parity compares each resident group's share of patrol minutes with its share of the population; "
        "it describes where patrols went, not who was stopped (docs/civil-rights.md).",
        "Concentration compares the residents of the 5 % of neighbourhoods that issued lists sent the most patrol "
        "minutes to with those of the neighbourhoods around the median and of those never targeted; a ratio above "
        f"{CONCENTRATION_FLAG} is flagged for review. It describes residents of areas, not the people patrols met.",
        "Accuracy is out of sample: each weekly forecast of a rolling-origin backtest is fitted only on incidents "
        "known before its week and scored on that week's reported incidents. PAI is the share of incidents in the "
        "flagged cells over the share of the area flagged (1 = no better than chance); PEI is the share of the "
        "incidents the best possible choice of as many cells would have caught (1 = perfect).",
    )
    return TransparencyReport(agency.code, agency.name, request.label, tuple(rows), notes)


def default_year(today: dt.date) -> int:
    """The year a report defaults to: the current one."""
    return today.year
