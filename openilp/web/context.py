"""What a request handler needs: the core object (:class:`openilp.core.OpenILP`) plus templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from openilp.config import Settings
from openilp.core import BoundaryRegistry, OpenILP
from openilp.security.secretbox import SecretBox

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "LEAFLET_DIR",
    "CYTOSCAPE_DIR",
    "WebContext",
    "get_context",
    "get_core",
]

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
#: Leaflet is copied here from node_modules at build time (``scripts/build_assets.py``).
LEAFLET_DIR = STATIC_DIR / "vendor" / "leaflet"
CYTOSCAPE_DIR = STATIC_DIR / "vendor" / "cytoscape"


@dataclass(frozen=True)
class WebContext:
    """The app's core object and its web-only parts; stored on ``app.state.openilp``."""

    core: OpenILP
    templates: Jinja2Templates
    https_only: bool

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def engine(self) -> Engine:
        return self.core.engine

    @property
    def boundaries(self) -> BoundaryRegistry:
        return self.core.boundaries

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        """The core's clock (aware UTC): session timeouts, TOTP steps and every service use it."""
        return self.core.clock

    @property
    def secret_box(self) -> SecretBox:
        """Encrypts TOTP secrets: keyed by ``totp_key``, or by ``secret_key`` when that is empty."""
        return self.core.secret_box

    @property
    def leaflet_available(self) -> bool:
        """Whether the Leaflet assets have been built into the static folder."""
        return (LEAFLET_DIR / "leaflet.js").is_file() and (LEAFLET_DIR / "leaflet.css").is_file()

    @property
    def cytoscape_available(self) -> bool:
        """Whether the Cytoscape.js asset (link charts) has been built into the static folder."""
        return (CYTOSCAPE_DIR / "cytoscape.min.js").is_file()


def get_context(request: Request) -> WebContext:
    """The app's :class:`WebContext` (a FastAPI dependency)."""
    context: WebContext = request.app.state.openilp
    return context


def get_core(request: Request) -> OpenILP:
    """The app's core object (a FastAPI dependency): routes hand it to the services."""
    return get_context(request).core
