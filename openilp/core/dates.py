"""The one parser of calendar days in requests: ``YYYY-MM-DD`` within the years OpenILP can compute with.

Python's dates run from 0001-01-01 to 9999-12-31, but a workflow adds days, weeks and periods to
the day it is given (the day after a ``date_to``, a baseline before an ``as_of``), so the last and
the first representable days overflow somewhere inside it. Every request's day goes through
:func:`parse_day` (text) or :func:`check_day` (a date already parsed by a shell), which refuse a day
outside :data:`FIRST_DAY` … :data:`LAST_DAY` with :class:`~openilp.errors.InvalidRequest` (400)
naming the field.

>>> parse_day("2019-07-01", "as_of")
datetime.date(2019, 7, 1)
>>> parse_day("", "as_of") is None
True
>>> parse_day("9999-12-31", "date_to")
Traceback (most recent call last):
...
openilp.errors.InvalidRequest: date_to must be a day from 1900-01-01 to 2199-12-31, got '9999-12-31'
>>> parse_day("31/12/2019", "date_to")
Traceback (most recent call last):
...
openilp.errors.InvalidRequest: date_to must be a date written YYYY-MM-DD (like 2019-07-01), got '31/12/2019'
"""

from __future__ import annotations

import datetime as dt

from openilp.errors import InvalidRequest

__all__ = ["FIRST_DAY", "LAST_DAY", "parse_day", "check_day", "require_day"]

#: The first day a request may name (older records than this are not crime data).
FIRST_DAY = dt.date(1900, 1, 1)
#: The last day a request may name (far enough for retention dates and agreements).
LAST_DAY = dt.date(2199, 12, 31)

#: Echoed input is cut to this many characters.
_ECHO_CHARS = 40


def _echo(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= _ECHO_CHARS else text[:_ECHO_CHARS] + "…")


def check_day(day: dt.date | None, name: str) -> dt.date | None:
    """``day`` unchanged when it lies in :data:`FIRST_DAY` … :data:`LAST_DAY` (or is None), else InvalidRequest.

    A ``datetime`` is checked by its date.

    >>> check_day(dt.date(2024, 2, 29), "as_of")
    datetime.date(2024, 2, 29)
    """
    if day is None:
        return None
    as_date = day.date() if isinstance(day, dt.datetime) else day
    if not FIRST_DAY <= as_date <= LAST_DAY:
        raise InvalidRequest(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY}, got {_echo(as_date.isoformat())}")
    return day


def parse_day(value: dt.date | str | None, name: str) -> dt.date | None:
    """A calendar day from a date or ``YYYY-MM-DD`` text; None or blank text gives None.

    Raises :class:`~openilp.errors.InvalidRequest` naming ``name`` for malformed text and for a day
    outside :data:`FIRST_DAY` … :data:`LAST_DAY`.
    """
    if value is None:
        return None
    if isinstance(value, dt.date):
        return check_day(value, name)
    text = str(value).strip()
    if not text:
        return None
    if len(text) != 10:
        raise InvalidRequest(f"{name} must be a date written YYYY-MM-DD (like 2019-07-01), got {_echo(text)}")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date written YYYY-MM-DD (like 2019-07-01), got {_echo(text)}") from None
    return check_day(day, name)


def require_day(value: dt.date | str | None, name: str) -> dt.date:
    """:func:`parse_day` for a day that must be given.

    >>> require_day("2020-01-31", "valid_to")
    datetime.date(2020, 1, 31)
    """
    day = parse_day(value, name)
    if day is None:
        raise InvalidRequest(f"{name} is required: a date written YYYY-MM-DD (like 2019-07-01)")
    return day
