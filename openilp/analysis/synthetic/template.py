"""What a synthetic city looks like, fitted from a real one: background intensity, rhythm, offence
mix and near-repeat triggering.

A template describes the incident history of one real city as a self-exciting (Hawkes) point
process (Mohler et al. 2011): a *background* that does not depend on past events, separable into a
spatial intensity on square cells (smoothed cell counts of the real incidents), a weekly rhythm (168
hour-of-week shares, local time) and a seasonal one (12 month shares); and *triggering*: each event
begets on average ``branching_ratio`` offspring of the same category, displaced by a circular
Gaussian of ``sigma_m`` metres per axis and delayed by an exponential of mean ``tau_days`` days.

The triggering parameters are estimated from the Knox table of the real events (Knox 1964; Johnson
et al. 2007): the excess of observed over permutation-expected pairs close in space and time is
what triggering adds. Each event has on average ``α / (1 − α)`` descendants (``α`` the branching
ratio), each one excess pair with it; a fraction ``F_s(d) · F_t(t)`` of them lie within ``d``
metres and ``t`` days, where ``F_s(d) = 1 − exp(−d²/2σ²)`` (Rayleigh) and ``F_t(t) = 1 − exp(−t/τ)``.
The ratio of the excesses within 100 m and 400 m (7 days) gives ``σ``, that within 3 and 28 days
(200 m) gives ``τ``, both by bisection; the excess within 200 m and 28 days then gives ``α``. The
slow drift of the background (the Knox ratio of the outermost cell) is taken out first.

>>> rng = np.random.default_rng(0)
>>> n = 4000
>>> x, y = rng.normal(0, 3000, n), rng.normal(0, 3000, n)
>>> local = np.datetime64("2019-01-01T00:00") + rng.integers(0, 365 * 24 * 60, n).astype("timedelta64[m]")
>>> template = fit_template("toy", x, y, local, np.array(["burglary"] * n), np.array(["reported"] * n),
...                         knox_permutations=3, seed=0)
>>> template.weekly_profile.shape, round(float(template.intensity.sum()), 6)
((168,), 1.0)
>>> template.branching_ratio < 0.05  # uniform times: no triggering to find
True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.nearrepeat import KnoxTest

__all__ = ["IncidentTemplate", "TEMPLATE_NAMES", "estimate_triggering", "fit_template", "load_template"]

#: The templates that ship with OpenILP, fitted from real police data by
#: ``scripts/fit_synthetic_templates.py`` (see ``templates/SOURCE.md``).
TEMPLATE_NAMES = ("stlouis", "chicago")

_TEMPLATE_DIR = Path(__file__).with_name("templates")
#: Knox bands of the triggering fit: metres and days.
_FIT_SPACE_M = (100.0, 200.0, 400.0, 800.0)
_FIT_TIME_DAYS = (3.0, 7.0, 14.0, 28.0)


@dataclass(frozen=True)
class IncidentTemplate:
    """A city's incident history as a background intensity plus near-repeat triggering.

    Coordinates are metres relative to the template's own origin (the lower-left corner of the
    intensity grid); the generator places the grid wherever a synthetic agency lies.
    """

    name: str
    timezone: str
    cell_size_m: float
    #: Shares of the background per cell, shape (rows, columns) from the lower-left; sums to 1.
    intensity: NDArray[np.float64]
    #: Shares of background events per hour of the week (Monday 00:00 first), local time.
    weekly_profile: NDArray[np.float64]
    #: Shares of background events per calendar month (January first), per day of the month.
    monthly_profile: NDArray[np.float64]
    categories: tuple[str, ...]
    category_shares: NDArray[np.float64]
    #: How each category most often came to police attention in the real data.
    category_attention: tuple[str, ...]
    branching_ratio: float
    sigma_m: float
    tau_days: float
    #: Located real incidents the template was fitted on, and per year.
    fitted_events: int
    events_per_year: float

    def save(self, path: Path) -> None:
        """Write the template as one ``.npz`` (arrays) with its scalars as JSON inside."""
        meta = {
            "name": self.name,
            "timezone": self.timezone,
            "cell_size_m": self.cell_size_m,
            "categories": list(self.categories),
            "category_attention": list(self.category_attention),
            "branching_ratio": self.branching_ratio,
            "sigma_m": self.sigma_m,
            "tau_days": self.tau_days,
            "fitted_events": self.fitted_events,
            "events_per_year": self.events_per_year,
        }
        np.savez_compressed(
            path,
            intensity=self.intensity.astype(np.float32),
            weekly_profile=self.weekly_profile,
            monthly_profile=self.monthly_profile,
            category_shares=self.category_shares,
            meta=np.array(json.dumps(meta, sort_keys=True)),
        )


def load_template(name_or_path: str | Path) -> IncidentTemplate:
    """A shipped template by name (``"stlouis"``, ``"chicago"``) or one saved at a path."""
    path = Path(name_or_path)
    if str(name_or_path) in TEMPLATE_NAMES:
        path = _TEMPLATE_DIR / f"{name_or_path}.npz"
    if not path.exists():
        raise ValueError(
            f"no incident template {name_or_path!r}: use one of {', '.join(TEMPLATE_NAMES)} or a .npz file"
        )
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        intensity = data["intensity"].astype(np.float64)
        return IncidentTemplate(
            name=meta["name"],
            timezone=meta["timezone"],
            cell_size_m=float(meta["cell_size_m"]),
            intensity=intensity / intensity.sum(),
            weekly_profile=data["weekly_profile"],
            monthly_profile=data["monthly_profile"],
            categories=tuple(meta["categories"]),
            category_shares=data["category_shares"],
            category_attention=tuple(meta["category_attention"]),
            branching_ratio=float(meta["branching_ratio"]),
            sigma_m=float(meta["sigma_m"]),
            tau_days=float(meta["tau_days"]),
            fitted_events=int(meta["fitted_events"]),
            events_per_year=float(meta["events_per_year"]),
        )


def _smoothed_counts(
    x_m: NDArray[np.float64], y_m: NDArray[np.float64], cell_size_m: float, smoothing_cells: int
) -> NDArray[np.float64]:
    """Cell counts over the events' extent, smoothed by a separable binomial kernel (about a
    Gaussian of ``smoothing_cells / 2`` cells), so that sparse samples still give a surface."""
    nx = int(np.ceil((x_m.max() + 1e-9) / cell_size_m)) + 1
    ny = int(np.ceil((y_m.max() + 1e-9) / cell_size_m)) + 1
    counts = np.zeros((ny, nx))
    np.add.at(counts, ((y_m // cell_size_m).astype(int), (x_m // cell_size_m).astype(int)), 1.0)
    if smoothing_cells > 0:
        kernel = np.array([1.0])
        for _ in range(2 * smoothing_cells):
            kernel = np.convolve(kernel, [0.5, 0.5])
        counts = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="same"), 1, counts)
        counts = np.apply_along_axis(lambda col: np.convolve(col, kernel, mode="same"), 0, counts)
    return counts / counts.sum()


def _bisect(target: float, f: Callable[[float], float], lo: float, hi: float) -> float:
    """The parameter in [lo, hi] whose ratio ``f`` (increasing or decreasing) equals ``target``."""
    f_lo, f_hi = f(lo), f(hi)
    if not min(f_lo, f_hi) < target < max(f_lo, f_hi):
        return lo if abs(f_lo - target) < abs(f_hi - target) else hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if (f(mid) < target) == (f_lo < target):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def estimate_triggering(
    x_m: ArrayLike, y_m: ArrayLike, t_days: ArrayLike, *, permutations: int = 9, seed: int = 0
) -> tuple[float, float, float]:
    """``(branching_ratio, sigma_m, tau_days)`` from the Knox excess of the events (see the module
    docstring). No excess at all gives ``(0, 100, 7)``: no triggering, nominal kernels."""
    x, y, t = (np.asarray(v, dtype=float) for v in (x_m, y_m, t_days))
    knox = KnoxTest(
        space_bands_m=_FIT_SPACE_M,
        time_bands_days=_FIT_TIME_DAYS,
        same_location_m=None,
        permutations=permutations,
        seed=seed,
        closed="right",
    ).fit(x, y, t)
    # Slow drifts of the background (seasons, a hot spot moving) add a little excess at every
    # distance; the ratio in the outermost cell measures it, and the expected counts are scaled by it.
    drift = max(float(knox.observed_[-1, -1] / knox.expected_[-1, -1]), 1.0)
    excess = np.cumsum(np.cumsum(knox.observed_ - drift * knox.expected_, axis=0), axis=1)  # within (d, t)
    within = excess[1, -1]  # 200 m, 28 days
    if not (within > 0 and excess[2, 1] > 0 and excess[1, 0] > 0 and excess[0, 1] > 0):
        return 0.0, 100.0, 7.0
    space_ratio = float(np.clip(excess[0, 1] / excess[2, 1], 1e-6, 1 - 1e-6))  # 100 m / 400 m, 7 days
    time_ratio = float(np.clip(excess[1, 0] / within, 1e-6, 1 - 1e-6))  # 3 / 28 days, 200 m

    def rayleigh(d: float, sigma: float) -> float:
        return float(1 - np.exp(-(d**2) / (2 * sigma**2)))

    def exponential(t: float, tau: float) -> float:
        return float(1 - np.exp(-t / tau))

    sigma = _bisect(space_ratio, lambda s: rayleigh(_FIT_SPACE_M[0], s) / rayleigh(_FIT_SPACE_M[2], s), 5.0, 2000.0)
    tau = _bisect(
        time_ratio, lambda t: exponential(_FIT_TIME_DAYS[0], t) / exponential(_FIT_TIME_DAYS[-1], t), 0.1, 200.0
    )
    # Each event's descendants are alpha / (1 - alpha) on average; each is one excess pair with it.
    descendants = float(within / len(x) / (rayleigh(_FIT_SPACE_M[1], sigma) * exponential(_FIT_TIME_DAYS[-1], tau)))
    branching = float(np.clip(descendants / (1 + descendants), 0.0, 0.6))
    return branching, float(sigma), float(tau)


def fit_template(
    name: str,
    x_m: ArrayLike,
    y_m: ArrayLike,
    occurred_local: ArrayLike,
    category: ArrayLike,
    attention: ArrayLike,
    *,
    timezone: str = "America/Chicago",
    cell_size_m: float = 200.0,
    smoothing_cells: int = 1,
    knox_sample: int = 40_000,
    knox_permutations: int = 9,
    seed: int = 0,
) -> IncidentTemplate:
    """Fit a template from the located incidents of one real city.

    Parameters
    ----------
    x_m, y_m : array of float
        Projected coordinates in metres (any CRS in metres).
    occurred_local : array of datetime64
        Occurrence times in the city's local time (the weekly rhythm is local).
    category, attention : array of str
        Category code and how each incident came to attention.
    knox_sample : int
        The triggering is estimated on the latest ``knox_sample`` events (a contiguous span keeps
        the pairs close in time that a random sample would thin out).
    """
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    when = np.asarray(occurred_local, dtype="datetime64[m]")
    cats = np.asarray(category).astype(str)
    attn = np.asarray(attention).astype(str)
    if not len(x) == len(y) == len(when) == len(cats) == len(attn) or len(x) < 100:
        raise ValueError("give at least 100 events with aligned coordinates, times, categories and attention")
    x0, y0 = np.floor(x.min()), np.floor(y.min())
    intensity = _smoothed_counts(x - x0, y - y0, cell_size_m, smoothing_cells)

    minutes = (when - np.datetime64("1970-01-05T00:00", "m")).astype(np.int64)  # a Monday
    hour_of_week = (minutes // 60) % 168
    weekly = np.bincount(hour_of_week, minlength=168).astype(float)
    months = when.astype("datetime64[M]").astype(np.int64) % 12
    days_in_month = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    monthly = np.bincount(months, minlength=12) / days_in_month

    codes, counts = np.unique(cats, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    codes, counts = codes[order], counts[order]
    attention_of = []
    for code in codes:
        values, n = np.unique(attn[cats == code], return_counts=True)
        attention_of.append(str(values[np.argmax(n)]))

    # One event per place and day for the triggering: several offences recorded for one incident
    # (same coordinates, same day) are one event, not a near repeat of each other.
    day = when.astype("datetime64[D]").astype(np.int64)
    _, first = np.unique(np.stack([x, y, day.astype(float)], axis=1), axis=0, return_index=True)
    distinct = first[np.argsort(when[first], kind="stable")][-knox_sample:]
    branching, sigma, tau = estimate_triggering(
        x[distinct],
        y[distinct],
        (day[distinct] - day[distinct].min()).astype(float),
        permutations=knox_permutations,
        seed=seed,
    )
    span_years = max((when.max() - when.min()).astype(np.int64) / (1440.0 * 365.25), 1 / 365.25)
    return IncidentTemplate(
        name=name,
        timezone=timezone,
        cell_size_m=float(cell_size_m),
        intensity=intensity,
        weekly_profile=weekly / weekly.sum(),
        monthly_profile=monthly / monthly.sum(),
        categories=tuple(str(c) for c in codes),
        category_shares=counts / counts.sum(),
        category_attention=tuple(attention_of),
        branching_ratio=branching,
        sigma_m=sigma,
        tau_days=tau,
        fitted_events=len(x),
        events_per_year=float(len(x) / span_years),
    )
