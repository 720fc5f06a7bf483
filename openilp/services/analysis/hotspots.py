"""Hot spots from the store: kernel density and Getis-Ord Gi* on a square grid over the study area.

:func:`run_hotspots` loads the agency's located incidents (:func:`~openilp.services.events.load_events`),
lays ``cell_size_m`` squares over the study area (the agency's boundary layer when one is given,
else the convex hull of the events plus 500 m; see :mod:`openilp.services.analysis_common`), counts
the events per cell and computes

* the edge-corrected **kernel density** (quartic by default; Silverman's rule when no bandwidth is
  given), reported in events per km² (:func:`openilp.analysis.kde.kernel_density`);
* **Gi\\*** with queen contiguity, twice: one-sided for hot spots and for cold spots, each with
  permutation p-values and Benjamini-Hochberg FDR control (:func:`openilp.analysis.hotspots.gi_star`;
  Getis & Ord 1992, Ord & Getis 1995). A cell is ``"hot"`` or ``"cold"`` when its q-value is at most
  ``alpha``; ``gi_p`` and ``gi_q`` are those of the side the z-score points to.

The CLI (``openilp hotspots``), the JSON API (``/api/v1/analysis/hotspots.geojson|csv``) and the page
``/analysis/hotspots`` all call :func:`run_hotspots` and export with :meth:`HotspotResult.to_geojson`
and :meth:`HotspotResult.to_csv`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray
from sqlalchemy import Engine

from openilp.analysis.grids import SquareGrid
from openilp.analysis.hotspots import gi_star
from openilp.analysis.kde import default_bandwidth_m, kernel_density
from openilp.services.analysis_common import (
    LIMITS,
    AnalysisLimits,
    NoEventsError,
    ProgressCallback,
    ResultCache,
    build_grid,
    cached,
    check_categories,
    check_test_settings,
    frame_to_csv,
    guard_event_frame,
    study_area_for,
)
from openilp.services.events import EventQuery, load_events

__all__ = ["HOTSPOT_COLUMNS", "HotspotRequest", "HotspotResult", "run_hotspots"]

#: Per-cell columns of the GeoJSON properties and the CSV (the CSV adds the centre's lon/lat).
HOTSPOT_COLUMNS = ("unit_id", "row", "col", "count", "kde_per_km2", "gi_z", "gi_p", "gi_q", "gi_class")
KERNELS = ("quartic", "gaussian")


@dataclass(frozen=True)
class HotspotRequest:
    """What to map. Dates are local calendar days (``date_to`` inclusive); no dates = all incidents."""

    agency_code: str
    #: Category codes or crime groups (refinements included); empty = every category.
    categories: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: Side of a grid cell, metres.
    cell_size_m: float = 150.0
    #: Quartic radius or Gaussian standard deviation, metres; None = Silverman's rule.
    bandwidth_m: float | None = None
    kernel: str = "quartic"
    #: Gi* permutations (0: normal approximation only).
    permutations: int = 9_999
    #: False discovery rate of the hot and cold flags.
    alpha: float = 0.05
    seed: int = 0
    #: The agency's boundary GeoJSON (study-area mask); None = convex hull of the events + 500 m.
    boundary_path: str | None = None

    def validate(self, limits: AnalysisLimits = LIMITS) -> HotspotRequest:
        """Raise ValueError for any parameter out of range; return the request."""
        check_categories(self.categories)
        if not (math.isfinite(self.cell_size_m) and self.cell_size_m > 0):
            raise ValueError(f"cell size must be a positive number of metres, got {self.cell_size_m:g}")
        if self.bandwidth_m is not None and not (math.isfinite(self.bandwidth_m) and self.bandwidth_m > 0):
            raise ValueError(f"bandwidth must be a positive number of metres, got {self.bandwidth_m:g}")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {self.kernel!r}")
        check_test_settings(
            permutations=self.permutations,
            min_permutations=0,
            max_permutations=limits.max_gi_permutations,
            alpha=self.alpha,
            date_from=self.date_from,
            date_to=self.date_to,
        )
        return self


@dataclass
class HotspotResult:
    """Per-cell counts, density and Gi* of one :class:`HotspotRequest`."""

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

    @property
    def n_hot(self) -> int:
        return int((self.gi_class == "hot").sum())

    @property
    def n_cold(self) -> int:
        return int((self.gi_class == "cold").sum())

    def summary(self) -> dict[str, Any]:
        """Facts about the run: parameters, events used, cells, flags."""
        request = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in asdict(self.request).items()}
        request.pop("boundary_path", None)
        request["categories"] = list(self.request.categories)
        return {
            "request": request,
            "crs_of_analysis": self.crs,
            "study_area": self.study_area_source,
            "cells": self.grid.n_units,
            "cell_size_m": self.grid.cell_size_m,
            "events_loaded": self.n_events,
            "events_in_study_area": int(self.counts.sum()),
            "first_event_utc": self.first_event,
            "last_event_utc": self.last_event,
            "bandwidth_m": round(self.bandwidth_m, 1),
            "kernel": self.request.kernel,
            "max_kde_per_km2": round(float(self.kde_per_km2.max()), 3) if len(self.kde_per_km2) else 0.0,
            "hot_cells": self.n_hot,
            "cold_cells": self.n_cold,
            "alpha_fdr": self.request.alpha,
            "permutations": self.request.permutations,
        }

    def _columns(self) -> dict[str, NDArray[Any]]:
        return {
            "row": self.grid.cell_rows,
            "col": self.grid.cell_cols,
            "count": self.counts,
            "kde_per_km2": np.round(self.kde_per_km2, 4),
            "gi_z": np.round(self.gi_z, 4),
            "gi_p": np.round(self.gi_p, 6),
            "gi_q": np.round(self.gi_q, 6),
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


def _compute(
    engine: Engine, request: HotspotRequest, limits: AnalysisLimits, progress: ProgressCallback | None
) -> HotspotResult:
    step = progress or (lambda stage, done, total: None)
    step("loading incidents", 0, 4)
    query = EventQuery(request.agency_code, request.categories, request.date_from, request.date_to)
    events, agency = load_events(engine, query)
    events = guard_event_frame(events)
    if len(events) == 0:
        raise NoEventsError(_no_events_message(request))
    x = events["x_m"].to_numpy(dtype=float)
    y = events["y_m"].to_numpy(dtype=float)
    step("building the grid", 1, 4)
    area = study_area_for(x, y, agency.crs, request.boundary_path)
    grid = build_grid(area, request.cell_size_m, agency.crs, limits)
    counts = grid.count(x, y)
    inside = grid.assign(x, y) >= 0
    if counts.sum() == 0:
        raise NoEventsError(f"none of the {len(events):,} matching incidents lies in the study area")
    if request.bandwidth_m is None and inside.sum() < 2:
        raise ValueError("one incident in the study area: give a bandwidth in metres")
    step("kernel density", 2, 4)
    bandwidth = request.bandwidth_m or default_bandwidth_m(x[inside], y[inside])
    density = kernel_density(x, y, grid, bandwidth_m=bandwidth, kernel=request.kernel)  # type: ignore[arg-type]
    per_km2 = density / (grid.areas_m2 / 1e6)
    step("Gi* hot and cold spots", 3, 4)
    weights = grid.weights("queen")
    if grid.n_units < 2:
        raise ValueError("the study area holds a single cell: use smaller cells")
    hot = gi_star(counts, weights, permutations=request.permutations, alternative="greater", seed=request.seed)
    cold = gi_star(counts, weights, permutations=request.permutations, alternative="less", seed=request.seed + 1)
    hot_flag, cold_flag = hot.hot_spots(request.alpha), cold.hot_spots(request.alpha)
    upward = hot.z >= 0
    gi_class = np.where(hot_flag, "hot", np.where(cold_flag, "cold", "none"))
    step("done", 4, 4)
    occurred = pd.to_datetime(events["occurred_from"])
    return HotspotResult(
        request=request,
        crs=agency.crs,
        grid=grid,
        counts=counts,
        kde_per_km2=per_km2,
        gi_z=hot.z,
        gi_p=np.where(upward, hot.p_values, cold.p_values),
        gi_q=np.where(upward, hot.q_values(), cold.q_values()),
        gi_class=gi_class,
        bandwidth_m=float(bandwidth),
        n_events=len(events),
        study_area_source=area.source,
        first_event=str(occurred.min()),
        last_event=str(occurred.max()),
    )


def _no_events_message(request: HotspotRequest) -> str:
    what = ", ".join(request.categories) or "incidents"
    span = f" between {request.date_from or 'the first day'} and {request.date_to or 'the last day'}"
    return f"no located {what} of agency {request.agency_code}{span}"


def run_hotspots(
    engine: Engine,
    request: HotspotRequest,
    *,
    limits: AnalysisLimits = LIMITS,
    cache: ResultCache | None = None,
    progress: ProgressCallback | None = None,
) -> HotspotResult:
    """Kernel density and Gi* hot/cold cells for ``request`` (see the module docstring).

    Raises ValueError (:class:`~openilp.services.analysis_common.NoEventsError` when nothing matches)
    for invalid parameters, too many cells or permutations, or an unknown agency or category.
    """
    request.validate(limits)
    if request.boundary_path is not None and not Path(request.boundary_path).is_file():
        raise ValueError(f"boundary file {request.boundary_path} does not exist")
    return cached(
        cache, "hotspots", engine, request.agency_code, request, lambda: _compute(engine, request, limits, progress)
    )
