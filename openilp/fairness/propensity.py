"""Patrol propensities of discovered incidents, from the places of the issued deployment lists.

Ensign et al. (2018) correct a model that learns from crime found by police by weighting each
discovered incident by ``1 / P``, ``P`` the probability that patrol was where it was found. OpenILP
logs ``P`` for every place of every issued list (minutes on scene ÷ shift minutes; the patrol log);
:func:`propensities_at` gives each incident the propensity of the places that covered it on its day:

* the sum of the propensities of the logged places whose square cell holds the incident (lists of the
  same day add up), at most 1;
* ``0`` when lists were issued for that day but none sent patrol to the incident's place: directed
  patrol had no chance to find it there, so its discovery cannot be corrected for;
* ``NaN`` when no list was issued for that day: nothing is known.

Coordinates are metres in one CRS; days are local shift days.

>>> import numpy as np
>>> day = np.array(["2019-06-03", "2019-06-03", "2019-06-04"], dtype="datetime64[D]")
>>> p = propensities_at(
...     np.array([10.0, 900.0, 10.0]), np.array([0.0, 0.0, 0.0]), day,
...     cell_x=np.array([0.0]), cell_y=np.array([0.0]), cell_size_m=np.array([150.0]),
...     cell_day=np.array(["2019-06-03"], dtype="datetime64[D]"), propensity=np.array([0.125]),
... )
>>> p.tolist()[:2], bool(np.isnan(p[2]))
([0.125, 0.0], True)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["propensities_at"]


def propensities_at(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    day: NDArray[np.datetime64],
    *,
    cell_x: NDArray[np.float64],
    cell_y: NDArray[np.float64],
    cell_size_m: NDArray[np.float64],
    cell_day: NDArray[np.datetime64],
    propensity: NDArray[np.float64],
) -> NDArray[np.float64]:
    """The patrol propensity at each incident (``x``, ``y`` metres, local ``day``) from logged places
    (cell centres ``cell_x``, ``cell_y`` in the same CRS, square cells of ``cell_size_m``, the shift day
    and the place's propensity); see the module docstring for 0 and NaN."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    day = np.asarray(day, dtype="datetime64[D]")
    cell_day = np.asarray(cell_day, dtype="datetime64[D]")
    out = np.full(len(x), np.nan)
    for shift in np.unique(cell_day):
        incidents = np.flatnonzero(day == shift)
        if not len(incidents):
            continue
        places = np.flatnonzero(cell_day == shift)
        half = np.asarray(cell_size_m, dtype=float)[places] / 2.0
        dx = np.abs(x[incidents, None] - np.asarray(cell_x, dtype=float)[places][None, :])
        dy = np.abs(y[incidents, None] - np.asarray(cell_y, dtype=float)[places][None, :])
        inside = (dx <= half[None, :]) & (dy <= half[None, :])
        out[incidents] = np.minimum(1.0, inside @ np.asarray(propensity, dtype=float)[places])
    return out
