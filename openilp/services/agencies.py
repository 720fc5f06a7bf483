"""Agencies: look-up and idempotent creation."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.models import Agency

__all__ = ["ensure_agency", "get_agency_by_code"]


def get_agency_by_code(session: Session, code: str) -> Agency | None:
    """The agency whose code is ``code`` (exact match), or None."""
    return session.scalars(select(Agency).where(Agency.code == code)).one_or_none()


def ensure_agency(session: Session, code: str, name: str, timezone: str, crs: str) -> Agency:
    """Return the agency ``code``, creating it when it does not exist yet.

    An existing agency is returned unchanged (its name, time zone and CRS are not overwritten).

    Parameters
    ----------
    code
        Short unique code, e.g. ``"SLMPD"`` (1–32 characters, no spaces).
    name
        Display name.
    timezone
        IANA time zone of the agency, e.g. ``"America/Chicago"``; local dates are read in it.
    crs
        Projected CRS in metres used for analysis, e.g. ``"EPSG:26996"``.

    Raises
    ------
    ValueError
        If the code is empty or has spaces, or the time zone is unknown.
    """
    code = code.strip()
    if not code or len(code) > 32 or any(ch.isspace() for ch in code):
        raise ValueError(f"agency code must be 1–32 characters without spaces, got {code!r}")
    existing = get_agency_by_code(session, code)
    if existing is not None:
        return existing
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r} (use an IANA name such as America/Chicago)") from exc
    agency = Agency(code=code, name=name, timezone=timezone, crs=crs)
    session.add(agency)
    session.flush()
    return agency
