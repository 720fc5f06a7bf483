"""The live runaway-feedback check over the agency's issued deployment lists (Ensign et al. 2018; civil-rights check 5).

:func:`live_feedback_audit` (``openilp feedback-check``, the page ``/civil-rights/feedback`` and
``/api/v1/civil-rights/feedback.json``) runs :func:`openilp.fairness.live_feedback_check` on real
deployments. It reads the **patrol log** (the places of every list issued for a shift in the period:
:mod:`openilp.services.analysis.patrol_log`) and, for each list, its parameters from the audit log
(the ``create`` or ``override`` of the ``deployment_plan``). The distinct shift days of the issued
lists are the **cycles**, in order; the agency's boundary layer gives the **areas**. For each cycle
``t`` and area ``i``:

* ``risk[i, t]``: the cycle's forecast re-run as it was planned (the recorded method, categories and
  cell size, at the shift day, over a horizon of :data:`HORIZON_DAYS` days), its cell scores summed
  over the cells whose centre lies in the area;
* ``share[i, t]``: the area's patrol minutes in the cycle's issued lists ÷ all of the cycle's minutes;
* ``reported[i, t]``: incidents of the cycle's categories **reported by the public** in the area from
  the cycle's shift day to the day before the next cycle's (the last cycle, which enters only by its
  risk, is given as many days as the one before it).

The regression of ``risk[i, t] − risk[i, t−1]`` on ``share[i, t−1]`` and ``reported[i, t−1]``, with
errors clustered by area, gives ``beta``: a positive ``beta`` with p < 0.05 says that places given more
patrol see their risk rise more than their reported crime explains, the mark of a feedback loop, and
calls for a governance review. A negative ``beta`` is what regression to the mean gives when places
are chosen for their high risk; it is not evidence against feedback.

Held lists are not in the log, so they are not counted: the check is of where patrols were sent. No
demographic area data are read: the areas are the boundary layer's polygons, and the check is the
same whether or not the agency has configured its disparity data.

>>> plain_language(LiveFeedback(-1.5, 0.26, 1.0, 0.1, 4488), cycles=52, areas=79).split(":")[0]
'Beta is -1.50 (standard error 0.26, one-sided p = 1.000, no alert)'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.analysis.areas import PolygonAreas
from openilp.core import OpenILP, Request, Result, plain
from openilp.core.jobs import ProgressFn
from openilp.db.models import Agency, AuditEntry
from openilp.errors import InvalidRequest
from openilp.fairness import LiveFeedback, live_feedback_check
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import STUDY_AREA_WORDS, boundary_areas, check_period, reader_agency
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.analysis.forecasting import ForecastRequest, run_forecast
from openilp.services.analysis.patrol_log import issued_patrol

__all__ = [
    "HORIZON_DAYS",
    "MAX_CYCLES",
    "MIN_AREAS",
    "FeedbackCycle",
    "FeedbackPlan",
    "FeedbackRequest",
    "LiveFeedbackAudit",
    "feedback_arrays",
    "feedback_of_cycles",
    "live_feedback_audit",
    "plain_language",
    "prepare_feedback_check",
    "run_feedback_check",
]

#: The most cycles (shift days with issued lists) one check covers: two years of weekly lists.
MAX_CYCLES = 104
#: The fewest areas (boundary polygons) the regression is run on.
MIN_AREAS = 3
#: The longest period one check covers (days).
MAX_PERIOD_DAYS = 3660
#: Days each cycle's re-run forecast scores (a week, as the weekly plans it stands for).
HORIZON_DAYS = 7.0


@dataclass(frozen=True)
class FeedbackRequest(Request):
    """The lists issued for the shifts from ``date_from`` to ``date_to`` (inclusive) of an agency."""

    agency_code: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def validate(self) -> FeedbackRequest:
        check_period(self.date_from, self.date_to, max_days=MAX_PERIOD_DAYS, day_word="shift day", covered_by="check")
        return self


@dataclass(frozen=True)
class FeedbackCycle:
    """One cycle: the shift day, the forecast it was planned with, and its patrol as
    ``(lon, lat, minutes)`` per place of its issued lists."""

    shift_day: dt.date
    method: str
    categories: tuple[str, ...]
    cell_size_m: float
    places: tuple[tuple[float, float, float], ...]
    study_area: str = "auto"


@dataclass(frozen=True)
class LiveFeedbackAudit(Result):
    """The check over the issued lists of ``request``: the fit, what it means, and what it was fitted on."""

    request: FeedbackRequest
    check: LiveFeedback
    lists: int
    places: int
    #: Places outside every area of the boundary layer (not counted in the shares).
    places_outside: int
    cycle_days: tuple[dt.date, ...]
    areas: int
    methods: tuple[str, ...]
    meaning: str
    notes: tuple[str, ...] = ()

    @property
    def alert(self) -> bool:
        return self.check.alert

    def as_dict(self) -> dict[str, Any]:
        request, check = self.request, self.check
        return plain(
            {
                "agency": request.agency_code,
                "date_from": str(request.date_from),
                "date_to": str(request.date_to),
                "beta": check.beta,
                "standard_error": check.standard_error,
                "p_value": check.p_value,
                "gamma": check.gamma,
                "observations": check.n_observations,
                "alpha": check.alpha,
                "alert": check.alert,
                "cycles": len(self.cycle_days),
                "areas": self.areas,
                "lists": self.lists,
                "places": self.places,
                "places_outside": self.places_outside,
                "cycle_days": [str(d) for d in self.cycle_days],
                "methods": list(self.methods),
                "horizon_days": HORIZON_DAYS,
                "meaning": self.meaning,
                "notes": list(self.notes),
            }
        )


def plain_language(check: LiveFeedback, *, cycles: int, areas: int) -> str:
    """What the fit means, in one or two sentences for the analyst and the governance board."""
    if not (math.isfinite(check.beta) and math.isfinite(check.standard_error)):
        return (
            f"The regression could not be estimated over {cycles} cycles and {areas} areas (the patrol shares or "
            "the reported crime do not vary enough): no conclusion either way."
        )
    head = (
        f"Beta is {check.beta:.2f} (standard error {check.standard_error:.2f}, one-sided p = {check.p_value:.3f}, "
        f"{'ALERT' if check.alert else 'no alert'})"
    )
    if check.alert:
        return (
            f"{head}: areas given a larger share of last cycle's patrol saw their forecast risk rise more than their "
            "reported crime explains, which is what a feedback loop looks like. The model and its lists need a "
            "review by the governance board before more lists are issued from it."
        )
    if check.beta < 0:
        return (
            f"{head}: areas given more patrol saw their risk fall, reported crime aside. For places chosen for "
            "their high risk this is what regression to the mean gives (high scores fall back); it is not "
            "evidence against feedback."
        )
    return (
        f"{head}: patrol share goes with a rise in risk too small or too uncertain to show a feedback loop "
        f"over these {cycles} cycles."
    )


@dataclass(frozen=True)
class FeedbackPlan:
    """A checked and audited request and the cycles its check fits (:func:`prepare_feedback_check`).

    Frozen and hashable: the same request over the same issued lists gives an equal plan, so the web
    app keys its background job on it and a list issued since starts a fresh check.
    """

    request: FeedbackRequest
    cycles: tuple[FeedbackCycle, ...]
    lists: int
    notes: tuple[str, ...] = ()


def live_feedback_audit(core: OpenILP, actor: UserInfo | None, request: FeedbackRequest) -> LiveFeedbackAudit:
    """The live feedback check of ``request`` (module docstring); ``tasking:plan`` (analysts and
    supervisors) from a signed-in actor, audited as a ``read`` of the ``feedback_check``.

    :func:`prepare_feedback_check` then :func:`run_feedback_check`: the web app runs the second on a
    background job."""
    return run_feedback_check(core, prepare_feedback_check(core, actor, request))


def prepare_feedback_check(core: OpenILP, actor: UserInfo | None, request: FeedbackRequest) -> FeedbackPlan:
    """Everything of :func:`live_feedback_audit` but the forecasts: validate, authorise (``tasking:plan``),
    audit the ``read`` of the ``feedback_check``, read the issued lists into cycles and refuse a period
    or a boundary layer the check cannot be run on. Quick (database reads only)."""
    request = request.validate()
    code = reader_agency(core, actor, request.agency_code, "tasking:plan")
    request = dataclasses.replace(request, agency_code=code)
    assert request.date_from is not None and request.date_to is not None
    with core.unit_of_work(actor) as uow:
        agency = uow.session.scalars(select(Agency).where(Agency.code == code)).one_or_none()
        if agency is None:
            raise InvalidRequest(f"unknown agency {code!r}")
        agency_id = int(agency.id)
        uow.audit(
            action="read",
            object_type="feedback_check",
            object_id=code,
            agency_id=agency_id,
            details={"from": str(request.date_from), "to": str(request.date_to)},
        )
    patrol = issued_patrol(core.engine, agency_id, request.date_from, request.date_to)
    cycles, notes = _cycles(core, agency_id, patrol)
    period = f"{request.date_from} to {request.date_to}"
    if len(cycles) < 2:
        raise InvalidRequest(
            f"the check needs issued lists on at least 2 shift days; {code} has {len(cycles)} from {period}: "
            "give a longer period"
        )
    if len(cycles) > MAX_CYCLES:
        raise InvalidRequest(
            f"{len(cycles)} shift days with issued lists from {period}: one check covers at most {MAX_CYCLES} "
            "cycles, give a shorter period"
        )
    _checked_areas(core, code)
    return FeedbackPlan(
        request=request,
        cycles=tuple(cycles),
        lists=int(patrol["plan_reference"].nunique()),
        notes=tuple(notes),
    )


def run_feedback_check(core: OpenILP, plan: FeedbackPlan, progress: ProgressFn | None = None) -> LiveFeedbackAudit:
    """The check of a prepared ``plan``: one forecast per cycle, then the fit. Slow (seconds for a year
    of weekly lists); ``progress(stage, done, total)`` is told of each cycle."""
    audit = feedback_of_cycles(core, plan.request.agency_code, plan.cycles, progress=progress)
    return dataclasses.replace(audit, request=plan.request, lists=plan.lists, notes=plan.notes + audit.notes)


def _cycles(core: OpenILP, agency_id: int, patrol: pd.DataFrame) -> tuple[list[FeedbackCycle], list[str]]:
    """The cycles of the logged places: one per shift day, with the first list's recorded parameters."""
    if not len(patrol):
        return [], []
    references = sorted(set(patrol["plan_reference"]))
    parameters: dict[str, dict[str, Any]] = {}
    with Session(core.engine) as session:
        for start in range(0, len(references), 500):
            rows = session.execute(
                select(AuditEntry.object_id, AuditEntry.details)
                .where(
                    AuditEntry.agency_id == agency_id,
                    AuditEntry.object_type == "deployment_plan",
                    AuditEntry.action.in_(("create", "override")),
                    AuditEntry.object_id.in_(references[start : start + 500]),
                )
                .order_by(AuditEntry.seq)
            ).all()
            for reference, details in rows:
                parameters.setdefault(str(reference), json.loads(details or "{}").get("parameters") or {})
    cycles, notes = [], []
    for day, day_rows in patrol.groupby("shift_day", sort=True):
        first = day_rows.iloc[0]
        recorded = parameters.get(str(first["plan_reference"]))
        if recorded is None:
            raise InvalidRequest(f"the issued list {first['plan_reference']} has no entry in the audit log")
        categories = tuple(str(c) for c in recorded.get("categories") or ())
        if not categories:
            raise InvalidRequest(f"the audit entry of the issued list {first['plan_reference']} names no categories")
        study_area = str(recorded.get("study_area") or "auto")
        if study_area not in STUDY_AREA_WORDS:  # a drawn area is recorded by its hash only
            study_area = "auto"
            notes.append(
                f"{day}: the list's drawn study area is recorded by its hash only; the risk is re-run over 'auto'"
            )
        used = {
            (str(p.get("method")), tuple(p.get("categories") or ()), float(p.get("cell_size_m") or 0))
            for p in (parameters.get(str(r), {}) for r in set(day_rows["plan_reference"]))
        }
        if len(used) > 1:
            notes.append(
                f"{day}: the day's lists differ in method, categories or cell size; the risk follows the first"
            )
        cycles.append(
            FeedbackCycle(
                shift_day=day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10]),
                method=str(recorded.get("method") or first["method"]),
                categories=categories,
                cell_size_m=float(recorded.get("cell_size_m") or first["cell_size_m"]),
                places=tuple(
                    (float(lon), float(lat), float(m))
                    for lon, lat, m in day_rows[["lon", "lat", "minutes"]].itertuples(index=False)
                ),
                study_area=study_area,
            )
        )
    return cycles, notes


def _areas_path(core: OpenILP, agency_code: str) -> Path:
    layer = core.boundaries.layer_for(agency_code)
    if layer is None:
        raise InvalidRequest(f"agency {agency_code} has no boundary layer: the check sums risk and patrol by its areas")
    return layer.path


def _checked_areas(core: OpenILP, agency_code: str) -> tuple[Path, int]:
    """The agency's boundary layer and its number of areas, refused with fewer than :data:`MIN_AREAS`."""
    path = _areas_path(core, agency_code)
    n_areas = _area_count(path)
    if n_areas < MIN_AREAS:
        raise InvalidRequest(
            f"the boundary layer of {agency_code} has {n_areas} area{'s' if n_areas != 1 else ''}: the check needs "
            f"at least {MIN_AREAS}"
        )
    return path, n_areas


def feedback_arrays(
    core: OpenILP,
    agency_code: str,
    cycles: Sequence[FeedbackCycle],
    areas_path: str | Path,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], int]:
    """``risk``, ``share`` and ``reported`` of shape (areas, cycles) as the module docstring defines them,
    and the number of places outside every area. Forecasts run without an actor: callers check who asks.
    ``progress(stage, done, total)``, when given, is told before each cycle's forecast."""
    crs_areas: dict[str, PolygonAreas] = {}

    def areas_in(crs: str) -> PolygonAreas:
        if crs not in crs_areas:
            crs_areas[crs] = boundary_areas(areas_path, crs)
        return crs_areas[crs]

    n_areas = len(areas_in("EPSG:4326").ids)
    shape = (n_areas, len(cycles))
    risk, share, reported = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    outside = 0
    for t, cycle in enumerate(cycles):
        if progress is not None:
            progress(f"forecast of {cycle.shift_day}", t, len(cycles))
        forecast = run_forecast(
            core,
            None,
            ForecastRequest(
                agency_code,
                cycle.categories,
                cycle.shift_day,
                cycle.method,
                cycle.cell_size_m,
                HORIZON_DAYS,
                study_area=cycle.study_area,
            ),
        )
        grid = forecast.forecaster.grid_
        assert grid.crs is not None, "a forecast grid always has the agency's projected CRS"
        areas = areas_in(grid.crs)
        cx, cy = grid.centres_m()
        cell_area = areas.assign(cx, cy)
        inside = cell_area >= 0
        risk[:, t] = np.bincount(
            cell_area[inside], weights=np.asarray(forecast.scores, dtype=float)[inside], minlength=n_areas
        )
        following = cycles[t + 1].shift_day if t + 1 < len(cycles) else None
        days = (following - cycle.shift_day).days if following else (cycle.shift_day - cycles[t - 1].shift_day).days
        events, _ = load_events(
            core.engine,
            EventQuery(
                agency_code,
                cycle.categories,
                cycle.shift_day,
                cycle.shift_day + dt.timedelta(days=days - 1),
                attention=("reported",),
            ),
        )
        where = areas.assign(events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float))
        reported[:, t] = np.bincount(where[where >= 0], minlength=n_areas)
        if cycle.places:
            lon, lat, minutes = (np.array(v, dtype=float) for v in zip(*cycle.places, strict=True))
            x, y = pyproj.Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(lon, lat)
            which = areas.assign(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
            outside += int((which < 0).sum())
            share[:, t] = np.bincount(which[which >= 0], weights=minutes[which >= 0], minlength=n_areas)
            if share[:, t].sum() > 0:
                share[:, t] /= share[:, t].sum()
    return risk, share, reported, outside


def _area_count(path: str | Path) -> int:
    features = json.loads(Path(path).read_text(encoding="utf-8")).get("features") or []
    return len(features)


def feedback_of_cycles(
    core: OpenILP, agency_code: str, cycles: Sequence[FeedbackCycle], progress: ProgressFn | None = None
) -> LiveFeedbackAudit:
    """The check over ``cycles`` (in shift-day order) of ``agency_code``, neither authorised nor audited:
    for :func:`live_feedback_audit` and for scripts that plan the cycles themselves."""
    path, n_areas = _checked_areas(core, agency_code)
    if len(cycles) < 2:
        raise InvalidRequest("the check needs at least 2 cycles")
    days = [c.shift_day for c in cycles]
    if days != sorted(set(days)):
        raise InvalidRequest("give the cycles in shift-day order, one per day")
    risk, share, reported, outside = feedback_arrays(core, agency_code, cycles, path, progress)
    if progress is not None:
        progress("fit", len(cycles), len(cycles))
    check = live_feedback_check(risk, share, reported)
    notes = []
    if outside:
        notes.append(f"{outside} places lie outside every area of the boundary layer and are not counted")
    return LiveFeedbackAudit(
        request=FeedbackRequest(agency_code, days[0], days[-1]),
        check=check,
        lists=len(cycles),
        places=sum(len(c.places) for c in cycles),
        places_outside=outside,
        cycle_days=tuple(days),
        areas=n_areas,
        methods=tuple(sorted({c.method for c in cycles})),
        meaning=plain_language(check, cycles=len(cycles), areas=n_areas),
        notes=tuple(notes),
    )
