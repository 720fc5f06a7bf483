"""Events as Spark data frames: from pandas (what the services load) or from Parquet (a state's history)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["EVENT_INDEX", "to_spark", "with_event_index"]

#: Column holding each event's position 0 … n-1: permutations of the Knox test act on positions.
EVENT_INDEX = "event_index"


def to_spark(session: SparkSession, events: pd.DataFrame | DataFrame, columns: Sequence[str]) -> DataFrame:
    """``events[columns]`` as a Spark data frame (a pandas frame is sent through Arrow)."""
    if isinstance(events, pd.DataFrame):
        missing = [c for c in columns if c not in events.columns]
        if missing:
            raise ValueError(f"events lack the column(s) {', '.join(missing)}")
        return session.createDataFrame(events[list(columns)].reset_index(drop=True))
    return events.select(*columns)


def with_event_index(frame: DataFrame) -> DataFrame:
    """``frame`` with :data:`EVENT_INDEX` numbering its rows 0 … n-1 in their current order."""
    from pyspark.sql.types import LongType, StructField, StructType

    schema = StructType([*frame.schema.fields, StructField(EVENT_INDEX, LongType(), False)])

    def number(pair: tuple[Any, int]) -> tuple[Any, ...]:
        return (*pair[0], pair[1])

    return frame.rdd.zipWithIndex().map(number).toDF(schema)
