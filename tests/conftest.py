"""Shared fixtures: real databases (SQLite in a temp dir; PostgreSQL when configured).

Every test that takes ``engine`` runs once on SQLite and, when ``OPENILP_TEST_DATABASE_URL``
is set (CI sets it), once more on PostgreSQL. No database is mocked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from openilp.db import make_engine, migrate
from openilp.db.models import Base

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The shared real police data sets live beside the project.
SHARED_DATA = Path(os.environ.get("OPENILP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

POSTGRES_URL = os.environ.get("OPENILP_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])

_pg_engine: Engine | None = None


def _postgres_engine() -> Engine:
    global _pg_engine
    if _pg_engine is None:
        _pg_engine = make_engine(POSTGRES_URL)
        with _pg_engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrate(_pg_engine)
    return _pg_engine


def _truncate_postgres(engine: Engine) -> None:
    keep = {"offence_categories"}
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in keep]
    with engine.begin() as conn:
        # The audit log refuses TRUNCATE (append-only); tests lift that for the reset only.
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store on each configured backend."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'openilp.sqlite3'}")
        migrate(eng)
        yield eng
        eng.dispose()
    else:
        eng = _postgres_engine()
        _truncate_postgres(eng)
        yield eng


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite store only (for tests about the embedded default)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'openilp.sqlite3'}")
    migrate(eng)
    yield eng
    eng.dispose()


def shared_file(*parts: str) -> Path:
    """Path of a file in the shared real data; fails loudly when the data are missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"real data file {path} is missing: set OPENILP_SHARED_DATA to the shared data folder")
    return path
