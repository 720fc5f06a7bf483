"""GeoPackage export: QGIS/ArcGIS read every layer back with the agency's CRS and the right row counts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyogrio
import pytest
from conftest import shared_file
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from store_support import add_user, core_for, import_source
from typer.testing import CliRunner
from web_support import login, make_client, seed_user

from openilp.cli import app, common
from openilp.db.models import AuditEntry, Incident
from openilp.errors import InvalidRequest, NotPermitted
from openilp.services.analysis.hotspots import HotspotRequest, run_hotspots
from openilp.services.exchange import GeoPackageExportRequest, export_geopackage

pytestmark = pytest.mark.realdata

WINDOW = (dt.date(2019, 1, 1), dt.date(2019, 2, 28))


def _months() -> list[Path]:
    return [shared_file("stlouis", "monthly", "2019", f"{m}2019.csv") for m in ("january", "february", "march")]


def test_every_layer_reads_back_with_the_agency_crs_and_counts(engine: Engine, tmp_path: Path) -> None:
    import_source(engine, "stlouis", _months())
    core = core_for(engine)
    with Session(engine) as session:
        analyst = add_user(session, "analyst1", "pw-analyst-1", "analyst", "SLMPD")
        officer = add_user(session, "officer1", "pw-officer-1", "officer", "SLMPD")
        session.commit()
    request = GeoPackageExportRequest(agency="SLMPD", date_from=WINDOW[0], date_to=WINDOW[1])
    result = export_geopackage(core, analyst, request)
    path = tmp_path / "slmpd.gpkg"
    path.write_bytes(result.content)

    assert [str(name) for name, _ in pyogrio.list_layers(path)] == ["incidents", "hotspots", "forecast", "deployment"]
    frames = {name: pyogrio.read_dataframe(path, layer=name) for name in result.layers}
    for frame in frames.values():
        assert frame.crs is not None and frame.crs.to_epsg() == 26996  # NAD83 / Missouri East, metres
    assert {name: len(frame) for name, frame in frames.items()} == result.layers

    # Incidents: every located, founded incident that occurred in the window (March's are left out).
    with Session(engine) as session:
        located = session.scalars(
            select(Incident).where(
                Incident.location_status == "located", Incident.net_count > 0, Incident.flag_unfounded.is_(False)
            )
        ).all()
    zone = ZoneInfo("America/Chicago")
    local = {i.id for i in located if WINDOW[0] <= i.occurred_from.astimezone(zone).date() <= WINDOW[1]}
    incidents = frames["incidents"]
    assert set(incidents["incident_id"]) == local and len(incidents) == len(local) > 4000
    assert incidents["occurred_local"].min() >= "2019-01-01" and incidents["occurred_local"].max() < "2019-03-01"
    by_id = {i.id: i for i in located}
    sample = incidents.iloc[:50]
    for incident_id, point in zip(sample["incident_id"], sample.geometry, strict=True):
        assert (point.x, point.y) == pytest.approx((by_id[incident_id].x_m, by_id[incident_id].y_m))

    # Hot spots: the same Gi* the hot-spot service computes, cell for cell.
    hot = run_hotspots(
        core,
        analyst,
        HotspotRequest(agency_code="SLMPD", categories=("burglary",), date_from=WINDOW[0], date_to=WINDOW[1]),
    )
    assert len(frames["hotspots"]) == hot.grid.n_units
    assert np.allclose(frames["hotspots"]["gi_z"].to_numpy(), hot.gi_z, equal_nan=True)
    assert (frames["hotspots"]["count"].to_numpy() == hot.counts).all() and hot.counts.sum() > 300
    assert frames["forecast"]["rank"].min() == 1 and len(frames["forecast"]) > 1000
    deployment = frames["deployment"]
    assert len(deployment) > 0 and set(deployment["status"]) <= {"issued", "held"}
    assert sorted(deployment["place"]) == list(range(1, len(deployment) + 1))
    # Planned cells sit on the forecast grid: each is one 150 m cell.
    assert np.allclose(deployment.geometry.area, 150.0 * 150.0, rtol=1e-3)

    with pytest.raises(NotPermitted):
        export_geopackage(core, officer, request)
    with pytest.raises(InvalidRequest, match="layers"):
        export_geopackage(
            core,
            analyst,
            GeoPackageExportRequest(agency="SLMPD", date_from=WINDOW[0], date_to=WINDOW[1], layers=("streets",)),
        )
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_gpkg")).one()
        refused = session.scalar(select(func.count()).where(AuditEntry.action == "export_gpkg_refused"))
    assert json.loads(entry.details)["layers"] == result.layers and refused == 1


def test_command_writes_the_chosen_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["import", "stlouis", str(_months()[0]), "--json"]).exit_code == 0
    target = tmp_path / "january.gpkg"
    result = runner.invoke(
        app,
        [
            "export",
            "gpkg",
            "--agency",
            "SLMPD",
            "--from",
            "2019-01-01",
            "--to",
            "2019-01-31",
            "--layers",
            "incidents,hotspots",
            "-o",
            str(target),
            "--json",
        ],
    )
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    frame = pyogrio.read_dataframe(target, layer="incidents")
    assert len(frame) == summary["layers"]["incidents"] > 2000 and frame.crs.to_epsg() == 26996
    assert [str(name) for name, _ in pyogrio.list_layers(target)] == ["incidents", "hotspots"]


def test_download_route_gives_the_same_file(engine: Engine, tmp_path: Path) -> None:
    import_source(engine, "stlouis", [_months()[0]])
    client = make_client(engine, tmp_path)
    seed_user(engine, "analyst1", "analyst", "SLMPD")
    login(client, "analyst1")
    response = client.get("/api/v1/exports/SLMPD.gpkg", params={"date_from": "2019-01-01", "date_to": "2019-01-31"})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="SLMPD-2019-01-01-2019-01-31.gpkg"'
    path = tmp_path / "download.gpkg"
    path.write_bytes(response.content)
    frame = pyogrio.read_dataframe(path, layer="incidents")
    assert frame.crs.to_epsg() == 26996 and len(frame) > 2000
    assert [str(name) for name, _ in pyogrio.list_layers(path)] == ["incidents"]
    missing = client.get("/api/v1/exports/SLMPD.gpkg", params={"date_from": "2019-01-01"})
    assert missing.status_code == 400 and "date_to" in missing.text
    assert client.get(
        "/api/v1/exports/OTHER.gpkg", params={"date_from": "2019-01-01", "date_to": "2019-01-31"}
    ).status_code in (403, 404)
