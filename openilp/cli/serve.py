"""``openilp serve``: run the web application with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from openilp.cli.common import console, engine, settings
from openilp.cli.main import app
from openilp.config import Settings

#: The built-in development key; serving with it prints a warning.
DEFAULT_SECRET_KEY = Settings.__dataclass_fields__["secret_key"].default


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default: setting host)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default: setting port)."),
    reload: bool = typer.Option(False, "--reload", help="Restart when the code changes (development)."),
    https_only: bool = typer.Option(
        False,
        "--https-only",
        help="Send the session cookie only over HTTPS and add HSTS (use behind a TLS proxy).",
    ),
) -> None:
    """Serve the web app (map, API) on HOST:PORT, migrating the database first."""
    import uvicorn

    from openilp.web import create_app

    config = settings()
    bind_host = host or config.host
    bind_port = port or config.port
    store = engine()  # migrates the schema
    if config.secret_key == DEFAULT_SECRET_KEY:
        console.print(
            "[yellow]warning:[/] the session secret is the development default; "
            "set OPENILP_SECRET_KEY to a long random value before real use"
        )
    database = store.url.render_as_string(hide_password=True)
    console.print(escape(f"OpenILP on http://{bind_host}:{bind_port}/  (database: {database})"))
    if reload:
        if https_only:
            console.print("[yellow]note:[/] --https-only is ignored with --reload")
        uvicorn.run(
            "openilp.web.app:app_from_environment",
            factory=True,
            host=bind_host,
            port=bind_port,
            reload=True,
            reload_dirs=[str(Path(__file__).resolve().parent.parent)],
        )
        return
    uvicorn.run(create_app(config, store, https_only=https_only), host=bind_host, port=bind_port)
