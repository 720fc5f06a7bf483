"""A patrol plan for one shift following the Koper curve.

Koper (1995) found that the deterrent effect of a police stop at a hot spot grows with its length up
to about 10–15 minutes and levels off beyond; the Sacramento experiment (Telep, Mitchell & Weisburd
2014) applied it as 12–16-minute visits to each hot spot, in random order, at least once every two
hours, and reduced Part 1 crime. The plan here:

1. ranks places by forecast risk (ties by cell id); cells under an active near-repeat alert that the
   forecast would not have chosen are moved ahead, the riskiest first, taking up to
   ``max_alert_share`` of the places (rounded down) from the bottom of the forecast's list; alert
   cells the forecast chose anyway keep their rank; every place under an alert is marked ``alert``;
2. gives each chosen place ``visits = max(1, floor(shift_minutes / revisit_every_minutes))`` visits of
   ``visit_minutes`` (default 15), each costing ``visit_minutes + travel_minutes`` officer-minutes;
3. takes as many places as the budget of officer-minutes allows;
4. orders the visits in rounds (one per revisit interval), each round in a fresh random order
   (seeded), so that the timing of patrols is not predictable.

>>> plan = plan_deployment(np.array([5.0, 1.0, 4.0, 0.0]), officer_minutes=100, shift_hours=4,
...                        travel_minutes=5, cell_ids=np.arange(4))
>>> [p.cell_id for p in plan.places], plan.places[0].visits, plan.minutes_used
([0, 2], 2, 80)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["PlannedPlace", "DeploymentPlan", "plan_deployment"]


@dataclass(frozen=True)
class PlannedPlace:
    """One place of the plan and why it is there."""

    cell_id: int
    rank: int
    score: float
    visits: int
    minutes_on_scene: int
    reason: str
    #: Whether the cell is under an active near-repeat alert (moved ahead or not).
    alert: bool = False


@dataclass
class DeploymentPlan:
    """The places, the visit schedule and the budget arithmetic of one shift."""

    places: list[PlannedPlace]
    #: (round, position in round, cell_id, earliest start minute of the round since the shift start).
    schedule: list[tuple[int, int, int, int]]
    officer_minutes: float
    minutes_used: int
    visit_minutes: int
    travel_minutes: int
    shift_hours: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "places": [asdict(p) for p in self.places],
            "schedule": [
                {"round": r, "order": o, "cell_id": c, "round_starts_minute": m} for r, o, c, m in self.schedule
            ],
            "officer_minutes": self.officer_minutes,
            "minutes_used": self.minutes_used,
            "visit_minutes": self.visit_minutes,
            "travel_minutes": self.travel_minutes,
            "shift_hours": self.shift_hours,
            "notes": self.notes,
        }

    def minutes_by_cell(self) -> dict[int, int]:
        """On-scene minutes per cell (the patrol exposure the disparity check audits)."""
        return {p.cell_id: p.minutes_on_scene for p in self.places}


def plan_deployment(
    scores: ArrayLike,
    *,
    officer_minutes: float,
    shift_hours: float = 8.0,
    visit_minutes: int = 15,
    revisit_every_minutes: int = 120,
    travel_minutes: int = 10,
    cell_ids: ArrayLike | None = None,
    alert_cells: ArrayLike | None = None,
    max_alert_share: float = 0.25,
    max_places: int | None = None,
    seed: int = 0,
) -> DeploymentPlan:
    """Plan the shift's hot-spot patrols (see the module docstring).

    Parameters
    ----------
    scores : array
        Forecast risk per cell (higher = more risk).
    officer_minutes : float
        Patrol time available in the shift, summed over officers (e.g. 4 officers × 120 min).
    shift_hours : float
        Length of the shift, hours.
    visit_minutes : int
        Time on scene per visit; 10–15 minutes per Koper (1995).
    revisit_every_minutes : int
        Interval between visits to the same place (Koper: at least every two hours).
    travel_minutes : int
        Travel and overhead per visit, minutes.
    cell_ids : array, optional
        Identifier of each cell (default: its index).
    alert_cells : array, optional
        Cell ids under an active near-repeat alert (``openilp.analysis.nearrepeat_alerts``).
    max_alert_share : float
        Largest share of the places given to alert cells ahead of their forecast rank.
    max_places : int, optional
        Cap on the number of places.
    seed : int
        Seed of the random visit order.

    Raises
    ------
    ValueError
        A budget too small for one place, or parameters out of range.
    """
    s = np.asarray(scores, dtype=np.float64)
    ids: NDArray[Any] = np.arange(len(s)) if cell_ids is None else np.asarray(cell_ids)
    if s.ndim != 1 or len(s) == 0 or len(ids) != len(s):
        raise ValueError("give one score (and one cell id) per cell")
    if not 1 <= visit_minutes <= 60:
        raise ValueError("visit_minutes must be between 1 and 60 (Koper: 10-15)")
    if not (shift_hours > 0 and revisit_every_minutes > 0 and travel_minutes >= 0):
        raise ValueError("shift_hours and revisit_every_minutes must be positive, travel_minutes non-negative")
    shift_minutes = shift_hours * 60.0
    visits = max(1, int(math.floor(shift_minutes / revisit_every_minutes)))
    cost = visits * (visit_minutes + travel_minutes)
    if officer_minutes < cost:
        raise ValueError(
            f"{officer_minutes:g} officer-minutes cannot cover one place ({visits} visits × "
            f"({visit_minutes} + {travel_minutes}) min = {cost} min)"
        )
    notes = []
    if not 10 <= visit_minutes <= 15:
        notes.append(f"visits of {visit_minutes} min are outside the 10-15 min of the Koper curve")
    n_places = int(officer_minutes // cost)
    if max_places is not None:
        n_places = min(n_places, max_places)
    n_places = min(n_places, len(s))
    order = np.lexsort((np.arange(len(s)), -s))
    rank = np.empty(len(s), dtype=np.int64)
    rank[order] = np.arange(1, len(s) + 1)
    if not 0 <= max_alert_share <= 1:
        raise ValueError("max_alert_share must be between 0 and 1")
    chosen: list[int] = []
    reasons: dict[int, str] = {}
    under_alert: set[int] = set()
    if alert_cells is not None and len(np.asarray(alert_cells)):
        alerted = np.flatnonzero(np.isin(ids, np.asarray(alert_cells)))
        under_alert = {int(i) for i in alerted}
        # Alert cells the forecast already chose keep their place; the others compete for the alert share.
        alerted = alerted[~np.isin(alerted, order[:n_places])]
        alerted = alerted[np.lexsort((alerted, -s[alerted]))][: int(math.floor(max_alert_share * n_places))]
        for i in alerted:
            chosen.append(int(i))
            reasons[int(i)] = f"near-repeat alert; forecast rank {rank[i]}"
    for i in order:
        if len(chosen) >= n_places:
            break
        if int(i) not in reasons:
            chosen.append(int(i))
            alert_text = "; under a near-repeat alert" if int(i) in under_alert else ""
            reasons[int(i)] = f"forecast rank {rank[i]}{alert_text}"
    places = [
        PlannedPlace(
            cell_id=int(ids[i]),
            rank=int(rank[i]),
            score=float(s[i]),
            visits=visits,
            minutes_on_scene=visits * visit_minutes,
            reason=reasons[i],
            alert=i in under_alert,
        )
        for i in chosen
    ]
    rng = np.random.default_rng(seed)
    schedule = []
    for round_ in range(visits):
        for position, j in enumerate(rng.permutation(len(places))):
            schedule.append((round_ + 1, position + 1, places[j].cell_id, round_ * revisit_every_minutes))
    return DeploymentPlan(
        places=places,
        schedule=schedule,
        officer_minutes=float(officer_minutes),
        minutes_used=len(places) * cost,
        visit_minutes=visit_minutes,
        travel_minutes=travel_minutes,
        shift_hours=shift_hours,
        notes=notes,
    )
