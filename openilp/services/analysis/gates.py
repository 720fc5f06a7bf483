"""Civil-rights gates of a deployment list: what holds a plan back, and the recorded decisions that release it.

A plan made by :func:`openilp.services.analysis.tasking.make_deployment` is **issued** (its printable
list may go to the officers) only when it passes two gates (civil-rights reference §3.10, checks 2
and 6); otherwise it is **held**, and the audit log says why:

* **parity**: each resident group's share of the plan's patrol minutes against its share of the
  population (demographic parity; Mohler et al. 2018) must lie within 0.8–1.25 (the four-fifths
  rule). A plan outside it is issued only with a supervisor's recorded **override**, a written
  reason kept in the audit log (:func:`openilp.services.analysis.tasking.override_deployment`);
* **proxy**: the forecast's scores, averaged by neighbourhood, must not tell the neighbourhoods where a
  group is the majority from the others with an AUC (leakage) of 0.70 or more
  (:mod:`openilp.fairness.proxy`), unless a supervisor has recorded a written **justification** of the
  model for the agency within the last year (:func:`justify_model`). An override cannot release a
  plan held for proxy leakage: the model needs its justification first.

The need-adjusted parity (patrol against reported harm) is shown beside the plan, not gated: it
tells over-policing apart from need and is a supervisor's matter to weigh.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.constants import DEFAULT_FORECAST_METHOD
from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, AuditEntry
from openilp.errors import InvalidRequest
from openilp.fairness import ProxyAudit
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import check_forecast_methods, reader_agency
from openilp.tasking import DisparityReport

__all__ = [
    "JUSTIFICATION_VALID_DAYS",
    "MIN_WRITTEN_REASON",
    "JustificationResult",
    "JustifyRequest",
    "held_because",
    "justify_model",
    "latest_justification",
    "model_key",
]

#: A model's justification releases the proxy gate for this many days.
JUSTIFICATION_VALID_DAYS = 365
#: The shortest written reason accepted for an override or a justification (characters).
MIN_WRITTEN_REASON = 30


def model_key(agency_code: str, method: str) -> str:
    """The audit-log object id of an agency's forecasting model: ``AGENCY/method``.

    >>> model_key("SLMPD", "learned")
    'SLMPD/learned'
    """
    return f"{agency_code}/{method}"


def held_because(report: DisparityReport | None, proxy: ProxyAudit | None, *, justified: bool) -> list[dict[str, str]]:
    """The gates a plan with disparity ``report`` and forecast ``proxy`` audit fails (empty: it may be
    issued), each ``{"gate", "why"}``. ``justified``: whether the model has a current written
    justification (releases the proxy gate).
    """
    held: list[dict[str, str]] = []
    if report is not None:
        lo, hi = report.band
        outside = [g for g in report.groups if g.population_ratio_flag]
        if outside:
            ratios = ", ".join(f"{g.group} {g.exposure_to_population:.2f}" for g in outside)
            held.append(
                {
                    "gate": "parity",
                    "why": f"patrol share / population share outside {lo:g}-{hi:g} for {ratios}: "
                    "a supervisor's recorded override is needed to issue it",
                }
            )
    if proxy is not None and proxy.flagged and not justified:
        held.append(
            {
                "gate": "proxy",
                "why": f"the forecast's neighbourhood scores tell where {proxy.group} residents are the majority "
                f"with an AUC of {proxy.leakage:.2f} (threshold {proxy.threshold:.2f}): the model needs a "
                "supervisor's written justification before its plans can be issued",
            }
        )
    return held


def latest_justification(session: Session, agency_id: int, key: str, now: dt.datetime) -> str | None:
    """The newest justification of the model ``key`` recorded for the agency within
    :data:`JUSTIFICATION_VALID_DAYS` of ``now`` (its text), or None."""
    since = now - dt.timedelta(days=JUSTIFICATION_VALID_DAYS)
    entry = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "justify",
            AuditEntry.object_type == "forecast_model",
            AuditEntry.object_id == key,
            AuditEntry.agency_id == agency_id,
            AuditEntry.occurred_at >= since,
        )
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if entry is None:
        return None
    return str(json.loads(entry.details or "{}").get("justification", ""))


def check_written_reason(text: str, what: str) -> str:
    """The stripped reason, or InvalidRequest when it is too short to be a reason."""
    cleaned = " ".join(text.split())
    if len(cleaned) < MIN_WRITTEN_REASON:
        raise InvalidRequest(
            f"write the {what} in at least {MIN_WRITTEN_REASON} characters: it is kept in the audit log and "
            "counted in the public transparency report"
        )
    if len(cleaned) > 2_000:
        raise InvalidRequest(f"the {what} must fit in 2,000 characters")
    return cleaned


@dataclass(frozen=True)
class JustifyRequest(Request):
    """A supervisor's written justification of a forecasting model whose scores leak a demographic majority."""

    #: Agency code; empty = the signed-in user's agency.
    agency_code: str = ""
    method: str = DEFAULT_FORECAST_METHOD
    justification: str = ""

    def validate(self) -> JustifyRequest:
        check_forecast_methods([self.method])
        return dataclasses.replace(self, justification=check_written_reason(self.justification, "justification"))


@dataclass(frozen=True)
class JustificationResult(Result):
    model: str
    justified_by: str
    justified_at: str
    valid_until: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def justify_model(core: OpenILP, actor: UserInfo | None, request: JustifyRequest) -> JustificationResult:
    """Record a written justification of ``request.method`` for the agency (``tasking:override``:
    supervisors), audited as ``justify forecast_model AGENCY/method``; plans held only for proxy
    leakage may then be issued for :data:`JUSTIFICATION_VALID_DAYS` days."""
    request = request.validate()
    code = reader_agency(core, actor, request.agency_code, "tasking:override")
    key = model_key(code, request.method)
    with core.unit_of_work(actor) as uow:
        agency = uow.session.scalars(select(Agency).where(Agency.code == code)).one()
        uow.audit(
            action="justify",
            object_type="forecast_model",
            object_id=key,
            agency_id=agency.id,
            details={"justification": request.justification, "valid_days": JUSTIFICATION_VALID_DAYS},
        )
        now = uow.now
    return JustificationResult(
        model=key,
        justified_by=actor.username if actor is not None else "command line",
        justified_at=f"{now:%Y-%m-%d %H:%M} UTC",
        valid_until=str((now + dt.timedelta(days=JUSTIFICATION_VALID_DAYS)).date()),
    )
