"""The Knox space-time test with its pairs counted on Spark (Knox 1964), the statistics unchanged.

:func:`spark_knox_fit` gives a fitted :class:`openilp.analysis.nearrepeat.KnoxTest` with the same
counts, p-values and Knox ratios as ``KnoxTest.fit`` on the same events in the same order:

1. **Pairs by spatial bucketing.** Events fall in square buckets as wide as the last space band;
   every event is joined only with the events of its own and the eight neighbouring buckets (each
   pair once, ``i < j``), so the join never forms the n² pairs of a state. The distance and space
   band of each pair are computed by the library's own ``space_bands`` (``numpy.hypot``), so a pair
   on a band edge lands where the local path puts it.
2. **Permutations within the job.** The pairs are split over the partitions; each task counts its
   pairs under the observed times and under every permutation of the times, drawn from the test's
   seeded streams (:func:`openilp.analysis.knox_pairs.permutation_seeds`) from the whole time vector
   broadcast once. Counts over disjoint pairs add up, so the driver sums integer tables: the
   counts are exactly those of one process, whatever the number of executors.

Each task draws every permutation of all ``n`` times (``O(n)`` each): with ``P`` partitions the job
does ``P × R`` draws, which is why it uses few, large partitions of pairs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from openilp.analysis.knox_pairs import knox_pair_counts, permutation_seeds, space_bands
from openilp.analysis.nearrepeat import KnoxTest
from openilp.spark.frames import EVENT_INDEX, to_spark, with_event_index

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["spark_knox_fit"]


def spark_knox_fit(
    session: SparkSession,
    knox: KnoxTest,
    events: pd.DataFrame | DataFrame,
    *,
    partitions: int = 0,
) -> KnoxTest:
    """Fit ``knox`` on ``events`` (``x_m``, ``y_m`` in metres and ``t_days``), pairs counted on Spark.

    A pandas frame keeps its row order; a Spark frame is numbered by its ``event_index`` column
    (0 … n-1) when it has one, else in its current order. ``partitions`` = pair partitions
    (0 = the session's default parallelism).
    """
    import pyspark.sql.functions as F
    from pyspark.sql.types import ArrayType, LongType, StructField, StructType

    s_edges, t_edges = knox._validate()
    n_space = s_edges.size + (knox.same_location_m is not None)
    reach = float(s_edges[-1])
    if isinstance(events, pd.DataFrame):
        frame = events[["x_m", "y_m", "t_days"]].reset_index(drop=True)
        frame[EVENT_INDEX] = np.arange(len(frame), dtype=np.int64)
        indexed = to_spark(session, frame, ["x_m", "y_m", "t_days", EVENT_INDEX])
    elif EVENT_INDEX in events.columns:
        indexed = events.select("x_m", "y_m", "t_days", EVENT_INDEX)
    else:
        indexed = with_event_index(events.select("x_m", "y_m", "t_days"))
    indexed = indexed.withColumn("bx", F.floor(F.col("x_m") / reach)).withColumn("by", F.floor(F.col("y_m") / reach))
    indexed = indexed.persist()

    times = indexed.select(EVENT_INDEX, "t_days").toPandas().sort_values(EVENT_INDEX)
    t = times["t_days"].to_numpy(dtype=np.float64)
    if not np.array_equal(times[EVENT_INDEX].to_numpy(), np.arange(len(t))):
        raise ValueError(f"{EVENT_INDEX} must number the events 0 … n-1")
    if len(t) < 2 or not np.all(np.isfinite(t)):
        raise ValueError("the Knox test needs at least 2 events with finite times")

    left = indexed.select(F.col(EVENT_INDEX).alias("i"), "x_m", "y_m", "bx", "by")
    offsets = F.array(
        *[F.struct(F.lit(dx).alias("dx"), F.lit(dy).alias("dy")) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    )
    right = (
        indexed.select(F.col(EVENT_INDEX).alias("j"), F.col("x_m").alias("xj"), F.col("y_m").alias("yj"), "bx", "by")
        .withColumn("offset", F.explode(offsets))
        .select(
            "j",
            "xj",
            "yj",
            (F.col("bx") + F.col("offset.dx")).alias("bx"),
            (F.col("by") + F.col("offset.dy")).alias("by"),
        )
    )
    candidates = (
        left.join(right, on=["bx", "by"]).where(F.col("i") < F.col("j")).select("i", "j", "x_m", "y_m", "xj", "yj")
    )
    same_location_m, closed = knox.same_location_m, knox.closed

    def banded(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            distance = np.hypot(
                batch["x_m"].to_numpy() - batch["xj"].to_numpy(), batch["y_m"].to_numpy() - batch["yj"].to_numpy()
            )
            band = space_bands(distance, s_edges, same_location_m, closed)
            keep = band >= 0
            yield pd.DataFrame({"i": batch["i"].to_numpy()[keep], "j": batch["j"].to_numpy()[keep], "band": band[keep]})

    pair_schema = StructType(
        [
            StructField("i", LongType(), False),
            StructField("j", LongType(), False),
            StructField("band", LongType(), False),
        ]
    )
    pairs = candidates.mapInPandas(banded, pair_schema)
    n_parts = partitions or session.sparkContext.defaultParallelism
    shared_t = session.sparkContext.broadcast(t)
    seeds = permutation_seeds(knox.seed, int(knox.permutations))

    def count(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        parts = [b for b in batches if len(b)]
        if not parts:
            return
        block = pd.concat(parts, ignore_index=True)
        observed, simulated = knox_pair_counts(
            block["i"].to_numpy(dtype=np.intp),
            block["j"].to_numpy(dtype=np.intp),
            block["band"].to_numpy(dtype=np.intp),
            shared_t.value,
            t_edges,
            n_space=n_space,
            closed=closed,
            seeds=seeds,
        )
        yield pd.DataFrame(
            {"pairs": [len(block)], "observed": [observed.ravel().tolist()], "simulated": [simulated.ravel().tolist()]}
        )

    count_schema = StructType(
        [
            StructField("pairs", LongType(), False),
            StructField("observed", ArrayType(LongType()), False),
            StructField("simulated", ArrayType(LongType()), False),
        ]
    )
    rows = pairs.repartition(n_parts).mapInPandas(count, count_schema).collect()
    indexed.unpersist()
    shared_t.unpersist()
    shape = (n_space, t_edges.size + 1)
    observed = np.zeros(shape, dtype=np.int64)
    simulated = np.zeros((len(seeds), *shape), dtype=np.int64)
    n_pairs = 0
    for row in rows:
        n_pairs += int(row["pairs"])
        observed += np.asarray(row["observed"], dtype=np.int64).reshape(shape)
        simulated += np.asarray(row["simulated"], dtype=np.int64).reshape(simulated.shape)
    return knox.fit_counts(
        observed, simulated, n_events=len(t), n_pairs=n_pairs, integer_times=bool(np.all(t == np.round(t)))
    )
