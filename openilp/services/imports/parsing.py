"""Reading and normalising an import's files, in worker processes when that pays off.

Files of sources with record ids are normalised in groups (one vectorised pass per group, see
:func:`group_sizes`); each file's rows are then folded per record (:func:`fold`) in the worker,
and only what the writer needs travels back, as Arrow arrays.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import String, Table

from openilp.db.bulk import arrow_values
from openilp.db.ledger import encode_entries
from openilp.db.models import Incident
from openilp.ingest.messages import excerpt
from openilp.ingest.normalize import INCIDENT_COLUMNS, NormalizedBatch, RowProblem, normalize, prepare
from openilp.ingest.reading import RawTable, read_source_file
from openilp.ingest.spec import SourceSpec
from openilp.services.imports.state import to_ns

__all__ = [
    "FILES_PER_GROUP",
    "PARALLEL_MIN_BYTES",
    "Folded",
    "ParsedFile",
    "batch_folded",
    "file_sha256",
    "fold",
    "group_sizes",
    "die_with_parent",
    "init_worker",
    "incident_text_limits",
    "parsed_files",
]

#: Below this many bytes in total, files are parsed in this process (workers cost more than they save).
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
#: Largest number of files of a record-id source normalised together in one vectorised pass.
FILES_PER_GROUP = 12
#: One parsed file: its path and (batch, SHA-256, header line, encoding).
ParsedFile = tuple[Path, tuple[NormalizedBatch, str, str, str]]


@dataclass
class Folded:
    """One file's rows folded to one row per record, ready to write (computed in the worker).

    Values travel between processes as Arrow arrays (buffers, not one Python object per value);
    the writing process turns them into Python values only for the rows it writes.
    """

    #: The latest positive row of each record, database-ready (:func:`arrow_values` of
    #: :data:`INCIDENT_COLUMNS`).
    table: pa.Table
    incoming_hash: np.ndarray
    incoming_ns: np.ndarray
    #: Every record of the file (first-seen order) and the sum of its count deltas.
    record_keys: pa.Array
    delta: np.ndarray
    folded: int
    #: The file's reversal-ledger entries, encoded ("" for sources without a count column).
    ledger: str

    @cached_property
    def latest_keys(self) -> list[str]:
        """Record key of each row of ``table``."""
        keys: list[str] = self.table.column("source_key").to_pylist()
        return keys

    @cached_property
    def keys(self) -> list[str]:
        """Every record of the file, first-seen order."""
        keys: list[str] = self.record_keys.to_pylist()
        return keys

    def values(self, rows: np.ndarray) -> list[list[Any]]:
        """Python values of the rows at ``rows`` (ascending positions in ``table``), by column."""
        table = self.table if len(rows) == self.table.num_rows else self.table.take(pa.array(rows, type=pa.int64()))
        return [column.to_pylist() for column in table.columns]


def fold(batch: NormalizedBatch, counted: bool) -> Folded:
    """One row per record: the latest positive row (by update time, then line), the per-record
    sum of count deltas, and how many rows were folded into another row of the same record."""
    frame = batch.frame
    keys = frame["source_key"].astype(object)
    sums = pd.Series(batch.count_delta, index=keys.to_numpy()).groupby(level=0, sort=False).sum()
    positive = frame[batch.count_delta > 0]
    order = positive.sort_values(["source_updated_at", "source_line"], na_position="first", kind="stable")
    latest = order.drop_duplicates("source_key", keep="last").reset_index(drop=True)
    ledger = encode_entries(frame["source_line"].tolist(), keys.tolist(), batch.count_delta.tolist()) if counted else ""
    return Folded(
        table=arrow_values(latest[INCIDENT_COLUMNS]),
        incoming_hash=latest["content_hash"].to_numpy(dtype=np.int64),
        incoming_ns=to_ns(latest["source_updated_at"]),
        record_keys=pa.array(sums.index.to_numpy(dtype=object), type=pa.string()),
        delta=sums.to_numpy(dtype=np.int64),
        folded=len(frame) - len(sums),
        ledger=ledger,
    )


def batch_folded(batch: NormalizedBatch, counted: bool) -> Folded:
    """The batch's rows folded per record (computed once, usually in the worker process)."""
    if batch.folded is None:
        batch.folded = fold(batch, counted)
    folded: Folded = batch.folded
    return folded


@cache
def incident_text_limits() -> dict[str, int]:
    """Characters the store keeps per text column of ``incidents`` (its ``VARCHAR(n)`` lengths),
    read from the model so that the schema stays the one place they are written down.

    >>> incident_text_limits()["offence_description"]
    300
    """
    table = Incident.__table__
    assert isinstance(table, Table)
    return {
        column: int(table.c[column].type.length)
        for column in INCIDENT_COLUMNS
        if isinstance(table.c[column].type, String) and table.c[column].type.length
    }


def read_and_normalize(path: Path, spec: SourceSpec) -> tuple[NormalizedBatch, str, str, str]:
    """Worker: read one file and normalise it (runs in a worker process for large imports)."""
    raw = read_source_file(path, spec)
    batch = normalize(raw, spec, incident_text_limits())
    ready_to_send(batch, spec)
    return batch, raw.sha256, raw.header, raw.encoding


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def group_sizes(n_files: int, largest: int = FILES_PER_GROUP) -> list[int]:
    """How many files each vectorised normalising pass takes, in order.

    Groups double in size from one file up to ``largest`` and halve again towards the end: writing
    starts as soon as the first file is ready, the two workers keep ahead of the writer while it
    catches up, large groups amortise pandas' per-call overhead, and the last groups, which the
    writer handles after the workers are done, are short.

    >>> group_sizes(60)
    [1, 2, 4, 8, 12, 12, 11, 6, 3, 1]
    >>> group_sizes(5), group_sizes(1), group_sizes(0)
    ([1, 2, 2], [1], [])
    """
    head: list[int] = []
    size = 1
    while sum(head) + size <= n_files and size < largest:
        head.append(size)
        size *= 2
    left = n_files - sum(head)
    tail: list[int] = []
    size = max(1, largest // 2)
    while size >= 1 and sum(tail) + size <= left // 2:
        tail.append(size)
        size //= 2
    middle = left - sum(tail)
    full, rest = divmod(middle, largest)
    return head + [largest] * full + ([rest] if rest else []) + tail


def parsed_files(files: list[Path], spec: SourceSpec, workers: int) -> Iterator[ParsedFile]:
    """Read and normalise ``files`` in order, in worker processes when that pays off.

    Files of sources with record ids are normalised in groups (one vectorised pass per group);
    others one by one. With workers, later files are normalised while this process writes the
    earlier ones.
    """
    if spec.record.id_columns and len(files) > 1:
        units = []
        start = 0
        for size in group_sizes(len(files)):
            units.append(files[start : start + size])
            start += size
        task: Callable[[list[Path], SourceSpec], list[ParsedFile]]
        task = normalize_group
    else:
        units = [[path] for path in files]
        task = normalize_single
    big = sum(p.stat().st_size for p in files) > PARALLEL_MIN_BYTES
    if workers > 1 and len(units) > 1 and big and "fork" in mp.get_all_start_methods():
        prepare(spec)  # the forked workers inherit it
        with ProcessPoolExecutor(
            max_workers=min(workers, 2),
            mp_context=mp.get_context("fork"),
            initializer=init_worker,
            initargs=(os.getpid(),),
        ) as pool:
            futures = [pool.submit(task, unit, spec) for unit in units]
            for future in futures:
                yield from future.result()
    else:
        for unit in units:
            yield from task(unit, spec)


def init_worker(parent_pid: int) -> None:
    """Set up a worker process: it dies with its parent (:func:`die_with_parent`) and yields to it."""
    die_with_parent(parent_pid)
    lower_priority()


#: ``prctl`` option: the signal a process gets when its parent dies (Linux, ``<sys/prctl.h>``).
_PR_SET_PDEATHSIG = 1
#: Seconds between checks that the parent is still there (where ``prctl`` is missing).
_PARENT_POLL_S = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when the process ``parent_pid`` ends, however it ends (``kill -9`` too).

    A killed import used to leave its workers running for half an hour (each holding hundreds of
    megabytes and the store's file descriptors). On Linux the kernel sends SIGKILL to the worker
    when its parent dies (``prctl(PR_SET_PDEATHSIG)``); a daemon thread also checks the parent
    every second, for other systems and for a parent that died before the call.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="openilp-parent-watch", daemon=True).start()


def lower_priority() -> None:
    """Worker processes yield to the writing process, whose pace sets the import's: on a machine
    with as many cores as processes this changes nothing; with fewer, the writer is not slowed by
    workers that are ahead of it."""
    with contextlib.suppress(OSError):
        os.nice(5)


def normalize_group(files: list[Path], spec: SourceSpec) -> list[ParsedFile]:
    return list(normalized_together(files, spec))


def normalize_single(files: list[Path], spec: SourceSpec) -> list[ParsedFile]:
    return [(path, read_and_normalize(path, spec)) for path in files]


def ready_to_send(batch: NormalizedBatch, spec: SourceSpec) -> None:
    """Fold the batch (see :func:`batch_folded`) and drop the per-row frame, which the writer no
    longer needs: the process that writes receives only what it writes (half the bytes to pass)."""
    batch_folded(batch, bool(spec.record.count_column))
    batch.frame = batch.frame.iloc[0:0]
    batch.count_delta = batch.count_delta[:0]


def normalized_together(files: list[Path], spec: SourceSpec) -> Iterator[ParsedFile]:
    """Read every file, normalise the rows of all of them at once, and split the result per file.

    Rows are numbered globally while normalising, so each accepted row and each problem can be
    traced back to its file and physical line.
    """
    raws: list[RawTable] = [read_source_file(path, spec) for path in files]
    offsets = np.cumsum([0] + [len(raw.frame) for raw in raws])
    frame = pd.concat([raw.frame for raw in raws], ignore_index=True)
    frame = frame.fillna("")  # columns only some files have (e.g. St. Louis 'Beat' in May 2017)
    combined = RawTable(
        file_name="",
        sha256="",
        encoding="",
        header="",
        frame=frame,
        line_numbers=np.arange(int(offsets[-1]), dtype=np.int64),
        raw_lines=[line for raw in raws for line in raw.raw_lines],
        malformed=[],
    )
    batch = normalize(combined, spec, incident_text_limits())
    position = batch.frame["source_line"].to_numpy()
    file_of_row = np.searchsorted(offsets, position, side="right") - 1
    problem_positions = np.array([p.line for p in batch.problems], dtype=np.int64)
    problem_files = np.searchsorted(offsets, problem_positions, side="right") - 1
    for index, (path, raw) in enumerate(zip(files, raws, strict=True)):
        mask = file_of_row == index
        rows = batch.frame.loc[mask].reset_index(drop=True)
        rows["source_line"] = raw.line_numbers[position[mask] - offsets[index]]
        problems = [
            RowProblem(raw.file_name, line, "(row)", excerpt(text_), problem) for line, text_, problem in raw.malformed
        ]
        for problem, where in zip(batch.problems, problem_files, strict=True):
            if where == index:
                line = int(raw.line_numbers[problem.line - offsets[index]])
                problems.append(RowProblem(raw.file_name, line, problem.field, problem.value, problem.expected))
        problems.sort(key=lambda p: p.line)
        unknown = Counter(rows.loc[rows["category_code"].isna(), "offence_code"].astype(str))
        file_batch = NormalizedBatch(
            frame=rows,
            count_delta=batch.count_delta[mask],
            rows_read=len(raw.frame) + len(raw.malformed),
            problems=problems,
            unknown_codes=unknown,
            outside_extent=int((rows["location_status"] == "outside").sum()),
        )
        ready_to_send(file_batch, spec)
        yield path, (file_batch, raw.sha256, raw.header, raw.encoding)
