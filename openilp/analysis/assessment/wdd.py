"""Weighted displacement difference (WDD): a count-scale difference-in-differences with a Poisson variance.

Wheeler & Ratcliffe (2018, *Crime Science* 7:7). The change in the treated (response) area is
compared with the change in a control area; a displacement (buffer) area gets its own control::

    WDD_local        = (T1 - T0) - (C1 - C0)        Var = T1 + T0 + C1 + C0
    WDD_displacement = (D1 - D0) - (Dc1 - Dc0)      Var = D1 + D0 + Dc1 + Dc0
    WDD              = WDD_local + WDD_displacement, Z = WDD / sqrt(Var)

Negative values mean fewer crimes than the control areas predict (a reduction). Unequal time
windows or area sizes are handled by dividing every count by its weight ``time × area`` (the
variance term becomes ``count / weight²``). :func:`wdd_harm` combines several crime types with
harm weights (e.g. the Cambridge Crime Harm Index), :func:`cumulative_wdd` follows the
estimate period by period.

The variance assumes Poisson counts. Real crime counts are usually overdispersed, so pass the
dispersion ``phi`` estimated by :func:`openilp.analysis.assessment.did.dispersion_check`: the
variance is multiplied by ``phi`` (quasi-Poisson).

>>> result = wdd(treated=(207, 110), control=(308, 318), displacement=(178, 157), displacement_control=(150, 140))
>>> round(result.estimate), round(result.standard_error, 2), round(result.z, 2)
(-118, 39.6, -2.98)
>>> [round(v, 1) for v in result.confidence_interval]
[-195.6, -40.4]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import norm

__all__ = ["PrePost", "WDDResult", "WDDHarmResult", "check_pre_post", "cumulative_wdd", "wdd", "wdd_harm"]

#: Crime counts before and after the start of a response: ``(pre, post)``.
PrePost = tuple[float, float]


def check_pre_post(name: str, counts: Sequence[float]) -> tuple[float, float]:
    """Validate a ``(pre, post)`` pair of non-negative finite counts and return it as floats."""
    values = tuple(float(v) for v in counts)
    if len(values) != 2:
        raise ValueError(f"{name} must be a (pre, post) pair of counts, got {list(counts)!r}")
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"{name} counts must be non-negative numbers, got {list(values)!r}")
    return values[0], values[1]


def _quantile(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    return float(norm.ppf(1 - alpha / 2))


@dataclass(frozen=True)
class WDDResult:
    """A WDD test. Estimates are in crimes (on the scale of the post window when time-weighted)."""

    local_estimate: float
    local_standard_error: float
    displacement_estimate: float
    displacement_standard_error: float
    estimate: float
    standard_error: float
    z: float
    p_value: float
    confidence_interval: tuple[float, float]
    alpha: float
    dispersion: float

    def as_dict(self) -> dict[str, float | list[float]]:
        return {
            "local_estimate": self.local_estimate,
            "local_standard_error": self.local_standard_error,
            "displacement_estimate": self.displacement_estimate,
            "displacement_standard_error": self.displacement_standard_error,
            "estimate": self.estimate,
            "standard_error": self.standard_error,
            "z": self.z,
            "p_value": self.p_value,
            "confidence_interval": list(self.confidence_interval),
            "alpha": self.alpha,
            "dispersion": self.dispersion,
        }


def _difference(pre: float, post: float, w_pre: float, w_post: float) -> tuple[float, float]:
    return post / w_post - pre / w_pre, post / w_post**2 + pre / w_pre**2


def wdd(
    *,
    treated: Sequence[float],
    control: Sequence[float],
    displacement: Sequence[float] | None = None,
    displacement_control: Sequence[float] | None = None,
    time_weights: Sequence[float] = (1.0, 1.0),
    area_weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    dispersion: float = 1.0,
    alpha: float = 0.05,
) -> WDDResult:
    """Weighted displacement difference test (Wheeler & Ratcliffe 2018).

    Parameters
    ----------
    treated, control : (pre, post) counts
        Crimes in the response area and in its control area before and after the start.
    displacement, displacement_control : (pre, post) counts, optional
        Crimes in the buffer (displacement) area and in its own control area; both or neither.
    time_weights : (pre, post)
        Relative lengths of the windows; counts are divided by them (``(2, 1)`` for a pre
        window twice as long as the post window puts the estimate on the post-window scale).
    area_weights : (treated, control, displacement, displacement_control)
        Relative sizes of the areas; counts are divided by them. (ptools orders its
        ``area_weights`` control, treated, displacement control, displacement.)
    dispersion : float
        Variance inflation ``phi`` for overdispersed counts (quasi-Poisson); 1 = Poisson.
    alpha : float
        Two-sided level of the confidence interval (ptools defaults to 0.10; we use 0.05).

    Raises
    ------
    ValueError
        For negative counts, a treated area without crimes before the response (nothing to
        assess), only one of the two displacement areas, or non-positive weights.

    Examples
    --------
    >>> r = wdd(treated=(20, 10), control=(20, 20), alpha=0.10)
    >>> r.estimate, round(r.standard_error, 4), round(r.z, 3)
    (-10.0, 8.3666, -1.195)
    """
    t0, t1 = check_pre_post("treated", treated)
    c0, c1 = check_pre_post("control", control)
    if t0 == 0:
        raise ValueError("the treated area had no crimes before the response: there is no baseline to assess against")
    if (displacement is None) != (displacement_control is None):
        raise ValueError("give both displacement and displacement_control counts, or neither")
    d0, d1 = check_pre_post("displacement", displacement) if displacement is not None else (0.0, 0.0)
    dc0, dc1 = (
        check_pre_post("displacement_control", displacement_control) if displacement_control is not None else (0.0, 0.0)
    )
    tw = [float(v) for v in time_weights]
    aw = [float(v) for v in area_weights]
    if len(tw) != 2 or len(aw) != 4 or not all(math.isfinite(v) and v > 0 for v in tw + aw):
        raise ValueError("time_weights must be 2 and area_weights 4 positive numbers")
    if not (math.isfinite(dispersion) and dispersion > 0):
        raise ValueError(f"dispersion must be a positive number, got {dispersion}")
    level = _quantile(alpha)
    dt, vt = _difference(t0, t1, tw[0] * aw[0], tw[1] * aw[0])
    dc, vc = _difference(c0, c1, tw[0] * aw[1], tw[1] * aw[1])
    dd, vd = _difference(d0, d1, tw[0] * aw[2], tw[1] * aw[2])
    ddc, vdc = _difference(dc0, dc1, tw[0] * aw[3], tw[1] * aw[3])
    local, var_local = dt - dc, (vt + vc) * dispersion
    displaced, var_displaced = dd - ddc, (vd + vdc) * dispersion
    estimate, variance = local + displaced, var_local + var_displaced
    se = math.sqrt(variance)
    z = estimate / se if se > 0 else 0.0
    return WDDResult(
        local_estimate=local,
        local_standard_error=math.sqrt(var_local),
        displacement_estimate=displaced,
        displacement_standard_error=math.sqrt(var_displaced),
        estimate=estimate,
        standard_error=se,
        z=z,
        p_value=float(2 * norm.sf(abs(z))),
        confidence_interval=(estimate - level * se, estimate + level * se),
        alpha=alpha,
        dispersion=dispersion,
    )


@dataclass(frozen=True)
class WDDHarmResult:
    """Harm-weighted combination of WDD estimates across crime types."""

    estimate: float
    standard_error: float
    z: float
    p_value: float
    confidence_interval: tuple[float, float]
    alpha: float

    def as_dict(self) -> dict[str, float | list[float]]:
        return {
            "estimate": self.estimate,
            "standard_error": self.standard_error,
            "z": self.z,
            "p_value": self.p_value,
            "confidence_interval": list(self.confidence_interval),
            "alpha": self.alpha,
        }


def wdd_harm(
    estimates: ArrayLike, standard_errors: ArrayLike, harm_weights: ArrayLike, *, alpha: float = 0.05
) -> WDDHarmResult:
    """Combine WDD estimates of several crime types with harm weights (Wheeler 2020; ptools ``wdd_harm``).

    ``H = sum(h_k * WDD_k)`` and ``Var(H) = sum(h_k² * SE_k²)``: the crime types are assumed
    independent. Harm weights are e.g. Cambridge Crime Harm Index days (Sherman et al. 2016).

    >>> r = wdd_harm([-10, -5], [8.3666, 7.4162], [10, 1])
    >>> round(r.estimate), round(r.standard_error, 2)
    (-105, 83.99)
    """
    est = np.asarray(estimates, dtype=float).ravel()
    se = np.asarray(standard_errors, dtype=float).ravel()
    weights = np.asarray(harm_weights, dtype=float).ravel()
    if not (len(est) == len(se) == len(weights)) or len(est) == 0:
        raise ValueError("give one estimate, standard error and harm weight per crime type")
    if not (np.all(np.isfinite(est)) and np.all(np.isfinite(se)) and np.all(se >= 0)):
        raise ValueError("estimates must be finite and standard errors non-negative")
    if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
        raise ValueError("harm weights must be non-negative numbers")
    level = _quantile(alpha)
    total = float(np.sum(weights * est))
    total_se = float(np.sqrt(np.sum(weights**2 * se**2)))
    z = total / total_se if total_se > 0 else 0.0
    return WDDHarmResult(
        estimate=total,
        standard_error=total_se,
        z=z,
        p_value=float(2 * norm.sf(abs(z))),
        confidence_interval=(total - level * total_se, total + level * total_se),
        alpha=alpha,
    )


def cumulative_wdd(treated_post: ArrayLike, control_post: ArrayLike, *, alpha: float = 0.05) -> pd.DataFrame:
    """Running post-period comparison of treated and control counts, period by period (Wheeler's ``cum_wdd``).

    For each period ``t`` the cumulative difference ``ΣT − ΣC`` with SE ``√(ΣT + ΣC)``, and the
    log rate ratio ``ln(ΣT/ΣC)`` with SE ``√(1/ΣT + 1/ΣC)`` turned into a percent change
    ``(IRR − 1)·100``. Useful as an ongoing assessment chart once a response runs.

    >>> cumulative_wdd([5, 4], [6, 6])["difference"].tolist()
    [-1.0, -3.0]
    """
    t = np.cumsum(np.asarray(treated_post, dtype=float).ravel())
    c = np.cumsum(np.asarray(control_post, dtype=float).ravel())
    if len(t) != len(c) or len(t) == 0:
        raise ValueError("give the same, non-zero number of treated and control periods")
    if np.any(np.diff(t, prepend=0) < 0) or np.any(np.diff(c, prepend=0) < 0):
        raise ValueError("counts must be non-negative")
    level = _quantile(alpha)
    diff = t - c
    se = np.sqrt(t + c)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_irr = np.where((t > 0) & (c > 0), np.log(t / c), np.nan)
        log_se = np.where((t > 0) & (c > 0), np.sqrt(1 / t + 1 / c), np.nan)
    return pd.DataFrame(
        {
            "period": np.arange(1, len(t) + 1),
            "treated_cumulative": t,
            "control_cumulative": c,
            "difference": diff,
            "standard_error": se,
            "low": diff - level * se,
            "high": diff + level * se,
            "irr": np.exp(log_irr),
            "percent_change": (np.exp(log_irr) - 1) * 100,
            "irr_low": np.exp(log_irr - level * log_se),
            "irr_high": np.exp(log_irr + level * log_se),
        }
    )
