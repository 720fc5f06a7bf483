"""One writer at a time, first come first served, for an embedded SQLite store.

SQLite lets one connection write at a time. A connection that finds the database locked waits in
SQLite's busy handler, which sleeps and retries with growing pauses (up to 100 ms each) and wakes
in no particular order, so under a burst of concurrent writes (community tips arriving together,
each one insert plus one audit entry) most writers finish in a few milliseconds and a few wait
half a second. Here the writers of one process queue in Python instead: before its first write
statement a connection waits for its turn on the database file's :class:`WriterQueue`, and the
turn passes to the next writer the moment the transaction commits or rolls back. The writers go
in arrival order and none sleeps longer than it has to.

The queue is an optimisation, never a lock that can hang: a writer that waits longer than
``writer_timeout_s`` proceeds to SQLite, whose own locking (and busy timeout) still holds; a
thread that already holds the turn through one connection and writes through another does not
wait for itself. Other processes (the command line beside the web server) are not in the queue
and meet SQLite's locking as before.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

__all__ = ["WriterQueue", "QueuedSQLiteConnection", "queue_for", "before_write", "is_write_statement"]

#: First words of the statements that take SQLite's write lock.
WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})


def is_write_statement(statement: str) -> bool:
    """Whether ``statement`` writes (and so needs the database's write lock).

    >>> is_write_statement("  insert into tips (id) values (?)")
    True
    >>> is_write_statement("SELECT * FROM incidents")
    False
    >>> is_write_statement("")
    False
    """
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in WRITE_VERBS


class WriterQueue:
    """A first-come, first-served turn to write, shared by the connections of one database file.

    ``owner`` is any object standing for a connection. :meth:`acquire` returns whether the turn was
    taken (``False`` after ``timeout_s`` seconds of waiting); :meth:`release` gives it to the next
    writer in line.

    >>> queue = WriterQueue()
    >>> a, b = object(), object()
    >>> queue.acquire(a, timeout_s=1.0), queue.holder is a
    (True, True)
    >>> queue.acquire(b, timeout_s=0.01)  # a still writes
    False
    >>> queue.release(a)
    >>> queue.acquire(b, timeout_s=0.01)
    True
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: deque[object] = deque()
        self.holder: object | None = None
        self._holder_thread: int | None = None

    @property
    def waiting(self) -> int:
        """How many writers wait for their turn now."""
        with self._changed:
            return len(self._waiting)

    def holds(self, owner: object) -> bool:
        """Whether ``owner`` has the turn now."""
        return self.holder is owner

    def acquire(self, owner: object, timeout_s: float) -> bool:
        """Wait for the turn of ``owner``, in arrival order, at most ``timeout_s`` seconds."""
        thread = threading.get_ident()
        with self._changed:
            if self.holder is owner:
                return True
            if self.holder is not None and self._holder_thread == thread:
                # The holder is this very thread through another connection: waiting would be
                # waiting for itself. Go straight to SQLite (which may still say "locked").
                return False
            self._waiting.append(owner)
            deadline = time.monotonic() + timeout_s
            try:
                while self.holder is not None or self._waiting[0] is not owner:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                self.holder = owner
                self._holder_thread = thread
                return True
            finally:
                self._waiting.remove(owner)
                self._changed.notify_all()

    def release(self, owner: object) -> None:
        """Give up the turn of ``owner`` (nothing happens if it does not hold it)."""
        with self._changed:
            if self.holder is owner:
                self.holder = None
                self._holder_thread = None
                self._changed.notify_all()


_QUEUES: dict[str, WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def queue_for(database: str) -> WriterQueue:
    """The process's one queue for the SQLite file ``database`` (paths resolved, so aliases share it)."""
    key = str(Path(database).expanduser().resolve())
    with _QUEUES_LOCK:
        return _QUEUES.setdefault(key, WriterQueue())


class QueuedSQLiteConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that takes its turn on a :class:`WriterQueue` before writing.

    Without a queue (``writer_queue`` left ``None``, as for in-memory databases) it is a plain
    connection. The turn is released when the transaction ends: commit, rollback or close.
    """

    writer_queue: WriterQueue | None = None
    #: Seconds a writer waits for its turn before going to SQLite anyway.
    writer_timeout_s: float = 10.0

    def wait_to_write(self) -> None:
        """Take this connection's turn to write, unless it already has it."""
        queue = self.writer_queue
        if queue is not None and not queue.holds(self):
            queue.acquire(self, self.writer_timeout_s)

    def _end_turn(self) -> None:
        if self.writer_queue is not None:
            self.writer_queue.release(self)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()


def before_write(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
    """SQLAlchemy ``before_cursor_execute`` hook: queue the connection before a write statement."""
    if is_write_statement(statement):
        dbapi_connection = cursor.connection
        if isinstance(dbapi_connection, QueuedSQLiteConnection):
            dbapi_connection.wait_to_write()
