"""The patrol log: where issued deployment lists sent patrols, and the propensity of each place.

A row is written for every place of a deployment list when the list is **issued** (it passed every
civil-rights gate, or a supervisor's override released it), never for a held list: the log records
what patrols were actually sent. It feeds the audits that must use real deployments, not plans
re-made later: the concentration audit over a period of issued plans (who lives where patrols went
most, and never) and the propensity of a patrol being at a place, which Ensign et al.'s
inverse-propensity correction needs before a discovered incident may train a model.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from openilp.db.models import Base
from openilp.db.types import UTCDateTime

__all__ = ["PatrolLogEntry"]


class PatrolLogEntry(Base):
    """One place of one issued deployment list."""

    __tablename__ = "patrol_log"
    __table_args__ = (Index("ix_patrol_log_agency_day", "agency_id", "shift_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    #: The list's reference in the audit log (``create`` or ``override`` of the ``deployment_plan``).
    plan_reference: Mapped[str] = mapped_column(String(40), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: The shift's date (the agency's local day) and length.
    shift_day: Mapped[dt.date] = mapped_column(Date)
    shift_hours: Mapped[float] = mapped_column(Float)
    #: The forecasting method behind the list.
    method: Mapped[str] = mapped_column(String(40))
    #: The place: its grid cell (side ``cell_size_m``) and the cell centre in WGS84.
    cell_id: Mapped[int] = mapped_column(Integer)
    cell_size_m: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    #: The place's neighbourhood as named on the list ('' outside every polygon).
    neighbourhood: Mapped[str] = mapped_column(String(200), default="")
    #: Planned visits and minutes on scene over the shift.
    visits: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[float] = mapped_column(Float)
    #: The probability that a patrol is at the place at a random moment of the shift:
    #: minutes on scene ÷ shift minutes (at most 1).
    propensity: Mapped[float] = mapped_column(Float)
