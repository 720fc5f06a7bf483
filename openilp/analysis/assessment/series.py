"""Assessment windows and weekly count series of the treated and comparison areas.

Weeks are anchored at the response start, so the pre/post boundary is a week boundary; weeks that
are cut by the edges of the windows are left out of the weekly series (the window totals use
every day). The long panel built by :func:`weekly_panel` feeds
:func:`~openilp.analysis.assessment.did.poisson_did`.

>>> import datetime as dt
>>> w = AssessmentWindows(dt.date(2019, 1, 1), dt.date(2019, 7, 1), dt.date(2019, 12, 31))
>>> w.pre_days, w.post_days
(181, 184)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["AssessmentWindows", "window_counts", "weekly_counts", "weekly_panel"]


@dataclass(frozen=True)
class AssessmentWindows:
    """Baseline ``[pre_start, response_start)`` and response ``[response_start, response_end]`` (local dates)."""

    pre_start: dt.date
    response_start: dt.date
    response_end: dt.date

    def __post_init__(self) -> None:
        if self.pre_start is None or self.response_start is None or self.response_end is None:
            raise ValueError("a response needs a period: give the baseline start, the response start and its end")
        if not self.pre_start < self.response_start:
            raise ValueError(
                f"the baseline must start before the response: {self.pre_start} is not before {self.response_start}"
            )
        if not self.response_start <= self.response_end:
            raise ValueError(f"the response ends ({self.response_end}) before it starts ({self.response_start})")

    @property
    def pre_days(self) -> int:
        return (self.response_start - self.pre_start).days

    @property
    def post_days(self) -> int:
        return (self.response_end - self.response_start).days + 1

    def as_dict(self) -> dict[str, str | int]:
        return {
            "pre_start": self.pre_start.isoformat(),
            "response_start": self.response_start.isoformat(),
            "response_end": self.response_end.isoformat(),
            "pre_days": self.pre_days,
            "post_days": self.post_days,
        }


def _days(times: ArrayLike) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(np.asarray(times)))
    return stamps.dt.normalize().to_numpy(dtype="datetime64[D]")


def window_counts(
    times: ArrayLike, masks: Mapping[str, ArrayLike], windows: AssessmentWindows
) -> dict[str, tuple[int, int]]:
    """``(pre, post)`` counts of the events in each area (``masks``: area name → boolean per event).

    ``times`` are local date-times (or dates) of the events.
    """
    day = _days(times)
    pre = (day >= np.datetime64(windows.pre_start)) & (day < np.datetime64(windows.response_start))
    post = (day >= np.datetime64(windows.response_start)) & (day <= np.datetime64(windows.response_end))
    result = {}
    for name, mask in masks.items():
        m = np.asarray(mask, dtype=bool)
        if len(m) != len(day):
            raise ValueError(f"mask {name!r} has {len(m)} entries for {len(day)} events")
        result[name] = (int(np.sum(m & pre)), int(np.sum(m & post)))
    return result


def weekly_counts(times: ArrayLike, masks: Mapping[str, ArrayLike], windows: AssessmentWindows) -> pd.DataFrame:
    """Whole-week counts per area, weeks anchored at the response start.

    Returns a frame indexed by ``week_start`` (dates) with one column per area and a boolean
    ``post`` column (the week starts on or after the response start).
    """
    day = _days(times)
    start = np.datetime64(windows.response_start)
    first_week = -(windows.pre_days // 7)
    last_week = windows.post_days // 7 - 1
    week = np.floor((day - start).astype(np.int64) / 7).astype(np.int64)
    weeks = np.arange(first_week, last_week + 1)
    inside = (week >= first_week) & (week <= last_week)
    data: dict[str, np.ndarray] = {}
    for name, mask in masks.items():
        m = np.asarray(mask, dtype=bool) & inside
        data[name] = np.bincount(week[m] - first_week, minlength=len(weeks)).astype(np.int64)
    index = pd.Index([windows.response_start + dt.timedelta(days=7 * int(k)) for k in weeks], name="week_start")
    frame = pd.DataFrame(data, index=index)
    frame["post"] = weeks >= 0
    return frame


def weekly_panel(weekly: pd.DataFrame, treated: Sequence[str], comparison: Sequence[str]) -> pd.DataFrame:
    """Long panel (``unit``, ``period``, ``count``, ``treated``, ``post``) from :func:`weekly_counts`."""
    missing = [name for name in [*treated, *comparison] if name not in weekly.columns]
    if missing:
        raise ValueError(f"no weekly series for {missing}")
    rows = []
    for name in [*treated, *comparison]:
        rows.append(
            pd.DataFrame(
                {
                    "unit": name,
                    "period": np.arange(len(weekly)),
                    "count": weekly[name].to_numpy(),
                    "treated": name in treated,
                    "post": weekly["post"].to_numpy(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
