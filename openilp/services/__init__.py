"""Services: the operations the CLI and the web app share (no FastAPI, Typer or Jinja here)."""
