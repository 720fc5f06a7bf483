"""Helpers shared by the CLI modules: settings, the engine, JSON output and errors.

Imported by every command module at start-up, so it imports nothing heavy: SQLAlchemy and the
database layer are loaded when a command first asks for the engine.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from openilp.config import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

if TYPE_CHECKING:
    from openilp.core import OpenILP

__all__ = ["console", "err_console", "settings", "engine", "core", "emit_json", "fail", "progress_bar"]

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
    from openilp.db import DatabaseError, make_engine, migrate

    eng = make_engine(settings().resolved_database_url)
    if migrate_schema:
        try:
            migrate(eng)
        except DatabaseError as exc:
            fail(str(exc))
    return eng


@cache
def core() -> OpenILP:
    """The deployment's core object over the migrated store (built once per command)."""
    from openilp.core import OpenILP

    try:
        return OpenILP(settings(), engine())
    except ValueError as exc:  # an unreadable generated key file
        fail(str(exc))


def emit_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (dates as ISO strings)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@contextmanager
def progress_bar(label: str, *, disable: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr; yields the ``progress(name, done, total)`` callback services take."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=disable,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(name: str, done: int, total: int) -> None:
            progress.update(task, description=f"{label}: {name}", completed=done, total=total)

        yield update
