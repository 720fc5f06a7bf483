"""The one core object of the web app: settings, database, templates and boundary layers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openilp.boundaries import BoundaryRegistry
from openilp.config import Settings
from openilp.db import session_scope
from openilp.db.models import utcnow
from openilp.security.secretbox import SecretBox, secret_box_for

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "LEAFLET_DIR",
    "WebContext",
    "get_context",
    "db_session",
]

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
#: Leaflet is copied here from node_modules at build time (``scripts/build_assets.py``).
LEAFLET_DIR = STATIC_DIR / "vendor" / "leaflet"


@dataclass(frozen=True)
class WebContext:
    """Everything a request handler needs; stored on ``app.state.openilp``."""

    settings: Settings
    engine: Engine
    templates: Jinja2Templates
    boundaries: BoundaryRegistry
    https_only: bool
    #: The current moment (aware UTC); tests inject a controllable clock for session timeouts.
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    @property
    def secret_box(self) -> SecretBox:
        """Encrypts TOTP secrets: keyed by ``totp_key``, or by ``secret_key`` when that is empty."""
        return secret_box_for(self.settings)

    @property
    def leaflet_available(self) -> bool:
        """Whether the Leaflet assets have been built into the static folder."""
        return (LEAFLET_DIR / "leaflet.js").is_file() and (LEAFLET_DIR / "leaflet.css").is_file()


def get_context(request: Request) -> WebContext:
    """The app's :class:`WebContext` (a FastAPI dependency)."""
    context: WebContext = request.app.state.openilp
    return context


def db_session(request: Request) -> Iterator[Session]:
    """A database session for one request; commits when the handler succeeds (a dependency)."""
    with session_scope(get_context(request).engine) as session:
        yield session
