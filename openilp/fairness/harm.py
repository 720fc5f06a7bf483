"""Harm weights for need-adjusted parity: reported crime weighted by how much harm it does.

The Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016) weights each offence by the days
of custody at the starting point of the England and Wales sentencing guidelines for a first offender,
and counts only offences reported by the public, leaving out those found by proactive policing. The
need-adjusted parity of a patrol plan (civil-rights reference §3.10, check 7) compares each group's
share of patrol with its share of that reported harm, which tells over-policing apart from need.

:data:`HARM_DAYS` gives one weight per OpenILP category, in days. They are **policy defaults modelled
on the CHI's principle, set by OpenILP for its coarse categories, not the published CHI table**
(which scores hundreds of specific offences): an agency should replace them with the current CHI (or
its own sentencing guidelines). Categories mostly discovered by police weigh nothing, as in the CHI.

**Published and versioned.** The weights in force are :data:`HARM_WEIGHTS_VERSION`; every version
ever used stays in :data:`HARM_WEIGHT_VERSIONS`, so that the need of a plan recorded under an older
version can be read with the weights it used. Each plan's audit entry records the version, the
deployment page names it beside the need-adjusted parity, and the public transparency report lists
the weights with their source (:func:`published_harm_weights`). A change of weights is a new version,
never an edit of a published one.

**An agency's own weights.** An agency's governance body replaces the defaults with a TOML file
(:func:`harm_weights_from_toml`): a version name of its own, the source of the weights, and the
days of each category it sets (the categories it does not list keep the defaults). Its plans then
record that version, and its transparency report publishes those weights.

>>> harm_of(["burglary", "homicide", "drugs"])
array([ 120., 5475.,    0.])
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "HARM_DAYS",
    "HARM_WEIGHTS_SOURCE",
    "HARM_WEIGHTS_VERSION",
    "HARM_WEIGHT_VERSIONS",
    "PublishedHarmWeights",
    "harm_of",
    "harm_weights_from_toml",
    "published_harm_weights",
]

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


#: The version of the harm weights in force (recorded with every plan's need-adjusted parity).
HARM_WEIGHTS_VERSION = "openilp-harm-1"

#: Where the weights come from, as published.
HARM_WEIGHTS_SOURCE = (
    "OpenILP policy defaults modelled on the Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016, "
    "Policing 10(3)): days of custody at the sentencing starting point of a typical first offence of the "
    "category; offences mostly found by police weigh 0, as in the CHI. Not the published CHI table, which "
    "scores specific offences; an agency's governance body should replace them with it or its own guidelines."
)

#: Every version of the weights ever published (version -> category -> days); the current one last.
HARM_WEIGHT_VERSIONS: dict[str, Mapping[str, float]] = {HARM_WEIGHTS_VERSION: HARM_DAYS}


@dataclass(frozen=True)
class PublishedHarmWeights:
    """A version of the harm weights as published: its name, its source and each category's days."""

    version: str
    source: str
    days: tuple[tuple[str, float], ...]

    @property
    def weighted(self) -> tuple[tuple[str, float], ...]:
        """The categories with a weight above zero, heaviest first."""
        return tuple(sorted(((c, d) for c, d in self.days if d > 0), key=lambda cd: (-cd[1], cd[0])))

    @property
    def unweighted(self) -> tuple[str, ...]:
        return tuple(sorted(c for c, d in self.days if d <= 0))

    @property
    def table(self) -> dict[str, float]:
        """Category -> days, for :func:`harm_of`."""
        return dict(self.days)


def published_harm_weights(version: str = HARM_WEIGHTS_VERSION) -> PublishedHarmWeights:
    """The weights of ``version`` (default: in force) with their source (KeyError for an unknown version).

    >>> weights = published_harm_weights()
    >>> weights.version, weights.weighted[0], "drugs" in weights.unweighted
    ('openilp-harm-1', ('homicide', 5475.0), True)
    """
    table = HARM_WEIGHT_VERSIONS[version]
    return PublishedHarmWeights(version, HARM_WEIGHTS_SOURCE, tuple(sorted(table.items())))


#: Longest harm weight accepted, days (a life sentence's order of magnitude: 100 years).
MAX_HARM_DAYS = 36_500.0


def harm_weights_from_toml(text: str, *, name: str = "harm weights") -> PublishedHarmWeights:
    r"""An agency's harm weights from TOML text (ValueError naming the key and the fix).

    ``version`` names the agency's weights (never a built-in version's name), ``source`` says where
    they come from (at least 20 characters), and ``[days]`` gives days per category; categories it
    leaves out keep the defaults of :data:`HARM_DAYS`.

    >>> weights = harm_weights_from_toml(
    ...     'version = "SLMPD-harm-2026"\n'
    ...     'source = "Board of Police Commissioners, resolution 2026-04: Cambridge CHI 2020 table"\n'
    ...     '[days]\nburglary = 150\nlarceny = 3.5\n'
    ... )
    >>> weights.version, weights.table["burglary"], weights.table["homicide"]
    ('SLMPD-harm-2026', 150.0, 5475.0)
    >>> harm_weights_from_toml('version = "x-1"\nsource = "a board resolution of 2026"\n[days]\nburglar = 1\n')
    Traceback (most recent call last):
    ...
    ValueError: harm weights: [days] burglar is not a category (categories: aggravated_assault, arson, ...)
    """
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{name}: not valid TOML ({exc})") from exc
    unknown = sorted(set(values) - {"version", "source", "days"})
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {', '.join(unknown)} (use version, source and [days])")
    version = str(values.get("version", "")).strip()
    if not version or len(version) > 60:
        raise ValueError(f"{name}: give version, the name of these weights (1 to 60 characters)")
    if version in HARM_WEIGHT_VERSIONS:
        raise ValueError(f"{name}: version {version!r} is a built-in version; name the agency's weights")
    source = " ".join(str(values.get("source", "")).split())
    if len(source) < 20:
        raise ValueError(f"{name}: give source: who set these weights and from what (at least 20 characters)")
    days = values.get("days")
    if not isinstance(days, dict) or not days:
        raise ValueError(f"{name}: give a [days] table of days per category")
    table = dict(HARM_DAYS)
    for category, value in days.items():
        if category not in HARM_DAYS:
            known = ", ".join(sorted(HARM_DAYS)[:2])
            raise ValueError(f"{name}: [days] {category} is not a category (categories: {known}, ...)")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_HARM_DAYS:
            raise ValueError(f"{name}: [days] {category} must be a number of days from 0 to {MAX_HARM_DAYS:,.0f}")
        table[category] = float(value)
    return PublishedHarmWeights(version, source, tuple(sorted(table.items())))


def harm_of(categories: Sequence[str | None], weights: Mapping[str, float] | None = None) -> NDArray[np.float64]:
    """The harm weight of each incident's category (0 for an unknown or unweighted category)."""
    table = HARM_DAYS if weights is None else weights
    return np.array([float(table.get(c or "", 0.0)) for c in categories], dtype=np.float64)
