"""The same person resolution on Spark (PySpark local[2]) as on DuckDB: the same clusters on FEBRL 3.

Needs PySpark (the ``dev`` and ``spark`` extras) and Java 17 (``.ci/run`` installs
``openjdk-17-jre-headless``); skipped when either is missing.
"""

from __future__ import annotations

import shutil

import pytest
from entities_support import febrl_persons

from openilp.entities import PersonMatcher, cluster_pairs, pairwise_scores

pyspark = pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (openjdk-17-jre-headless)"),
]


def test_spark_gives_the_same_clusters_as_duckdb_on_febrl3() -> None:
    from openilp.entities.spark import local_spark_session

    persons, truth = febrl_persons(3)
    ids = persons["record_id"].tolist()
    clusters = {}
    for backend in ("duckdb", "spark"):
        session = local_spark_session(2) if backend == "spark" else None
        matcher = PersonMatcher(backend=backend, spark_session=session, u_max_pairs=5e5).fit(persons)
        labels = cluster_pairs(ids, matcher.predict(0.5), threshold=0.9)
        clusters[backend] = [labels[r] for r in ids]
        assert pairwise_scores(clusters[backend], truth).f1 >= 0.995
    agreement = pairwise_scores(clusters["spark"], clusters["duckdb"])
    assert (agreement.precision, agreement.recall) == (1.0, 1.0), agreement.as_dict()
