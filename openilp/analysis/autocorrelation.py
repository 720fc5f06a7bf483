"""Global spatial autocorrelation over distance bands, and the hot-spot scale it suggests.

Gi* needs a neighbourhood: too narrow and a month's sparse counts never reach significance after
false-discovery-rate control; too wide and every cell of a busy district is "hot". Rather than one
fixed default, the scale can be read off the data the way Esri's *Optimized Hot Spot Analysis*
does (Esri, "How Optimized Hot Spot Analysis works"; "How Incremental Spatial Autocorrelation
works"):

1. **Incremental spatial autocorrelation.** Global Moran's I (Moran 1950; Cliff & Ord 1981) of the
   cell counts is computed for a series of increasing distance bands. Its z-score usually rises with
   the distance, then peaks where the clustering process is most pronounced. The first peak that is
   significant (z > 1.96) is the scale of analysis.
2. **No peak.** Crime is often clustered at every scale, so the z-score keeps rising. Then the band
   is the average distance from a cell to its ``K``-th nearest cell, ``K = 5 %`` of the cells, at
   least 3 and at most 30: wide enough for every cell to have several neighbours, narrow enough to
   stay local.

Moran's I uses binary distance-band weights and its variance under the randomisation null (Cliff &
Ord 1981, eq. 1.38), which allows for the zero-heavy, skewed distribution of crime counts; the
values equal PySAL esda's ``Moran(y, w, transformation="B").z_rand``.

>>> from openilp.analysis.grids import SquareGrid
>>> grid = SquareGrid(cell_size_m=100.0, origin=(0.0, 0.0), shape=(30, 30))
>>> counts = np.zeros(grid.n_units)
>>> counts[grid.raster_index[10:16, 10:16].ravel()] = 3  # one 600 m block of crime
>>> scan = incremental_morans_i(counts, grid, [100.0, 200.0, 300.0, 400.0, 500.0, 600.0])
>>> [round(z) for z in scan.z_scores]
[36, 55, 71, 78, 78, 72]
>>> choice = choose_distance_band(counts, grid, [100.0, 200.0, 300.0, 400.0, 500.0, 600.0])
>>> choice.band_m, choice.method
(500.0, 'first peak')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openilp.analysis.weights import SpatialWeights

__all__ = [
    "BandChoice",
    "IncrementalAutocorrelation",
    "choose_distance_band",
    "incremental_morans_i",
    "kth_neighbour_distance_m",
    "morans_i",
]

#: z-score a peak must exceed to count (two-sided 5 %).
PEAK_MIN_Z = 1.96
#: The fallback's ``K``: this share of the cells, clipped to [``K_MIN``, ``K_MAX``] (Esri's rule).
K_SHARE, K_MIN, K_MAX = 0.05, 3, 30


class _DistanceLattice(Protocol):
    """What the scan needs of a grid: its units' centres and distance-band weights."""

    @property
    def n_units(self) -> int: ...

    def centres_m(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

    def weights(self, contiguity: str = "queen", *, distance_band_m: float | None = None) -> SpatialWeights: ...


@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I with binary weights and its randomisation z-score."""

    i: float
    expected: float
    z: float
    #: Units with at least one neighbour (islands take no part in the sums).
    n_linked: int


def _moran_from_sums(z: NDArray[np.float64], cross: float, s0: float, cardinality: NDArray[np.float64]) -> MoranResult:
    """Moran's I from the cross-product sum ``Σ w_ij z_i z_j`` of a symmetric binary W."""
    n = len(z)
    expected = -1.0 / (n - 1)
    m2 = float(z @ z)
    if s0 == 0 or m2 == 0 or n < 4:
        return MoranResult(float("nan"), expected, float("nan"), int((cardinality > 0).sum()))
    i = n / s0 * cross / m2
    s1 = 2.0 * s0  # Σ (w_ij + w_ji)² / 2 for a symmetric binary matrix
    s2 = float((4.0 * cardinality * cardinality).sum())  # Σ (w_i. + w_.i)²
    kurtosis = n * float((z**4).sum()) / (m2 * m2)
    numerator = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0) - kurtosis * (
        (n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0
    )
    variance = numerator / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - expected * expected
    z_score = (i - expected) / math.sqrt(variance) if variance > 0 else float("nan")
    return MoranResult(float(i), expected, float(z_score), int((cardinality > 0).sum()))


def morans_i(values: ArrayLike, weights: SpatialWeights) -> MoranResult:
    """Global Moran's I of ``values`` under symmetric binary ``weights`` (no self-weight).

    >>> w = SpatialWeights.from_pairs([0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2], n=4)
    >>> round(morans_i([1.0, 2.0, 3.0, 4.0], w).i, 4)
    0.3333
    """
    y = np.asarray(values, dtype=np.float64)
    if len(y) != weights.n:
        raise ValueError(f"values has {len(y)} entries for {weights.n} units")
    z = y - y.mean()
    cross = float(z @ weights.matmul(z))
    return _moran_from_sums(z, cross, float(weights.data.sum()), weights.cardinalities().astype(np.float64))


@dataclass(frozen=True)
class IncrementalAutocorrelation:
    """Moran's I and its z-score for each distance band (metres), in increasing order."""

    bands_m: tuple[float, ...]
    morans_i: tuple[float, ...]
    z_scores: tuple[float, ...]
    #: Mean number of neighbours a unit has at each band.
    mean_neighbours: tuple[float, ...]

    def first_peak(self, min_z: float = PEAK_MIN_Z) -> float | None:
        """The first band whose z-score exceeds both neighbours' and ``min_z``; None without one."""
        z = self.z_scores
        for k in range(1, len(z) - 1):
            if z[k] > min_z and z[k] > z[k - 1] and z[k] >= z[k + 1]:
                return self.bands_m[k]
        return None


def incremental_morans_i(
    values: ArrayLike, lattice: _DistanceLattice, bands_m: Sequence[float]
) -> IncrementalAutocorrelation:
    """Moran's I of ``values`` (one per unit of ``lattice``) at each distance band, in metres.

    The neighbour pairs of the widest band are found once; each narrower band is a mask on their
    centre-to-centre distances, so the scan costs about one Moran's I at the widest band.
    """
    bands = sorted(float(b) for b in bands_m)
    if not bands or bands[0] <= 0 or not all(math.isfinite(b) for b in bands):
        raise ValueError("distance bands must be positive numbers of metres")
    y = np.asarray(values, dtype=np.float64)
    if len(y) != lattice.n_units:
        raise ValueError(f"values has {len(y)} entries for {lattice.n_units} units")
    widest = lattice.weights(distance_band_m=bands[-1])
    rows = widest.row_index()
    cols = widest.indices
    x, yc = lattice.centres_m()
    distance = np.hypot(x[rows] - x[cols], yc[rows] - yc[cols])
    z = y - y.mean()
    products = z[rows] * z[cols]
    out_i, out_z, out_k = [], [], []
    for band in bands:
        near = distance <= band * (1 + 1e-12)
        cardinality = np.bincount(rows[near], minlength=len(y)).astype(np.float64)
        result = _moran_from_sums(z, float(products[near].sum()), float(near.sum()), cardinality)
        out_i.append(result.i)
        out_z.append(result.z)
        out_k.append(float(cardinality.mean()) if len(y) else 0.0)
    return IncrementalAutocorrelation(tuple(bands), tuple(out_i), tuple(out_z), tuple(out_k))


def kth_neighbour_distance_m(lattice: _DistanceLattice, k: int) -> float:
    """Average distance (metres) from a unit's centre to its ``k``-th nearest other unit's centre."""
    from scipy.spatial import cKDTree  # SciPy's KD-tree, as the Knox test uses

    x, y = lattice.centres_m()
    if lattice.n_units <= k:
        raise ValueError(f"{lattice.n_units} units cannot each have {k} neighbours")
    points = np.column_stack([x, y])
    distances, _ = cKDTree(points).query(points, k=k + 1)
    return float(distances[:, k].mean())


@dataclass(frozen=True)
class BandChoice:
    """The neighbourhood chosen for Gi*, how, and the scan it came from."""

    band_m: float
    method: Literal["first peak", "k nearest"]
    scan: IncrementalAutocorrelation
    #: ``K`` of the fallback (0 when a peak was found).
    k: int = 0
    explanation: str = field(default="", compare=False)


def choose_distance_band(
    values: ArrayLike, lattice: _DistanceLattice, bands_m: Sequence[float], *, min_z: float = PEAK_MIN_Z
) -> BandChoice:
    """The Gi* neighbourhood (metres) for ``values``: the first significant peak of Moran's I z over
    ``bands_m``, else the average distance to the ``K``-th nearest unit (module docstring), kept
    within the scanned bands."""
    scan = incremental_morans_i(values, lattice, bands_m)
    peak = scan.first_peak(min_z)
    if peak is not None:
        k_index = scan.bands_m.index(peak)
        return BandChoice(
            peak,
            "first peak",
            scan,
            explanation=(
                f"{peak:,.0f} m: clustering of the counts (Moran's I z = {scan.z_scores[k_index]:.1f}) peaks first "
                f"at this distance among {len(scan.bands_m)} bands from {scan.bands_m[0]:,.0f} to "
                f"{scan.bands_m[-1]:,.0f} m"
            ),
        )
    k = int(min(K_MAX, max(K_MIN, round(K_SHARE * lattice.n_units))))
    k = min(k, lattice.n_units - 1)
    band = kth_neighbour_distance_m(lattice, k) if k >= 1 else scan.bands_m[0]
    band = float(min(max(band, scan.bands_m[0]), scan.bands_m[-1]))
    return BandChoice(
        round(band, 1),
        "k nearest",
        scan,
        k=k,
        explanation=(
            f"{band:,.0f} m: clustering keeps rising with distance up to {scan.bands_m[-1]:,.0f} m (no peak), so the "
            f"neighbourhood is the average distance from a cell to its {k}th nearest cell"
        ),
    )
