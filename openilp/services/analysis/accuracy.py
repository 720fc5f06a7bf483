"""Measured out-of-sample accuracy of the forecasting models, kept in the audit log for publication.

Every rolling-origin backtest (:func:`openilp.services.analysis.forecasting.run_backtest`: ``openilp
backtest``) is recorded in the audit log, one entry per method (``backtest`` of the
``forecast_model`` ``AGENCY/method``), with its protocol (categories, evaluation span, horizon, cell
size, history, the number of weekly forecasts) and the mean PAI and PEI at 1, 2 and 5 % of the area.
Each forecast of a rolling-origin backtest is fitted only on incidents known before its period
starts, so these are **out-of-sample** measures; the in-sample ceiling (``--oracle``) is never
recorded. The public transparency report (:mod:`openilp.services.transparency`) publishes, for each
model behind the period's plans, the latest run recorded before the period ends
(:func:`latest_accuracy`), and says so when none was.

>>> accuracy_cell({"pai@0.01": 4.213, "pai@0.02": 3.1, "pai@0.05": 2.25, "pei@0.01": 0.41})
'PAI 4.21 at 1 %, 3.10 at 2 %, 2.25 at 5 %; PEI 0.41 at 1 %'
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.analysis.backtest import BacktestResult
from openilp.core import OpenILP
from openilp.db.models import Agency, AuditEntry
from openilp.security.actors import UserInfo

__all__ = [
    "PUBLISHED_COVERAGES",
    "RecordedAccuracy",
    "accuracy_cell",
    "latest_accuracy",
    "record_backtest",
    "recorded_in_span",
]

#: Shares of the area at which accuracy is published (PAI and PEI at 1, 2 and 5 %).
PUBLISHED_COVERAGES = (0.01, 0.02, 0.05)


@dataclass(frozen=True)
class RecordedAccuracy:
    """One recorded backtest of one method: its protocol and its mean out-of-sample scores."""

    method: str
    categories: tuple[str, ...]
    date_from: str
    date_to: str
    horizon_days: int
    periods: int
    metrics: Mapping[str, float]
    recorded_at: dt.datetime

    @property
    def protocol(self) -> str:
        return (
            f"rolling-origin backtest of {', '.join(self.categories)}: {self.periods} forecasts of "
            f"{self.horizon_days} days from {self.date_from} to {self.date_to}, each fitted before its period"
        )


def _number(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}"


def accuracy_cell(metrics: Mapping[str, float]) -> str:
    """The published text of ``metrics`` (``pai@0.01`` ... ``pei@0.05``; missing ones left out)."""
    parts = []
    for name in ("pai", "pei"):
        values = [
            f"{_number(metrics[f'{name}@{c:g}'])} at {c * 100:g} %"
            for c in PUBLISHED_COVERAGES
            if f"{name}@{c:g}" in metrics
        ]
        if values:
            parts.append(f"{name.upper()} {', '.join(values)}")
    return "; ".join(parts)


def record_backtest(
    core: OpenILP, actor: UserInfo | None, agency_code: str, protocol: Mapping[str, Any], result: BacktestResult
) -> None:
    """Write one ``backtest`` entry per method of ``result`` to the audit log (module docstring).

    ``protocol``: what the run was (categories, date_from, date_to, horizon_days, cell_size_m,
    history_days), recorded beside the scores.
    """
    summary = result.summary()
    wanted = {f"{m}@{c:g}" for m in ("pai", "pei") for c in PUBLISHED_COVERAGES}
    periods = int(result.scores["origin"].nunique()) if len(result.scores) else 0
    with core.unit_of_work(actor) as uow:
        agency_id = uow.session.scalars(select(Agency.id).where(Agency.code == agency_code)).one()
        for method in result.methods:
            rows = summary[(summary["method"] == method) & summary["metric"].isin(wanted)]
            metrics: dict[str, float | None] = {}
            for metric, mean in zip(rows["metric"], rows["mean"].astype(float), strict=True):
                metrics[str(metric)] = round(float(mean), 4) if math.isfinite(float(mean)) else None
            uow.audit(
                action="backtest",
                object_type="forecast_model",
                object_id=f"{agency_code}/{method}",
                agency_id=int(agency_id),
                details={
                    **{k: (list(v) if isinstance(v, tuple) else v) for k, v in protocol.items()},
                    "periods": periods,
                    "protocol": "rolling-origin, out-of-sample",
                    "metrics": metrics,
                },
            )


def latest_accuracy(session: Session, agency: Agency, method: str, before: dt.datetime) -> RecordedAccuracy | None:
    """The newest backtest of ``method`` recorded for ``agency`` before ``before`` (naive UTC), or None."""
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "backtest",
            AuditEntry.object_type == "forecast_model",
            AuditEntry.agency_id == agency.id,
            AuditEntry.object_id == f"{agency.code}/{method}",
            AuditEntry.occurred_at < before,
        )
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).all()
    if not entries:
        return None
    return _recorded(entries[0], method)


def _recorded(entry: AuditEntry, method: str) -> RecordedAccuracy:
    details: dict[str, Any] = json.loads(entry.details or "{}")
    metrics = {k: (math.nan if v is None else float(v)) for k, v in (details.get("metrics") or {}).items()}
    return RecordedAccuracy(
        method=method,
        categories=tuple(details.get("categories") or ()),
        date_from=str(details.get("date_from", "")),
        date_to=str(details.get("date_to", "")),
        horizon_days=int(details.get("horizon_days", 7)),
        periods=int(details.get("periods", 0)),
        metrics=metrics,
        recorded_at=entry.occurred_at,
    )


def recorded_in_span(session: Session, agency: Agency, first: dt.date, last: dt.date) -> list[RecordedAccuracy]:
    """The newest recorded backtest of each method and categories whose forecasts all lie in ``[first, last]``.

    Where :func:`latest_accuracy` asks what was *known* before a moment (the recording time), this
    asks what was *measured* on a span of the data (the backtest's own first and last day), e.g. the
    forecasts of one year for a strategic assessment. Sorted by method, then categories.
    """
    prefix = f"{agency.code}/"
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "backtest",
            AuditEntry.object_type == "forecast_model",
            AuditEntry.agency_id == agency.id,
        )
        .order_by(AuditEntry.seq.desc())
    ).all()
    newest: dict[tuple[str, tuple[str, ...]], RecordedAccuracy] = {}
    for entry in entries:
        method = str(entry.object_id or "").removeprefix(prefix)
        recorded = _recorded(entry, method)
        try:
            span = dt.date.fromisoformat(recorded.date_from), dt.date.fromisoformat(recorded.date_to)
        except ValueError:
            continue
        if first <= span[0] and span[1] <= last:
            newest.setdefault((method, recorded.categories), recorded)
    return [newest[key] for key in sorted(newest)]
