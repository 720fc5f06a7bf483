"""One SparkSession for the analyses and entity resolution, built from the settings.

A process holds one Spark application. :func:`spark_session` reuses the active session when it runs
on the requested master and otherwise stops it and starts one on the new master. The session carries
what every OpenILP job needs and nothing that is downloaded: Splink's string-similarity jar (shipped
in the Splink wheel, for entity resolution), the Python of this process for the executors on a
local or standalone master, Arrow for the pandas exchange, and no web UI.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING

from openilp.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["default_partitions", "session_from_settings", "spark_session"]


def default_partitions(master: str) -> int:
    """Shuffle partitions when the settings give none: two per local core, else Spark's 200 → 16.

    >>> default_partitions("local[2]"), default_partitions("local[*]") >= 2, default_partitions("spark://h:7077")
    (4, True, 16)
    """
    if master.startswith("local"):
        inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
        cores = (os.cpu_count() or 1) if inside in ("*", "") else int(inside.split(",")[0])
        return max(2, 2 * cores)
    return 16


def spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "openilp",
    executor_memory: str = "",
    driver_memory: str = "",
    shuffle_partitions: int = 0,
    config: Mapping[str, str] | None = None,
) -> SparkSession:
    """A SparkSession on ``master`` (``local[N]``, ``spark://host:port``, ``k8s://…``).

    Parameters
    ----------
    master : str
        Spark master URL.
    executor_memory, driver_memory : str
        JVM heap per executor and of the driver (``"4g"``); empty = Spark's default (1 GB).
    shuffle_partitions : int
        ``spark.sql.shuffle.partitions``; 0 = :func:`default_partitions`.
    config : mapping, optional
        Further Spark settings, applied last (e.g. ``spark.driver.host`` on a cluster).
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        if active.sparkContext.master == master:
            return active
        active.stop()
    values = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions or default_partitions(master)),
        "spark.default.parallelism": str(shuffle_partitions or default_partitions(master)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
    }
    if not master.startswith("k8s://"):
        # Executors on this machine or a standalone cluster run this Python, where OpenILP is
        # installed (PySpark reads the variable when the context starts); PYSPARK_PYTHON overrides it.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    jar = _similarity_jar()
    if jar:
        values["spark.jars"] = jar
    if executor_memory:
        values["spark.executor.memory"] = executor_memory
    if driver_memory:
        values["spark.driver.memory"] = driver_memory
    values.update(config or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in values.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="openilp-spark-"))
    return session


def session_from_settings(settings: Settings) -> SparkSession:
    """:func:`spark_session` on ``settings.spark_master`` with the settings' memory and partitions."""
    return spark_session(
        settings.spark_master,
        executor_memory=settings.spark_executor_memory,
        driver_memory=settings.spark_driver_memory,
        shuffle_partitions=settings.spark_shuffle_partitions,
    )


def _similarity_jar() -> str:
    """Splink's Spark similarity UDFs (a jar inside the Splink wheel), or '' without Splink."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:  # pragma: no cover - Splink is a regular dependency
        return ""
    return str(similarity_jar_location())
