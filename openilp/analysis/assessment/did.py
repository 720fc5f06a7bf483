"""Panel difference-in-differences with Poisson two-way fixed effects, and an overdispersion check.

Counts ``y_it`` of place ``i`` in period ``t`` (e.g. weekly crimes in the treated area and its
comparison areas) follow ``log E[y_it] = α_i + γ_t + β·D_it`` where ``D_it`` is 1 for the treated
place after the response starts; ``exp(β)`` is the incidence rate ratio (Wooldridge 2023,
*Econometrics Journal* 26(3); Braga & Weisburd 2022 for log IRRs of place-based responses).

Crime counts are usually overdispersed: the variance exceeds the mean, and a Poisson standard
error is then too small. :func:`dispersion_check` measures ``phi = Pearson χ² / df`` of the
fixed-effects Poisson fit (Cameron & Trivedi 2013, ch. 3); :func:`poisson_did` with
``variance="auto"`` scales the standard error by ``√phi`` (quasi-Poisson) when the check finds
overdispersion. ``"cluster"`` gives cluster-robust errors by place (only trustworthy with many
places), ``"negbin"`` a negative-binomial fit.

>>> import pandas as pd
>>> panel = pd.DataFrame({"unit": ["T"] * 4 + ["C"] * 4, "period": [0, 1, 2, 3] * 2,
...                       "count": [20, 22, 10, 11, 30, 31, 29, 32], "treated": [1] * 4 + [0] * 4,
...                       "post": [0, 0, 1, 1] * 2})
>>> round(poisson_did(panel, variance="poisson").irr, 3)
0.5
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from numpy.typing import NDArray
from scipy.stats import chi2, norm

__all__ = ["DiDResult", "DispersionCheck", "dispersion_check", "poisson_did"]

#: Fewest places for which cluster-robust standard errors are offered.
MIN_CLUSTERS = 10

Variance = Literal["auto", "poisson", "quasi", "cluster", "negbin"]


@dataclass(frozen=True)
class DispersionCheck:
    """Pearson overdispersion statistic of a Poisson fit: ``phi`` ≈ 1 when the counts are Poisson."""

    phi: float
    pearson_chi2: float
    df_resid: int
    p_value: float
    overdispersed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DiDResult:
    """Poisson fixed-effects difference-in-differences: the treated × post rate ratio."""

    irr: float
    log_irr: float
    standard_error: float
    z: float
    p_value: float
    confidence_interval: tuple[float, float]
    percent_change: float
    variance: str
    dispersion: DispersionCheck
    n_units: int
    n_periods: int
    alpha: float

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["confidence_interval"] = list(self.confidence_interval)
        return data


def _design(
    panel: pd.DataFrame, unit: str, period: str, count: str, treated: str, post: str
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], int, int]:
    missing = [c for c in (unit, period, count, treated, post) if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel lacks columns {missing}")
    y = panel[count].to_numpy(dtype=float)
    if len(y) == 0 or np.any(~np.isfinite(y)) or np.any(y < 0):
        raise ValueError("the panel needs non-negative counts")
    d = (panel[treated].astype(bool) & panel[post].astype(bool)).to_numpy(dtype=float)
    units = pd.Categorical(panel[unit])
    periods = pd.Categorical(panel[period])
    n_units, n_periods = len(units.categories), len(periods.categories)
    if n_units < 2 or n_periods < 2:
        raise ValueError("the panel needs at least two places and two periods")
    if d.sum() == 0:
        raise ValueError("no treated place is observed after the response starts: nothing to estimate")
    if np.all(d[panel[treated].astype(bool).to_numpy()] == 1):
        raise ValueError("the treated place has no period before the response: no baseline")
    if panel.loc[panel[treated].astype(bool) & ~panel[post].astype(bool), count].sum() == 0:
        raise ValueError("the treated place had no crimes before the response: there is no baseline to assess against")
    unit_dummies = np.eye(n_units)[units.codes][:, 1:]
    period_dummies = np.eye(n_periods)[periods.codes][:, 1:]
    x = np.column_stack([np.ones(len(y)), unit_dummies, period_dummies, d])
    return y, x, units.codes.astype(np.int64), n_units, n_periods


def _poisson_fit(y: NDArray[np.float64], x: NDArray[np.float64], offset: NDArray[np.float64] | None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit()


def _negbin_fit(y: NDArray[np.float64], x: NDArray[np.float64], offset: NDArray[np.float64] | None) -> Any:
    """NB2 GLM (Var = mu + a·mu²) with ``a`` from the Cameron & Trivedi (1990) auxiliary regression,
    re-estimated a few times from the NB fit's means (fast with many fixed effects)."""
    mu = _poisson_fit(y, x, offset).fittedvalues
    fit = None
    for _ in range(5):
        a = max(float(np.sum(((y - mu) ** 2 - y) * mu) / np.sum(mu**4)), 1e-8)
        fit = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=a), offset=offset).fit()
        mu = fit.fittedvalues
    return fit


def _offset(panel: pd.DataFrame, exposure: str | None) -> NDArray[np.float64] | None:
    if exposure is None:
        return None
    values = panel[exposure].to_numpy(dtype=float)
    if np.any(~(values > 0)):
        raise ValueError("exposures must be positive")
    return np.log(values)


def dispersion_check(
    panel: pd.DataFrame,
    *,
    unit: str = "unit",
    period: str = "period",
    count: str = "count",
    treated: str = "treated",
    post: str = "post",
    exposure: str | None = None,
    alpha: float = 0.05,
) -> DispersionCheck:
    """Pearson χ² / df of the two-way fixed-effects Poisson model (1 for Poisson counts).

    ``overdispersed`` is True when ``phi > 1`` and the χ² test of Poisson variance rejects at
    ``alpha``. Use ``phi`` as the ``dispersion`` of the WDD and the rate ratio.

    >>> import pandas as pd
    >>> panel = pd.DataFrame({"unit": ["T"] * 4 + ["C"] * 4, "period": [0, 1, 2, 3] * 2,
    ...                       "count": [5, 40, 3, 30, 6, 41, 2, 29], "treated": [1] * 4 + [0] * 4,
    ...                       "post": [0, 0, 1, 1] * 2})
    >>> dispersion_check(panel).df_resid
    2
    """
    y, x, _, _, _ = _design(panel, unit, period, count, treated, post)
    fit = _poisson_fit(y, x, _offset(panel, exposure))
    df = int(round(fit.df_resid))
    if df <= 0:
        raise ValueError("too few observations to check dispersion: add periods or places")
    pearson = float(fit.pearson_chi2)
    phi = pearson / df
    p_value = float(chi2.sf(pearson, df))
    return DispersionCheck(
        phi=phi, pearson_chi2=pearson, df_resid=df, p_value=p_value, overdispersed=phi > 1 and p_value < alpha
    )


def poisson_did(
    panel: pd.DataFrame,
    *,
    unit: str = "unit",
    period: str = "period",
    count: str = "count",
    treated: str = "treated",
    post: str = "post",
    exposure: str | None = None,
    variance: Variance = "auto",
    alpha: float = 0.05,
) -> DiDResult:
    """Difference-in-differences rate ratio from a Poisson two-way fixed-effects model.

    Parameters
    ----------
    panel : DataFrame
        One row per place and period with the count, whether the place is treated and whether
        the period is after the response started (columns named by the keyword arguments).
    exposure : str, optional
        Column of exposures (e.g. days in a partial week); the log is the offset.
    variance : {"auto", "poisson", "quasi", "cluster", "negbin"}
        ``"auto"``: quasi-Poisson when :func:`dispersion_check` finds overdispersion, else Poisson.
        ``"quasi"``: the Poisson error times ``√max(phi, 1)``.
        ``"cluster"``: cluster-robust by place (needs at least ``MIN_CLUSTERS`` places).
        ``"negbin"``: NB2 GLM with the same fixed effects (dispersion by auxiliary regression).
    alpha : float
        Two-sided level of the interval.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    y, x, groups, n_units, n_periods = _design(panel, unit, period, count, treated, post)
    offset = _offset(panel, exposure)
    check = dispersion_check(
        panel, unit=unit, period=period, count=count, treated=treated, post=post, exposure=exposure
    )
    chosen = ("quasi" if check.overdispersed else "poisson") if variance == "auto" else variance
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if chosen == "poisson":
            fit = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit()
        elif chosen == "quasi":
            # Never shrink the Poisson error: underdispersion is rare in crime counts and usually noise.
            fit = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit(scale=max(check.phi, 1.0))
        elif chosen == "cluster":
            if n_units < MIN_CLUSTERS:
                raise ValueError(
                    f"cluster-robust errors need at least {MIN_CLUSTERS} places, the panel has {n_units}: "
                    "use variance='quasi' or 'negbin'"
                )
            fit = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit(
                cov_type="cluster", cov_kwds={"groups": groups}
            )
        elif chosen == "negbin":
            fit = _negbin_fit(y, x, offset)
        else:
            raise ValueError(f"unknown variance {variance!r}; use auto, poisson, quasi, cluster or negbin")
    beta = float(fit.params[x.shape[1] - 1])
    se = float(fit.bse[x.shape[1] - 1])
    if not math.isfinite(se) or se <= 0:
        raise ValueError("the model did not converge to a usable standard error")
    level = float(norm.ppf(1 - alpha / 2))
    z = beta / se
    return DiDResult(
        irr=math.exp(beta),
        log_irr=beta,
        standard_error=se,
        z=z,
        p_value=float(2 * norm.sf(abs(z))),
        confidence_interval=(math.exp(beta - level * se), math.exp(beta + level * se)),
        percent_change=(math.exp(beta) - 1) * 100,
        variance=chosen,
        dispersion=check,
        n_units=n_units,
        n_periods=n_periods,
        alpha=alpha,
    )
