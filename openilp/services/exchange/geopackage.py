"""GeoPackage export for QGIS and ArcGIS: incidents, hot spots, a forecast and a deployment plan.

One file, four layers, all in the agency's projected CRS (metres; ``EPSG:26996`` for St. Louis):

* ``incidents``: every located incident that occurred in the window (points; unfounded and
  reversed records never), with its category, offence, local time and district, beat and
  neighbourhood;
* ``hotspots``: Getis-Ord Gi* over the window (grid cells with count, z, p, q and class), the
  same analysis as ``openilp hotspots`` (:func:`openilp.services.analysis.hotspots.run_hotspots`);
* ``forecast``: the forecast issued the day after the window (cells with score and rank), as
  ``openilp forecast`` (:func:`openilp.services.analysis.forecasting.run_forecast`);
* ``deployment``: the shift plan for that day (planned cells with their place number, visits and
  minutes), as ``openilp deploy``: the plan is audited as every plan is, and a plan held by a
  civil-rights gate is exported with its status ``held``.

The analysis layers are about ``categories`` (default burglary). Each layer runs through the
service that owns it, with its permission checks and audit entries; the export itself is
audited too (``export_gpkg``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape
from sqlalchemy import select

from openilp.core import OpenILP, Request, Result
from openilp.core.contract import plain
from openilp.db.models import Incident
from openilp.errors import InvalidRequest
from openilp.exchange.geopackage import GeoLayer, write_geopackage
from openilp.security.actors import UserInfo
from openilp.services.exchange.common import check_window, export_agency, local_midnight_utc

__all__ = ["GEOPACKAGE_LAYERS", "GeoPackageExportRequest", "GeoPackageExport", "export_geopackage"]

ACTION = "export_gpkg"
#: The layers a GeoPackage export can hold, in file order.
GEOPACKAGE_LAYERS = ("incidents", "hotspots", "forecast", "deployment")


@dataclass(frozen=True)
class GeoPackageExportRequest(Request):
    """The agency, the window of local days, the layers, and what the analysis layers are about."""

    agency: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    layers: tuple[str, ...] = GEOPACKAGE_LAYERS
    #: Categories or crime groups of the hot spots, forecast and deployment layers.
    categories: tuple[str, ...] = ("burglary",)
    cell_size_m: float = 150.0
    forecast_method: str = "kde"
    #: Patrol minutes of the planned shift (deployment layer).
    officer_minutes: float = 960.0

    def validate(self) -> GeoPackageExportRequest:
        check_window(self.date_from, self.date_to)
        if not self.agency.strip():
            raise InvalidRequest("agency is required (--agency CODE)")
        unknown = [layer for layer in self.layers if layer not in GEOPACKAGE_LAYERS]
        if unknown or not self.layers:
            raise InvalidRequest(f"layers must be some of {', '.join(GEOPACKAGE_LAYERS)}, got {list(self.layers)}")
        return self


@dataclass(frozen=True)
class GeoPackageExport(Result):
    """The layers written (name -> features), their CRS, and the file's bytes (``content``, not in ``as_dict``)."""

    agency: str
    crs: str
    date_from: dt.date
    date_to: dt.date
    layers: dict[str, int]
    notes: tuple[str, ...] = ()
    _content: bytes = field(default=b"", repr=False)

    @property
    def content(self) -> bytes:
        return self._content

    def as_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "_content"}


def _incident_layer(rows: list[Any], crs: str, zone: ZoneInfo) -> GeoLayer:
    def text(values: list[Any]) -> np.ndarray[Any, Any]:
        return np.array(["" if v is None else str(v) for v in values], dtype=object)

    return GeoLayer(
        "incidents",
        crs,
        "Point",
        shapely.points([r.x_m for r in rows], [r.y_m for r in rows]) if rows else np.array([], dtype=object),
        {
            "incident_id": np.array([int(r.id) for r in rows], dtype=np.int64),
            "record_id": text([r.source_record_id for r in rows]),
            "category": text([r.category_code for r in rows]),
            "offence_code": text([r.offence_code for r in rows]),
            "offence": text([r.offence_description for r in rows]),
            "occurred_local": text(
                [r.occurred_from.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes") for r in rows]
            ),
            "time_precision": text([r.time_precision for r in rows]),
            "block_address": text([r.block_address for r in rows]),
            "district": text([r.district for r in rows]),
            "beat": text([r.beat for r in rows]),
            "neighbourhood": text([r.neighbourhood for r in rows]),
        },
    )


def export_geopackage(core: OpenILP, actor: UserInfo | None, request: GeoPackageExportRequest) -> GeoPackageExport:
    """A GeoPackage of the agency's incidents and analyses over the window, audited."""
    from openilp.services.analysis.forecasting import ForecastRequest, run_forecast
    from openilp.services.analysis.hotspots import HotspotRequest, run_hotspots
    from openilp.services.analysis.tasking import DeployRequest, make_deployment

    request = request.validate()
    date_from, date_to = check_window(request.date_from, request.date_to)
    with core.unit_of_work(actor) as uow:
        agency = export_agency(uow, actor, request.agency, action=ACTION)
        code, crs, zone, agency_id = agency.code, agency.crs, ZoneInfo(agency.timezone), agency.id
        rows = (
            uow.session.execute(
                select(
                    Incident.id,
                    Incident.source_record_id,
                    Incident.category_code,
                    Incident.offence_code,
                    Incident.offence_description,
                    Incident.occurred_from,
                    Incident.time_precision,
                    Incident.block_address,
                    Incident.district,
                    Incident.beat,
                    Incident.neighbourhood,
                    Incident.x_m,
                    Incident.y_m,
                )
                .where(
                    Incident.agency_id == agency.id,
                    Incident.net_count > 0,
                    Incident.flag_unfounded.is_(False),
                    Incident.location_status == "located",
                    Incident.occurred_from >= local_midnight_utc(date_from, zone),
                    Incident.occurred_from < local_midnight_utc(date_to + dt.timedelta(days=1), zone),
                )
                .order_by(Incident.occurred_from, Incident.id)
            ).all()
            if "incidents" in request.layers
            else []
        )
    layers: list[GeoLayer] = []
    notes: list[str] = []
    if "incidents" in request.layers:
        layers.append(_incident_layer(list(rows), crs, zone))
    if "hotspots" in request.layers:
        hot = run_hotspots(
            core,
            actor,
            HotspotRequest(
                agency_code=code,
                categories=request.categories,
                date_from=date_from,
                date_to=date_to,
                cell_size_m=request.cell_size_m,
            ),
        )
        layers.append(
            GeoLayer(
                "hotspots",
                crs,
                "Polygon",
                hot.grid.polygons(),
                {
                    "cell_id": np.arange(hot.grid.n_units, dtype=np.int64),
                    "count": np.asarray(hot.counts, dtype=np.int64),
                    "gi_z": np.asarray(hot.gi_z, dtype=np.float64),
                    "gi_p": np.asarray(hot.gi_p, dtype=np.float64),
                    "gi_q": np.asarray(hot.gi_q, dtype=np.float64),
                    "gi_class": np.asarray(hot.gi_class, dtype=object),
                },
            )
        )
    as_of = date_to + dt.timedelta(days=1)
    if "forecast" in request.layers:
        forecast = run_forecast(
            core,
            actor,
            ForecastRequest(
                agency_code=code,
                categories=request.categories,
                as_of=as_of,
                method=request.forecast_method,
                cell_size_m=request.cell_size_m,
            ),
        )
        scores = np.asarray(forecast.scores, dtype=np.float64)
        rank = np.empty(len(scores), dtype=np.int64)
        rank[np.lexsort((np.arange(len(scores)), -scores))] = np.arange(1, len(scores) + 1)
        grid = forecast.forecaster.grid_
        layers.append(
            GeoLayer(
                "forecast",
                crs,
                "Polygon",
                grid.polygons(),
                {"cell_id": np.arange(grid.n_units, dtype=np.int64), "score": scores, "rank": rank},
            )
        )
        notes.append(f"forecast: {request.forecast_method}, issued {as_of}, {forecast.request.horizon_days:g} days")
    if "deployment" in request.layers:
        plan = make_deployment(
            core,
            actor,
            DeployRequest(
                agency_code=code,
                categories=request.categories,
                as_of=as_of,
                method=request.forecast_method,
                cell_size_m=request.cell_size_m,
                officer_minutes=request.officer_minutes,
            ),
        )
        to_agency = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        features = plan.deployment.cells.get("features", [])
        geometries = np.array(
            [shapely.transform(shape(f["geometry"]), to_agency.transform, interleaved=False) for f in features],
            dtype=object,
        )

        def column(key: str, kind: type) -> np.ndarray[Any, Any]:
            values = [f["properties"].get(key) for f in features]
            if kind is str:
                return np.array(["" if v is None else str(v) for v in values], dtype=object)
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        layers.append(
            GeoLayer(
                "deployment",
                crs,
                "Polygon",
                geometries,
                {
                    "place": column("number", float),
                    "cell_id": column("cell_id", float),
                    "visits": column("visits", float),
                    "minutes_on_scene": column("minutes_on_scene", float),
                    "score": column("score", float),
                    "reason": column("reason", str),
                    "neighbourhood": column("neighbourhood", str),
                    "status": np.array([plan.status] * len(features), dtype=object),
                    "reference": np.array([plan.reference] * len(features), dtype=object),
                },
            )
        )
        notes.append(f"deployment: plan {plan.reference} for {as_of}, {plan.status}")
    with tempfile.TemporaryDirectory(prefix="openilp-gpkg-") as folder:
        path = Path(folder) / f"{code}.gpkg"
        write_geopackage(path, layers)
        content = path.read_bytes()
    counts = {layer.name: len(layer.geometries) for layer in layers}
    with core.unit_of_work(actor) as uow:
        uow.audit(
            action=ACTION,
            object_type="agency",
            object_id=code,
            agency_id=agency_id,
            details={
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
                "layers": counts,
                "categories": list(request.categories),
            },
        )
    return GeoPackageExport(code, crs, date_from, date_to, counts, tuple(notes), content)
