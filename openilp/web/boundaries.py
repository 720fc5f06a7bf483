"""Boundary layers now live in :mod:`openilp.boundaries` (the CLI needs them without the web app);
this module re-exports them for existing imports."""

from openilp.boundaries import DEFAULT_LAYERS, DEMO_DATA_DIR, BoundaryLayer, BoundaryRegistry

__all__ = ["BoundaryLayer", "BoundaryRegistry", "DEMO_DATA_DIR", "DEFAULT_LAYERS"]
