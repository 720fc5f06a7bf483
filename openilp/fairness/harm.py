"""Harm weights for need-adjusted parity: reported crime weighted by how much harm it does.

The Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016) weights each offence by the days
of custody at the starting point of the England and Wales sentencing guidelines for a first offender,
and counts only offences reported by the public, leaving out those found by proactive policing. The
need-adjusted parity of a patrol plan (civil-rights reference §3.10, check 7) compares each group's
share of patrol with its share of that reported harm, which tells over-policing apart from need.

:data:`HARM_DAYS` gives one weight per OpenILP category, in days. They are **policy defaults modelled
on the CHI's principle, set by OpenILP for its coarse categories, not the published CHI table**
(which scores hundreds of specific offences): an agency should replace them with the current CHI (or
its own sentencing guidelines) through the harm weights of its configuration. Categories mostly
discovered by police weigh nothing, as in the CHI.

>>> harm_of(["burglary", "homicide", "drugs"])
array([ 120., 5475.,    0.])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["HARM_DAYS", "harm_of"]

#: Harm weight per category, days (policy defaults modelled on the Cambridge CHI; see the module docstring).
HARM_DAYS: dict[str, float] = {
    "homicide": 5475.0,
    "rape": 1825.0,
    "robbery": 365.0,
    "aggravated_assault": 365.0,
    "simple_assault": 10.0,
    "violence_other": 10.0,
    "burglary": 120.0,
    "burglary_residential": 120.0,
    "burglary_commercial": 60.0,
    "larceny": 2.0,
    "theft_from_vehicle": 2.0,
    "bicycle_theft": 2.0,
    "shoplifting": 1.0,
    "motor_vehicle_theft": 20.0,
    "arson": 365.0,
    "vandalism": 2.0,
    "fraud": 20.0,
    "family_offence": 10.0,
    "stolen_property": 0.0,
    "drugs": 0.0,
    "weapons": 0.0,
    "sex_offence_other": 0.0,
    "public_order": 0.0,
    "dui": 0.0,
    "other_offence": 0.0,
    "traffic": 0.0,
    "service_call": 0.0,
}


def harm_of(categories: Sequence[str | None], weights: Mapping[str, float] | None = None) -> NDArray[np.float64]:
    """The harm weight of each incident's category (0 for an unknown or unweighted category)."""
    table = HARM_DAYS if weights is None else weights
    return np.array([float(table.get(c or "", 0.0)) for c in categories], dtype=np.float64)
