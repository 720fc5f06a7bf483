"""Purge of event locations a set time after the event ends (``deconfliction_purge_after_h``).

A planned operation's place says where officers were and whom they watched; once the event is
over it is no longer needed to keep anyone safe. After ``deconfliction_purge_after_h`` hours (72 by
default) its centre, polygon, search box, grid cells and address are erased and ``location_purged_at`` is set;
an event still open is ended. The event's type, window, agency, contact and conflicts stay, so the
watch-centre record of who was told what is kept. Each purge that erases anything is audited with
the number of events (``deconfliction_locations_purged``).

The purge runs before every submission (cheap: an indexed update) and on demand
(``openilp deconflict purge``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openilp.core.contract import Result

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.core.unit_of_work import UnitOfWork

__all__ = ["LocationsPurged", "purge_event_locations", "purge_locations"]


def purge_locations(uow: UnitOfWork, after_hours: int) -> int:
    """Erase the locations of events that ended more than ``after_hours`` ago; the number erased."""
    from sqlalchemy import case, delete, select, update

    from openilp.db.deconfliction_models import DeconflictionCell
    from openilp.db.deconfliction_models import DeconflictionEvent as E

    cutoff = uow.now - dt.timedelta(hours=max(after_hours, 0))
    due = select(E.id).where(E.ends_at < cutoff, E.location_purged_at.is_(None)).scalar_subquery()
    uow.session.execute(
        delete(DeconflictionCell)
        .where(DeconflictionCell.event_id.in_(due))
        .execution_options(synchronize_session=False)
    )
    result = uow.session.execute(
        update(E)
        .where(E.ends_at < cutoff, E.location_purged_at.is_(None))
        .values(
            lon=None,
            lat=None,
            polygon=None,
            min_lon=None,
            min_lat=None,
            max_lon=None,
            max_lat=None,
            address="",
            location_purged_at=uow.now,
            status=case((E.status == "active", "ended"), else_=E.status),
        )
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        uow.audit(
            action="deconfliction_locations_purged",
            object_type="deconfliction_event",
            details={"events": count, "ended_before": cutoff.isoformat(), "after_hours": after_hours},
        )
    return count


@dataclass(frozen=True)
class LocationsPurged(Result):
    events: int


def purge_event_locations(core: OpenILP) -> LocationsPurged:
    """Run the purge now (the operator's command; see the module notes)."""
    with core.unit_of_work(None) as uow:
        count = purge_locations(uow, core.settings.deconfliction_purge_after_h)
    return LocationsPurged(events=count)
