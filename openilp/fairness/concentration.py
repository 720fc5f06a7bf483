"""The Markup's concentration audit: who lives where a model sends police most, and where never?

The Markup and Gizmodo (Sankin, Mehrotra, Mattu & Gilbertson 2021) joined 5.9 million PredPol
predictions to census block groups and compared the most-targeted block groups with the median and
with those never targeted: the most-targeted had several times higher Black and Latino shares. This
module computes that table for a period of OpenILP's plans (civil-rights reference §3.10, check 8):

* areas are ranked by how often (or how many minutes) they were targeted;
* **most targeted**: the top 5 % of areas by that count (at least one area, only areas targeted);
* **median**: the areas whose count lies between the 45th and 55th percentiles of all areas
  (at least the one at the median; when more than half were never targeted, of the targeted areas,
  with a note);
* **never targeted**: areas with a count of zero;

and for each set, the share of its residents in each group. The ratios most-targeted ÷ median and
never-targeted ÷ median are flagged above 1.25 (*policy default*), for publication and review.

>>> residents = pd.DataFrame({"a": [100.0, 50, 10, 90, 80], "b": [0.0, 50, 90, 10, 20]}, index=list("vwxyz"))
>>> table = concentration_table({"x": 30, "w": 5, "y": 4, "z": 1}, residents)
>>> [(r.group, round(r.most_targeted_share, 2), round(r.never_targeted_share, 2)) for r in table.rows]
[('a', 0.1, 1.0), ('b', 0.9, 0.0)]

Area-level data describe residents, not the people stopped or present; small areas have large
margins of error in census estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CONCENTRATION_FLAG", "ConcentrationRow", "ConcentrationTable", "concentration_table"]

#: A ratio to the median areas above this is flagged (policy default).
CONCENTRATION_FLAG = 1.25


@dataclass(frozen=True)
class ConcentrationRow:
    group: str
    most_targeted_share: float
    median_share: float
    never_targeted_share: float
    most_to_median: float
    never_to_median: float
    flagged: bool


@dataclass(frozen=True)
class ConcentrationTable:
    rows: list[ConcentrationRow]
    n_areas: int
    most_targeted: list[Any]
    median_areas: list[Any]
    never_targeted: list[Any]
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(r.flagged for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            return None if isinstance(value, float) and not math.isfinite(value) else value

        return {
            "flagged": self.flagged,
            "n_areas": self.n_areas,
            "most_targeted": [str(a) for a in self.most_targeted],
            "median_areas": [str(a) for a in self.median_areas],
            "never_targeted": len(self.never_targeted),
            "rows": [{k: clean(v) for k, v in asdict(r).items()} for r in self.rows],
            "notes": self.notes,
        }


def _shares(residents: pd.DataFrame, areas: list[Any]) -> pd.Series:
    chosen = residents.loc[[a for a in areas if a in residents.index]]
    total = float(chosen.to_numpy().sum())
    if total <= 0:
        return pd.Series(np.nan, index=residents.columns)
    return chosen.sum(axis=0) / total


def _ratio(a: float, b: float) -> float:
    return a / b if b and math.isfinite(a) and math.isfinite(b) and b > 0 else math.nan


def concentration_table(
    times_targeted: Mapping[Any, float],
    residents: pd.DataFrame,
    *,
    top_share: float = 0.05,
    flag_ratio: float = CONCENTRATION_FLAG,
) -> ConcentrationTable:
    """The concentration table (module docstring) of ``times_targeted`` per area.

    Parameters
    ----------
    times_targeted : mapping
        Area id → how often (or how many minutes) it was on a plan; areas of ``residents`` missing
        here count as never targeted.
    residents : DataFrame
        Residents per group (columns) and area id (index).
    top_share : float
        Share of areas counted as most targeted (The Markup: 5 %).
    """
    counts = pd.Series({a: float(times_targeted.get(a, 0.0)) for a in residents.index}, dtype=float)
    n = len(counts)
    notes: list[str] = []
    if n == 0:
        raise ValueError("no areas with residents")
    ordered = counts.sort_values(ascending=False, kind="stable")
    k = max(1, int(math.floor(top_share * n)))
    most = [a for a in ordered.index[:k] if ordered[a] > 0]
    low, high = np.percentile(counts.to_numpy(), [45, 55])
    if high <= 0 and (counts > 0).any():
        # Most areas were never targeted: the median area is a never-targeted one and the comparison
        # would be empty; compare with the median of the targeted areas instead, and say so.
        targeted = counts[counts > 0]
        low, high = np.percentile(targeted.to_numpy(), [45, 55])
        notes.append("more than half of the areas were never targeted: 'median' is the median of the targeted areas")
    median_areas = [a for a in counts.index if low <= counts[a] <= high]
    never = [a for a in counts.index if counts[a] == 0]
    if not most:
        notes.append("no area was targeted")
    most_s, median_s, never_s = _shares(residents, most), _shares(residents, median_areas), _shares(residents, never)
    rows = []
    for group in residents.columns:
        m, med, nv = float(most_s[group]), float(median_s[group]), float(never_s[group])
        to_median, never_ratio = _ratio(m, med), _ratio(nv, med)
        flagged = any(math.isfinite(r) and r > flag_ratio for r in (to_median, never_ratio))
        rows.append(ConcentrationRow(str(group), m, med, nv, to_median, never_ratio, flagged))
    return ConcentrationTable(rows, n, most, median_areas, never, notes)
