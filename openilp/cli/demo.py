"""``openilp demo``: load the bundled real sample and serve the app."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.rule import Rule

from openilp.cli.common import console, core, progress_bar, service

#: The ``openilp demo`` command; :mod:`openilp.cli.main` adds it at the top level.
app = typer.Typer()


@app.command("demo")
def demo(
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the web app after loading."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default: setting port)."),
) -> None:
    """Load the bundled St. Louis sample (2018–2019, public data) and a demo sign-in, then serve."""
    from openilp.services.imports.demo import load_demo

    console.print("Loading the bundled St. Louis sample (SLMPD 2018–2019) …")
    with progress_bar("loading the demo sample") as report_progress:
        result = service(lambda: load_demo(core(), None, progress=report_progress))
    created = result.report.total("created")
    console.print(
        f"  {result.report.total('rows_read'):,} rows read; the store holds {result.incidents:,} St. Louis incidents"
        + (" (already loaded)" if not created else "")
    )
    if not serve:
        console.print(f"Demo ready. Sign in as [bold]{escape(result.username)}[/] / [bold]{escape(result.password)}[/]")
        return
    import uvicorn

    from openilp.web import create_app

    deployment = core()
    config = deployment.settings
    bind_port = port or config.port
    # A rule as wide as the terminal, but no wider than 100 columns when the output is a pipe or a log.
    rule_width = min(console.width, 100)
    console.print(Rule("[bold green]OpenILP demo"), width=rule_width)
    console.print(f"  Open      http://{config.host}:{bind_port}/")
    console.print(f"  Sign in   user [bold]{escape(result.username)}[/]   password [bold]{escape(result.password)}[/]")
    console.print("  Stop      Ctrl+C")
    console.print(Rule(), width=rule_width)
    uvicorn.run(create_app(deployment), host=config.host, port=bind_port, log_level="warning")
