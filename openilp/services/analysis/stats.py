"""Summary statistics of the store: counts by category and year, location coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select, text

from openilp.core import OpenILP, Request, Result, require
from openilp.db.models import Agency
from openilp.errors import NotFound, NotPermitted
from openilp.security.actors import UserInfo

__all__ = ["AgencyStats", "StatsRequest", "StoreStats", "store_stats"]


@dataclass(frozen=True)
class AgencyStats(Result):
    """Counts for one agency. Years are local calendar years of ``occurred_from``."""

    agency: str
    name: str
    incidents: int
    by_category: dict[str, int] = field(default_factory=dict)
    by_year: dict[str, int] = field(default_factory=dict)
    #: location_status -> count (located, missing, withheld, outside)
    locations: dict[str, int] = field(default_factory=dict)
    located_share: float = 0.0
    by_source: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The same as :meth:`as_dict` (kept for callers of the older name)."""
        return self.as_dict()


@dataclass(frozen=True)
class StatsRequest(Request):
    """``agency``: one agency's code, or None for every agency (the command line) or the actor's own.

    >>> StatsRequest(agency=" ").validate()
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: agency: give an agency code (e.g. SLMPD) or none for all
    """

    agency: str | None = None

    def validate(self) -> Self:
        require(
            self.agency is None or bool(self.agency.strip()), "agency: give an agency code (e.g. SLMPD) or none for all"
        )
        require(self.agency is None or len(self.agency) <= 32, "agency: at most 32 characters")
        return self


@dataclass(frozen=True)
class StoreStats(Result):
    """The counts of each agency asked for, ordered by agency code."""

    agencies: tuple[AgencyStats, ...]


def store_stats(core: OpenILP, actor: UserInfo | None, request: StatsRequest) -> StoreStats:
    """Counts by category, year (local time), location status and source, per agency.

    Without an actor (the command line) any agency, or all; a signed-in actor sees their own agency
    only. :class:`~openilp.errors.NotFound` names the agencies the store holds.
    """
    request = request.validate()
    wanted = request.agency.strip() if request.agency else None
    if actor is not None:
        if not actor.can("incidents:read"):
            raise NotPermitted("your role does not permit reading incidents")
        if wanted not in (None, actor.agency_code):
            raise NotPermitted("you may see the counts of your own agency only")
        wanted = actor.agency_code
    with core.unit_of_work(actor) as uow:
        session = uow.session
        query = select(Agency).order_by(Agency.code)
        if wanted:
            query = query.where(Agency.code == wanted)
        agencies = list(session.scalars(query))
        if wanted and not agencies:
            known = ", ".join(session.scalars(select(Agency.code).order_by(Agency.code))) or "none yet"
            raise NotFound(f"unknown agency {wanted!r}; agencies in the store: {known}")
        results = []
        for agency in agencies:
            frame = pd.read_sql_query(
                text(
                    "SELECT source, COALESCE(category_code, '(unmapped)') AS category, location_status, "
                    "occurred_from FROM incidents WHERE agency_id = :a"
                ),
                session.connection(),
                params={"a": agency.id},
            )
            if not len(frame):
                results.append(AgencyStats(agency=agency.code, name=agency.name, incidents=0))
                continue
            occurred = pd.to_datetime(frame["occurred_from"]).dt.tz_localize("UTC")
            years = occurred.dt.tz_convert(ZoneInfo(agency.timezone)).dt.year
            locations = {str(k): int(v) for k, v in frame["location_status"].value_counts().items()}
            results.append(
                AgencyStats(
                    agency=agency.code,
                    name=agency.name,
                    incidents=len(frame),
                    by_category={str(k): int(v) for k, v in frame["category"].value_counts().items()},
                    by_year={str(k): int(v) for k, v in years.value_counts().sort_index().items()},
                    locations=locations,
                    located_share=locations.get("located", 0) / len(frame),
                    by_source={str(k): int(v) for k, v in frame["source"].value_counts().items()},
                )
            )
    return StoreStats(tuple(results))
