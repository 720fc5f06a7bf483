"""Power before launch: the smallest effect a planned assessment can detect (minimum detectable effect).

A response should not start before its evaluation is known to be able to see the goal. For the
WDD (Wheeler & Ratcliffe 2018) the standard error under "no effect" follows from the baseline
counts alone: with pre counts ``T0``, ``C0`` (and ``D0``, ``Dc0``) and windows of relative
length ``w_pre`` and ``w_post``, the expected post count of each area is ``pre · w_post / w_pre``
and, on the post-window scale, the variance is ``Σ pre · (w_post/w_pre)² · (1 + w_pre/w_post)``
— for equal windows simply the sum of the four counts. The minimum detectable effect at
two-sided level ``α`` and power ``1 − β`` is (Bloom 1995, *Evaluation Review* 19(5))::

    MDE = (z_{1−α/2} + z_{1−β}) · SE   ≈ 2.8 · SE  at α = .05 and 80% power.

With four cells of B crimes each, MDE ≈ 2.8·√(4B): B = 10 → 17.7 crimes (177% of the baseline),
B = 100 → 56 (56%); a 20% reduction needs B ≈ 780. Single hot-spot evaluations are therefore
almost always underpowered: pool places, weight by harm, lengthen the windows or randomise.

The rate-ratio version works on the log scale: ``SE(ln IRR) = √(Σ 1/expected count)`` and the
smallest detectable reduction is ``1 − exp(−(z_{1−α/2} + z_{1−β})·SE)``.

>>> round(wdd_mde(treated_pre=10, control_pre=10), 1)
17.7
>>> check = check_goal(goal_reduction=0.2, treated_pre=50, control_pre=50)
>>> check.detectable, round(check.required_scale, 1)
(False, 15.7)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy.stats import norm

__all__ = ["PowerCheck", "check_goal", "irr_mde", "wdd_mde", "wdd_power", "wdd_standard_error_null"]


def _validate(alpha: float, power: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, got {power}")
    return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))


def _baselines(
    treated_pre: float, control_pre: float, displacement_pre: float, displacement_control_pre: float
) -> None:
    values = (treated_pre, control_pre, displacement_pre, displacement_control_pre)
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"baseline counts must be non-negative numbers, got {list(values)}")
    if treated_pre == 0:
        raise ValueError("the treated area has no crimes in the baseline window: no effect can be measured")
    if control_pre == 0:
        raise ValueError("the control area has no crimes in the baseline window: choose another control area")


def wdd_standard_error_null(
    *,
    treated_pre: float,
    control_pre: float,
    displacement_pre: float = 0.0,
    displacement_control_pre: float = 0.0,
    pre_length: float = 1.0,
    post_length: float = 1.0,
    dispersion: float = 1.0,
) -> float:
    """Expected WDD standard error (crimes, post-window scale) when the response has no effect."""
    _baselines(treated_pre, control_pre, displacement_pre, displacement_control_pre)
    if pre_length <= 0 or post_length <= 0:
        raise ValueError("window lengths must be positive")
    if dispersion <= 0:
        raise ValueError("dispersion must be positive")
    ratio = post_length / pre_length
    total = treated_pre + control_pre + displacement_pre + displacement_control_pre
    # pre counts scaled to the post window: variance pre·ratio²; expected post count pre·ratio.
    return math.sqrt(dispersion * total * (ratio**2 + ratio))


def wdd_mde(
    *,
    treated_pre: float,
    control_pre: float,
    displacement_pre: float = 0.0,
    displacement_control_pre: float = 0.0,
    pre_length: float = 1.0,
    post_length: float = 1.0,
    dispersion: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Minimum detectable WDD in crimes over the post window (two-sided ``alpha``, given ``power``).

    ``pre_length`` and ``post_length`` are the window lengths in any one unit (days, weeks);
    ``dispersion`` is the quasi-Poisson ``phi``.

    >>> round(wdd_mde(treated_pre=50, control_pre=50), 1), round(wdd_mde(treated_pre=100, control_pre=100))
    (39.6, 56)
    """
    multiplier = _validate(alpha, power)
    return multiplier * wdd_standard_error_null(
        treated_pre=treated_pre,
        control_pre=control_pre,
        displacement_pre=displacement_pre,
        displacement_control_pre=displacement_control_pre,
        pre_length=pre_length,
        post_length=post_length,
        dispersion=dispersion,
    )


def wdd_power(effect: float, standard_error: float, *, alpha: float = 0.05) -> float:
    """Probability that a two-sided WDD test at ``alpha`` detects a true change of ``effect`` crimes.

    >>> round(wdd_power(39.62, 14.142), 2)
    0.8
    """
    if standard_error <= 0:
        raise ValueError("the standard error must be positive")
    level = float(norm.ppf(1 - alpha / 2))
    shift = abs(effect) / standard_error
    return float(norm.sf(level - shift) + norm.cdf(-level - shift))


def irr_mde(
    *,
    treated_pre: float,
    control_pre: float,
    pre_length: float = 1.0,
    post_length: float = 1.0,
    dispersion: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest detectable reduction of the rate ratio, as a fraction (0.3 = a 30% drop).

    >>> round(irr_mde(treated_pre=100, control_pre=100), 3)
    0.429
    """
    multiplier = _validate(alpha, power)
    _baselines(treated_pre, control_pre, 0.0, 0.0)
    ratio = post_length / pre_length
    variance = 1 / treated_pre + 1 / (treated_pre * ratio) + 1 / control_pre + 1 / (control_pre * ratio)
    return 1 - math.exp(-multiplier * math.sqrt(dispersion * variance))


@dataclass(frozen=True)
class PowerCheck:
    """Can the planned evaluation detect the goal? Crimes are on the post-window scale."""

    goal_reduction: float
    expected_treated_post: float
    goal_crimes: float
    wdd_standard_error: float
    wdd_mde_crimes: float
    wdd_mde_fraction: float
    irr_mde_fraction: float
    power_at_goal: float
    detectable: bool
    #: How many times larger all baseline counts must be (longer windows, pooled places) to detect the goal.
    required_scale: float
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_goal(
    *,
    goal_reduction: float,
    treated_pre: float,
    control_pre: float,
    displacement_pre: float = 0.0,
    displacement_control_pre: float = 0.0,
    pre_length: float = 1.0,
    post_length: float = 1.0,
    dispersion: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> PowerCheck:
    """Compare a goal (e.g. ``0.2`` for "reduce by 20%") with the minimum detectable effect.

    The goal in crimes is ``goal_reduction × expected treated post count``. The check warns when
    the goal is below the WDD's MDE, when the baseline is small (< 30 crimes in the treated
    area) and when the post window is much shorter than the pre window.
    """
    if not 0 < goal_reduction < 1:
        raise ValueError(f"goal_reduction must be a fraction between 0 and 1 (0.2 = 20%), got {goal_reduction}")
    se = wdd_standard_error_null(
        treated_pre=treated_pre,
        control_pre=control_pre,
        displacement_pre=displacement_pre,
        displacement_control_pre=displacement_control_pre,
        pre_length=pre_length,
        post_length=post_length,
        dispersion=dispersion,
    )
    multiplier = _validate(alpha, power)
    mde = multiplier * se
    expected = treated_pre * post_length / pre_length
    goal = goal_reduction * expected
    detectable = goal >= mde
    # MDE grows with √scale, the goal with scale: equal when scale = (mde / goal)².
    required = (mde / goal) ** 2
    notes: list[str] = []
    if not detectable:
        notes.append(
            f"the planned evaluation cannot detect the goal: a {goal_reduction:.0%} reduction is {goal:.1f} crimes, "
            f"but the smallest change detectable with {power:.0%} power at alpha {alpha} is {mde:.1f} crimes "
            f"({mde / expected:.0%} of the expected count); about {required:.1f}x the baseline crimes are needed "
            "(longer windows, more places pooled, harm weighting or a randomised design)"
        )
    if treated_pre < 30:
        notes.append(f"small baseline: {treated_pre:g} crimes in the treated area before the response")
    if post_length < pre_length / 4:
        notes.append("the post window is much shorter than the pre window: consider waiting longer before assessing")
    return PowerCheck(
        goal_reduction=goal_reduction,
        expected_treated_post=expected,
        goal_crimes=goal,
        wdd_standard_error=se,
        wdd_mde_crimes=mde,
        wdd_mde_fraction=mde / expected,
        irr_mde_fraction=irr_mde(
            treated_pre=treated_pre,
            control_pre=control_pre,
            pre_length=pre_length,
            post_length=post_length,
            dispersion=dispersion,
            alpha=alpha,
            power=power,
        ),
        power_at_goal=wdd_power(goal, se, alpha=alpha),
        detectable=detectable,
        required_scale=required,
        warnings=notes,
    )
