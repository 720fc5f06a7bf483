"""Rate comparisons for two areas or two periods: incidence rate ratios, the exact Poisson E-test,
Poisson z-scores and weekly control bands.

* **Relative incidence rate ratio** (Braga & Weisburd 2022, JQC 38:1–22; Wheeler & Ratcliffe
  2018): ``IRR = (T1/T0) / (C1/C0)`` — the change in the treated area relative to the control;
  ``SE(ln IRR) = √(1/T0 + 1/T1 + 1/C0 + 1/C1)``. Braga & Weisburd's RIRR is its inverse
  ``(T0·C1)/(T1·C0)``; percent change in the treated area relative to control is
  ``(IRR − 1)·100``.
* **E-test** (Krishnamoorthy & Thomson 2004) for two Poisson rates, via statsmodels
  ``test_poisson_2indep(..., method="etest")``; exact and better than the normal approximation
  at small counts.
* **Poisson z** (Wheeler 2016, IJPSM 18(3)): ``Z = 2(√current − √past)``; flag at ``|Z| ≥ 3``.
* **Weekly control band** (crimepy ``weekly_data``): ``[(max(0, √m − z/2))², (√m + z/2)²]``.

>>> r = rate_ratio(treated=(207, 110), control=(308, 318))
>>> round(r.rirr, 3), round(r.se_log_irr, 4), round(r.percent_change, 1)
(1.943, 0.1425, -48.5)
>>> round(etest(6, 2), 5)
0.17487
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm
from statsmodels.stats.rates import test_poisson_2indep

from openilp.analysis.assessment.wdd import check_pre_post

__all__ = ["RateRatioResult", "control_band", "etest", "poisson_z", "rate_ratio"]


@dataclass(frozen=True)
class RateRatioResult:
    """Incidence rate ratio of the treated change relative to the control change."""

    irr: float
    log_irr: float
    se_log_irr: float
    z: float
    p_value: float
    confidence_interval: tuple[float, float]
    rirr: float
    percent_change: float
    alpha: float
    dispersion: float

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["confidence_interval"] = list(self.confidence_interval)
        return data


def rate_ratio(
    *,
    treated: Sequence[float],
    control: Sequence[float],
    dispersion: float = 1.0,
    alpha: float = 0.05,
) -> RateRatioResult:
    """Relative incidence rate ratio with a Wald interval on the log scale.

    Parameters
    ----------
    treated, control : (pre, post) counts
        Unequal pre and post windows need no weights: they cancel in the ratio of ratios.
    dispersion : float
        Quasi-Poisson variance inflation ``phi``: the SE is multiplied by ``√phi``.
    alpha : float
        Two-sided level of the interval.

    Raises
    ------
    ValueError
        When any of the four counts is zero (the log ratio is undefined).

    Examples
    --------
    >>> r = rate_ratio(treated=(100, 50), control=(100, 100))
    >>> round(r.irr, 2), round(r.percent_change)
    (0.5, -50)
    """
    t0, t1 = check_pre_post("treated", treated)
    c0, c1 = check_pre_post("control", control)
    if min(t0, t1, c0, c1) == 0:
        raise ValueError(
            "the rate ratio needs crimes in every area and window (a zero count makes the log ratio infinite); "
            "use the E-test or the WDD instead"
        )
    if not (math.isfinite(dispersion) and dispersion > 0):
        raise ValueError(f"dispersion must be a positive number, got {dispersion}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    log_irr = math.log(t1 / t0) - math.log(c1 / c0)
    se = math.sqrt((1 / t0 + 1 / t1 + 1 / c0 + 1 / c1) * dispersion)
    level = float(norm.ppf(1 - alpha / 2))
    z = log_irr / se
    irr = math.exp(log_irr)
    return RateRatioResult(
        irr=irr,
        log_irr=log_irr,
        se_log_irr=se,
        z=z,
        p_value=float(2 * norm.sf(abs(z))),
        confidence_interval=(math.exp(log_irr - level * se), math.exp(log_irr + level * se)),
        rirr=1 / irr,
        percent_change=(irr - 1) * 100,
        alpha=alpha,
        dispersion=dispersion,
    )


def etest(
    count1: int,
    count2: int,
    exposure1: float = 1.0,
    exposure2: float = 1.0,
    *,
    compare: Literal["ratio", "diff"] = "ratio",
) -> float:
    """Two-sided p-value of the E-test that two Poisson rates are equal (Krishnamoorthy & Thomson 2004).

    Parameters
    ----------
    count1, count2 : int
        Event counts (e.g. crimes after and before a response in the treated area).
    exposure1, exposure2 : float
        Exposures (window lengths in days or weeks) of the two counts.
    compare : {"ratio", "diff"}
        Test statistic for the rate ratio or the rate difference; the p-values agree for equal
        exposures.

    Raises
    ------
    ValueError
        When both counts are zero (the test is undefined) or counts are not whole non-negative numbers.

    Examples
    --------
    >>> round(etest(0, 3), 5), round(etest(25, 16), 5)
    (0.08838, 0.1648)
    """
    if int(count1) != count1 or int(count2) != count2 or count1 < 0 or count2 < 0:
        raise ValueError(f"the E-test needs whole non-negative counts, got {count1} and {count2}")
    if count1 == 0 and count2 == 0:
        raise ValueError("the E-test is undefined when both counts are zero")
    if exposure1 <= 0 or exposure2 <= 0:
        raise ValueError("exposures must be positive")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = test_poisson_2indep(int(count1), exposure1, int(count2), exposure2, method="etest", compare=compare)
    return float(min(max(result.pvalue, 0.0), 1.0))


def poisson_z(current: ArrayLike, past: ArrayLike) -> NDArray[np.float64]:
    """Variance-stabilised change ``2(√current − √past)`` (Wheeler 2016); ``|Z| ≥ 3`` is worth a look.

    >>> float(poisson_z(25, 16))
    2.0
    """
    cur = np.asarray(current, dtype=float)
    old = np.asarray(past, dtype=float)
    if np.any(cur < 0) or np.any(old < 0):
        raise ValueError("counts must be non-negative")
    return np.asarray(2 * (np.sqrt(cur) - np.sqrt(old)), dtype=np.float64)


def control_band(mean: ArrayLike, z: float = 3.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Poisson control band around a prior mean ``m`` (e.g. the last 8 weeks), square-root scale.

    >>> low, high = control_band(10)
    >>> round(float(low), 2), round(float(high), 2)
    (2.76, 21.74)
    """
    m = np.asarray(mean, dtype=float)
    if np.any(m < 0):
        raise ValueError("means must be non-negative")
    root = np.sqrt(m)
    return np.maximum(0.0, root - z / 2) ** 2, (root + z / 2) ** 2
