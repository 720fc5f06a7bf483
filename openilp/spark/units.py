"""Events counted per spatial unit (grid cell or polygon) on Spark: the input of Gi* and Moran's I.

Each partition of events is assigned to units by the unit layer's own ``assign`` (the same code the
local path runs, so an event on a cell edge or a shared boundary falls in the same unit); Spark then
sums the counts per unit and per grouping column. The unit layer (a few thousand cells or polygons)
travels with the task; the events never come back to the driver, only one row per (group, unit).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from openilp.analysis.units import SpatialUnits
from openilp.spark.frames import to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["spark_unit_counts", "spark_unit_counts_by"]


def spark_unit_counts_by(
    session: SparkSession, events: pd.DataFrame | DataFrame, units: SpatialUnits, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Events per (``by`` …, unit): columns ``by``, ``unit`` (position in ``units``) and ``count``.

    ``events`` holds ``x_m`` and ``y_m`` in the units' CRS (metres) and the ``by`` columns; events
    outside every unit are left out. Rows are sorted by ``by`` and unit.
    """
    from pyspark.sql.types import LongType, StructField, StructType

    frame = to_spark(session, events, [*by, "x_m", "y_m"])
    keys = list(by)

    def assign(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            unit = units.assign(batch["x_m"].to_numpy(dtype=np.float64), batch["y_m"].to_numpy(dtype=np.float64))
            inside = unit >= 0
            yield batch.loc[inside, keys].assign(unit=unit[inside])

    schema = StructType([*frame.select(*keys).schema.fields, StructField("unit", LongType(), False)])
    counted = frame.mapInPandas(assign, schema).groupBy(*keys, "unit").count()
    result = counted.toPandas()
    result["count"] = result["count"].astype(np.int64)
    return result.sort_values([*keys, "unit"], ignore_index=True)


def spark_unit_counts(
    session: SparkSession, events: pd.DataFrame | DataFrame, units: SpatialUnits
) -> NDArray[np.int64]:
    """Events per unit, as ``units.count(x_m, y_m)`` gives them (length ``units.n_units``)."""
    counts = spark_unit_counts_by(session, events, units)
    out = np.zeros(units.n_units, dtype=np.int64)
    np.add.at(out, counts["unit"].to_numpy(dtype=np.int64), counts["count"].to_numpy(dtype=np.int64))
    return out
