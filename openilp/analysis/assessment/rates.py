"""Rate comparisons for two areas or two periods: incidence rate ratios, the exact Poisson E-test,
Poisson z-scores and weekly control bands.

* **Relative incidence rate ratio** (Braga & Weisburd 2022, JQC 38:1–22; Wheeler & Ratcliffe
  2018): ``IRR = (T1/T0) / (C1/C0)`` — the change in the treated area relative to the control;
  ``SE(ln IRR) = √(1/T0 + 1/T1 + 1/C0 + 1/C1)``. Braga & Weisburd's RIRR is its inverse
  ``(T0·C1)/(T1·C0)``; percent change in the treated area relative to control is
  ``(IRR − 1)·100``.
* **E-test** (Krishnamoorthy & Thomson 2004) for two Poisson rates: exact and better than the
  normal approximation at small counts. Computed here (:func:`etest_exact`) in O(√n) time and
  memory; it equals statsmodels' ``test_poisson_2indep(..., method="etest")`` to about 1e-12,
  whose square grid of terms needs gigabytes for counts in the thousands.
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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy.stats import norm

from openilp.analysis.assessment.wdd import check_pre_post

__all__ = ["ETestResult", "RateRatioResult", "control_band", "etest", "etest_exact", "poisson_z", "rate_ratio"]


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


#: Half-width of each count's range, in standard deviations (plus ``_TAIL_K**2`` on the right, for
#: small means): the Poisson mass outside is below ``2·exp(-_TAIL_K**2 / 2)`` ≈ 4e-22 (Chernoff bound).
_TAIL_K = 10.0
#: statsmodels' guard in the ``>=`` comparison of the statistic with the sample's (ties count).
_STAT_TOLERANCE = 1e-15
#: statsmodels' guard against a zero variance in the statistic.
_VARIANCE_GUARD = 1e-20


@dataclass(frozen=True)
class ETestResult:
    """Two-sided E-test: the sample's score statistic, the p-value and the bound on its truncation error."""

    statistic: float
    p_value: float
    #: Poisson mass of the first count left out of the sum: the p-value is exact to within this.
    truncation_error: float


def _etest_statistic(
    x1: NDArray[np.float64], x2: NDArray[np.float64], n1: float, n2: float, compare: str
) -> NDArray[np.float64]:
    """Score statistic of equal rates, written as statsmodels writes it (so ties compare alike)."""
    if compare == "ratio":
        r_d = 1.0 / (n2 / n1)
        return np.asarray((x1 - x2 * r_d) / np.sqrt((x1 + x2) * r_d + _VARIANCE_GUARD))
    pooled = (x1 + x2) / (n1 + n2)
    r2 = 0.5 * (pooled + np.sqrt(pooled**2))
    return np.asarray((x1 / n1 - x2 / n2) / np.sqrt(r2 / n1 + r2 / n2 + _VARIANCE_GUARD))


def _count_range(mean: float) -> NDArray[np.float64]:
    """Counts ``[m − K√m, m + K√m + K²]`` that hold all but ≈ 1e-21 of a Poisson(``mean``)."""
    spread = _TAIL_K * math.sqrt(mean)
    low = max(0.0, math.floor(mean - spread))
    high = math.ceil(mean + spread + _TAIL_K**2)
    return np.arange(low, high + 1, dtype=np.float64)


def _boundary(x1: NDArray[np.float64], guess: NDArray[np.float64], inside: Any, *, upper: bool) -> NDArray[np.float64]:
    """Refine a real-valued root ``guess`` into the integer edge of ``{x2 : inside(x1, x2)}``.

    The statistic falls strictly as ``x2`` grows, so the region is ``x2 <= edge`` (``upper``: the
    statistic at least ``+c``) or ``x2 >= edge`` (at most ``−c``). The root is accurate to far
    better than one count; a few steps absorb rounding.
    """
    edge = np.floor(np.where(np.isfinite(guess), guess, 0.0))
    edge = np.maximum(edge, -1.0 if upper else 0.0)
    for _ in range(64):
        if upper:
            grow = inside(x1, edge + 1)
            shrink = (edge >= 0) & ~inside(x1, np.maximum(edge, 0.0))
            edge = edge + grow - shrink
        else:
            shrink = (edge > 0) & inside(x1, np.maximum(edge - 1, 0.0))
            grow = ~inside(x1, edge)
            edge = edge - shrink + grow
        if not (grow.any() or shrink.any()):
            return edge
    raise ArithmeticError("the E-test rejection region did not settle (statistic not monotone?)")


def etest_exact(
    count1: int,
    count2: int,
    exposure1: float = 1.0,
    exposure2: float = 1.0,
    *,
    compare: Literal["ratio", "diff"] = "ratio",
) -> ETestResult:
    """Two-sided E-test of equal Poisson rates (Krishnamoorthy & Thomson 2004), in O(√n) time and memory.

    The p-value is ``Σ P(X1 = x1) P(X2 = x2)`` over the pairs whose score statistic is at least as
    extreme as the sample's, with ``X1, X2`` Poisson at the rates' common estimate under the null
    (``λ̂ = (k1 + k2) / (n1 + n2)``, means ``n1 λ̂`` and ``n2 λ̂``). The statistic
    ``(x1 n2 − x2 n1) / √(n1 n2 (x1 + x2))`` falls strictly as ``x2`` grows, so for each ``x1`` the
    rejection region is two tails in ``x2``, found by solving a quadratic and summed with the
    Poisson distribution function. ``x1`` runs over ``m1 ± 10√m1`` (plus 100 on the right); the
    mass left out, ``truncation_error``, is computed and is below 1e-21 (Chernoff). The whole
    cost is about ``20√m1 + 100`` terms, against statsmodels' square grid of ``(m + 7.4√m)²`` terms
    (2.6 GB for 9,122 against 9,665 crimes).

    The statistic is computed exactly as statsmodels' ``etest_poisson_2indep`` computes it (score
    method, ``compare="ratio"`` or ``"diff"``, the same 1e-15 tolerance for ties), so the p-values
    agree to about 1e-12 (tested on a grid of counts and exposures).

    Examples
    --------
    >>> r = etest_exact(6, 2)
    >>> round(r.p_value, 5), r.truncation_error < 1e-20
    (0.17487, True)
    """
    if compare not in ("ratio", "diff"):
        raise ValueError(f"compare must be 'ratio' or 'diff', got {compare!r}")
    if int(count1) != count1 or int(count2) != count2 or count1 < 0 or count2 < 0:
        raise ValueError(f"the E-test needs whole non-negative counts, got {count1} and {count2}")
    if count1 == 0 and count2 == 0:
        raise ValueError("the E-test is undefined when both counts are zero")
    if not (0 < exposure1 < math.inf and 0 < exposure2 < math.inf):
        raise ValueError(f"exposures must be positive and finite, got {exposure1} and {exposure2}")
    n1, n2 = float(exposure1), float(exposure2)
    y1, y2 = float(count1), float(count2)
    sample = float(_etest_statistic(np.array(y1), np.array(y2), n1, n2, compare))
    if compare == "ratio":
        r_d = 1.0 / (n2 / n1)
        rate2 = (y1 + y2) / n2 / (1 + r_d)
        mean1, mean2 = n1 * rate2, n2 * rate2
    else:
        pooled = (y1 + y2) / (n1 + n2)
        mean1, mean2 = n1 * pooled, n2 * pooled
    cut = abs(sample) - _STAT_TOLERANCE
    x1 = _count_range(mean1)
    outside = float(special.pdtr(x1[0] - 1, mean1) if x1[0] > 0 else 0.0) + float(special.pdtrc(x1[-1], mean1))
    if cut <= 0:
        return ETestResult(sample, 1.0, outside)
    # Roots in x2 of statistic(x1, x2) = ±cut, with r = n1 / n2: r²u² − (2x1 + c²) r u + x1² − c² r x1 = 0.
    r = n1 / n2
    root = cut * np.sqrt(cut**2 + 4 * x1 * (1 + r))
    low_root = (2 * x1 + cut**2 - root) / (2 * r)
    high_root = (2 * x1 + cut**2 + root) / (2 * r)

    def above(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
        return np.asarray(_etest_statistic(a, b, n1, n2, compare) >= cut)

    def below(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
        return np.asarray(_etest_statistic(a, b, n1, n2, compare) <= -cut)

    last_up = _boundary(x1, low_root, above, upper=True)  # x2 <= last_up: statistic >= +cut
    first_down = _boundary(x1, high_root, below, upper=False)  # x2 >= first_down: statistic <= -cut
    tail_up = np.where(last_up >= 0, special.pdtr(np.maximum(last_up, 0.0), mean2), 0.0)
    tail_down = np.where(first_down > 0, special.pdtrc(np.maximum(first_down - 1, 0.0), mean2), 1.0)
    weights = np.exp(special.xlogy(x1, mean1) - mean1 - special.gammaln(x1 + 1))
    p_value = float(np.sum(weights * (tail_up + tail_down)))
    return ETestResult(sample, min(max(p_value, 0.0), 1.0), outside)


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
        Test statistic for the rate ratio or the rate difference. Under the null of equal rates the
        two statistics are the same function of the counts, so the p-values agree (up to rounding).

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
    return etest_exact(int(count1), int(count2), exposure1, exposure2, compare=compare).p_value


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
