"""Helpers shared by the CLI modules: settings, the engine, JSON output and errors."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from openilp.config import Settings, get_settings
from openilp.db import DatabaseError, make_engine, migrate

__all__ = ["console", "err_console", "settings", "engine", "emit_json", "fail"]

console = Console()
err_console = Console(stderr=True)


@cache
def settings() -> Settings:
    try:
        return get_settings()
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))


@cache
def engine(*, migrate_schema: bool = True) -> Engine:
    """The configured store, migrated to the latest schema."""
    eng = make_engine(settings().resolved_database_url)
    if migrate_schema:
        try:
            migrate(eng)
        except DatabaseError as exc:
            fail(str(exc))
    return eng


def emit_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (dates as ISO strings)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
