"""A real Spark cluster: a standalone master and two workers on 127.0.0.1, each its own JVM.

The master and the workers are started from the scripts in the PySpark wheel (``bin/spark-class``),
on free ports, and stopped at the end. A Knox test and the Gi* cell counts then run through
``spark://127.0.0.1:<port>`` from a core object whose settings say ``engine = "spark"``, so the
executors are other processes that unpickle the tasks, import OpenILP and send their counts back;
the results must equal the local engine's on the same real data (St. Louis, December 2019).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file
from sqlalchemy import Engine
from store_support import core_for, import_source

from openilp.analysis.grids import SquareGrid
from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.analysis.nearrepeat import KnoxRequest, run_knox

pyspark = pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (openjdk-17-jre-headless)"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

DECEMBER = {"date_from": dt.date(2019, 12, 1), "date_to": dt.date(2019, 12, 31)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and two one-core workers; yields the master URL."""
    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    folder = tmp_path_factory.mktemp("spark-cluster")
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    port, ui_port = _free_port(), _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    commands = [
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)]
        + ["--webui-port", str(ui_port)]
    ]
    for n in range(2):
        commands.append(
            [spark_class, "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1"]
            + ["--cores", "1", "--memory", "1g", "--webui-port", str(_free_port())]
            + ["--work-dir", str(folder / f"worker-{n}")]
        )
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for n, command in enumerate(commands):
            log = (folder / f"process-{n}.log").open("wb")
            logs.append(log)
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while _alive_workers(ui_port) < 2:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                text = "\n".join((folder / f"process-{n}.log").read_text()[-2000:] for n in range(len(commands)))
                raise RuntimeError(f"the standalone cluster did not come up:\n{text}")
            time.sleep(1)
        previous = os.environ.get("SPARK_LOCAL_IP")
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # the driver binds where the executors can reach it
        try:
            yield master_url
        finally:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            if active is not None:
                active.stop()
            if previous is None:
                os.environ.pop("SPARK_LOCAL_IP", None)
            else:
                os.environ["SPARK_LOCAL_IP"] = previous
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    folder = tmp_path_factory.mktemp("spark-cluster-store")
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    import_source(engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019", "december2019.csv")])
    yield engine, folder
    engine.dispose()


def test_a_standalone_cluster_gives_the_local_numbers(cluster: str, store: tuple[Engine, Path]) -> None:
    engine, folder = store
    local = core_for(engine, folder / "local")
    remote = core_for(
        engine,
        folder / "spark",
        engine="spark",
        spark_master=cluster,
        spark_executor_memory="512m",
        spark_shuffle_partitions=4,  # two one-core executors: a few partitions each
    )

    knox_request = KnoxRequest(permutations=49, seed=3, **DECEMBER)
    knox = [run_knox(core, None, knox_request) for core in (local, remote)]
    assert knox[0].n_pairs > 100 and knox[1].n_pairs == knox[0].n_pairs
    np.testing.assert_array_equal(knox[1].table["observed"], knox[0].table["observed"])
    np.testing.assert_allclose(knox[1].table["p_value"], knox[0].table["p_value"], rtol=0, atol=1e-9)

    from openilp.services.engine import spark_session_of
    from openilp.spark.units import spark_unit_counts

    session = spark_session_of(remote)
    assert session.sparkContext.master == cluster
    executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    assert executors == 3  # the driver and one executor on each worker

    # Gi* inputs: every December incident on 150 m cells, counted by the executors.
    events, agency = load_events(engine, EventQuery("SLMPD", (), DECEMBER["date_from"], DECEMBER["date_to"]))
    x, y = events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float)
    grid = SquareGrid.from_points(x, y, 150.0, crs=agency.crs)
    expected = grid.count(x, y)
    assert expected.sum() == len(events) > 2500
    np.testing.assert_array_equal(spark_unit_counts(session, events, grid), expected)
