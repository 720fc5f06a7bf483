"""Exports in the formats partners read: NIBRS XML, STIX 2.1, GeoPackage.

Each export is about one agency, checked (``exchange:export``, own agency) and audited; the pure
builders live in :mod:`openilp.exchange`.
"""

from openilp.services.exchange.common import EXPORT_PERMISSION
from openilp.services.exchange.geopackage import (
    GEOPACKAGE_LAYERS,
    GeoPackageExport,
    GeoPackageExportRequest,
    export_geopackage,
)
from openilp.services.exchange.nibrs import NibrsExport, NibrsExportRequest, NibrsGap, export_nibrs
from openilp.services.exchange.stix import StixExport, StixExportRequest, export_stix

__all__ = [
    "GEOPACKAGE_LAYERS",
    "GeoPackageExport",
    "GeoPackageExportRequest",
    "export_geopackage",
    "EXPORT_PERMISSION",
    "NibrsExport",
    "NibrsExportRequest",
    "NibrsGap",
    "export_nibrs",
    "StixExport",
    "StixExportRequest",
    "export_stix",
]
