"""The one core object: everything a workflow needs, built once by the command line or the web app.

Datasette's pattern: ``openilp serve`` and every ``openilp`` command build one :class:`OpenILP`
from the settings and hand it to the services; the web app keeps the same object for its whole
life. A service call therefore gets the same store, the same clock, the same boundary layers and
the same defaults whichever shell asked, so the same request gives the same answer on both.

>>> from openilp.config import Settings
>>> core = OpenILP(Settings(database_url="sqlite://", secret_key="x" * 32, audit_key="y" * 32))
>>> core.migrate()
>>> with core.unit_of_work(None) as uow:
...     uow.audit(action="read", object_type="demo").seq
1
>>> core.boundaries.layer_for("SLMPD").name
'Neighbourhoods'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import configure_mappers

from openilp.config import Settings, get_settings
from openilp.core.boundaries import BoundaryRegistry
from openilp.core.cache import ResultCache
from openilp.core.jobs import JobRunner
from openilp.core.secret_key import AUDIT_KEY_FILE_NAME, resolve_secret_key
from openilp.core.unit_of_work import UnitOfWork, open_unit_of_work
from openilp.db import make_engine, migrate
from openilp.db.models import utcnow
from openilp.security.actors import UserInfo
from openilp.security.audit import attach_audit_key
from openilp.security.secretbox import SecretBox, secret_box_for
from openilp.security.tipsecrets import TipSecretHasher

__all__ = ["OpenILP"]


class OpenILP:
    """Settings, store, clock, boundary layers, result cache and secret box of one deployment.

    Parameters
    ----------
    settings
        Runtime settings. An empty ``secret_key`` (or ``audit_key``) is replaced by the
        deployment's generated key (``<data_dir>/secret_key``, ``<data_dir>/audit_key``, created on
        first use; see :mod:`openilp.core.secret_key`). The audit key is attached to the engine,
        so every audit entry written through this store is keyed.
    engine
        The store; defaults to ``make_engine(settings.resolved_database_url)``. Not migrated here:
        call :meth:`migrate` (the CLI and :meth:`from_environment` do).
    clock
        Returns the current moment (aware UTC). Every service reads time through it (via
        ``uow.now``), as do session timeouts and TOTP codes; tests pass a controllable one.
    boundaries
        Agency boundary layers; defaults to the bundled ones plus ``<data_dir>/boundaries``.
    cache
        Cache of analysis results; defaults to a new one (16 results).
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        boundaries: BoundaryRegistry | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        if not settings.secret_key:
            settings = replace(settings, secret_key=resolve_secret_key(settings.data_dir))
        self.settings: Settings = settings
        self.engine: Engine = (
            engine
            if engine is not None
            else make_engine(settings.resolved_database_url, pool_size=settings.database_pool_size)
        )
        self.clock: Callable[[], dt.datetime] = clock if clock is not None else utcnow
        self.boundaries: BoundaryRegistry = boundaries or BoundaryRegistry.default(settings.data_dir)
        self.cache: ResultCache = cache if cache is not None else ResultCache()
        #: Long analyses the web pages run in the background (:mod:`openilp.core.jobs`).
        self.jobs: JobRunner = JobRunner()
        audit_key = settings.audit_key or resolve_secret_key(settings.data_dir, AUDIT_KEY_FILE_NAME)
        # Every audit entry written through this store is keyed (HMAC) from now on.
        attach_audit_key(self.engine, audit_key.encode("utf-8"))
        #: Keyed hashes of tip secrets and payout codes (key derived from the audit key).
        self.tip_secrets: TipSecretHasher = TipSecretHasher.from_audit_key(audit_key.encode("utf-8"))

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> OpenILP:
        """The core configured from ``OPENILP_*`` variables (and ``OPENILP_CONFIG``), store migrated."""
        core = cls(get_settings(environ))
        core.migrate()
        return core

    def migrate(self) -> None:
        """Bring the store to the latest schema (Alembic) and load the reference data."""
        migrate(self.engine)

    @property
    def secret_box(self) -> SecretBox:
        """Encrypts TOTP secrets: keyed by ``totp_key``, or by ``secret_key`` when that is empty."""
        return secret_box_for(self.settings)

    def now(self) -> dt.datetime:
        """The current moment by the core's clock (aware UTC)."""
        return self.clock()

    def store_reachable(self) -> bool:
        """Whether the store answers a trivial query (for health checks); never raises."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def warm_up(self) -> int:
        """Open the store's pooled connections and configure the ORM before the first request.

        A web server started cold makes its first concurrent requests pay for new database
        connections (a PostgreSQL log-in is tens of milliseconds) and for the ORM's one-off set-up;
        opening ``database_pool_size`` connections here moves that cost to start-up (and an embedded
        store's write-ahead log is checkpointed, for the same reason). Returns how
        many connections were opened; a store that cannot be reached opens none (health checks
        report it) rather than stopping the server.
        """
        configure_mappers()
        if self.engine.dialect.name == "sqlite":
            # Fold a bulk import's write-ahead log into the file now, so that the first write
            # after start does not pay for copying it (PASSIVE: never waits for readers or writers).
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        wanted = getattr(self.engine.pool, "size", lambda: 1)()
        opened: list[Connection] = []
        ready = 0
        try:
            for _ in range(wanted):
                opened.append(self.engine.connect())
                opened[-1].execute(text("SELECT 1"))
                ready += 1
        except Exception:  # unreachable store: the server starts anyway and its health check says so
            ready = min(ready, len(opened))
        finally:
            for connection in opened:
                connection.close()
        return ready

    def unit_of_work(self, actor: UserInfo | None) -> AbstractContextManager[UnitOfWork]:
        """One transaction for one service call by ``actor`` (None: the system or an anonymous visitor).

        Commits when the block ends, before the service returns; rolls back on any error and then
        writes the refusals recorded with :meth:`UnitOfWork.refuse` in their own transaction. A
        call inside another unit of work of this core joins it. See :mod:`openilp.core.unit_of_work`.
        """
        return open_unit_of_work(self, self.engine, self.clock, actor)

    def __repr__(self) -> str:
        return f"OpenILP({self.engine.url.render_as_string(hide_password=True)!r})"
