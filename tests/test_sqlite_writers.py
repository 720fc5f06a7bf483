"""Writers of one SQLite store take turns in arrival order; PostgreSQL pools open at start."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from openilp.config import Settings, get_settings
from openilp.core import OpenILP
from openilp.db.engine import DEFAULT_POOL_SIZE, make_engine
from openilp.db.sqlite_writers import QueuedSQLiteConnection, WriterQueue, is_write_statement, queue_for


def _wait_until(condition, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.001)


def test_writers_get_their_turn_in_arrival_order() -> None:
    queue = WriterQueue()
    first = object()
    assert queue.acquire(first, timeout_s=1.0)
    order: list[int] = []
    owners = [object() for _ in range(5)]

    def write(number: int) -> None:
        assert queue.acquire(owners[number], timeout_s=10.0)
        order.append(number)
        queue.release(owners[number])

    threads = []
    for number in range(5):
        thread = threading.Thread(target=write, args=(number,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda n=number: queue.waiting == n + 1)  # type: ignore[misc]
    queue.release(first)
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3, 4]
    assert queue.holder is None and queue.waiting == 0


def test_a_writer_that_waits_too_long_gives_up_and_leaves_the_line() -> None:
    queue = WriterQueue()
    holder, late, next_one = object(), object(), object()
    assert queue.acquire(holder, timeout_s=1.0)
    assert queue.acquire(late, timeout_s=0.05) is False
    assert queue.waiting == 0
    queue.release(holder)
    assert queue.acquire(next_one, timeout_s=0.05)


def test_a_thread_never_waits_for_its_own_turn_through_another_connection() -> None:
    queue = WriterQueue()
    mine, my_other = object(), object()
    assert queue.acquire(mine, timeout_s=1.0)
    started = time.monotonic()
    assert queue.acquire(my_other, timeout_s=30.0) is False
    assert time.monotonic() - started < 5.0  # returned at once, not after the 30 s timeout
    assert queue.holds(mine)


def test_release_by_a_connection_without_the_turn_changes_nothing() -> None:
    queue = WriterQueue()
    holder, other = object(), object()
    queue.acquire(holder, timeout_s=1.0)
    queue.release(other)
    assert queue.holds(holder)


@pytest.mark.parametrize(
    ("statement", "writes"),
    [("INSERT INTO t VALUES (1)", True), ("\n update t set a=1", True), ("DELETE FROM t", True),
     ("create table t (a)", True), ("SELECT 1", False), ("PRAGMA foreign_keys=ON", False),
     ("BEGIN", False)],
)  # fmt: skip
def test_write_statements_are_recognised(statement: str, writes: bool) -> None:
    assert is_write_statement(statement) is writes


def test_file_stores_share_one_queue_and_memory_stores_have_none(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    first = make_engine(f"sqlite:///{path}")
    second = make_engine(f"sqlite:///{tmp_path}/./store.sqlite3")
    with first.connect() as a, second.connect() as b:
        dbapi_a = a.connection.dbapi_connection
        dbapi_b = b.connection.dbapi_connection
        assert isinstance(dbapi_a, QueuedSQLiteConnection)
        assert dbapi_a.writer_queue is dbapi_b.writer_queue is queue_for(str(path))
    memory = make_engine("sqlite://")
    with memory.connect() as connection:
        assert getattr(connection.connection.dbapi_connection, "writer_queue", None) is None


def test_the_turn_ends_with_commit_rollback_and_close(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    queue = queue_for(str(tmp_path / "store.sqlite3"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (a INTEGER)"))
        assert queue.holds(connection.connection.dbapi_connection)
    assert queue.holder is None
    connection = engine.connect()
    connection.execute(text("INSERT INTO t VALUES (1)"))
    assert queue.holds(connection.connection.dbapi_connection)
    connection.rollback()
    assert queue.holder is None
    connection.execute(text("INSERT INTO t VALUES (2)"))
    connection.close()  # returned to the pool, which rolls back
    assert queue.holder is None
    with engine.connect() as check:
        assert check.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_many_concurrent_writers_all_commit_without_locking_errors(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE tips (writer INTEGER, n INTEGER)"))
        connection.execute(text("CREATE TABLE audit (writer INTEGER, n INTEGER)"))
    errors: list[BaseException] = []
    writers, per_writer = 12, 25

    def write(writer: int) -> None:
        try:
            for n in range(per_writer):
                with engine.begin() as connection:  # one tip and its audit entry, as the tip service
                    connection.execute(text("INSERT INTO tips VALUES (:w, :n)"), {"w": writer, "n": n})
                    connection.execute(text("SELECT count(*) FROM tips")).scalar_one()
                    connection.execute(text("INSERT INTO audit VALUES (:w, :n)"), {"w": writer, "n": n})
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tips")).scalar_one() == writers * per_writer
        assert connection.execute(text("SELECT count(*) FROM audit")).scalar_one() == writers * per_writer
    assert queue_for(str(tmp_path / "store.sqlite3")).holder is None


def test_postgresql_pool_follows_the_setting() -> None:
    # Building an engine does not connect, so no server is needed to read its pool's size.
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none", pool_size=7)
    assert engine.pool.size() == 7  # type: ignore[attr-defined]
    assert make_engine("postgresql://nobody@127.0.0.1:1/none").pool.size() == DEFAULT_POOL_SIZE  # type: ignore[attr-defined]
    settings = get_settings({"OPENILP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                             "OPENILP_DATABASE_POOL_SIZE": "3", "OPENILP_SECRET_KEY": "k" * 40})  # fmt: skip
    core = OpenILP(settings)
    assert core.engine.pool.size() == 3  # type: ignore[attr-defined]


def test_pool_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="database_pool_size must be at least 1"):
        get_settings({"OPENILP_DATABASE_POOL_SIZE": "0"})


def test_warm_up_opens_the_pool_and_survives_an_unreachable_store(tmp_path: Path) -> None:
    core = OpenILP(Settings(data_dir=str(tmp_path), secret_key="k" * 40, audit_key="a" * 40))
    opened = core.warm_up()
    assert opened == core.engine.pool.size() >= 1  # type: ignore[attr-defined]
    assert core.engine.pool.checkedin() == opened  # type: ignore[attr-defined]
    unreachable = OpenILP(
        Settings(data_dir=str(tmp_path), database_url="postgresql://nobody@127.0.0.1:1/none",
                 secret_key="k" * 40, audit_key="a" * 40)
    )  # fmt: skip
    assert unreachable.warm_up() == 0


class _FakeIncluded:
    """Stands for an included router whose handlers are built on demand."""

    def __init__(self, children: list[object]) -> None:
        self.children = children
        self.built = 0

    def effective_candidates(self) -> list[object]:
        self.built += 1
        return self.children

    def effective_low_priority_routes(self) -> list[object]:
        return []


def test_prebuild_routes_builds_nested_routers_and_ignores_plain_routes() -> None:
    from openilp.web.app import prebuild_routes

    inner = _FakeIncluded([object()])
    outer = _FakeIncluded([inner, object()])
    assert prebuild_routes([outer, object()]) == 2
    assert outer.built == inner.built == 1


def test_the_app_builds_every_route_handler_before_the_first_request(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from openilp.web.app import create_app

    core = OpenILP(Settings(data_dir=str(tmp_path), secret_key="k" * 40, audit_key="a" * 40))
    core.migrate()
    app = create_app(core)
    included = [r for r in app.router.routes if hasattr(r, "effective_candidates")]
    with TestClient(app) as client:  # start-up runs here
        for router in included:  # FastAPI builds lazily: nothing may be left to build
            assert router._effective_candidates_version == router.original_router._get_routes_version()
        assert client.get("/healthz").status_code == 200
