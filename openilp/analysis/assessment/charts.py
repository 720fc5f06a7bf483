"""Charts for assessment: the weekly series of the treated area with the response marked, and the
comparison areas beside it (matplotlib, written as PNG or SVG without a display).

Uses ``matplotlib.figure.Figure`` directly (no pyplot state), so charts can be drawn from worker
threads of the web app.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["AREA_LABELS", "save_figure", "weekly_series_chart"]

#: Display names of the standard assessment areas.
AREA_LABELS = {
    "target": "Response area (T)",
    "buffer": "Displacement buffer (D)",
    "control": "Control area (C)",
    "control_buffer": "Control buffer (Dc)",
}

_COLOURS = {"target": "#b2182b", "buffer": "#ef8a62", "control": "#2166ac", "control_buffer": "#67a9cf"}


def weekly_series_chart(
    weekly: pd.DataFrame,
    response_start: dt.date,
    response_end: dt.date,
    *,
    panels: Sequence[Sequence[str]] = (("target", "buffer"), ("control", "control_buffer")),
    labels: Mapping[str, str] | None = None,
    title: str = "",
    smooth_weeks: int = 8,
) -> Figure:
    """Weekly counts, one panel per group of areas, the response period shaded in every panel.

    A thin line shows each week; a thick line the centred ``smooth_weeks``-week moving average.
    Panels share the time axis but not the count axis (areas differ in size).
    """
    names = dict(AREA_LABELS)
    names.update(labels or {})
    groups = [[name for name in group if name in weekly.columns] for group in panels]
    groups = [group for group in groups if group]
    if not groups:
        raise ValueError("none of the requested areas has a weekly series")
    figure = Figure(figsize=(9, 2.6 * len(groups) + 0.6), layout="constrained")
    axes = figure.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    x = pd.to_datetime(pd.Series(weekly.index))
    for ax, group in zip(axes, groups, strict=True):
        period = (pd.Timestamp(response_start), pd.Timestamp(response_end))
        ax.axvspan(*period, color="#fee08b", alpha=0.5, label="Response period")
        for name in group:
            colour = _COLOURS.get(name)
            series = weekly[name].astype(float)
            ax.plot(x, series.to_numpy(), color=colour, linewidth=0.8, alpha=0.6)
            smooth = series.rolling(smooth_weeks, center=True, min_periods=max(1, smooth_weeks // 2)).mean()
            ax.plot(x, smooth.to_numpy(), color=colour, linewidth=2.2, label=names.get(name, name))
        ax.set_ylabel("crimes per week")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=3)
    if title:
        figure.suptitle(title, fontsize=11)
    axes[-1].set_xlabel(f"week (thin) and {smooth_weeks}-week moving average (thick)")
    return figure


def save_figure(figure: Figure, destination: str | Path | None = None, *, format: str = "png") -> bytes:
    """Render ``figure`` as PNG or SVG; write it to ``destination`` when given; return the bytes."""
    if format not in {"png", "svg"}:
        raise ValueError(f"charts are PNG or SVG, not {format!r}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=format, dpi=110, metadata={"Software": None} if format == "png" else {"Date": None})
    data = buffer.getvalue()
    if destination is not None:
        Path(destination).write_bytes(data)
    return data
