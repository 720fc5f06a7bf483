"""``openilp serve``: run the web application with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from openilp.cli.common import console, core, fail

#: The ``openilp serve`` command; :mod:`openilp.cli.main` adds it at the top level.
app = typer.Typer()

#: Seconds an idle keep-alive connection stays open. Longer than the 60 s of common reverse
#: proxies and load balancers, so the server never closes a connection that a proxy (or a busy
#: client) is about to reuse: with uvicorn's 5 s default, a client that paused a few seconds sent
#: its next request into a closing connection and got no response.
KEEP_ALIVE_S = 65


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

    from openilp.core.secret_key import check_key_for_host
    from openilp.web import create_app

    deployment = core()  # migrates the schema; generates the secret key on first run
    config = deployment.settings
    bind_host = host or config.host
    bind_port = port or config.port
    try:
        check_key_for_host(config.secret_key, bind_host)
    except ValueError as exc:
        fail(f"refusing to serve on {bind_host}: {exc}")
    store = deployment.engine
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
    uvicorn.run(
        create_app(deployment, https_only=https_only),
        host=bind_host,
        port=bind_port,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
