"""Patrol propensities of discovered incidents, read from the patrol log (Ensign et al. 2018).

:func:`attach_patrol_propensities` (``openilp patrol-propensities``) gives every incident **discovered
by police** in a period that has no propensity yet the propensity of the places of the lists issued
for its local day (:func:`openilp.fairness.propensities_at`): the share of the shift patrol was sent
to the cell that holds it, ``0`` when that day's lists sent patrol elsewhere, and nothing when no list
was issued for the day. A forecaster may then train on discovered incidents with inverse-propensity
weights (``training="weighted"``), which it refuses while any of them lacks a propensity.

It never overwrites a propensity already recorded (imported with the incidents or attached before),
reads nothing about people (coordinates, times and the log only) and is audited as an ``update`` of
the agency's ``incident_propensities`` with its counts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, Incident
from openilp.fairness import propensities_at
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import check_period, reader_agency
from openilp.services.analysis.events import local_day_bounds
from openilp.services.analysis.patrol_log import issued_patrol

__all__ = ["PropensitiesAttached", "PropensityRequest", "attach_patrol_propensities"]

#: The longest period one call covers (days).
MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class PropensityRequest(Request):
    """The discovered incidents of the local days ``date_from`` to ``date_to`` (inclusive) of an agency."""

    agency_code: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def validate(self) -> PropensityRequest:
        check_period(self.date_from, self.date_to, max_days=MAX_PERIOD_DAYS)
        return self


@dataclass(frozen=True)
class PropensitiesAttached(Result):
    """How many discovered incidents of the period got a propensity, and why the others did not."""

    request: PropensityRequest
    #: Discovered incidents with a location in the period.
    discovered: int
    #: Of those, already holding a propensity (left as they were).
    already: int
    #: Given a propensity above zero: found where an issued list sent patrol that day.
    patrolled: int
    #: Given zero: lists were issued for that day, none sent patrol to the incident's place.
    outside_patrol: int
    #: Left without one: no list was issued for that day.
    no_list: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.request.agency_code,
            "date_from": str(self.request.date_from),
            "date_to": str(self.request.date_to),
            "discovered": self.discovered,
            "already": self.already,
            "patrolled": self.patrolled,
            "outside_patrol": self.outside_patrol,
            "no_list": self.no_list,
        }


def attach_patrol_propensities(
    core: OpenILP, actor: UserInfo | None, request: PropensityRequest
) -> PropensitiesAttached:
    """Attach propensities to the period's discovered incidents (module docstring); ``tasking:plan``
    for a signed-in actor, in one transaction, audited."""
    request = request.validate()
    code = reader_agency(core, actor, request.agency_code, "tasking:plan")
    request = dataclasses.replace(request, agency_code=code)
    assert request.date_from is not None and request.date_to is not None
    with Session(core.engine) as session:
        agency = session.scalars(select(Agency).where(Agency.code == code)).one()
        agency_id, timezone, crs = int(agency.id), agency.timezone, agency.crs
    log = issued_patrol(core.engine, agency_id, request.date_from, request.date_to)
    start, end = local_day_bounds(timezone, request.date_from, request.date_to)
    with core.unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(Incident.id, Incident.x_m, Incident.y_m, Incident.occurred_from, Incident.patrol_propensity).where(
                Incident.agency_id == agency_id,
                Incident.attention == "discovered",
                Incident.occurred_from >= start.to_pydatetime(),
                Incident.occurred_from < end.to_pydatetime(),
                Incident.x_m.is_not(None),
                Incident.y_m.is_not(None),
            )
        ).all()
        frame = pd.DataFrame(rows, columns=["id", "x_m", "y_m", "occurred_from", "propensity"])
        todo = frame[frame["propensity"].isna()]
        values = np.full(len(todo), np.nan)
        if len(todo) and len(log):
            to_metres = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
            cell_x, cell_y = to_metres.transform(log["lon"].to_numpy(dtype=float), log["lat"].to_numpy(dtype=float))
            # Stored times are UTC (naive or aware by driver): the shift day is the agency's local day.
            local_day = pd.to_datetime(todo["occurred_from"], utc=True).dt.tz_convert(timezone).dt.date
            values = propensities_at(
                todo["x_m"].to_numpy(dtype=float),
                todo["y_m"].to_numpy(dtype=float),
                np.array(local_day.tolist(), dtype="datetime64[D]"),
                cell_x=np.asarray(cell_x, dtype=float),
                cell_y=np.asarray(cell_y, dtype=float),
                cell_size_m=log["cell_size_m"].to_numpy(dtype=float),
                cell_day=np.array(log["shift_day"].tolist(), dtype="datetime64[D]"),
                propensity=log["propensity"].to_numpy(dtype=float),
            )
        known = ~np.isnan(values)
        for incident_id, value in zip(todo["id"].to_numpy()[known], values[known], strict=True):
            uow.session.execute(
                update(Incident).where(Incident.id == int(incident_id)).values(patrol_propensity=float(value))
            )
        result = PropensitiesAttached(
            request,
            discovered=len(frame),
            already=len(frame) - len(todo),
            patrolled=int((values[known] > 0).sum()),
            outside_patrol=int((values[known] == 0).sum()),
            no_list=int((~known).sum()),
        )
        uow.audit(
            action="update",
            object_type="incident_propensities",
            object_id=code,
            agency_id=agency_id,
            details=result.as_dict(),
        )
    return result
