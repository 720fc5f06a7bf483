"""Background jobs: long analyses run on a worker thread while the page shows their progress.

A trend table over a whole city, a forecast with twelve weeks of backtest or a Knox test with many
permutations take seconds to a minute on their first run. Rather than leave the browser waiting on
a blank page, the web app submits the work here, waits a moment, and, if it is not done, answers
with a progress bar that polls :meth:`JobRunner.get` and reloads the page when the job ends. The
services cache their results (:class:`~openilp.core.cache.ResultCache`), so the reload is instant.

Jobs are keyed by who asked and what (the page's URL): asking again while a job runs joins it
instead of starting a second. Finished jobs are kept for ``keep_s`` seconds, then forgotten. The
runner holds no results of its own beyond that, and nothing survives a restart: a job is a way to
wait, not a queue of record.

>>> runner = JobRunner(workers=1)
>>> job = runner.submit(("alice", "/analysis/trends"), "alice", lambda progress: progress("counting", 1, 2) or 42)
>>> job.wait(5.0), job.state, job.result, job.stage
(True, 'done', 42, 'counting')
>>> runner.submit(("alice", "/analysis/trends"), "alice", lambda progress: 0) is job  # joins, does not rerun
True
>>> runner.shutdown()
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Job", "JobRunner", "ProgressFn"]

#: ``progress(stage, done, total)``: what a job is doing and how far it is.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class Job:
    """One piece of work: its state (``running``, ``done``, ``failed``), progress and outcome."""

    id: str
    key: Hashable
    owner: str
    started: float = field(default_factory=time.monotonic)
    state: str = "running"
    stage: str = "starting"
    done_steps: int = 0
    total_steps: int = 0
    finished: float | None = None
    result: Any = None
    error: BaseException | None = None
    _event: threading.Event = field(default_factory=threading.Event, repr=False)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Record the stage and the steps done of ``total`` (what a service's ``progress`` callback gets)."""
        self.stage, self.done_steps, self.total_steps = stage, int(done), int(total)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the job to end; whether it has."""
        return self._event.wait(max(0.0, seconds))

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def as_dict(self) -> dict[str, Any]:
        """What the progress bar shows (no result: the page reloads to get it)."""
        fraction = self.done_steps / self.total_steps if self.total_steps else 0.0
        return {
            "id": self.id,
            "state": self.state,
            "stage": self.stage,
            "done": self.done_steps,
            "total": self.total_steps,
            "fraction": round(1.0 if self.state != "running" else min(fraction, 0.99), 3),
            "elapsed_s": round(self.elapsed_s, 1),
            "error": None if self.error is None else str(self.error),
        }


class JobRunner:
    """A small pool of worker threads running :class:`Job` s, with lookup by id for their owner."""

    def __init__(self, workers: int = 2, keep_s: float = 600.0) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openilp-job")
        self._lock = threading.Lock()
        self._by_id: dict[str, Job] = {}
        self._by_key: dict[Hashable, Job] = {}
        self.keep_s = keep_s

    def submit(self, key: Hashable, owner: str, work: Callable[[ProgressFn], Any], *, rerun_failed: bool = True) -> Job:
        """Run ``work(progress)`` in the background, or join the job already running (or just done) under ``key``.

        A failed job under ``key`` is run afresh, unless ``rerun_failed`` is false: then it is returned, so
        that its error can be shown (and the job forgotten, for the next request to try again)."""
        with self._lock:
            self._forget_old()
            existing = self._by_key.get(key)
            if existing is not None and (existing.state != "failed" or not rerun_failed):
                return existing
            job = Job(id=secrets.token_urlsafe(12), key=key, owner=owner)
            self._by_id[job.id] = job
            self._by_key[key] = job
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[ProgressFn], Any]) -> None:
        try:
            job.result = work(job.progress)
            job.state = "done"
        except BaseException as exc:  # noqa: BLE001 - the page reports any failure of the work
            job.error = exc
            job.state = "failed"
        finally:
            job.finished = time.monotonic()
            job._event.set()

    def get(self, job_id: str, owner: str) -> Job | None:
        """The job ``job_id`` when ``owner`` started it (None otherwise: no one learns of another's job)."""
        with self._lock:
            job = self._by_id.get(job_id)
        return job if job is not None and secrets.compare_digest(job.owner, owner) else None

    def forget(self, job: Job) -> None:
        """Drop a finished job whose outcome has been shown."""
        with self._lock:
            self._by_id.pop(job.id, None)
            if self._by_key.get(job.key) is job:
                self._by_key.pop(job.key, None)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job in [j for j in self._by_id.values() if j.finished is not None and now - j.finished > self.keep_s]:
            self._by_id.pop(job.id, None)
            if self._by_key.get(job.key) is job:
                self._by_key.pop(job.key, None)

    def shutdown(self) -> None:
        """Stop taking work; running jobs finish."""
        self._pool.shutdown(wait=False)
