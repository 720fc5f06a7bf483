"""Hot spots from the store: kernel density and Getis-Ord Gi* on a square grid over the study area.

:func:`run_hotspots` loads the agency's located incidents (:func:`~openilp.services.analysis.events.load_events`),
lays ``cell_size_m`` squares over the study area (the agency's boundary layer by default, else the
convex hull of the events plus 500 m; see :mod:`openilp.services.analysis.common`), counts the
events per cell and computes

* the edge-corrected **kernel density** (quartic by default; Silverman's rule when no bandwidth is
  given), reported in events per km² (:func:`openilp.analysis.kde.kernel_density`);
* **Gi\\*** over a distance-band neighbourhood, twice: one-sided for hot spots and for cold spots, with
  Benjamini-Hochberg FDR control (:func:`openilp.analysis.hotspots.gi_star`; Getis & Ord 1992,
  Ord & Getis 1995). A cell is ``"hot"`` or ``"cold"`` when its q-value is at most ``alpha``;
  ``gi_p`` and ``gi_q`` are those of the side the z-score points to.

**Inference.** FDR over ``m`` cells can flag a cell only when its p-value is at most ``alpha / m``
(7 µ for St. Louis' 7,148 cells of 150 m). ``R`` permutations cannot give less than ``1 / (R + 1)``,
so the default is the **exact** p-value of the same permutation null
(:func:`openilp.analysis.hotspots.exact_tail_probabilities`), which has no such floor. ``inference
= "permutation"`` runs permutations instead: as many as asked, or, when none are given, the fewest
that let FDR flag a cell on this grid (:func:`openilp.analysis.hotspots.permutations_for_fdr`).
``"normal"`` uses the normal approximation (rough in the tails of zero-heavy counts). When nothing is
significant, :attr:`HotspotResult.diagnosis` says why and what to change.

**Neighbourhood.** Unless the request gives ``neighbourhood_m``, it is chosen from the counts as
Esri's Optimized Hot Spot Analysis does (:func:`openilp.analysis.autocorrelation.choose_distance_band`):
the first significant peak of global Moran's I z over bands of 1 to 5 cells (the scale of a patrol
beat), else the average distance from a cell to its K-th nearest cell (K = 5 % of the cells, 3 to 30).
St. Louis burglary clusters more at every band up to 750 m for December 2019, for Q4 and for the
year alike, so each gets 489 m (the 30th nearest 150 m cell) and December's 185 burglaries give 48
hot cells, where the 8 touching cells gave none. :attr:`HotspotResult.neighbourhood_reason` says
which rule chose the band, so every shell can show it.

The CLI (``openilp hotspots``), the JSON API (``/api/v1/analysis/hotspots.geojson|csv``) and the page
``/analysis/hotspots`` all call :func:`run_hotspots` with the same :class:`HotspotRequest`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray

from openilp.analysis.autocorrelation import choose_distance_band
from openilp.analysis.grids import SquareGrid
from openilp.analysis.hotspots import GiStarResult, gi_star, permutations_for_fdr
from openilp.analysis.kde import default_bandwidth_m, kernel_density
from openilp.core import OpenILP, Request, Result
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import (
    LIMITS,
    AnalysisLimits,
    NoEventsError,
    ProgressCallback,
    build_grid,
    cached,
    check_categories,
    check_study_area,
    check_test_settings,
    frame_to_csv,
    guard_event_frame,
    reader_agency,
    study_area_for,
    study_polygons,
)
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.engine import count_in_units

__all__ = ["HOTSPOT_COLUMNS", "INFERENCES", "HotspotRequest", "HotspotResult", "run_hotspots"]

#: Per-cell columns of the GeoJSON properties and the CSV (the CSV adds the centre's lon/lat).
HOTSPOT_COLUMNS = ("unit_id", "row", "col", "count", "kde_per_km2", "gi_z", "gi_p", "gi_q", "gi_class")
KERNELS = ("quartic", "gaussian")
#: How Gi* p-values are computed: the exact permutation null, simulated permutations, the normal curve.
INFERENCES = ("exact", "permutation", "normal")
#: Permutations tried when ``inference="permutation"`` gives no count (see ``permutations_for_fdr``).
PERMUTATION_LADDER = (999, 9_999, 99_999)


@dataclass(frozen=True)
class HotspotRequest(Request):
    """What to map. Dates are local calendar days (``date_to`` inclusive); no dates = all incidents.

    ``inference`` left empty is derived from ``permutations`` (the historical switch): none given
    → ``"exact"``, 0 → ``"normal"``, a positive count → ``"permutation"``.
    """

    #: Agency code; empty = the signed-in user's agency (or the only agency in the store).
    agency_code: str = ""
    #: Category codes or crime groups (refinements included); empty = every category.
    categories: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: Side of a grid cell, metres.
    cell_size_m: float = 150.0
    #: Quartic radius or Gaussian standard deviation, metres; None = Silverman's rule.
    bandwidth_m: float | None = None
    kernel: str = "quartic"
    #: Neighbours of a cell in Gi*: every cell whose centre lies within this many metres (wider
    #: neighbourhoods find sparser clusters); None = chosen from the data (see the module docstring).
    neighbourhood_m: float | None = None
    #: ``"exact"``, ``"permutation"`` or ``"normal"`` (see the module docstring); empty = derived.
    inference: str = ""
    #: Gi* permutations for ``inference="permutation"``; None = the fewest that let FDR flag a cell.
    permutations: int | None = None
    #: False discovery rate of the hot and cold flags.
    alpha: float = 0.05
    seed: int = 0
    #: ``"auto"`` (boundary layer, else hull), ``"boundary"``, ``"hull"`` or GeoJSON text.
    study_area: str = "auto"

    def validate(self, limits: AnalysisLimits = LIMITS) -> HotspotRequest:
        """Raise InvalidRequest for any parameter out of range; return the request with its inference set."""
        categories = check_categories(self.categories)
        if not (isinstance(self.cell_size_m, int | float) and math.isfinite(self.cell_size_m) and self.cell_size_m > 0):
            raise InvalidRequest(f"cell size must be a positive number of metres, got {self.cell_size_m!r}")
        if self.bandwidth_m is not None and not (math.isfinite(self.bandwidth_m) and self.bandwidth_m > 0):
            raise InvalidRequest(f"bandwidth must be a positive number of metres, got {self.bandwidth_m:g}")
        if self.bandwidth_m is not None and self.bandwidth_m > limits.max_bandwidth_m:
            raise InvalidRequest(
                f"bandwidth_m must be at most {limits.max_bandwidth_m:,.0f} m, got {self.bandwidth_m:,.0f}: "
                "a kernel that wide smooths a city flat (leave it empty for Silverman's rule)"
            )
        widest = min(limits.max_neighbourhood_m, 20 * self.cell_size_m)
        if self.neighbourhood_m is not None and not (
            isinstance(self.neighbourhood_m, int | float)
            and math.isfinite(self.neighbourhood_m)
            and self.cell_size_m <= self.neighbourhood_m <= widest
        ):
            raise InvalidRequest(
                f"neighbourhood_m must lie between the cell size ({self.cell_size_m:g} m) and {widest:,.0f} m "
                f"(20 cells at most), got {self.neighbourhood_m!r}"
            )
        if self.kernel not in KERNELS:
            raise InvalidRequest(f"kernel must be one of {', '.join(KERNELS)}, got {self.kernel!r}")
        inference = self.inference or (
            "exact" if self.permutations is None else ("normal" if self.permutations == 0 else "permutation")
        )
        if inference not in INFERENCES:
            raise InvalidRequest(f"inference must be one of {', '.join(INFERENCES)}, got {inference!r}")
        check_test_settings(
            permutations=self.permutations if self.permutations is not None else 1,
            min_permutations=0 if inference != "permutation" else 1,
            max_permutations=limits.max_gi_permutations,
            alpha=self.alpha,
            date_from=self.date_from,
            date_to=self.date_to,
        )
        check_study_area(self.study_area, ("auto", "boundary", "hull"), limits)
        return dataclasses.replace(self, categories=categories, inference=inference)


@dataclass(frozen=True)
class HotspotResult(Result):
    """Per-cell counts, density and Gi* of one :class:`HotspotRequest`; ``as_dict()`` is :meth:`summary`."""

    request: HotspotRequest
    crs: str
    grid: SquareGrid
    counts: NDArray[np.int64]
    kde_per_km2: NDArray[np.float64]
    gi_z: NDArray[np.float64]
    gi_p: NDArray[np.float64]
    gi_q: NDArray[np.float64]
    gi_class: NDArray[np.str_]
    bandwidth_m: float
    n_events: int
    study_area_source: str
    first_event: str | None
    last_event: str | None
    #: Permutations run (0 for the exact and normal routes).
    permutations: int = 0
    #: Why no cell is hot, and what to change ('' when some are).
    diagnosis: str = ""
    #: The Gi* neighbourhood used, metres, and how it was chosen ('' when the request gave it).
    neighbourhood_m: float = 0.0
    neighbourhood_reason: str = ""

    @property
    def n_hot(self) -> int:
        return int((self.gi_class == "hot").sum())

    @property
    def n_cold(self) -> int:
        return int((self.gi_class == "cold").sum())

    def summary(self) -> dict[str, Any]:
        """Facts about the run: parameters, events used, cells, inference, flags and the diagnosis."""
        request = {
            field.name: getattr(self.request, field.name)
            for field in dataclasses.fields(self.request)
            if field.name != "study_area"
        }
        request = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in request.items()}
        request["categories"] = list(self.request.categories)
        cells = self.grid.n_units
        finite = self.gi_p[np.isfinite(self.gi_p)]
        return {
            "request": request,
            "crs_of_analysis": self.crs,
            "study_area": self.study_area_source,
            "cells": cells,
            "cell_size_m": self.grid.cell_size_m,
            "events_loaded": self.n_events,
            "events_in_study_area": int(self.counts.sum()),
            "first_event_utc": self.first_event,
            "last_event_utc": self.last_event,
            "bandwidth_m": round(self.bandwidth_m, 1),
            "kernel": self.request.kernel,
            "neighbourhood": f"{self.neighbourhood_m:,.0f} m",
            "neighbourhood_m": self.neighbourhood_m,
            "neighbourhood_chosen": self.neighbourhood_reason or "given in the request",
            "max_kde_per_km2": round(float(self.kde_per_km2.max()), 3) if len(self.kde_per_km2) else 0.0,
            "hot_cells": self.n_hot,
            "cold_cells": self.n_cold,
            "alpha_fdr": self.request.alpha,
            "inference": self.request.inference,
            "permutations": self.permutations,
            "smallest_p": float(finite.min()) if len(finite) else None,
            "p_needed_for_one_cell": self.request.alpha / cells if cells else None,
            "diagnosis": self.diagnosis,
        }

    def as_dict(self) -> dict[str, Any]:
        """The run's :meth:`summary` (the cells are in :meth:`to_geojson` and :meth:`to_csv`)."""
        return self.summary()

    def _columns(self) -> dict[str, NDArray[Any]]:
        return {
            "row": self.grid.cell_rows,
            "col": self.grid.cell_cols,
            "count": self.counts,
            "kde_per_km2": np.round(self.kde_per_km2, 4),
            "gi_z": np.round(self.gi_z, 4),
            "gi_p": self.gi_p,
            "gi_q": self.gi_q,
            "gi_class": self.gi_class,
        }

    def to_geojson(self) -> dict[str, Any]:
        """The cells as a GeoJSON FeatureCollection in EPSG:4326; properties :data:`HOTSPOT_COLUMNS`,
        and the run's :meth:`summary` in an ``analysis`` member."""
        collection = self.grid.to_geojson(self._columns(), crs=self.crs, id_property="unit_id")
        collection["analysis"] = self.summary()
        return collection

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: :data:`HOTSPOT_COLUMNS` plus the centre's ``lon``, ``lat``."""
        x, y = self.grid.centres_m()
        lon, lat = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True).transform(x, y)
        frame = pd.DataFrame({"unit_id": np.arange(self.grid.n_units), **self._columns()})
        frame["lon"] = np.round(lon, 6)
        frame["lat"] = np.round(lat, 6)
        return frame

    def to_csv(self) -> str:
        """:meth:`to_frame` as CSV text."""
        return frame_to_csv(self.to_frame())


#: Distance bands scanned for the neighbourhood, in cells (1 to 5 cell widths: local enough to patrol).
SCAN_CELLS = tuple(range(1, 6))


def choose_neighbourhood(
    counts: NDArray[np.int64], grid: SquareGrid, request: HotspotRequest, limits: AnalysisLimits
) -> tuple[float, str]:
    """The Gi* neighbourhood in metres and why: the request's, or chosen from the counts."""
    if request.neighbourhood_m is not None:
        return float(request.neighbourhood_m), ""
    widest = min(limits.max_neighbourhood_m, 20 * request.cell_size_m)
    bands = [k * request.cell_size_m for k in SCAN_CELLS if k * request.cell_size_m <= widest]
    if len(bands) < 3 or grid.n_units < 4:
        return float(bands[-1] if bands else request.cell_size_m), "the only band the limits allow"
    choice = choose_distance_band(counts, grid, bands)
    return choice.band_m, choice.explanation


def _gi(
    counts: NDArray[np.int64], grid: SquareGrid, request: HotspotRequest, limits: AnalysisLimits, band_m: float
) -> tuple[GiStarResult, GiStarResult, int]:
    """Hot-side and cold-side Gi* by the request's inference, and the permutations run."""
    weights = grid.weights(distance_band_m=band_m)
    if request.inference == "exact":
        hot = gi_star(counts, weights, alternative="greater", exact=True)
        cold = gi_star(counts, weights, alternative="less", exact=True)
        return hot, cold, 0
    if request.inference == "normal":
        hot = gi_star(counts, weights, alternative="greater", permutations=0)
        cold = gi_star(counts, weights, alternative="less", permutations=0)
        return hot, cold, 0
    permutations = request.permutations or permutations_for_fdr(
        grid.n_units, request.alpha, ladder=tuple(p for p in PERMUTATION_LADDER if p <= limits.max_gi_permutations)
    )
    hot = gi_star(counts, weights, permutations=permutations, alternative="greater", seed=request.seed)
    cold = gi_star(counts, weights, permutations=permutations, alternative="less", seed=request.seed + 1)
    return hot, cold, permutations


def _diagnosis(
    request: HotspotRequest, cells: int, events: int, hot: int, smallest: float, permutations: int, band_m: float
) -> str:
    """Why no cell is hot and what to change ('' when some are)."""
    if hot:
        return ""
    needed = request.alpha / cells
    if request.inference == "permutation" and 1.0 / (permutations + 1.0) > needed:
        return (
            f"No cell can be flagged: with {permutations:,} permutations the smallest possible p-value is "
            f"{1.0 / (permutations + 1.0):.2g}, but the false discovery rate of {request.alpha:g} over {cells:,} "
            f"cells needs {needed:.2g} or less. Use the exact test, at least {math.ceil(cells / request.alpha):,} "
            "permutations, or larger cells."
        )
    return (
        f"No cell is significant after controlling the false discovery rate at {request.alpha:g} over {cells:,} "
        f"cells: the smallest p-value is {smallest:.2g}, above the {needed:.2g} the strongest cell needs. "
        f"With {events:,} incidents, widen the dates, use a wider neighbourhood than {band_m:,.0f} m "
        f"(e.g. {2 * band_m:,.0f} m), larger cells "
        "(fewer tests) or raise alpha."
    )


def _compute(
    core: OpenILP,
    request: HotspotRequest,
    limits: AnalysisLimits,
    progress: ProgressCallback | None,
) -> HotspotResult:
    step = progress or (lambda stage, done, total: None)
    step("loading incidents", 0, 4)
    query = EventQuery(request.agency_code, request.categories, request.date_from, request.date_to)
    events, agency = load_events(core.engine, query)
    events = guard_event_frame(events)
    if len(events) == 0:
        raise NoEventsError(_no_events_message(request))
    x = events["x_m"].to_numpy(dtype=float)
    y = events["y_m"].to_numpy(dtype=float)
    step("building the grid", 1, 4)
    polygons, source = study_polygons(core, request.agency_code, agency.crs, request.study_area, limits)
    area = study_area_for(x, y, agency.crs, polygons, source)
    grid = build_grid(area, request.cell_size_m, agency.crs, limits)
    counts = count_in_units(core, grid, x, y)
    inside = grid.assign(x, y) >= 0
    if counts.sum() == 0:
        raise NoEventsError(f"none of the {len(events):,} matching incidents lies in the study area")
    if request.bandwidth_m is None and inside.sum() < 2:
        raise InvalidRequest("one incident in the study area: give a bandwidth in metres")
    if grid.n_units < 2:
        raise InvalidRequest("the study area holds a single cell: use smaller cells")
    step("kernel density", 2, 4)
    bandwidth = request.bandwidth_m or default_bandwidth_m(x[inside], y[inside])
    bandwidth = min(float(bandwidth), limits.max_bandwidth_m)
    density = kernel_density(x, y, grid, bandwidth_m=bandwidth, kernel=request.kernel)  # type: ignore[arg-type]
    per_km2 = density / (grid.areas_m2 / 1e6)
    step("Gi* hot and cold spots", 3, 4)
    band_m, band_reason = choose_neighbourhood(counts, grid, request, limits)
    hot, cold, permutations = _gi(counts, grid, request, limits, band_m)
    hot_flag, cold_flag = hot.hot_spots(request.alpha), cold.hot_spots(request.alpha)
    upward = hot.z >= 0
    gi_class = np.where(hot_flag, "hot", np.where(cold_flag, "cold", "none"))
    step("done", 4, 4)
    occurred = pd.to_datetime(events["occurred_from"])
    gi_p = np.where(upward, hot.p_values, cold.p_values)
    smallest = float(np.nanmin(hot.p_values)) if grid.n_units else 1.0
    return HotspotResult(
        request=request,
        crs=agency.crs,
        grid=grid,
        counts=counts,
        kde_per_km2=per_km2,
        gi_z=hot.z,
        gi_p=gi_p,
        gi_q=np.where(upward, hot.q_values(), cold.q_values()),
        gi_class=gi_class,
        bandwidth_m=float(bandwidth),
        n_events=len(events),
        study_area_source=area.source,
        first_event=str(occurred.min()),
        last_event=str(occurred.max()),
        permutations=permutations,
        diagnosis=_diagnosis(
            request, grid.n_units, int(counts.sum()), int(hot_flag.sum()), smallest, permutations, band_m
        ),
        neighbourhood_m=band_m,
        neighbourhood_reason=band_reason,
    )


def _no_events_message(request: HotspotRequest) -> str:
    what = ", ".join(request.categories) or "incidents"
    span = f" between {request.date_from or 'the first day'} and {request.date_to or 'the last day'}"
    return f"no located {what} of agency {request.agency_code}{span}"


def run_hotspots(
    core: OpenILP,
    actor: UserInfo | None,
    request: HotspotRequest,
    *,
    limits: AnalysisLimits = LIMITS,
    progress: ProgressCallback | None = None,
) -> HotspotResult:
    """Kernel density and Gi* hot/cold cells for ``request`` (see the module docstring).

    Raises InvalidRequest (:class:`~openilp.services.analysis.common.NoEventsError` when nothing
    matches) for invalid parameters, too many cells or permutations, or an unknown agency or
    category; NotPermitted for a user without ``analysis:read`` or asking for another agency.
    """
    request = request.validate(limits)
    request = dataclasses.replace(request, agency_code=reader_agency(core, actor, request.agency_code))
    return cached(core, "hotspots", request.agency_code, request, lambda: _compute(core, request, limits, progress))
