"""Evidence variables of crime pairs (case linkage), vectorised over arrays of pairs.

For two crimes ``i`` and ``j`` the evidence variables are those of Porter & Reich's ``crimelinkage``
(Porter 2016, *The American Statistician* 70(2)) and of the case-linkage literature (Bennell &
Canter 2002; Tonkin et al. 2011):

``spatial``
    Euclidean distance between the two locations, in the units of the coordinates (metres for
    incidents; the ``crimelinkage`` data use undocumented planar units).
``temporal``
    **Expected** absolute time gap in days, when each crime is known only to have happened in a
    window ``[from, to]`` (a burglary found after a weekend away): ``E|T_i - T_j|`` with ``T`` uniform
    on each window, in closed form.
``tod``
    Expected circular time-of-day distance in hours (0 to 12), uniform over each window, by a
    stratified midpoint rule over ``quadrature`` points per window.
``dow``
    Expected circular day-of-week distance in days (0 to 3.5), the same way.
``same_<field>``
    1 when both crimes have the same value of a categorical field (offence category, a
    modus-operandi or property field declared in the source mapping), 0 when they differ; missing
    values count as different.
``rare_<field>``
    When they agree, how rare the shared value is: ``-log`` of its share among all crimes of the
    table (agreeing on an unusual entry method says more than agreeing on the usual one, as the
    term-frequency adjustment of record linkage); 0 when they differ.

Nothing here loops over pairs in Python: every variable is a numpy expression over the pair index
arrays, computed in chunks so memory stays bounded.

Protected attributes (race, ethnicity, national origin, religion) are refused as fields by
:class:`CrimeTable`; they can never become evidence.

>>> import numpy as np
>>> crimes = CrimeTable.from_arrays(x=[0.0, 3.0], y=[0.0, 4.0], t_from=[0.0, 2.0], t_to=[0.0, 2.0])
>>> f = pair_features(crimes, np.array([0]), np.array([1]))
>>> float(f["spatial"][0]), float(f["temporal"][0])
(5.0, 2.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PROTECTED_WORDS",
    "CrimeTable",
    "expected_abs_difference",
    "expected_circular_distance",
    "feature_names",
    "pair_features",
]

#: Words that mark a protected attribute; a field whose name contains one is refused.
PROTECTED_WORDS = ("race", "ethnic", "national_origin", "nationality", "religion", "religious")

#: Windows shorter than this (days) are treated as instants (about 1.4 minutes).
_INSTANT_DAYS = 1e-3
_CHUNK = 1 << 12


def _check_field_name(name: str) -> None:
    lowered = name.lower().replace(" ", "_").replace("-", "_")
    for word in PROTECTED_WORDS:
        if word in lowered:
            raise ValueError(
                f"field {name!r} looks like a protected attribute ({word}); protected attributes never enter "
                "a linkage score: remove it from the fields"
            )


@dataclass(frozen=True)
class CrimeTable:
    """Crimes as aligned arrays: location, occurrence window (days, any origin) and categorical fields.

    ``t_from``/``t_to`` are days since any fixed origin; ``tod_from``/``dow_from`` are the local
    time of day (hours) and day of week (0 = Monday, fractional) at ``t_from``; when not given they
    are derived from ``t_from`` taken as days since a Monday midnight (local time).
    ``fields`` holds integer codes per categorical field (-1 = missing).
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    t_from: NDArray[np.float64]
    t_to: NDArray[np.float64]
    tod_from: NDArray[np.float64]
    dow_from: NDArray[np.float64]
    fields: Mapping[str, NDArray[np.int64]] = field(default_factory=dict)
    _rarity: dict[str, NDArray[np.float64]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        for name in ("y", "t_from", "t_to", "tod_from", "dow_from"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} has {getattr(self, name).shape[0]} values; x has {n}")
        for name, codes in self.fields.items():
            _check_field_name(name)
            if codes.shape != (n,):
                raise ValueError(f"field {name!r} has {codes.shape[0]} values; x has {n}")
        if n and not (np.isfinite(self.x).all() and np.isfinite(self.y).all()):
            bad = int(np.flatnonzero(~(np.isfinite(self.x) & np.isfinite(self.y)))[0])
            raise ValueError(f"crime {bad} has no coordinates: drop unlocated crimes before linkage")
        if n and (self.t_to < self.t_from).any():
            bad = int(np.flatnonzero(self.t_to < self.t_from)[0])
            raise ValueError(f"crime {bad} ends before it starts (t_to < t_from): swap or fix the window")

    @property
    def size(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def from_arrays(
        cls,
        *,
        x: ArrayLike,
        y: ArrayLike,
        t_from: ArrayLike,
        t_to: ArrayLike,
        tod_from: ArrayLike | None = None,
        dow_from: ArrayLike | None = None,
        fields: Mapping[str, ArrayLike] | None = None,
    ) -> CrimeTable:
        """Build a table; categorical ``fields`` may hold any hashable values (None/NaN = missing)."""
        t0 = np.asarray(t_from, dtype=float)
        tod = (t0 % 1.0) * 24.0 if tod_from is None else np.asarray(tod_from, dtype=float)
        dow = (t0 % 7.0) if dow_from is None else np.asarray(dow_from, dtype=float)
        coded = {name: encode_categories(values) for name, values in (fields or {}).items()}
        return cls(
            x=np.asarray(x, dtype=float),
            y=np.asarray(y, dtype=float),
            t_from=t0,
            t_to=np.asarray(t_to, dtype=float),
            tod_from=tod,
            dow_from=dow,
            fields=coded,
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        x: str = "x",
        y: str = "y",
        occurred_from: str = "occurred_from",
        occurred_to: str = "occurred_to",
        fields: Sequence[str] = (),
        timezone: str | None = None,
    ) -> CrimeTable:
        """Build a table from a frame with datetime windows (naive = local, or aware with ``timezone``).

        Day numbers count from 1970-01-05 (a Monday), so the day of week is ``t % 7``.
        """
        for name in fields:
            _check_field_name(name)
        start = pd.to_datetime(frame[occurred_from])
        end = pd.to_datetime(frame[occurred_to]).fillna(start)
        if timezone is not None:
            if start.dt.tz is None:
                start = start.dt.tz_localize("UTC")
                end = end.dt.tz_localize("UTC")
            start = start.dt.tz_convert(timezone).dt.tz_localize(None)
            end = end.dt.tz_convert(timezone).dt.tz_localize(None)
        origin = pd.Timestamp("1970-01-05")
        t_from = ((start - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        t_to = ((end - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        return cls.from_arrays(
            x=frame[x].to_numpy(dtype=float),
            y=frame[y].to_numpy(dtype=float),
            t_from=t_from,
            t_to=np.maximum(t_to, t_from),
            fields={name: frame[name].to_numpy(dtype=object) for name in fields},
        )

    def rarity(self, name: str) -> NDArray[np.float64]:
        """``-log`` share of each code of field ``name`` among the crimes with a value (index = code)."""
        cached = self._rarity.get(name)
        if cached is None:
            codes = self.fields[name]
            counts = np.bincount(codes[codes >= 0], minlength=int(codes.max(initial=-1)) + 1).astype(float)
            share = counts / max(counts.sum(), 1.0)
            cached = -np.log(np.where(share > 0, share, 1.0))
            self._rarity[name] = cached
        return cached

    def take(self, index: ArrayLike) -> CrimeTable:
        """The crimes at ``index`` (in that order)."""
        idx = np.asarray(index, dtype=np.int64)
        return CrimeTable(
            x=self.x[idx],
            y=self.y[idx],
            t_from=self.t_from[idx],
            t_to=self.t_to[idx],
            tod_from=self.tod_from[idx],
            dow_from=self.dow_from[idx],
            fields={k: v[idx] for k, v in self.fields.items()},
        )


def encode_categories(values: ArrayLike) -> NDArray[np.int64]:
    """Integer codes of categorical values; missing (None, NaN, empty text) is -1."""
    series = pd.Series(np.asarray(values, dtype=object))
    series = series.where(~series.isna() & (series.astype(str).str.strip() != ""))
    codes, _ = pd.factorize(series.astype(object), use_na_sentinel=True)
    return codes.astype(np.int64)


def feature_names(crimes: CrimeTable) -> list[str]:
    """Column names of :func:`pair_features` for this table."""
    names = ["spatial", "temporal", "tod", "dow"]
    for name in crimes.fields:
        names += [f"same_{name}", f"rare_{name}"]
    return names


def expected_abs_difference(
    a1: NDArray[np.float64], b1: NDArray[np.float64], a2: NDArray[np.float64], b2: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``E|X - Y|`` for independent ``X ~ U(a1, b1)`` and ``Y ~ U(a2, b2)``, elementwise, exact.

    Disjoint windows give the gap between midpoints. Overlapping windows use
    ``E|X-Y| = E(Y-X) + 2 E(X-Y)+`` with ``∬(x-y)+ = Σ ±K`` over the corners, ``K(x, y) = -((x-y)+)³/6``,
    in coordinates shifted to the overlap so that no large cubes cancel; instants (windows shorter
    than about a minute and a half) use the one-point formulas.

    >>> import numpy as np
    >>> z = np.zeros(1); one = np.ones(1)
    >>> round(float(expected_abs_difference(z, one, z, one)[0]), 6)  # two U(0,1): 1/3
    0.333333
    """
    a1, b1, a2, b2 = (np.asarray(v, dtype=float) for v in (a1, b1, a2, b2))
    m1 = 0.5 * (a1 + b1)
    m2 = 0.5 * (a2 + b2)
    out = np.abs(m2 - m1)
    l1 = b1 - a1
    l2 = b2 - a2
    overlap = (a1 < b2) & (a2 < b1)
    point1 = l1 < _INSTANT_DAYS
    point2 = l2 < _INSTANT_DAYS
    # one instant inside the other's window: E|c - Y| = ((c-a)² + (b-c)²) / (2L)
    sel = overlap & point1 & ~point2
    if sel.any():
        c, a, b = m1[sel], a2[sel], b2[sel]
        out[sel] = ((c - a) ** 2 + (b - c) ** 2) / (2 * (b - a))
    sel = overlap & point2 & ~point1
    if sel.any():
        c, a, b = m2[sel], a1[sel], b1[sel]
        out[sel] = ((c - a) ** 2 + (b - c) ** 2) / (2 * (b - a))
    sel = overlap & ~point1 & ~point2
    if sel.any():
        shift = np.maximum(a1[sel], a2[sel])
        p, q, r, s = a1[sel] - shift, b1[sel] - shift, a2[sel] - shift, b2[sel] - shift

        def k(u: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
            return -(np.maximum(u - v, 0.0) ** 3) / 6.0

        positive = k(q, s) - k(p, s) - k(q, r) + k(p, r)
        lengths = (q - p) * (s - r)
        out[sel] = (m2[sel] - m1[sel]) + 2.0 * positive / lengths
    return out


def expected_circular_distance(
    start_i: NDArray[np.float64],
    length_i: NDArray[np.float64],
    start_j: NDArray[np.float64],
    length_j: NDArray[np.float64],
    period: float,
    quadrature: int = 6,
) -> NDArray[np.float64]:
    """Expected circular distance (0 … period/2) between two uniform windows on a circle.

    Each window ``[start, start + length]`` is represented by ``quadrature`` stratified midpoints;
    a window of a full period or more is uniform on the circle. Exact for instants; the error of
    the midpoint rule is below ``period / (4 quadrature²)``.
    """
    length_i = np.minimum(length_i, period)
    length_j = np.minimum(length_j, period)
    offsets = (np.arange(quadrature) + 0.5) / quadrature
    pi = start_i[:, None] + length_i[:, None] * offsets[None, :]
    pj = start_j[:, None] + length_j[:, None] * offsets[None, :]
    diff = np.abs(pi[:, :, None] - pj[:, None, :]) % period
    circular = np.minimum(diff, period - diff)
    result: NDArray[np.float64] = circular.mean(axis=(1, 2))
    return result


def pair_features(
    crimes: CrimeTable, i: ArrayLike, j: ArrayLike, *, quadrature: int = 6, chunk: int = _CHUNK
) -> pd.DataFrame:
    """Evidence variables for the pairs ``(i[k], j[k])``: one row per pair, :func:`feature_names` columns."""
    ii = np.asarray(i, dtype=np.int64)
    jj = np.asarray(j, dtype=np.int64)
    if ii.shape != jj.shape:
        raise ValueError(f"i has {ii.size} pairs and j has {jj.size}: pass two arrays of the same length")
    names = feature_names(crimes)
    out = np.empty((ii.size, len(names)), dtype=float)
    for start in range(0, ii.size, chunk):
        a = ii[start : start + chunk]
        b = jj[start : start + chunk]
        out[start : start + a.size] = _chunk_features(crimes, a, b, quadrature)
    return pd.DataFrame(out, columns=names)


def _chunk_features(crimes: CrimeTable, a: NDArray[np.int64], b: NDArray[np.int64], quadrature: int) -> NDArray:
    columns = []
    columns.append(np.hypot(crimes.x[a] - crimes.x[b], crimes.y[a] - crimes.y[b]))
    columns.append(expected_abs_difference(crimes.t_from[a], crimes.t_to[a], crimes.t_from[b], crimes.t_to[b]))
    len_a = crimes.t_to[a] - crimes.t_from[a]
    len_b = crimes.t_to[b] - crimes.t_from[b]
    columns.append(
        expected_circular_distance(crimes.tod_from[a], len_a * 24.0, crimes.tod_from[b], len_b * 24.0, 24.0, quadrature)
    )
    columns.append(expected_circular_distance(crimes.dow_from[a], len_a, crimes.dow_from[b], len_b, 7.0, quadrature))
    for name, codes in crimes.fields.items():
        ca, cb = codes[a], codes[b]
        same = (ca == cb) & (ca >= 0)
        columns.append(same.astype(float))
        columns.append(np.where(same, crimes.rarity(name)[np.maximum(ca, 0)], 0.0))
    return np.column_stack(columns)
