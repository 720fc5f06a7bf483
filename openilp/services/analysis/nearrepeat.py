"""Near repeats from the store: the Knox table and near-repeat alerts "as of" a day.

:func:`run_knox` fits :class:`openilp.analysis.nearrepeat.KnoxTest` (Knox 1964; Ratcliffe's Near
Repeat Calculator conventions) to the agency's located incidents of a category in a date range. One
time per event: the local calendar day of the midpoint of its occurrence window
(:func:`openilp.analysis.nearrepeat.event_days` on local times).

:func:`run_near_repeat_alerts` answers "where is risk elevated today?" for an as-of day ``D``:

* the **recent** incidents are those of the ``ceil(last time band)`` days up to ``D`` (inclusive);
* the Knox test is fitted on the ``history_days`` days **before** that window (so the incidents that
  raise alerts never shape the table that weighs them);
* each recent incident gets the risk rings of the table's significant cells still in force on ``D``
  (:func:`openilp.analysis.nearrepeat_alerts.near_repeat_alerts`), reduced to one circle per
  incident (:func:`~openilp.analysis.nearrepeat_alerts.alert_zones`).

Without an as-of day the services use the local date of the agency's latest located incident
(historical data would otherwise give no alerts "today").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from sqlalchemy import Engine

from openilp.analysis.nearrepeat import KnoxTest, event_days
from openilp.analysis.nearrepeat_alerts import alert_zones, alerts_geojson, near_repeat_alerts, zone_members
from openilp.constants import DEFAULT_SPACE_BANDS_M, DEFAULT_TIME_BANDS_DAYS
from openilp.core import OpenILP, Request, Result
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import (
    LIMITS,
    AnalysisLimits,
    NoEventsError,
    ProgressCallback,
    cached,
    check_categories,
    check_day,
    check_test_settings,
    event_noun,
    frame_to_csv,
    guard_event_frame,
    latest_incident_date,
    local_times,
    plain_records,
    reader_agency,
)
from openilp.services.analysis.events import EventQuery, incident_labels, load_events
from openilp.services.engine import fit_knox

__all__ = [
    "DEFAULT_SPACE_BANDS_M",
    "DEFAULT_TIME_BANDS_DAYS",
    "KNOX_COLUMNS",
    "KnoxRequest",
    "KnoxResult",
    "NearRepeatAlertRequest",
    "NearRepeatAlertResult",
    "ZONE_COLUMNS",
    "parse_bands",
    "run_knox",
    "run_near_repeat_alerts",
]

#: Columns of the Knox CSV (one row per space band × time band).
KNOX_COLUMNS = (
    "space_band",
    "time_band",
    "space_index",
    "time_index",
    "same_location",
    "distance_from_m",
    "distance_to_m",
    "days_from",
    "days_to",
    "observed",
    "expected",
    "knox_ratio",
    "z_score",
    "p_value",
    "significant",
)
#: Columns of the alert-zone CSV and GeoJSON properties (the CSV adds the incident's lon/lat).
ZONE_COLUMNS = (
    "incident_id",
    "complaint_number",
    "block_address",
    "neighbourhood",
    "category",
    "incident_date",
    "radius_m",
    "max_multiplier",
    "expires_date",
    "days_left",
)
_ORIGIN = "1970-01-01"


def parse_bands(text: str, name: str) -> tuple[float, ...]:
    """Band edges from ``"100,200,300"``; InvalidRequest unless positive and strictly increasing.

    >>> parse_bands("100, 200,400", "space bands")
    (100.0, 200.0, 400.0)
    """
    try:
        edges = tuple(float(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise InvalidRequest(f"{name} must be numbers separated by commas, e.g. 100,200,300; got {text!r}") from None
    _check_bands(edges, name)
    return edges


def _check_bands(edges: tuple[float, ...], name: str, limit: int = LIMITS.max_knox_bands) -> None:
    if not edges:
        raise InvalidRequest(f"{name} must list at least one band edge")
    if not all(math.isfinite(e) and e > 0 for e in edges):
        raise InvalidRequest(f"{name} must be positive numbers, got {list(edges)}")
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise InvalidRequest(f"{name} must be increasing, got {list(edges)}")
    if len(edges) > limit:
        raise InvalidRequest(f"at most {limit} {name} are allowed, got {len(edges)}")
    if name.startswith("space") and edges[-1] > 10_000:
        raise InvalidRequest(f"{name} must end at 10,000 m or less, got {edges[-1]:g}")
    if name.startswith("time") and edges[-1] > 3_660:
        raise InvalidRequest(f"{name} must end at 3,660 days or less, got {edges[-1]:g}")


@dataclass(frozen=True)
class KnoxRequest(Request):
    """A Knox test on the agency's located incidents. Dates are local days, ``date_to`` inclusive.

    Its cost grows with permutations × incidents, bounded by ``AnalysisLimits.max_knox_work``.
    """

    #: Agency code; empty = the signed-in user's agency (or the only agency in the store).
    agency_code: str = ""
    categories: tuple[str, ...] = ("burglary",)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    space_bands_m: tuple[float, ...] = DEFAULT_SPACE_BANDS_M
    time_bands_days: tuple[float, ...] = DEFAULT_TIME_BANDS_DAYS
    #: Pairs at most this far apart form the "same location" band (0 = identical coordinates).
    same_location_m: float = 0.0
    permutations: int = 999
    seed: int = 0
    alpha: float = 0.05
    #: Ratcliffe's practical flag: significant cells need at least this Knox ratio.
    min_ratio: float = 1.2

    def validate(self, limits: AnalysisLimits = LIMITS) -> KnoxRequest:
        categories = check_categories(self.categories)
        if not categories:
            raise InvalidRequest("give a category for the Knox test, e.g. burglary")
        _check_bands(tuple(self.space_bands_m), "space bands", limits.max_knox_bands)
        _check_bands(tuple(self.time_bands_days), "time bands", limits.max_knox_bands)
        if not 0 <= self.same_location_m < self.space_bands_m[0]:
            raise InvalidRequest(
                f"same-location distance must be >= 0 and below the first space band ({self.space_bands_m[0]:g} m)"
            )
        check_test_settings(
            permutations=self.permutations,
            min_permutations=1,
            max_permutations=limits.max_knox_permutations,
            alpha=self.alpha,
            date_from=self.date_from,
            date_to=self.date_to,
        )
        if not 0 < self.min_ratio <= 100:
            raise InvalidRequest(f"min_ratio must lie between 0 and 100, got {self.min_ratio:g}")
        return dataclasses.replace(
            self,
            categories=categories,
            space_bands_m=tuple(float(b) for b in self.space_bands_m),
            time_bands_days=tuple(float(b) for b in self.time_bands_days),
        )


@dataclass(frozen=True)
class KnoxResult(Result):
    """A fitted Knox table with its plain-language summary; ``as_dict()`` is :meth:`to_json`."""

    request: KnoxRequest
    table: pd.DataFrame
    summary: list[str]
    n_events: int
    n_pairs: int
    event_name: str
    date_from: str | None
    date_to: str | None

    @property
    def space_labels(self) -> list[str]:
        return list(dict.fromkeys(self.table["space_band"]))

    @property
    def time_labels(self) -> list[str]:
        return list(dict.fromkeys(self.table["time_band"]))

    def heat_rows(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """``(space band, cells)`` per row of the heat table, cells in time-band order."""
        rows = []
        for label, group in self.table.groupby("space_index", sort=True):
            cells = plain_records(group.sort_values("time_index"))
            rows.append((str(cells[0]["space_band"]), cells))
            del label
        return rows

    def as_dict(self) -> dict[str, Any]:
        return self.to_json()

    def to_json(self) -> dict[str, Any]:
        """Parameters, counts, band labels, the cells (:data:`KNOX_COLUMNS`) and the summary."""
        return {
            "agency": self.request.agency_code,
            "categories": list(self.request.categories),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "events": self.n_events,
            "pairs_within_last_space_band": self.n_pairs,
            "permutations": self.request.permutations,
            "seed": self.request.seed,
            "alpha": self.request.alpha,
            "min_ratio": self.request.min_ratio,
            "space_bands": self.space_labels,
            "time_bands": self.time_labels,
            "cells": plain_records(self.table[list(KNOX_COLUMNS)]),
            "summary": self.summary,
        }

    def to_csv(self) -> str:
        """The table, one row per space band × time band (:data:`KNOX_COLUMNS`)."""
        return frame_to_csv(self.table[list(KNOX_COLUMNS)])


def _event_frame(engine: Engine, query: EventQuery) -> tuple[pd.DataFrame, Any]:
    events, agency = load_events(engine, query)
    events = guard_event_frame(events)
    local_from = local_times(events, agency.timezone, "occurred_from")
    local_to = local_times(events, agency.timezone, "occurred_to")
    days = event_days(local_from.to_numpy(), local_to.to_numpy(), origin=_ORIGIN) if len(events) else np.zeros(0)
    return events.assign(day=days), agency


def _fit(
    core: OpenILP, events: pd.DataFrame, request: KnoxRequest, limits: AnalysisLimits, progress: ProgressCallback | None
) -> tuple[pd.DataFrame, list[str], int]:
    if len(events) > limits.max_knox_events:
        raise InvalidRequest(
            f"{len(events):,} incidents exceed the {limits.max_knox_events:,} a Knox test may take here: "
            "narrow the dates or the category"
        )
    if request.permutations * len(events) > limits.max_knox_work:
        most = max(1, limits.max_knox_work // max(1, len(events)))
        raise InvalidRequest(
            f"{request.permutations:,} permutations over {len(events):,} incidents exceed the work one Knox test "
            f"may take ({limits.max_knox_work:,} permutation-incidents): use at most {most:,} permutations, "
            "or narrow the dates or the category"
        )
    if len(events) < 2:
        raise NoEventsError(f"the Knox test needs at least 2 located incidents, found {len(events)}")
    if progress:
        progress(f"Knox test, {request.permutations} permutations", 1, 3)
    knox = KnoxTest(
        space_bands_m=request.space_bands_m,
        time_bands_days=request.time_bands_days,
        same_location_m=request.same_location_m,
        permutations=request.permutations,
        seed=request.seed,
        n_jobs=-1,  # every CPU; the result does not depend on it
    )
    knox = fit_knox(core, knox, events["x_m"].to_numpy(), events["y_m"].to_numpy(), events["day"].to_numpy())
    noun = event_noun(request.categories)
    table = knox.table(alpha=request.alpha, min_ratio=request.min_ratio)
    summary = knox.summary(event_name=noun, alpha=request.alpha, min_ratio=request.min_ratio)
    return table, summary, knox.n_pairs_


def _day_text(day: float) -> str:
    return str((pd.Timestamp(_ORIGIN) + pd.Timedelta(days=float(day))).date())


def run_knox(
    core: OpenILP,
    actor: UserInfo | None,
    request: KnoxRequest,
    *,
    limits: AnalysisLimits = LIMITS,
    progress: ProgressCallback | None = None,
) -> KnoxResult:
    """The Knox table of ``request`` (InvalidRequest for invalid parameters or too few incidents)."""
    request = request.validate(limits)
    request = dataclasses.replace(request, agency_code=reader_agency(core, actor, request.agency_code))

    def compute() -> KnoxResult:
        if progress:
            progress("loading incidents", 0, 3)
        events, _ = _event_frame(
            core.engine, EventQuery(request.agency_code, request.categories, request.date_from, request.date_to)
        )
        table, summary, pairs = _fit(core, events, request, limits, progress)
        if progress:
            progress("done", 3, 3)
        return KnoxResult(
            request=request,
            table=table,
            summary=summary,
            n_events=len(events),
            n_pairs=pairs,
            event_name=event_noun(request.categories),
            date_from=_day_text(events["day"].min()),
            date_to=_day_text(events["day"].max()),
        )

    return cached(core, "knox", request.agency_code, request, compute)


# ------------------------------------------------------------------------------------ alerts


@dataclass(frozen=True)
class NearRepeatAlertRequest(Request):
    """Near-repeat alerts in force on ``as_of`` (local day; None = the latest incident's day).

    The Knox test's bands, permutations, seed and thresholds come from ``knox`` (its agency,
    categories and dates are set from this request).
    """

    #: Agency code; empty = the signed-in user's agency (or the only agency in the store).
    agency_code: str = ""
    categories: tuple[str, ...] = ("burglary",)
    as_of: dt.date | None = None
    #: Days before the recent window on which the Knox test is fitted.
    history_days: int = 365
    knox: KnoxRequest = field(default_factory=KnoxRequest)

    def validate(self, limits: AnalysisLimits = LIMITS) -> NearRepeatAlertRequest:
        categories = check_categories(self.categories)
        check_day(self.as_of, "as_of")
        if not 28 <= self.history_days <= limits.max_history_days:
            raise InvalidRequest(
                f"history must be between 28 and {limits.max_history_days:,} days, got {self.history_days}"
            )
        knox = dataclasses.replace(
            self.knox, agency_code=self.agency_code, categories=categories, date_from=None, date_to=None
        ).validate(limits)
        return dataclasses.replace(self, categories=categories, knox=knox)


@dataclass(frozen=True)
class NearRepeatAlertResult(Result):
    """The Knox fit on history, the rings not yet expired and one zone per incident with active rings.

    ``as_dict()`` is :meth:`to_json`.
    """

    request: NearRepeatAlertRequest
    as_of: dt.date
    crs: str
    knox: KnoxResult
    rings: pd.DataFrame
    zones: pd.DataFrame
    recent_events: int
    recent_from: dt.date
    #: The recent incidents (the window that raises alerts), as the analysis saw them (EVENT_COLUMNS and ``day``).
    recent: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def zone_members(self, incident_id: int | None = None) -> pd.DataFrame:
        """The recent incidents inside each zone's circle (of the zone around ``incident_id`` alone when given).

        :func:`openilp.analysis.nearrepeat_alerts.zone_members` over :attr:`recent`: the incidents of
        the same categories from ``recent_from`` to ``as_of`` within the zone's radius of its trigger,
        the trigger included. Columns ``zone_incident_id, incident_id, distance_m``.
        """
        zones = self.zones
        if incident_id is not None:
            zones = zones[zones["incident_id"] == incident_id] if len(zones) else zones
        if zones.empty or self.recent.empty:
            return pd.DataFrame(columns=["zone_incident_id", "incident_id", "distance_m"])
        return zone_members(zones, self.recent["x_m"], self.recent["y_m"], self.recent["incident_id"])

    def _zones_out(self) -> pd.DataFrame:
        zones = self.zones.copy()
        if zones.empty:
            return pd.DataFrame(columns=[*ZONE_COLUMNS, "x_m", "y_m", "lon", "lat"])
        zones["incident_date"] = [_day_text(d) for d in zones["incident_day"]]
        zones["expires_date"] = [_day_text(d) for d in zones["expires_day"]]
        as_of_day = float(event_days([str(self.as_of)], origin=_ORIGIN)[0])
        zones["days_left"] = (zones["expires_day"] - as_of_day).astype(int)
        zones["max_multiplier"] = zones["max_multiplier"].round(3)
        transformer = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = transformer.transform(zones["x_m"].to_numpy(), zones["y_m"].to_numpy())
        zones["lon"], zones["lat"] = np.round(lon, 6), np.round(lat, 6)
        return zones[[*ZONE_COLUMNS, "x_m", "y_m", "lon", "lat"]]

    def summary(self) -> dict[str, Any]:
        return {
            "as_of": str(self.as_of),
            "categories": list(self.request.categories),
            "recent_from": str(self.recent_from),
            "recent_incidents": self.recent_events,
            "history_from": self.knox.date_from,
            "history_to": self.knox.date_to,
            "history_incidents": self.knox.n_events,
            "rings_not_expired": len(self.rings),
            "rings_active": int(self.rings["active"].sum()) if len(self.rings) else 0,
            "zones": len(self.zones),
            "elevated_cells": int(self.knox.table["significant"].sum()),
        }

    def to_geojson(self) -> dict[str, Any]:
        """One circle per zone in EPSG:4326 (properties :data:`ZONE_COLUMNS`); the run's facts in
        ``analysis`` and the Knox summary sentences in ``knox_summary``."""
        zones = self._zones_out()
        transformer = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        collection = alerts_geojson(zones, transformer=transformer)
        for feature in collection["features"]:
            props = feature["properties"]
            feature["properties"] = {key: props[key] for key in (*ZONE_COLUMNS, "lon", "lat")}
        collection["analysis"] = self.summary()
        collection["knox_summary"] = self.knox.summary
        return collection

    def to_csv(self) -> str:
        """One row per zone: :data:`ZONE_COLUMNS` and the incident's ``x_m, y_m, lon, lat``."""
        return frame_to_csv(self._zones_out())

    def to_json(self) -> dict[str, Any]:
        return {"analysis": self.summary(), "zones": plain_records(self._zones_out()), "knox": self.knox.to_json()}

    def as_dict(self) -> dict[str, Any]:
        return self.to_json()


def run_near_repeat_alerts(
    core: OpenILP,
    actor: UserInfo | None,
    request: NearRepeatAlertRequest,
    *,
    limits: AnalysisLimits = LIMITS,
    progress: ProgressCallback | None = None,
) -> NearRepeatAlertResult:
    """Near-repeat alert zones in force on ``request.as_of`` (see the module docstring)."""
    request = request.validate(limits)
    code = reader_agency(core, actor, request.agency_code)
    engine = core.engine
    as_of = request.as_of or latest_incident_date(engine, code)
    if as_of is None:
        raise NoEventsError(f"agency {code} has no located incident")
    resolved = dataclasses.replace(
        request, agency_code=code, as_of=as_of, knox=dataclasses.replace(request.knox, agency_code=code)
    )
    request = resolved

    def compute() -> NearRepeatAlertResult:
        window = int(math.ceil(max(request.knox.time_bands_days)))
        recent_from = as_of - dt.timedelta(days=window - 1)
        history_from = recent_from - dt.timedelta(days=request.history_days)
        if progress:
            progress("loading incidents", 0, 3)
        events, agency = _event_frame(engine, EventQuery(request.agency_code, request.categories, history_from, as_of))
        start_day = float(event_days([str(recent_from)], origin=_ORIGIN)[0])
        history = events[events["day"] < start_day]
        recent = events[events["day"] >= start_day]
        knox_request = KnoxRequest(
            request.agency_code,
            request.categories,
            history_from,
            recent_from - dt.timedelta(days=1),
            **{k: getattr(request.knox, k) for k in _KNOX_PARAMS},
        )
        try:
            table, summary, pairs = _fit(core, history, knox_request, limits, progress)
        except NoEventsError as exc:
            raise NoEventsError(f"{exc} in the {request.history_days} days before {recent_from}") from None
        knox = KnoxResult(
            knox_request,
            table,
            summary,
            len(history),
            pairs,
            event_noun(request.categories),
            str(history_from),
            str(recent_from - dt.timedelta(days=1)),
        )
        as_of_day = float(event_days([str(as_of)], origin=_ORIGIN)[0])
        rings = near_repeat_alerts(
            table,
            recent["x_m"].to_numpy(),
            recent["y_m"].to_numpy(),
            recent["day"].to_numpy(),
            as_of_day,
            incident_ids=recent["incident_id"].to_numpy(),
            alpha=request.knox.alpha,
            min_ratio=request.knox.min_ratio,
        )
        zones = alert_zones(rings)
        if len(zones):
            category = dict(zip(recent["incident_id"], recent["category"], strict=True))
            zones["category"] = [category[i] for i in zones["incident_id"]]
            labels = incident_labels(engine, zones["incident_id"].tolist())
            for column in ("complaint_number", "block_address", "neighbourhood"):
                zones[column] = [labels.get(int(i), {}).get(column) for i in zones["incident_id"]]
        if progress:
            progress("done", 3, 3)
        return NearRepeatAlertResult(
            resolved, as_of, agency.crs, knox, rings, zones, len(recent), recent_from, recent.reset_index(drop=True)
        )

    return cached(core, "near-repeat-alerts", request.agency_code, resolved, compute)


_KNOX_PARAMS = ("space_bands_m", "time_bands_days", "same_location_m", "permutations", "seed", "alpha", "min_ratio")
