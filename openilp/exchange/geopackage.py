"""GeoPackage (OGC 12-128r18) files for QGIS and ArcGIS: one layer per table, each with its CRS.

Written with pyogrio, whose wheels carry GDAL: no system GDAL is needed. A GeoPackage is one
SQLite file holding several layers; QGIS and ArcGIS Pro open it directly.

>>> import numpy as np, shapely, tempfile, pathlib, pyogrio
>>> layer = GeoLayer("incidents", "EPSG:26996", "Point", np.array([shapely.Point(270000, 310000)]),
...                  {"category": np.array(["burglary"], dtype=object)})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.gpkg"
>>> write_geopackage(path, [layer])
>>> [str(name) for name, _ in pyogrio.list_layers(path)]
['incidents']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["GeoLayer", "write_geopackage"]


@dataclass(frozen=True)
class GeoLayer:
    """One layer: its name, CRS (``EPSG:…``), geometry type, shapely geometries and columns of equal length."""

    name: str
    crs: str
    geometry_type: str
    geometries: NDArray[np.object_]
    columns: Mapping[str, NDArray[Any]]

    def __post_init__(self) -> None:
        for column, values in self.columns.items():
            if len(values) != len(self.geometries):
                raise ValueError(
                    f"layer {self.name}: column {column} has {len(values)} values for {len(self.geometries)} features"
                )


def write_geopackage(path: str | Path, layers: Sequence[GeoLayer]) -> None:
    """Write ``layers`` to a new GeoPackage at ``path`` (an existing file is replaced)."""
    from pyogrio.raw import write

    target = Path(path)
    target.unlink(missing_ok=True)
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must differ, got {names}")
    for layer in layers:
        geometries = np.asarray(layer.geometries, dtype=object)
        write(
            str(target),
            shapely.to_wkb(geometries) if len(geometries) else np.array([], dtype=object),
            [np.asarray(values) for values in layer.columns.values()],
            fields=list(layer.columns),
            layer=layer.name,
            driver="GPKG",
            geometry_type=layer.geometry_type,
            crs=layer.crs,
        )
