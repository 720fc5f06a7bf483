"""Long analyses run in the background: the page shows a progress bar and reloads when they are done.

With ``page_wait_ms=0`` every analysis page answers 202 with the progress page at once; the job's
status is readable by the user who started it only; the reload joins the finished job and shows the
result. The job runner itself: one run per key, failures reported, old jobs forgotten.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from conftest import shared_file
from sqlalchemy import Engine
from store_support import import_source
from web_support import login, make_client, seed_user

from openilp.core.jobs import JobRunner
from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture(scope="module")
def month_store(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("jobs")
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    import_source(
        engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019", "january2019.csv")], workers=1
    )
    return engine


def _job_url(page: str) -> str:
    found = re.search(r'data-job-url="(/api/v1/jobs/[^"]+)"', page)
    assert found, "no progress page"
    return found.group(1)


@pytest.mark.realdata
def test_a_slow_page_shows_progress_then_its_result(month_store: Engine, tmp_path: Path) -> None:
    seed_user(month_store, "jobs-analyst", role="analyst")
    seed_user(month_store, "jobs-other", role="analyst")
    client = make_client(month_store, tmp_path, page_wait_ms=0)
    assert login(client, "jobs-analyst").status_code == 303
    url = "/analysis/trends?category=burglary"
    first = client.get(url)
    assert first.status_code == 202 and 'id="job-bar"' in first.text and "You can leave this page" in first.text
    status_url = _job_url(first.text)
    for _ in range(600):
        status = client.get(status_url).json()
        if status["state"] != "running":
            break
        assert 0 <= status["fraction"] < 1
        time.sleep(0.1)
    assert status["state"] == "done" and status["fraction"] == 1 and status["error"] is None
    # Another user cannot read the job (nor learn that it exists); an unknown id is 404 too.
    other = make_client(month_store, tmp_path, page_wait_ms=0)
    assert login(other, "jobs-other").status_code == 303
    assert other.get(status_url).status_code == 404
    assert client.get("/api/v1/jobs/" + "x" * 16).status_code == 404
    # The reload joins the finished job: the table at once, and the job is forgotten.
    done = client.get(url)
    assert done.status_code == 200 and 'id="compstat-table"' in done.text
    assert client.get(status_url).status_code == 404
    # Anonymous visitors get no job status.
    anonymous = make_client(month_store, tmp_path)
    assert anonymous.get(status_url).status_code == 401


def test_the_runner_runs_a_key_once_and_reports_failures() -> None:
    runner = JobRunner(workers=2, keep_s=0.0)
    release = threading.Event()
    calls: list[int] = []

    def slow(progress):  # type: ignore[no-untyped-def]
        calls.append(1)
        progress("waiting", 1, 3)
        release.wait(5)
        return "ok"

    first = runner.submit("k", "u1", slow)
    second = runner.submit("k", "u1", slow)
    assert first is second and not first.wait(0.05)
    assert runner.get(first.id, "u1") is first and runner.get(first.id, "u2") is None
    assert first.as_dict()["stage"] == "waiting" or first.as_dict()["stage"] == "starting"
    release.set()
    assert first.wait(5) and first.result == "ok" and calls == [1]

    def broken(progress):  # type: ignore[no-untyped-def]
        raise ValueError("no incidents")

    failed = runner.submit("bad", "u1", broken)
    assert failed.wait(5) and failed.state == "failed" and failed.as_dict()["error"] == "no incidents"
    # A failed job is not joined: asking again starts afresh. Finished jobs past keep_s are forgotten.
    assert runner.submit("bad", "u1", lambda p: 1) is not failed
    time.sleep(0.01)
    runner.submit("other", "u1", lambda p: 2)
    assert runner.get(first.id, "u1") is None
    runner.shutdown()
    # A caller that shows a failure asks for the failed job back instead of a rerun, then forgets it.
    keeping = JobRunner(workers=1, keep_s=600.0)
    kept = keeping.submit("bad", "u1", broken)
    assert kept.wait(5) and keeping.submit("bad", "u1", lambda p: 1, rerun_failed=False) is kept
    keeping.forget(kept)
    assert keeping.submit("bad", "u1", lambda p: 1, rerun_failed=False) is not kept
    keeping.shutdown()
