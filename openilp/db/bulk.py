"""Bulk writers: one interface, a dialect per engine (SQLite ``executemany``, PostgreSQL ``COPY``).

The importer writes hundreds of thousands of rows; the ORM would spend most of its time building
objects. These writers take a data frame whose columns are table columns and move it in bulk,
inside the caller's transaction (so a failure rolls everything back).
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection

__all__ = ["BulkWriter", "arrow_values", "bulk_writer", "db_values", "format_timestamps", "object_values"]

#: Chunk size for ``IN (...)`` lists and executemany batches.
CHUNK = 50_000
#: PostgreSQL: inserts, updates and deletes of up to this many rows go as plain statements (a
#: staging table costs about 40 ms of DDL and round trips, more than a few hundred keyed statements).
STAGE_MIN_ROWS = 200


#: Dates numpy formats with exactly four year digits (others take the slower strftime path).
_FOUR_DIGIT_YEARS = (np.datetime64("1000-01-01", "us"), np.datetime64("10000-01-01", "us"))


def format_timestamps(values: pd.Series) -> np.ndarray:
    """Naive-UTC datetimes -> ``'YYYY-MM-DD HH:MM:SS.ffffff'`` strings (None for NaT).

    This is the text form SQLAlchemy itself stores in SQLite, so ORM reads and SQL comparisons
    with bound datetimes agree; PostgreSQL parses it as a ``timestamp``.
    """
    formatted: np.ndarray = _timestamp_strings(values).to_numpy(zero_copy_only=False)
    return formatted


def _timestamp_strings(values: pd.Series) -> pa.Array:
    """:func:`format_timestamps` as an Arrow string array, built straight from the bytes numpy
    formats in C (no Python object per value; five times faster than ``strftime``)."""
    array = pd.to_datetime(values).to_numpy(dtype="datetime64[us]")
    missing = np.isnat(array)
    n = len(array)
    if missing.all():
        return pa.nulls(n, type=pa.string())
    valid = array[~missing]
    if valid.min() < _FOUR_DIGIT_YEARS[0] or valid.max() >= _FOUR_DIGIT_YEARS[1]:
        text = pd.Series(array).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        return pa.array(object_values(text), type=pa.string(), from_pandas=True)
    # 'YYYY-MM-DDTHH:MM:SS.ffffff': 26 bytes per value; the 'T' becomes a space.
    chars = np.ascontiguousarray(np.datetime_as_string(array, unit="us").astype("S26"))
    data = chars.view(np.uint8).reshape(n, 26).copy()
    data[:, 10] = ord(" ")
    offsets = np.arange(0, 26 * n + 1, 26, dtype=np.int32)
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), validity)


def arrow_values(frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table of database-ready values (what :func:`db_values` gives, as typed
    columns with nulls): cheap to pass between processes, and ``to_pylist`` turns each column into
    the Python values a driver binds."""
    arrays: list[pa.Array] = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            arrays.append(_timestamp_strings(series))
        elif pd.api.types.is_bool_dtype(series):
            arrays.append(pa.array(series.to_numpy(dtype=bool)))
        elif pd.api.types.is_float_dtype(series):
            values = series.to_numpy(dtype=float)
            arrays.append(pa.array(values, mask=np.isnan(values)))
        elif pd.api.types.is_integer_dtype(series):
            arrays.append(pa.array(series.to_numpy(dtype=np.int64)))
        elif isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
            arrays.append(pa.array(series.array))  # the Arrow data pandas already holds, no copy
        else:
            arrays.append(pa.array(object_values(series), type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def object_values(series: pd.Series) -> np.ndarray:
    """The series as a numpy object array with None (not NaN/NA) for missing values."""
    values: np.ndarray = series.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    return values


def db_values(frame: pd.DataFrame) -> list[list[Any]]:
    """Columns as lists of plain Python values (None for missing), ready for a DBAPI driver."""
    columns: list[list[Any]] = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            columns.append(format_timestamps(series).tolist())
        elif pd.api.types.is_bool_dtype(series):
            columns.append([bool(v) for v in series.to_numpy()])
        elif pd.api.types.is_float_dtype(series):
            array = series.to_numpy(dtype=float)
            values = array.astype(object)
            values[np.isnan(array)] = None
            columns.append(values.tolist())
        elif pd.api.types.is_integer_dtype(series):
            columns.append(series.to_numpy().tolist())
        else:
            columns.append(object_values(series).tolist())
    return columns


def _sql_literal(value: int | str) -> str:
    """An integer or text constant as an SQL literal (text quoted, inner quotes doubled)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"constant columns take integers or text, not {type(value).__name__}")
    if isinstance(value, int):
        return str(int(value))
    return "'" + value.replace("'", "''") + "'"


class BulkWriter(Protocol):
    def insert(self, table: str, frame: pd.DataFrame) -> None: ...

    def insert_columns(
        self,
        table: str,
        names: Sequence[str],
        columns: Sequence[Iterable[Any]],
        constants: Mapping[str, int | str] | None = None,
    ) -> None: ...

    def update(self, table: str, frame: pd.DataFrame, keys: Sequence[str]) -> None: ...

    def delete(self, table: str, frame: pd.DataFrame) -> None: ...


class _ExecutemanyWriter:
    """Portable writer (SQLite and any DBAPI driver): parameterised ``executemany``."""

    placeholder = "?"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        dbapi = connection.connection.dbapi_connection
        if dbapi is None:  # pragma: no cover - a closed connection
            raise RuntimeError("the database connection is closed")
        #: The driver's own connection (sqlite3 or pg8000), inside the caller's transaction.
        self.dbapi: Any = dbapi

    def _executemany(self, sql: str, frame: pd.DataFrame) -> None:
        cursor = self.dbapi.cursor()
        try:
            for start in range(0, len(frame), CHUNK):
                chunk = frame.iloc[start : start + CHUNK]
                cursor.executemany(sql, zip(*db_values(chunk), strict=True))
        finally:
            cursor.close()

    def insert(self, table: str, frame: pd.DataFrame) -> None:
        """Insert every row of ``frame`` (columns named as the table's)."""
        if frame.empty:
            return
        cols = ", ".join(frame.columns)
        marks = ", ".join([self.placeholder] * len(frame.columns))
        self._executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", frame)

    def insert_columns(
        self,
        table: str,
        names: Sequence[str],
        columns: Sequence[Iterable[Any]],
        constants: Mapping[str, int | str] | None = None,
    ) -> None:
        """Insert rows given as database-ready value columns (see :func:`db_values`), plus
        ``constants``: columns with one value for every row, written as SQL literals (nothing to
        bind per row). The fast path: no data frame at all."""
        constants = constants or {}
        columns_sql = ", ".join([*names, *constants])
        values_sql = ", ".join([self.placeholder] * len(names) + [_sql_literal(v) for v in constants.values()])
        cursor = self.dbapi.cursor()
        try:
            cursor.executemany(f"INSERT INTO {table} ({columns_sql}) VALUES ({values_sql})", zip(*columns, strict=True))
        finally:
            cursor.close()

    def update(self, table: str, frame: pd.DataFrame, keys: Sequence[str]) -> None:
        """Set the non-key columns of ``frame`` on the rows matching its ``keys`` columns."""
        if frame.empty:
            return
        values = [c for c in frame.columns if c not in keys]
        sets = ", ".join(f"{c} = {self.placeholder}" for c in values)
        where = " AND ".join(f"{k} = {self.placeholder}" for k in keys)
        self._executemany(f"UPDATE {table} SET {sets} WHERE {where}", frame[[*values, *keys]])

    def delete(self, table: str, frame: pd.DataFrame) -> None:
        """Delete the rows matching each row of ``frame`` on all its columns (a key)."""
        if frame.empty:
            return
        where = " AND ".join(f"{k} = {self.placeholder}" for k in frame.columns)
        self._executemany(f"DELETE FROM {table} WHERE {where}", frame)


class _PostgresCopyWriter(_ExecutemanyWriter):
    """PostgreSQL: ``COPY ... FROM STDIN`` (CSV), through a temporary table for updates and deletes."""

    placeholder = "%s"

    def _copy(self, table: str, frame: pd.DataFrame) -> None:
        buffer = io.StringIO()
        prepared = pd.DataFrame(dict(zip(frame.columns, db_values(frame), strict=True)), columns=frame.columns)
        prepared.to_csv(buffer, header=False, index=False, na_rep="")
        buffer.seek(0)
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv)", stream=buffer)
        finally:
            cursor.close()

    def _stage(self, table: str, frame: pd.DataFrame) -> str:
        # Only the columns being written, with their types and no constraints (a partial row
        # must not trip NOT NULL); one staging table per column set, dropped at commit.
        columns = ", ".join(frame.columns)
        staging = f"_staging_{table}_{zlib.crc32(columns.encode()):08x}"
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DROP "
                f"AS SELECT {columns} FROM {table} WITH NO DATA"
            )
            cursor.execute(f"TRUNCATE {staging}")
        finally:
            cursor.close()
        self._copy(staging, frame)
        return staging

    def _run(self, sql: str) -> None:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def insert(self, table: str, frame: pd.DataFrame) -> None:
        if len(frame) <= STAGE_MIN_ROWS:
            super().insert(table, frame)  # a few rows: plain statements beat a COPY round trip
        else:
            self._copy(table, frame)

    def insert_columns(
        self,
        table: str,
        names: Sequence[str],
        columns: Sequence[Iterable[Any]],
        constants: Mapping[str, int | str] | None = None,
    ) -> None:
        # Database-ready values straight to CSV: None is an empty unquoted field, which COPY reads as
        # NULL (as for ``insert``, an empty string is NULL too: the importer stores "" as None).
        constants = constants or {}
        buffer = io.StringIO()
        rows: Iterable[tuple[Any, ...]] = zip(*columns, strict=True)
        if constants:
            fixed = tuple(constants.values())
            rows = (row + fixed for row in rows)
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        buffer.seek(0)
        cursor = self.dbapi.cursor()
        try:
            columns_sql = ", ".join([*names, *constants])
            cursor.execute(f"COPY {table} ({columns_sql}) FROM STDIN WITH (FORMAT csv)", stream=buffer)
        finally:
            cursor.close()

    def update(self, table: str, frame: pd.DataFrame, keys: Sequence[str]) -> None:
        if frame.empty:
            return
        if len(frame) <= STAGE_MIN_ROWS:
            super().update(table, frame, keys)
            return
        staging = self._stage(table, frame)
        sets = ", ".join(f"{c} = s.{c}" for c in frame.columns if c not in keys)
        match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        self._run(f"UPDATE {table} AS t SET {sets} FROM {staging} AS s WHERE {match}")
        self._run(f"TRUNCATE {staging}")

    def delete(self, table: str, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if len(frame) <= STAGE_MIN_ROWS:
            super().delete(table, frame)
            return
        staging = self._stage(table, frame)
        match = " AND ".join(f"t.{k} = s.{k}" for k in frame.columns)
        self._run(f"DELETE FROM {table} AS t USING {staging} AS s WHERE {match}")
        self._run(f"TRUNCATE {staging}")


def bulk_writer(connection: Connection) -> BulkWriter:
    """The fastest writer for ``connection``'s dialect."""
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "pg8000":
        return _PostgresCopyWriter(connection)
    writer = _ExecutemanyWriter(connection)
    if dialect.paramstyle in ("format", "pyformat"):
        writer.placeholder = "%s"
    return writer
