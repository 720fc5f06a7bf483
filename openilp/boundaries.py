"""Boundary layers: which GeoJSON file outlines each agency's area on the map.

The map has no tiles offline, so an agency's boundary polygons (neighbourhoods, beats) are its
base layer. The registry maps an agency code to a GeoJSON file (WGS84). Defaults: the bundled
St. Louis neighbourhoods for ``SLMPD``. A deployment adds or replaces layers by dropping
``<CODE>.geojson`` files into ``<data_dir>/boundaries/`` (the file stem is the agency code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BoundaryLayer", "BoundaryRegistry", "DEMO_DATA_DIR", "DEFAULT_LAYERS"]

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo_data"


@dataclass(frozen=True)
class BoundaryLayer:
    """One GeoJSON boundary file and the attribution its licence asks for."""

    path: Path
    name: str
    attribution: str = ""


#: Layers bundled with OpenILP.
DEFAULT_LAYERS: dict[str, BoundaryLayer] = {
    "SLMPD": BoundaryLayer(
        path=DEMO_DATA_DIR / "stlouis" / "stl_neighborhoods_wgs84.geojson",
        name="Neighbourhoods",
        attribution="Neighbourhoods: City of St. Louis via slu-openGIS (CC-BY 4.0)",
    ),
}


@dataclass(frozen=True)
class BoundaryRegistry:
    """Agency code → boundary layer."""

    layers: Mapping[str, BoundaryLayer]

    @classmethod
    def default(cls, data_dir: str | Path | None = None) -> BoundaryRegistry:
        """The bundled layers, overridden by ``<data_dir>/boundaries/<CODE>.geojson`` files."""
        layers = dict(DEFAULT_LAYERS)
        if data_dir is not None:
            folder = Path(data_dir) / "boundaries"
            if folder.is_dir():
                for path in sorted(folder.glob("*.geojson")):
                    layers[path.stem] = BoundaryLayer(path=path, name="Boundaries")
        return cls(layers)

    def layer_for(self, agency_code: str) -> BoundaryLayer | None:
        """The layer of ``agency_code`` when one is registered and its file exists."""
        layer = self.layers.get(agency_code)
        if layer is None or not layer.path.is_file():
            return None
        return layer
