"""The live runaway-feedback check: does last cycle's patrol raise this cycle's risk, reported crime aside?

The simulation (:mod:`openilp.fairness.feedback`) tests the code; this check watches the data
(civil-rights reference §3.10, check 5). Over areas ``i`` and consecutive cycles ``t``, it fits by
ordinary least squares

    risk_{i,t} − risk_{i,t−1} = α + β · share_{i,t−1} + γ · reported_{i,t−1} + ε

where ``share`` is the area's share of last cycle's patrol and ``reported`` its reported crime in
the last cycle. If patrol feeds back into the model (through discovered incidents or anything else),
areas patrolled more see their risk rise more than their reported crime explains: ``β > 0``. A
positive ``β`` with p < 0.05 alerts the analyst and the governance board. Standard errors are
clustered by area (statsmodels), since an area's cycles are not independent.

>>> rng = np.random.default_rng(0)
>>> share = rng.random((30, 10)); reported = rng.poisson(3, (30, 10)).astype(float)
>>> risk = np.cumsum(0.5 * reported + rng.normal(0, 1, (30, 10)), axis=1)  # no feedback
>>> result = live_feedback_check(risk, share, reported)
>>> result.alert
False
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import statsmodels.api as sm
from numpy.typing import ArrayLike
from scipy.stats import norm

__all__ = ["LiveFeedback", "live_feedback_check"]


@dataclass(frozen=True)
class LiveFeedback:
    """The patrol coefficient ``beta`` with its standard error and one-sided p-value (``beta > 0``)."""

    beta: float
    standard_error: float
    p_value: float
    gamma: float
    n_observations: int
    alpha: float = 0.05

    @property
    def alert(self) -> bool:
        return bool(self.beta > 0 and self.p_value < self.alpha)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "alert": self.alert}


def live_feedback_check(risk: ArrayLike, share: ArrayLike, reported: ArrayLike, *, alpha: float = 0.05) -> LiveFeedback:
    """Fit the model of the module docstring on arrays of shape (areas, cycles).

    ``risk[i, t]``: the model's risk for area ``i`` at cycle ``t``; ``share[i, t]``: its share of the
    patrol of cycle ``t``; ``reported[i, t]``: its reported crime during cycle ``t``.
    """
    r, s, c = (np.asarray(a, dtype=np.float64) for a in (risk, share, reported))
    if not (r.shape == s.shape == c.shape and r.ndim == 2 and r.shape[1] >= 2 and r.shape[0] >= 2):
        raise ValueError("give risk, share and reported as arrays of the same shape (areas, cycles >= 2)")
    change = (r[:, 1:] - r[:, :-1]).ravel()
    x = np.column_stack([s[:, :-1].ravel(), c[:, :-1].ravel()])
    groups = np.repeat(np.arange(r.shape[0]), r.shape[1] - 1)
    fit = sm.OLS(change, sm.add_constant(x, has_constant="add")).fit(cov_type="cluster", cov_kwds={"groups": groups})
    beta, se = float(fit.params[1]), float(fit.bse[1])
    z = beta / se if se > 0 else 0.0
    return LiveFeedback(beta, se, float(norm.sf(z)), float(fit.params[2]), int(change.size), alpha)
