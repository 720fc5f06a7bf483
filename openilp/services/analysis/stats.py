"""Summary statistics of the store: counts by category and year, location coverage."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from openilp.db.models import Agency

__all__ = ["AgencyStats", "store_stats"]


@dataclass
class AgencyStats:
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

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def store_stats(engine: Engine, agency_code: str | None = None) -> list[AgencyStats]:
    """Counts by category, year (local time), location status and source, per agency."""
    with Session(engine) as session:
        query = select(Agency).order_by(Agency.code)
        if agency_code:
            query = query.where(Agency.code == agency_code)
        agencies = list(session.scalars(query))
        if agency_code and not agencies:
            known = ", ".join(session.scalars(select(Agency.code).order_by(Agency.code))) or "none yet"
            raise ValueError(f"unknown agency {agency_code!r}; agencies in the store: {known}")
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
            stats = AgencyStats(agency=agency.code, name=agency.name, incidents=len(frame))
            if len(frame):
                occurred = pd.to_datetime(frame["occurred_from"]).dt.tz_localize("UTC")
                years = occurred.dt.tz_convert(ZoneInfo(agency.timezone)).dt.year
                stats.by_category = {str(k): int(v) for k, v in frame["category"].value_counts().items()}
                stats.by_year = {str(k): int(v) for k, v in years.value_counts().sort_index().items()}
                stats.locations = {str(k): int(v) for k, v in frame["location_status"].value_counts().items()}
                stats.located_share = stats.locations.get("located", 0) / len(frame)
                stats.by_source = {str(k): int(v) for k, v in frame["source"].value_counts().items()}
            results.append(stats)
        return results
