"""Synthetic incident histories of many agencies written as Parquet, in chunks of bounded memory.

The rows come from :func:`openilp.analysis.synthetic.generate_incidents` (seeded: the same request
writes the same rows); this workflow only writes them: one ``part-NNNNN.parquet`` per chunk (one
time slice of one agency, at most ``chunk_rows`` rows, row groups of 250,000) and
``agencies.json``, which names each agency's code, name, time zone and CRS. The columns are the
``incidents`` table's plus ``agency`` (the agency's code), so :mod:`.bulk` loads them as they are.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from openilp.core import Request, Result
from openilp.core.contract import require

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "AGENCIES_FILE",
    "PARQUET_COLUMNS",
    "PARQUET_ROW_GROUP",
    "SyntheticReport",
    "SyntheticRequest",
    "parquet_schema",
    "write_synthetic_incidents",
]

#: The side file naming the agencies of a synthetic (or any bulk-load) Parquet folder.
AGENCIES_FILE = "agencies.json"
#: Rows per Parquet row group.
PARQUET_ROW_GROUP = 250_000
#: The columns of a bulk-load Parquet file and their Arrow types: the ``incidents`` table's (times
#: are naive UTC) plus ``agency``, the agency's code.
PARQUET_COLUMNS = (
    ("agency", "string"),
    ("source", "string"),
    ("source_key", "string"),
    ("source_record_id", "string"),
    ("offence_code", "string"),
    ("offence_description", "string"),
    ("category_code", "string"),
    ("occurred_from", "timestamp"),
    ("occurred_to", "timestamp"),
    ("time_precision", "string"),
    ("reported_at", "timestamp"),
    ("lon", "float64"),
    ("lat", "float64"),
    ("x_m", "float64"),
    ("y_m", "float64"),
    ("location_status", "string"),
    ("block_address", "string"),
    ("district", "string"),
    ("beat", "string"),
    ("neighbourhood", "string"),
    ("flag_unfounded", "bool"),
    ("flag_administrative", "bool"),
    ("source_updated_at", "timestamp"),
    ("attention", "string"),
    ("patrol_propensity", "float64"),
    ("net_count", "int32"),
    ("source_line", "int64"),
    ("content_hash", "int64"),
    ("raw", "string"),
)
#: Largest synthetic history one request may ask for.
MAX_ROWS = 1_000_000_000


@dataclass(frozen=True)
class SyntheticRequest(Request):
    """``rows`` incidents of ``agencies`` synthetic agencies over ``years`` years, seeded, into the
    folder ``output`` (created; it must hold no Parquet files yet)."""

    output: Path = Path()
    rows: int = 1_000_000
    agencies: int = 40
    seed: int = 0
    years: int = 10
    chunk_rows: int = 1_000_000
    templates: tuple[str, ...] = ("stlouis", "chicago")

    def validate(self) -> SyntheticRequest:
        require(1 <= self.agencies <= 999, "agencies must be between 1 and 999")
        require(self.agencies <= self.rows <= MAX_ROWS, f"rows must be between the number of agencies and {MAX_ROWS:,}")
        require(1 <= self.years <= 50, "years must be between 1 and 50")
        require(1_000 <= self.chunk_rows <= 10_000_000, "chunk_rows must be between 1,000 and 10,000,000")
        require(0 <= self.seed < 2**63, "seed must be a non-negative integer")
        require(bool(self.templates), "templates: name at least one (stlouis, chicago)")
        require(
            not (self.output.exists() and any(self.output.glob("*.parquet"))),
            f"output: {self.output} already holds Parquet files; give an empty or new folder",
        )
        return self


@dataclass(frozen=True)
class SyntheticReport(Result):
    output: str
    rows: int
    files: int
    agencies: list[dict[str, object]]
    seconds: float


def parquet_schema() -> pa.Schema:
    """The Arrow schema of :data:`PARQUET_COLUMNS` (timestamps in microseconds)."""
    import pyarrow as pa

    types = {"string": pa.string(), "timestamp": pa.timestamp("us"), "float64": pa.float64()}
    types |= {"bool": pa.bool_(), "int32": pa.int32(), "int64": pa.int64()}
    return pa.schema([(name, types[kind]) for name, kind in PARQUET_COLUMNS])


def write_synthetic_incidents(
    request: SyntheticRequest, progress: Callable[[int, int], None] | None = None
) -> SyntheticReport:
    """Generate and write the synthetic incidents; ``progress(rows_written, rows)`` after each file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from openilp.analysis.synthetic import generate_incidents, load_template, plan_agencies

    request = request.validate()
    schema = parquet_schema()
    began = time.perf_counter()
    templates = [load_template(name) for name in request.templates]
    planned = plan_agencies(templates, rows=request.rows, agencies=request.agencies, seed=request.seed)
    request.output.mkdir(parents=True, exist_ok=True)
    written = files = 0
    for index, frame in enumerate(
        generate_incidents(
            templates,
            rows=request.rows,
            agencies=request.agencies,
            seed=request.seed,
            years=request.years,
            chunk_rows=request.chunk_rows,
        )
    ):
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        pq.write_table(table, request.output / f"part-{index:05d}.parquet", row_group_size=PARQUET_ROW_GROUP)
        written += len(frame)
        files += 1
        if progress is not None:
            progress(written, request.rows)
    agencies = [agency.as_dict() for agency in planned]
    meta = {"source": "synthetic", "seed": request.seed, "rows": written, "agencies": agencies}
    (request.output / AGENCIES_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return SyntheticReport(str(request.output), written, files, agencies, round(time.perf_counter() - began, 3))
