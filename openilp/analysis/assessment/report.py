"""One call that runs every assessment method on the counts of a response and its comparison areas.

:func:`assess_counts` takes ``(pre, post)`` counts of the standard areas — ``target`` (T),
``control`` (C) and, optionally, ``buffer`` (D) and ``control_buffer`` (Dc) — the window lengths
and, when available, the weekly series; it returns a JSON-ready dict with the power check, the
WDD (Poisson and overdispersion-adjusted), WDQ/TNE, rate ratio, E-tests, Poisson z, dispersion
check, Poisson FE difference-in-differences and a harm-weighted WDD over crime types, plus plain
notes on what the numbers can and cannot say.

>>> report = assess_counts({"target": (207, 110), "control": (308, 318), "buffer": (178, 157),
...                         "control_buffer": (150, 140)})
>>> report["wdd"]["estimate"], round(report["wdq"]["wdq"], 3)
(-118.0, 0.258)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from openilp.analysis.assessment.did import dispersion_check, poisson_did
from openilp.analysis.assessment.power import check_goal
from openilp.analysis.assessment.rates import etest, poisson_z, rate_ratio
from openilp.analysis.assessment.series import weekly_panel
from openilp.analysis.assessment.wdd import check_pre_post, wdd, wdd_harm
from openilp.analysis.assessment.wdq import wdq

__all__ = ["AREAS", "assess_counts"]

#: The standard areas, in the order T, C, D, Dc.
AREAS = ("target", "control", "buffer", "control_buffer")


def _counts(counts: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    unknown = set(counts) - set(AREAS)
    if unknown:
        raise ValueError(f"unknown areas {sorted(unknown)}; use {', '.join(AREAS)}")
    for needed in ("target", "control"):
        if needed not in counts:
            raise ValueError(f"counts for the {needed} area are required")
    if ("buffer" in counts) != ("control_buffer" in counts):
        raise ValueError("give counts for both the buffer and the control buffer, or neither")
    return {name: check_pre_post(name, value) for name, value in counts.items()}


def _verdict(p_value: float, alpha: float, estimate: float) -> str:
    if p_value < alpha:
        direction = "fewer" if estimate < 0 else "more"
        return f"significant at alpha {alpha}: {direction} crimes than the comparison predicts"
    return f"not significant at alpha {alpha}: the change is within what chance alone produces"


def assess_counts(
    counts: Mapping[str, Any],
    *,
    pre_length: float = 1.0,
    post_length: float = 1.0,
    weekly: pd.DataFrame | None = None,
    goal_reduction: float | None = None,
    harm: Mapping[str, tuple[float, Mapping[str, Any]]] | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Run every assessment method.

    Parameters
    ----------
    counts : mapping area -> (pre, post)
        Areas ``target`` and ``control`` (required), ``buffer`` and ``control_buffer`` (together).
    pre_length, post_length : float
        Window lengths in one unit (days); estimates are on the post-window scale.
    weekly : DataFrame, optional
        Weekly counts per area with a ``post`` column (:func:`~.series.weekly_counts`): enables
        the dispersion check, the quasi-Poisson WDD and the panel DiD.
    goal_reduction : float, optional
        The problem's goal as a fraction (0.2 = reduce by 20%), for the power check.
    harm : mapping crime type -> (harm weight, counts mapping), optional
        Per-type counts of the target and control areas for the harm-weighted WDD.
    alpha : float
        Two-sided level of every test and interval.
    """
    areas = _counts(counts)
    if pre_length <= 0 or post_length <= 0:
        raise ValueError("window lengths must be positive")
    t, c = areas["target"], areas["control"]
    d, dc = areas.get("buffer"), areas.get("control_buffer")
    time_weights = (pre_length / post_length, 1.0)
    report: dict[str, Any] = {
        "counts": {name: {"pre": pre, "post": post} for name, (pre, post) in areas.items()},
        "windows": {"pre_length": pre_length, "post_length": post_length},
        "alpha": alpha,
        "notes": [],
    }
    notes: list[str] = report["notes"]
    power = check_goal(
        goal_reduction=goal_reduction if goal_reduction is not None else 0.2,
        treated_pre=t[0],
        control_pre=c[0],
        displacement_pre=d[0] if d else 0.0,
        displacement_control_pre=dc[0] if dc else 0.0,
        pre_length=pre_length,
        post_length=post_length,
        alpha=alpha,
    )
    report["power"] = power.as_dict() | {"goal_given": goal_reduction is not None}
    notes.extend(power.warnings)

    poisson = wdd(treated=t, control=c, displacement=d, displacement_control=dc, time_weights=time_weights, alpha=alpha)
    report["wdd"] = poisson.as_dict() | {"verdict": _verdict(poisson.p_value, alpha, poisson.estimate)}

    if d is not None:
        quotient = wdq(treated=t, control=c, displacement=d)
        report["wdq"] = quotient.as_dict()
    report["rate_ratio"] = rate_ratio(treated=t, control=c, alpha=alpha).as_dict() if min(*t, *c) > 0 else None
    report["etest"] = {
        name: {
            "p_value": etest(int(pre_post[1]), int(pre_post[0]), post_length, pre_length),
            "poisson_z": float(poisson_z(pre_post[1], pre_post[0] * post_length / pre_length)),
        }
        for name, pre_post in areas.items()
        if pre_post[0] + pre_post[1] > 0 and float(pre_post[0]).is_integer() and float(pre_post[1]).is_integer()
    }

    if weekly is not None:
        comparison = [name for name in ("control", "buffer", "control_buffer") if name in weekly.columns]
        panel = weekly_panel(weekly, ["target"], comparison)
        check = dispersion_check(panel)
        report["dispersion"] = check.as_dict()
        phi = max(check.phi, 1.0)
        if check.overdispersed:
            notes.append(
                f"weekly counts are overdispersed (phi = {check.phi:.2f}): Poisson standard errors are too small, "
                "the quasi-Poisson WDD and DiD below widen them"
            )
        adjusted = wdd(
            treated=t,
            control=c,
            displacement=d,
            displacement_control=dc,
            time_weights=time_weights,
            dispersion=phi,
            alpha=alpha,
        )
        report["wdd_quasi"] = adjusted.as_dict() | {"verdict": _verdict(adjusted.p_value, alpha, adjusted.estimate)}
        # DiD compares the target with its control only; the buffer is a possible displacement site.
        did_panel = weekly_panel(weekly, ["target"], ["control"])
        report["did"] = poisson_did(did_panel, alpha=alpha).as_dict()

    if harm:
        estimates, errors, weights, per_type = [], [], [], {}
        for crime_type, (weight, type_counts) in harm.items():
            type_areas = _counts(type_counts)
            if type_areas["target"][0] == 0:
                notes.append(f"{crime_type}: no crimes in the target before the response; left out of the harm WDD")
                continue
            result = wdd(
                treated=type_areas["target"],
                control=type_areas["control"],
                displacement=type_areas.get("buffer"),
                displacement_control=type_areas.get("control_buffer"),
                time_weights=time_weights,
                alpha=alpha,
            )
            estimates.append(result.estimate)
            errors.append(result.standard_error)
            weights.append(float(weight))
            per_type[crime_type] = result.as_dict() | {"harm_weight": float(weight)}
        if estimates:
            report["harm"] = {
                "by_type": per_type,
                "combined": wdd_harm(estimates, errors, weights, alpha=alpha).as_dict(),
            }

    if not power.detectable:
        if poisson.p_value >= alpha:
            notes.append(
                "a non-significant result here is not evidence that the response had no effect: the design could "
                "not have detected the goal"
            )
        else:
            notes.append(
                "significant although the design is underpowered for the goal: estimates that pass a test in an "
                "underpowered design tend to exaggerate the effect (Gelman & Carlin 2014, type M error)"
            )
    return report
