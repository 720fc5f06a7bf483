"""Shared fixtures: real databases (SQLite in a temp dir; PostgreSQL when configured).

Every test that takes ``engine`` runs once on SQLite and, when ``OPENILP_TEST_DATABASE_URL``
is set (CI sets it), once more on PostgreSQL. No database is mocked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from openilp.db import make_engine, migrate
from openilp.db.models import Base
from openilp.security import passwords

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The shared real police data sets live beside the project.
SHARED_DATA = Path(os.environ.get("OPENILP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
#: Published reference material (schemas, code tables) beside the data, read in place, never copied.
SHARED_REFERENCE = Path(os.environ.get("OPENILP_SHARED_REFERENCE", SHARED_DATA.parent / "reference"))

POSTGRES_URL = os.environ.get("OPENILP_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])

_pg_engine: Engine | None = None


def _worker_postgres_url(url: str) -> str:
    """Under pytest-xdist each worker gets its own database (``<name>_gw0``, …), created on first use,
    so parallel workers never reset each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _postgres_engine() -> Engine:
    global _pg_engine
    if _pg_engine is None:
        _pg_engine = make_engine(_worker_postgres_url(POSTGRES_URL))
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


@pytest.fixture(autouse=True)
def shared_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every core object a test builds, the command line's included, keys the audit chain alike."""
    from store_support import TEST_AUDIT_KEY

    monkeypatch.setenv("OPENILP_AUDIT_KEY", TEST_AUDIT_KEY)


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
        # The engine is shared by the worker's tests: forget an audit key an earlier test's core attached.
        eng.update_execution_options(openilp_audit_key=None)
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


def shared_reference(*parts: str) -> Path:
    """Path of a published reference file (e.g. the FBI's NIBRS schema); fails loudly when it is missing."""
    path = SHARED_REFERENCE.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"reference file {path} is missing: set OPENILP_SHARED_REFERENCE to the shared reference folder"
        )
    return path


#: argon2id at the lowest cost argon2-cffi accepts: for tests that create many users or tips only.
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hash passwords and tip secrets cheaply during one test (opt in with ``usefixtures``).

    Production keeps argon2-cffi's defaults (RFC 9106, 64 MiB, 3 passes): only this test's
    process-local hasher is swapped, and the cached dummy hash is reset before and after so no
    cheap hash outlives the test. Tests of hashing itself (test_passwords, test_web_auth) do not
    use it.
    """
    passwords._dummy_hash.cache_clear()
    monkeypatch.setattr(passwords, "_hasher", lambda: _FAST_HASHER)
    yield
    passwords._dummy_hash.cache_clear()
