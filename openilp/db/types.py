"""Column types shared by the models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "to_naive_utc"]


def to_naive_utc(value: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to naive UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A moment in time, stored as naive UTC on every backend and returned timezone-aware (UTC).

    Storing naive UTC keeps SQLite (no time zones) and PostgreSQL (``timestamp``) identical,
    so the bulk writers can format values once for both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return to_naive_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text written by the bulk writer
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC)
