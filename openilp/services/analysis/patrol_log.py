"""The patrol log: the places of every issued deployment list, written when the list is issued.

:func:`log_issued_plan` is called by :func:`openilp.services.analysis.tasking.make_deployment` for a
list that passed every gate and by :func:`~openilp.services.analysis.tasking.override_deployment`
when a supervisor's override issues a held one, in the same transaction as the audit entry; a held
list is never logged. Each place's **propensity** is the share of the shift a patrol is planned to be
there (minutes on scene ÷ shift minutes, at most 1): the probability that patrol was at the place at a
random moment of the shift, the ``P`` of Ensign et al.'s (2018) inverse-propensity correction for
incidents discovered there. :func:`issued_patrol` reads the log back for the audits of real
deployments (the concentration audit, the live feedback check).

>>> place_propensity(minutes=60.0, shift_hours=8.0)
0.125
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openilp.db.patrol_models import PatrolLogEntry

__all__ = ["PATROL_COLUMNS", "issued_patrol", "log_issued_plan", "place_propensity"]

#: The columns of :func:`issued_patrol`'s frame.
PATROL_COLUMNS = (
    "plan_reference",
    "shift_day",
    "shift_hours",
    "method",
    "cell_id",
    "cell_size_m",
    "lon",
    "lat",
    "neighbourhood",
    "visits",
    "minutes",
    "propensity",
)


def place_propensity(*, minutes: float, shift_hours: float) -> float:
    """The share of a shift of ``shift_hours`` a patrol spends at a place it visits for ``minutes``."""
    if shift_hours <= 0:
        raise ValueError("the shift must last some time")
    return float(min(1.0, max(0.0, minutes / (shift_hours * 60.0))))


def log_issued_plan(
    session: Session,
    *,
    agency_id: int,
    reference: str,
    issued_at: dt.datetime,
    shift_day: dt.date,
    shift_hours: float,
    method: str,
    cell_size_m: float,
    places: Sequence[dict[str, Any]],
) -> int:
    """Write one row per place of an issued list (``places`` as on the list); returns how many."""
    for place in places:
        minutes = float(place["minutes_on_scene"])
        session.add(
            PatrolLogEntry(
                agency_id=agency_id,
                plan_reference=reference,
                issued_at=issued_at,
                shift_day=shift_day,
                shift_hours=float(shift_hours),
                method=method,
                cell_id=int(place["cell_id"]),
                cell_size_m=float(cell_size_m),
                lon=float(place["lon"]),
                lat=float(place["lat"]),
                neighbourhood=str(place.get("neighbourhood") or "")[:200],
                visits=int(place["visits"]),
                minutes=minutes,
                propensity=place_propensity(minutes=minutes, shift_hours=shift_hours),
            )
        )
    session.flush()
    return len(places)


def issued_patrol(engine: Engine, agency_id: int, day_from: dt.date, day_to: dt.date) -> pd.DataFrame:
    """The logged places of the agency's lists issued for shifts from ``day_from`` to ``day_to``
    (inclusive), one row per place (:data:`PATROL_COLUMNS`), oldest shift first."""
    columns = [getattr(PatrolLogEntry, c) for c in PATROL_COLUMNS]
    with Session(engine) as session:
        rows = session.execute(
            select(*columns)
            .where(
                PatrolLogEntry.agency_id == agency_id,
                PatrolLogEntry.shift_day >= day_from,
                PatrolLogEntry.shift_day <= day_to,
            )
            .order_by(PatrolLogEntry.shift_day, PatrolLogEntry.id)
        ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(PATROL_COLUMNS))
