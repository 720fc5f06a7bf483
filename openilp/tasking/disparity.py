"""Disparity check of a deployment list: who is exposed to the extra patrols?

For each demographic group ``g`` of the residents (e.g. race by neighbourhood, from the census):

* **exposure share** ``E_g``: patrol minutes weighted by the group's share of each neighbourhood's
  residents, ``Σ_n m_n · pop_{g,n} / pop_n`` over ``Σ_n m_n`` (patrol in a neighbourhood without
  residents — a park — is reported separately and left out);
* **population share** ``P_g = Σ_n pop_{g,n} / Σ_n pop_n``;
* **reported-crime share** ``C_g``: reported crimes weighted the same way as the minutes.

The **exposure ratios** ``E_g / P_g`` (demographic parity; Mohler et al. 2018) and ``E_g / C_g``
(need-adjusted: exposure relative to where crime is reported) are flagged outside 0.8–1.25, the
four-fifths rule (assessment and civil-rights reference §3.10, checks 6 and 7).

**What it shows and what it cannot.** It is a safeguard, not a verdict. It measures the
residential composition of the places patrolled, not who is stopped; residents are not the people
present (commuters, visitors); areal-weighted census estimates have margins of error, large for
small neighbourhoods; reported crime reflects reporting and past enforcement, so parity with it can
still reproduce a bias in the data (Lum & Isaac 2016; Ensign et al. 2018). A flag calls for a human
review of the list (and perhaps a fairness constraint on it), not for automatic changes.

Demographic data are used here and only here: never as an input of a forecaster or of the plan.

>>> demo = pd.DataFrame({"id": [1, 2], "white": [900.0, 100.0], "black": [100.0, 900.0]}).set_index("id")
>>> report = disparity_check({1: 30, 2: 90}, {1: 10, 2: 30}, demo)
>>> [(g.group, round(g.exposure_share, 3), g.population_ratio_flag) for g in report.groups]
[('white', 0.3, True), ('black', 0.7, True)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GroupDisparity", "DisparityReport", "disparity_check", "read_demographics"]

LOWER, UPPER = 0.8, 1.25


@dataclass(frozen=True)
class GroupDisparity:
    group: str
    exposure_share: float
    population_share: float
    crime_share: float
    exposure_to_population: float
    exposure_to_crime: float
    population_ratio_flag: bool
    crime_ratio_flag: bool


@dataclass
class DisparityReport:
    groups: list[GroupDisparity]
    patrol_minutes: float
    minutes_without_residents: float
    minutes_outside_neighbourhoods: float
    band: tuple[float, float] = (LOWER, UPPER)
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(g.population_ratio_flag or g.crime_ratio_flag for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "band": list(self.band),
            "patrol_minutes": self.patrol_minutes,
            "minutes_without_residents": self.minutes_without_residents,
            "minutes_outside_neighbourhoods": self.minutes_outside_neighbourhoods,
            "groups": [
                {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(g).items()}
                for g in self.groups
            ],
            "notes": self.notes,
        }


def read_demographics(
    path: str | Path,
    *,
    id_column: str,
    group_columns: Sequence[str],
    population_path: str | Path | None = None,
    population_column: str | None = None,
    other_group: str = "other",
) -> pd.DataFrame:
    """Residents by group and neighbourhood from a CSV given by the caller, indexed by neighbourhood id.

    With ``population_path`` and ``population_column`` (a total population file keyed by the same
    id), residents not in ``group_columns`` form the group ``other_group``.
    """
    frame = pd.read_csv(path)
    missing = [c for c in [id_column, *group_columns] if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: no column(s) {', '.join(missing)}")
    groups = frame.set_index(id_column)[list(group_columns)].astype(float).clip(lower=0)
    if population_path is not None and population_column is not None:
        total = pd.read_csv(population_path).set_index(id_column)[population_column].astype(float)
        groups[other_group] = (total.reindex(groups.index) - groups.sum(axis=1)).clip(lower=0).fillna(0)
    return groups


def disparity_check(
    minutes_by_area: Mapping[Any, float],
    crimes_by_area: Mapping[Any, float],
    residents: pd.DataFrame,
    *,
    band: tuple[float, float] = (LOWER, UPPER),
) -> DisparityReport:
    """Exposure, population and reported-crime shares per group, with the ratio flags.

    Parameters
    ----------
    minutes_by_area : mapping
        Patrol minutes per neighbourhood id (areas not in ``residents`` count as outside).
    crimes_by_area : mapping
        Reported crimes per neighbourhood id (the forecast's category, a reference period).
    residents : DataFrame
        Residents per group (columns) and neighbourhood id (index), from :func:`read_demographics`.
    """
    if residents.empty:
        raise ValueError("no demographic rows")
    population = residents.sum(axis=1)
    inhabited = population > 0
    shares = residents[inhabited].div(population[inhabited], axis=0)
    minutes = pd.Series(minutes_by_area, dtype=float)
    crimes = pd.Series(crimes_by_area, dtype=float)
    total_minutes = float(minutes.sum())
    outside = float(minutes[~minutes.index.isin(residents.index)].sum())
    empty = float(minutes[minutes.index.isin(population.index[~inhabited])].sum())
    m = minutes.reindex(shares.index).fillna(0.0)
    c = crimes.reindex(shares.index).fillna(0.0)
    notes = []
    if m.sum() == 0:
        notes.append("no patrol minutes fall in inhabited neighbourhoods")
    groups = []
    lo, hi = band
    for group in residents.columns:
        exposure = float((m * shares[group]).sum() / m.sum()) if m.sum() > 0 else math.nan
        pop_share = float(residents[group].sum() / population.sum())
        crime_share = float((c * shares[group]).sum() / c.sum()) if c.sum() > 0 else math.nan
        to_pop = exposure / pop_share if pop_share > 0 else math.nan
        to_crime = exposure / crime_share if crime_share and crime_share > 0 else math.nan
        groups.append(
            GroupDisparity(
                group=str(group),
                exposure_share=exposure,
                population_share=pop_share,
                crime_share=crime_share,
                exposure_to_population=to_pop,
                exposure_to_crime=to_crime,
                population_ratio_flag=bool(np.isfinite(to_pop) and not lo <= to_pop <= hi),
                crime_ratio_flag=bool(np.isfinite(to_crime) and not lo <= to_crime <= hi),
            )
        )
    return DisparityReport(
        groups=groups,
        patrol_minutes=total_minutes,
        minutes_without_residents=empty,
        minutes_outside_neighbourhoods=outside,
        band=band,
        notes=notes,
    )
