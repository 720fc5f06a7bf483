"""Helpers shared by the CLI modules: settings, the engine, JSON output and errors.

Imported by every command module at start-up, so it imports nothing heavy: SQLAlchemy and the
database layer are loaded when a command first asks for the engine.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from openilp.config import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = [
    "console",
    "err_console",
    "settings",
    "engine",
    "core",
    "acting_user",
    "default_agency",
    "emit_json",
    "fail",
    "progress_bar",
    "service",
    "read_area",
]

#: Width of output that is not a terminal (a pipe, a file): tables are then never cut or folded.
#: Nothing is padded to it: lines are as long as their content.
PIPED_WIDTH = 10_000


class _Console(Console):
    """A console whose width, when its output is not a terminal and no width is set (``COLUMNS``), is
    :data:`PIPED_WIDTH` instead of 80 columns, so that ``openilp stats | less`` or a report
    redirected to a file keeps every value whole."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or "COLUMNS" in os.environ or self._width is not None:
            return size  # a terminal, or a width that was asked for
        return ConsoleDimensions(PIPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = _Console()
err_console = _Console(stderr=True)


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

    eng = make_engine(settings().resolved_database_url, pool_size=settings().database_pool_size)
    if migrate_schema:
        try:
            migrate(eng)
        except DatabaseError as exc:
            fail(str(exc))
    return eng


_CORES: list[OpenILP] = []


def core() -> OpenILP:
    """The deployment's core object over the migrated store (built once per command).

    Rebuilt when the settings or the store changed (``settings.cache_clear()``, ``engine.cache_clear()``).
    """
    from openilp.core import OpenILP

    config, store = settings(), engine()
    if _CORES and _CORES[0].engine is store and _CORES[0].settings.data_dir == config.data_dir:
        return _CORES[0]
    try:
        built = OpenILP(config, store)
    except ValueError as exc:  # an unreadable generated key file
        fail(str(exc))
    _CORES[:] = [built]
    return built


def _clear_core() -> None:
    _CORES.clear()


core.cache_clear = _clear_core  # type: ignore[attr-defined]


T = TypeVar("T")


def service(call: Callable[[], T]) -> T:
    """Run a service call; a refusal (:class:`openilp.errors.ServiceError`, ValueError) prints its
    message and exits 1."""
    from openilp.errors import ServiceError

    try:
        return call()
    except (ServiceError, ValueError, PermissionError, LookupError) as exc:
        fail(str(exc))


def acting_user(username: str, permission: str | None = None) -> UserInfo:
    """The active account a command acts as (``--as``/``--user``): its agency, recorded in the audit log.

    Exits with a message when there is no such active account, or its role lacks ``permission``.
    """
    from openilp.services.accounts.users import ActingUserRequest
    from openilp.services.accounts.users import acting_user as find

    return service(lambda: find(core(), None, ActingUserRequest(username, permission)).user)


def default_agency(code: str | None, acting: str | None = None) -> str:
    """The agency a command is about: ``code``, else the acting user's, the ``default_agency``
    setting, or the only agency in the store (:func:`openilp.services.accounts.agencies.resolve_agency`)."""
    from openilp.services.accounts.agencies import ResolveAgencyRequest, resolve_agency

    actor = acting_user(acting) if acting else None
    return service(lambda: resolve_agency(core(), actor, ResolveAgencyRequest(code or None)).code)


def emit_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (dates as ISO strings)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as an error (as text: brackets such as a TOML ``[table]`` name are kept) and exit."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)  # never broken at the width
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


def read_area(value: str, words: tuple[str, ...], option: str) -> str:
    """A study area for a request: one of ``words`` as it is, else the GeoJSON text of the file ``value``.

    Only the command line reads files: a service request carries the GeoJSON itself.
    """
    if value in words:
        return value
    from pathlib import Path

    path = Path(value)
    if not path.is_file():
        fail(f"{option} {value} is neither {', '.join(words)} nor an existing GeoJSON file")
    return path.read_text(encoding="utf-8")
