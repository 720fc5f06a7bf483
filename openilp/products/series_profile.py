"""What a tactical bulletin says about a crime series: its MO summary and what officers should look for.

A pure function over the series' incidents (one row each, times already in local time): what was
done (offence descriptions), when (days of the week, time of day where the record has a time),
where (the spread around the centre, the neighbourhoods and blocks) and at what pace (the median gap
between consecutive incidents). Nothing is inferred beyond the records: an incident recorded with a
date only, or with a window longer than :data:`EXACT_WINDOW_HOURS`, has no time of day, and is
counted as such.

>>> import pandas as pd
>>> members = pd.DataFrame({
...     "occurred_local": pd.to_datetime(["2019-05-06 10:15", "2019-05-09 11:40", "2019-05-13 09:05"]),
...     "window_hours": [0.0, 0.0, 0.0],
...     "offence_description": ["BURGLARY-RESIDENCE/FORCE", "BURGLARY-RESIDENCE/FORCE", "BURGLARY-RESIDENCE/NO FORCE"],
...     "x_m": [0.0, 300.0, 0.0], "y_m": [0.0, 0.0, 400.0],
...     "neighbourhood": ["Tower Grove", "Tower Grove", "Shaw"],
...     "block_address": ["3700 BLOCK A ST", "3800 BLOCK A ST", "3700 BLOCK B ST"],
... })
>>> profile = series_profile(members)
>>> profile.offences[0], profile.time_bands["06:00–12:00"], profile.median_gap_days
(('BURGLARY-RESIDENCE/FORCE', 2), 3, 3.5)
>>> round(profile.radius_m)
285
>>> look_for(profile)[0]
'Offence: BURGLARY-RESIDENCE/FORCE (2 of 3), BURGLARY-RESIDENCE/NO FORCE (1 of 3).'
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass

import pandas as pd

__all__ = ["EXACT_WINDOW_HOURS", "TIME_BANDS", "WEEKDAYS", "SeriesProfile", "look_for", "series_profile"]

#: A record whose window is at most this long (hours) has a time of day; longer windows do not.
EXACT_WINDOW_HOURS = 3.0
#: Time-of-day bands (local time), in order.
TIME_BANDS = ("00:00–06:00", "06:00–12:00", "12:00–18:00", "18:00–24:00")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class SeriesProfile:
    """The MO summary of a series (counts over its incidents)."""

    incidents: int
    first: dt.datetime
    last: dt.datetime
    #: (offence description, count), most common first.
    offences: tuple[tuple[str, int], ...]
    #: Weekday name → incidents that began that day (local).
    weekdays: dict[str, int]
    #: Time band → incidents with a time of day in it; incidents without one are in ``no_time``.
    time_bands: dict[str, int]
    no_time: int
    #: Median days between consecutive incidents (None with fewer than two).
    median_gap_days: float | None
    #: Largest distance of an incident from the series' centre, metres.
    radius_m: float
    centre_x_m: float
    centre_y_m: float
    #: (neighbourhood, count), most common first.
    neighbourhoods: tuple[tuple[str, int], ...]
    #: (block, count), most common first.
    blocks: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "incidents": self.incidents,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "offences": [list(o) for o in self.offences],
            "weekdays": dict(self.weekdays),
            "time_bands": dict(self.time_bands),
            "no_time": self.no_time,
            "median_gap_days": self.median_gap_days,
            "radius_m": round(self.radius_m, 1),
            "neighbourhoods": [list(n) for n in self.neighbourhoods],
            "blocks": [list(b) for b in self.blocks],
        }


def _counted(values: pd.Series) -> tuple[tuple[str, int], ...]:
    counts = Counter(str(v) for v in values.dropna() if str(v).strip())
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def series_profile(members: pd.DataFrame) -> SeriesProfile:
    """The MO summary of the incidents in ``members``.

    Columns: ``occurred_local`` (naive local start), ``window_hours`` (length of the recorded window,
    0 for an exact time, 24 for a date-only record), ``offence_description``, ``x_m``/``y_m``
    (projected metres), ``neighbourhood`` and ``block_address``.
    """
    if members.empty:
        raise ValueError("a series profile needs at least one incident")
    start = pd.to_datetime(members["occurred_local"])
    timed = members["window_hours"].astype(float) <= EXACT_WINDOW_HOURS
    bands = {band: 0 for band in TIME_BANDS}
    for when in start[timed]:
        bands[TIME_BANDS[min(int(when.hour) // 6, 3)]] += 1
    weekdays = {day: 0 for day in WEEKDAYS}
    for when in start:
        weekdays[WEEKDAYS[int(when.weekday())]] += 1
    ordered = start.sort_values()
    gaps = ordered.diff().dropna().dt.total_seconds() / 86_400.0
    x = members["x_m"].astype(float)
    y = members["y_m"].astype(float)
    cx, cy = float(x.mean()), float(y.mean())
    radius = float(((x - cx) ** 2 + (y - cy) ** 2).pow(0.5).max())
    return SeriesProfile(
        incidents=len(members),
        first=ordered.iloc[0].to_pydatetime(),
        last=ordered.iloc[-1].to_pydatetime(),
        offences=_counted(members["offence_description"]),
        weekdays=weekdays,
        time_bands=bands,
        no_time=int((~timed).sum()),
        median_gap_days=None if gaps.empty else round(float(gaps.median()), 1),
        radius_m=0.0 if math.isnan(radius) else radius,
        centre_x_m=cx,
        centre_y_m=cy,
        neighbourhoods=_counted(members["neighbourhood"]),
        blocks=_counted(members["block_address"]),
    )


def _top(counts: dict[str, int]) -> list[str]:
    best = max(counts.values(), default=0)
    return [name for name, count in counts.items() if count == best and best > 0]


def look_for(profile: SeriesProfile, *, centre: str = "the series' centre") -> list[str]:
    """The "what to look for" lines of a bulletin, each stated from the counts of ``profile``.

    ``centre`` names the point the spread is measured from in the "Where" line.
    """
    n = profile.incidents
    lines = []
    if profile.offences:
        shown = ", ".join(f"{name} ({count} of {n})" for name, count in profile.offences[:3])
        lines.append(f"Offence: {shown}.")
    timed = n - profile.no_time
    if timed:
        bands = _top(profile.time_bands)
        lines.append(
            f"Time: {' or '.join(bands)} ({profile.time_bands[bands[0]]} of the {timed} incidents with a recorded "
            f"time); {profile.no_time} recorded as a date or a longer window only."
        )
    else:
        lines.append(f"Time: none of the {n} incidents has a recorded time of day (dates or windows only).")
    days = _top(profile.weekdays)
    each = " each" if len(days) > 1 else ""
    lines.append(f"Days: {', '.join(days)} ({profile.weekdays[days[0]]} of {n}{each}).")
    where = ", ".join(name for name, _ in profile.neighbourhoods[:3]) or "no recorded neighbourhood"
    lines.append(f"Where: within {profile.radius_m:,.0f} m of {centre}; {where}.")
    if profile.median_gap_days is not None:
        lines.append(
            f"Pace: a median of {profile.median_gap_days:g} days between incidents; the last began "
            f"{profile.last:%Y-%m-%d %H:%M}."
        )
    return lines
