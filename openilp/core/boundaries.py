"""Boundary layers: which GeoJSON file outlines each agency's area on the map.

The map has no tiles offline, so an agency's boundary polygons (neighbourhoods, beats) are its
base layer. The registry maps an agency code to a GeoJSON file (WGS84). Defaults: the bundled
St. Louis neighbourhoods for ``SLMPD``. A deployment adds or replaces layers by dropping
``<CODE>.geojson`` files into ``<data_dir>/boundaries/`` (the file stem is the agency code).

A **street layer** (GeoJSON LineStrings, WGS84, a ``name`` per line) is drawn over the cells of
every map so that a hot cell reads as a block. Bundled: St. Louis streets traced from SLMPD's
geocoded block addresses (``scripts/build_streets.py``); ``<data_dir>/streets/<CODE>.geojson``
adds or replaces one (for instance centrelines exported from the city's GIS or OpenStreetMap,
with their attribution).

>>> registry = BoundaryRegistry.default()
>>> registry.streets_for("SLMPD").name, registry.streets_for("OTHER") is None
('Streets', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BoundaryLayer", "BoundaryRegistry", "DEMO_DATA_DIR", "DEFAULT_LAYERS", "DEFAULT_STREETS"]

DEMO_DATA_DIR = Path(__file__).resolve().parent.parent / "demo_data"


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

#: Street layers bundled with OpenILP.
DEFAULT_STREETS: dict[str, BoundaryLayer] = {
    "SLMPD": BoundaryLayer(
        path=DEMO_DATA_DIR / "stlouis" / "stl_streets_wgs84.geojson",
        name="Streets",
        attribution="Streets traced from SLMPD block addresses (ODC-By 1.0)",
    ),
}


@dataclass(frozen=True)
class BoundaryRegistry:
    """Agency code → boundary layer (and street layer)."""

    layers: Mapping[str, BoundaryLayer]
    streets: Mapping[str, BoundaryLayer] = field(default_factory=dict)

    @classmethod
    def default(cls, data_dir: str | Path | None = None) -> BoundaryRegistry:
        """The bundled layers, overridden by ``<data_dir>/boundaries/<CODE>.geojson`` files."""
        layers = dict(DEFAULT_LAYERS)
        streets = dict(DEFAULT_STREETS)
        if data_dir is not None:
            for kind, found, name in (("boundaries", layers, "Boundaries"), ("streets", streets, "Streets")):
                folder = Path(data_dir) / kind
                if folder.is_dir():
                    for path in sorted(folder.glob("*.geojson")):
                        found[path.stem] = BoundaryLayer(path=path, name=name)
        return cls(layers, streets)

    def layer_for(self, agency_code: str) -> BoundaryLayer | None:
        """The layer of ``agency_code`` when one is registered and its file exists."""
        layer = self.layers.get(agency_code)
        if layer is None or not layer.path.is_file():
            return None
        return layer

    def streets_for(self, agency_code: str) -> BoundaryLayer | None:
        """The street layer of ``agency_code`` when one is registered and its file exists."""
        layer = self.streets.get(agency_code)
        if layer is None or not layer.path.is_file():
            return None
        return layer
