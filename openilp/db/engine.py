"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from openilp.db.sqlite_writers import QueuedSQLiteConnection, before_write, queue_for

__all__ = ["make_engine", "migrate", "session_scope", "MIGRATIONS_DIR", "DatabaseError"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(RuntimeError):
    """The database cannot be reached or is not in a usable state."""


#: Page size of new SQLite stores, bytes. Incident rows are about 450 bytes; with 16 KiB pages a
#: bulk import spends about 15 % less time in SQLite than with the default 4 KiB (fewer page splits
#: and write-ahead-log frames). Existing stores keep the page size they were created with.
SQLITE_PAGE_SIZE = 16384
#: Bytes of write-ahead log after which a commit copies it back into the database file.
SQLITE_CHECKPOINT_BYTES = 40 * 1024 * 1024
#: Milliseconds a SQLite connection waits for another process's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Connections a PostgreSQL engine keeps open (``database_pool_size``); as many again may open under bursts.
DEFAULT_POOL_SIZE = 10


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # only takes effect on a new, empty file
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache: bulk index updates stay in memory
    cursor.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint the write-ahead log every ~40 MB rather than every 4 MB: bulk imports commit
    # once per file, and frequent checkpoints dominated their cost.
    page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_BYTES // page_size}")
    cursor.close()


def make_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """Create an engine for ``url``.

    SQLite gets WAL journaling, foreign keys and a busy timeout; its folder is created, and the
    writers of this process take turns in arrival order before SQLite's lock
    (:mod:`openilp.db.sqlite_writers`), which keeps the slowest of a burst of concurrent writes
    close to the others. ``postgresql://`` URLs without a driver use pg8000 (BSD licensed);
    ``pool_size`` connections are kept open, with as many again allowed under bursts.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+pg8000")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        on_disk = bool(database) and database != ":memory:" and not database.startswith("file:")
        if on_disk:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "factory": QueuedSQLiteConnection})
        event.listen(engine, "connect", _sqlite_pragmas)
        if on_disk:
            queue = queue_for(database)

            def _join_queue(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.writer_queue = queue
                dbapi_connection.writer_timeout_s = SQLITE_BUSY_TIMEOUT_MS / 1000.0

            event.listen(engine, "connect", _join_queue)
            event.listen(engine, "before_cursor_execute", before_write)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic, then load the reference data."""
    from openilp.db.reference_data import sync_offence_categories

    try:
        command.upgrade(alembic_config(engine), revision)
    except Exception as exc:  # pragma: no cover - exercised by a broken server only
        if "could not connect" in str(exc).lower() or "connection refused" in str(exc).lower():
            raise DatabaseError(f"cannot reach the database at {engine.url!r}: {exc}") from exc
        raise
    with session_scope(engine) as session:
        sync_offence_categories(session)


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table("incidents")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
