"""docs/web.md must mention every route of the web app (docs that cannot drift)."""

from __future__ import annotations

from pathlib import Path

from openilp.config import Settings
from openilp.core import OpenILP
from openilp.web.app import create_app, route_table
from openilp.web.auth import PUBLIC_PATHS, PUBLIC_PREFIXES

DOC = Path(__file__).resolve().parent.parent / "docs" / "web.md"


def test_every_route_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    app_routes = route_table(create_app(OpenILP(Settings(database_url="sqlite://", secret_key="k" * 32))))
    missing = [path for _, path in app_routes if f"`{path}" not in text and f"{path}`" not in text]
    assert not missing, f"document these routes in docs/web.md: {missing}"


def test_public_paths_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in [*PUBLIC_PATHS, *PUBLIC_PREFIXES]:
        assert f"`{path}`" in text
