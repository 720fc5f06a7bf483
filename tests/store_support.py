"""One core object per store for the tests, all sharing ONE audit key.

The audit chain is keyed (HMAC under the deployment's audit key). Two core objects built over one
store with different keys would write entries the other cannot verify, and the chain check fails.
So every test builds its core objects here (or through the web and browser helpers, which use
:data:`TEST_AUDIT_KEY` too).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openilp.config import Settings
from openilp.core import OpenILP
from openilp.db import Agency, User, make_engine
from openilp.db.models import utcnow
from openilp.ingest.spec import SourceSpec
from openilp.security.actors import UserInfo
from openilp.security.passwords import hash_password
from openilp.services.accounts.records import info_of
from openilp.services.imports.run import ImportReport, ImportRequest
from openilp.services.imports.run import import_source as run_import

__all__ = ["TEST_AUDIT_KEY", "TEST_SECRET_KEY", "add_user", "core_for", "import_source", "test_settings"]

#: The audit key of every core object the tests build.
TEST_AUDIT_KEY = "openilp-test-audit-key-0123456789abcdef-shared"
#: The session key of every test app (long enough for a non-loopback host check).
TEST_SECRET_KEY = "openilp-test-secret-key-0123456789abcdef"


def test_settings(data_dir: str | Path | None = None, **values: Any) -> Settings:
    """Settings with the shared test keys; ``data_dir`` defaults to a new temporary folder."""
    folder = str(data_dir) if data_dir is not None else tempfile.mkdtemp(prefix="openilp-test-")
    values.setdefault("secret_key", TEST_SECRET_KEY)
    values.setdefault("audit_key", TEST_AUDIT_KEY)
    # Pages wait for their analysis (tests read the result from the first response); the progress
    # page is tested on its own with a short wait.
    values.setdefault("page_wait_ms", 600_000)
    return Settings(data_dir=folder, **values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


def core_for(
    store: Engine | str,
    data_dir: str | Path | None = None,
    *,
    clock: Callable[[], Any] | None = None,
    **settings: Any,
) -> OpenILP:
    """A core object over ``store`` (an engine or a database URL) with the shared test audit key."""
    engine = make_engine(store) if isinstance(store, str) else store
    return OpenILP(test_settings(data_dir, **settings), engine, clock=clock)


def import_source(
    engine: Engine,
    spec: SourceSpec | str,
    paths: list[Path] | tuple[Path, ...],
    *,
    strict: bool = False,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Import through the service as the command line does (``actor=None``), over ``engine``."""
    request = ImportRequest(source=spec, paths=tuple(paths), strict=strict, workers=workers)
    return run_import(core_for(engine), None, request, progress=progress)


def add_user(
    session: Session, username: str, password: str, role: str, agency_code: str, full_name: str = ""
) -> UserInfo:
    """Seed an account directly in ``session`` (test set-up: no audit entry, unlike the service)."""
    agency = session.scalars(select(Agency).where(Agency.code == agency_code)).one()
    user = User(
        username=username.strip().lower(),
        full_name=full_name,
        password_hash=hash_password(password),
        role=role,
        agency_id=agency.id,
        is_active=True,
        failed_logins=0,
        totp_enabled=False,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return info_of(user, agency)
