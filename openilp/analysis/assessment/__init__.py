"""Assessment of place-based responses (the A of SARA): did crime fall, and did the response cause it?

One statistic family per module, all pure functions over counts or count panels:

* :mod:`.wdd` — weighted displacement difference with time, area and harm weights (Wheeler &
  Ratcliffe 2018);
* :mod:`.wdq` — weighted displacement quotient and total net effect (Bowers & Johnson 2003);
* :mod:`.rates` — incidence rate ratio, exact Poisson E-test, Poisson z and control bands;
* :mod:`.did` — panel difference-in-differences with Poisson fixed effects, overdispersion check;
* :mod:`.power` — minimum detectable effects before launch, and warnings.

Notation: T = treated (response) area, C = its control, D = displacement (buffer) area,
Dc = the buffer's control; counts are ``(pre, post)`` pairs.

The model classes of :mod:`.did` (statsmodels) are imported on first use (PEP 562): the E-test of
:mod:`.rates`, used by the trend alerts, does not need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from openilp.analysis.assessment.power import PowerCheck, check_goal, irr_mde, wdd_mde, wdd_power
from openilp.analysis.assessment.rates import (
    ETestResult,
    RateRatioResult,
    control_band,
    etest,
    etest_exact,
    poisson_z,
    rate_ratio,
)
from openilp.analysis.assessment.wdd import WDDHarmResult, WDDResult, cumulative_wdd, wdd, wdd_harm
from openilp.analysis.assessment.wdq import WDQResult, wdq

if TYPE_CHECKING:
    from openilp.analysis.assessment.did import DiDResult, DispersionCheck, dispersion_check, poisson_did

#: Names of :mod:`.did`, imported when first asked for.
_LAZY = ("DiDResult", "DispersionCheck", "dispersion_check", "poisson_did")

__all__ = [
    "DiDResult",
    "DispersionCheck",
    "ETestResult",
    "PowerCheck",
    "RateRatioResult",
    "WDDHarmResult",
    "WDDResult",
    "WDQResult",
    "check_goal",
    "control_band",
    "cumulative_wdd",
    "dispersion_check",
    "etest",
    "etest_exact",
    "irr_mde",
    "poisson_did",
    "poisson_z",
    "rate_ratio",
    "wdd",
    "wdd_harm",
    "wdd_mde",
    "wdd_power",
    "wdq",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'openilp.analysis.assessment' has no attribute {name!r}")
    value = getattr(importlib.import_module("openilp.analysis.assessment.did"), name)
    globals()[name] = value
    return value
