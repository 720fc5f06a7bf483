"""The heavy analyses on Apache Spark: the same numbers as the local numpy path, on a cluster.

OpenILP runs every analysis in one process by default (``engine = "local"``). With ``engine =
"spark"`` (:mod:`openilp.config`) the services hand the heavy part of some analyses to Spark and
keep the statistics where they are, so both engines give the same result objects and the same
numbers (Splink's pattern: the analysis written once, an engine underneath):

* :func:`~openilp.spark.units.spark_unit_counts`: events counted per grid cell or polygon (the
  input of Gi*, Moran's I and the hot-spot map), by any grouping columns (agency, category, week);
* :func:`~openilp.spark.knox.spark_knox_fit`: the Knox test's pairs of events found by a
  spatially bucketed join, and their counts under the seeded permutations of the times;
* :func:`~openilp.spark.backtest.spark_backtests`: rolling-origin backtests fanned out per
  agency × category × origin, each task calling the pure forecasters;
* :func:`~openilp.spark.session.spark_session`: the session, local (``local[2]``), on a standalone
  cluster (``spark://host:7077``) or on Kubernetes; entity resolution runs Splink on it.

This package is a floor of its own above the pure library (``docs/architecture.md``): it imports
``openilp.analysis`` and ``openilp.entities``, never the store, the services or the shells.
PySpark (the ``spark`` extra) and Java 17 are needed only when a function here is called; nothing
is downloaded at run time (no Maven packages).
"""

__all__: list[str] = []
