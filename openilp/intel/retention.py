"""Retention arithmetic (28 CFR 23.20(h); LEIU File Guidelines for temporary files).

A criminal intelligence record is kept at most **five years** from its approval or its latest
validation; a temporary working file at most **one year**. Review tasks come due
:data:`REVIEW_NOTICE_DAYS` days before the end, so a reviewer can validate in time. All times are
timezone-aware UTC.

>>> import datetime as dt
>>> approved = dt.datetime(2020, 2, 29, 12, tzinfo=dt.UTC)
>>> retention_end(approved, "permanent")
datetime.datetime(2025, 2, 28, 12, 0, tzinfo=datetime.timezone.utc)
>>> retention_end(approved, "temporary")
datetime.datetime(2021, 2, 28, 12, 0, tzinfo=datetime.timezone.utc)
>>> retention_end(approved, "permanent", requested_days=30)
datetime.datetime(2020, 3, 30, 12, 0, tzinfo=datetime.timezone.utc)
>>> review_due_at(dt.datetime(2025, 2, 28, tzinfo=dt.UTC)).date()
datetime.date(2024, 11, 30)
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "MAX_RETENTION_YEARS",
    "TEMPORARY_RETENTION_YEARS",
    "REVIEW_NOTICE_DAYS",
    "add_years",
    "retention_end",
    "review_due_at",
]

#: Longest retention period of criminal intelligence, in years (23.20(h)).
MAX_RETENTION_YEARS = 5
#: Longest retention of a temporary working file, in years (LEIU).
TEMPORARY_RETENTION_YEARS = 1
#: A review task comes due this many days before retention ends.
REVIEW_NOTICE_DAYS = 90


def add_years(moment: dt.datetime, years: int) -> dt.datetime:
    """``moment`` plus whole calendar years; 29 February becomes 28 February (never later)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def retention_end(start: dt.datetime, file_type: str, requested_days: int | None = None) -> dt.datetime:
    """When retention ends for a record approved or validated at ``start``.

    ``requested_days`` shortens the period (a reviewer may choose less); it can never lengthen it
    beyond 5 years (permanent) or 1 year (temporary).
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    years = TEMPORARY_RETENTION_YEARS if file_type == "temporary" else MAX_RETENTION_YEARS
    limit = add_years(start, years)
    if requested_days is None:
        return limit
    if requested_days < 1:
        raise ValueError("a retention period must be at least one day")
    return min(limit, start + dt.timedelta(days=requested_days))


def review_due_at(expires_at: dt.datetime, notice_days: int = REVIEW_NOTICE_DAYS) -> dt.datetime:
    """When the review task for a record expiring at ``expires_at`` comes due."""
    return expires_at - dt.timedelta(days=notice_days)
