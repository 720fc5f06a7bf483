"""A local Spark session ready for Splink: its string-similarity functions and a checkpoint folder.

For a state's worth of records the same :class:`openilp.entities.PersonMatcher` runs on Spark
(``backend="spark"``). PySpark is an optional dependency (``pip install 'openilp[spark]'``, Java
17); a cluster's session works too, as long as Splink's similarity jar is on its class path
(``spark.jars``) and a checkpoint directory is set.
"""

from __future__ import annotations

import tempfile
from typing import Any

__all__ = ["local_spark_session"]


def local_spark_session(cores: int = 2, *, memory: str = "2g") -> Any:
    """A ``local[cores]`` SparkSession with Splink's similarity functions (needs PySpark and Java)."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    session = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("openilp-entities")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
        .config("spark.default.parallelism", str(max(2, cores * 2)))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="openilp-spark-"))
    return session
