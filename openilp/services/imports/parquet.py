"""Loading millions of already-normalised incidents from Parquet: ``COPY`` on PostgreSQL, with the
constraints and secondary indexes of a first load built once at the end.

The input is a folder of Parquet files whose columns are the ``incidents`` table's plus ``agency``
(the agency's code): what ``openilp synth incidents`` writes, or any other system that has already
normalised its rows (:data:`~openilp.services.imports.synthetic.PARQUET_COLUMNS`). An
``agencies.json`` beside the files names agencies the store does not know yet. Each file holds one
agency's rows of one source and becomes one ``import_files`` row with its counts and one audited
``import`` entry; a file whose bytes were loaded before is skipped. The load adds sources: a file
of an (agency, source) the store already holds incidents of is refused (re-imports and updates go
through ``openilp import``, which compares every record).

**A first load** (``incidents`` empty) runs as one transaction: it drops the table's secondary
indexes, its unique key and, on PostgreSQL, its foreign keys; copies every file; then builds the
indexes once, re-creates the unique key (which checks that no key repeats) and re-validates each
foreign key (``ADD CONSTRAINT … NOT VALID`` then ``VALIDATE CONSTRAINT``, one scan per key). Any
failure, a repeated key or an unknown category included, rolls the whole load back and leaves the
store empty with its schema intact. SQLite keeps its foreign keys on (checked row by row) and its
unique key, and builds the secondary indexes at the end; ``PRAGMA foreign_key_check`` confirms
the rows before commit. **A later load** copies each file in its own transaction with every
constraint live.

On PostgreSQL the rows go as CSV made by Arrow in C++ (no Python object per value) through the
driver's ``COPY … FROM STDIN``, one statement per file, while a second thread prepares the next
megabytes: the server's parsing and the client's formatting overlap on two cores.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, ForeignKeyConstraint, Index, Table, UniqueConstraint, select, text
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.core.contract import require
from openilp.db.bulk import arrow_values, bulk_writer
from openilp.db.models import Agency, ImportFile, Incident
from openilp.errors import NotPermitted
from openilp.ingest.messages import excerpt
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.services.imports.run import ImportFailed
from openilp.services.imports.synthetic import AGENCIES_FILE, PARQUET_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ParquetLoadRequest", "ParquetLoadReport", "load_parquet", "LOAD_BATCH_ROWS"]

#: Rows read from Parquet and formatted at a time (a few hundred megabytes at most in flight).
LOAD_BATCH_ROWS = 250_000
#: Bytes per ``COPY`` data message.
_COPY_CHUNK = 4 * 1024 * 1024
#: Columns written to ``incidents``: the Parquet columns without ``agency``, plus the ids.
_LOADED = [name for name, _ in PARQUET_COLUMNS if name != "agency"]


@dataclass(frozen=True)
class ParquetLoadRequest(Request):
    """Load the Parquet files under ``paths`` (files or folders)."""

    paths: tuple[Path, ...] = ()

    def validate(self) -> ParquetLoadRequest:
        require(bool(self.paths), "paths: give at least one Parquet file or folder")
        for path in self.paths:
            require(Path(path).exists(), f"paths: {path} does not exist")
        return ParquetLoadRequest(tuple(Path(p) for p in self.paths))

    def files(self) -> list[Path]:
        found: list[Path] = []
        for path in self.paths:
            found.extend(sorted(path.glob("*.parquet")) if path.is_dir() else [path])
        return found


@dataclass(frozen=True)
class ParquetLoadReport(Result):
    files: int
    skipped: int
    rows: int
    first_load: bool
    #: Seconds copying rows, building indexes and validating keys, and in all.
    copy_s: float
    constraints_s: float
    seconds: float
    rows_per_s: float
    agencies: list[str] = field(default_factory=list)


def load_parquet(
    core: OpenILP,
    actor: UserInfo | None,
    request: ParquetLoadRequest,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> ParquetLoadReport:
    """Load the request's Parquet files (see the module docstring); ``progress(file, done, total)``."""
    import pyarrow.parquet as pq

    request = request.validate()
    if actor is not None:
        raise NotPermitted("bulk loads run on the command line (openilp load-parquet)")
    files = request.files()
    if not files:
        raise ImportFailed("no .parquet files under the given paths")
    began = time.perf_counter()
    expected = [name for name, _ in PARQUET_COLUMNS]
    plans: list[tuple[Path, str, str, str, int]] = []  # path, agency, source, sha256, rows
    for path in files:
        names = pq.read_schema(path).names
        if sorted(names) != sorted(expected):
            missing, extra = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
            raise ImportFailed(
                f"{path.name}: columns differ from the bulk-load schema (missing {missing}, extra {extra})"
            )
        keys = pq.read_table(path, columns=["agency", "source"]).group_by(["agency", "source"]).aggregate([])
        if keys.num_rows != 1:
            raise ImportFailed(
                f"{path.name}: a bulk-load file holds one agency's rows of one source, not {keys.num_rows}"
            )
        agency, source = keys.column("agency")[0].as_py(), keys.column("source")[0].as_py()
        plans.append((path, str(agency), str(source), _sha256(path), pq.read_metadata(path).num_rows))

    try:
        return _load(core, actor, plans, _declared_agencies(files), began, progress)
    except ImportFailed as exc:
        _audit_refusal(core, actor, exc)
        raise
    except Exception as exc:  # a database error: the transaction was rolled back
        failure = ImportFailed(f"the bulk load was rolled back: {excerpt(str(exc), 400)}")
        _audit_refusal(core, actor, failure)
        raise failure from exc


def _audit_refusal(core: OpenILP, actor: UserInfo | None, error: ImportFailed) -> None:
    with core.unit_of_work(actor) as uow:
        uow.audit(
            action="import_refused",
            object_type="import",
            object_id="parquet",
            details={"source": "parquet", "reason": excerpt(str(error), 500)},
        )


def _load(
    core: OpenILP,
    actor: UserInfo | None,
    plans: list[tuple[Path, str, str, str, int]],
    declared: dict[str, dict[str, Any]],
    began: float,
    progress: Callable[[str, int, int], None] | None,
) -> ParquetLoadReport:
    engine = core.engine
    copy_s = constraints_s = 0.0
    loaded = skipped = rows = 0
    with Session(engine) as session:
        agency_ids = _ensure_agencies(session, {p[1] for p in plans}, declared)
        done_sha = set(session.scalars(select(ImportFile.sha256).where(ImportFile.superseded.is_(False))))
        todo = [p for p in plans if p[3] not in done_sha]
        skipped = len(plans) - len(todo)
        for agency, source in sorted({(p[1], p[2]) for p in todo}):
            held = session.scalar(
                select(Incident.id).where(Incident.agency_id == agency_ids[agency], Incident.source == source).limit(1)
            )
            if held is not None:
                raise ImportFailed(
                    f"the store already holds incidents of agency {agency}, source {source!r}: a bulk load only adds "
                    "sources; import updates with 'openilp import'"
                )
        connection = session.connection()
        first = connection.execute(select(Incident.id).limit(1)).first() is None and bool(todo)
        deferred = _defer_constraints(connection) if first else None
        for index, (path, agency, source, sha256, n_rows) in enumerate(todo):
            if progress is not None:
                progress(path.name, index, len(todo))
            started = time.perf_counter()
            import_file = ImportFile(
                agency_id=agency_ids[agency],
                source=source,
                file_name=str(path),
                sha256=sha256,
                header=",".join(_LOADED),
                encoding="parquet",
                rows_read=n_rows,
                created=n_rows,
            )
            session.add(import_file)
            session.flush()
            _copy_file(session.connection(), path, agency_ids[agency], import_file.id)
            record_event(
                session,
                action="import",
                object_type="import_file",
                object_id=str(import_file.id),
                actor=actor,
                agency_id=agency_ids[agency],
                occurred_at=core.clock(),
                details={
                    "source": source,
                    "file_name": str(path),
                    "sha256": sha256,
                    "rows_read": n_rows,
                    "rows_accepted": n_rows,
                    "rows_rejected": 0,
                    "created": n_rows,
                    "bulk_load": True,
                },
            )
            copy_s += time.perf_counter() - started
            loaded += 1
            rows += n_rows
            if deferred is None:
                session.commit()  # a later load: one transaction per file
        if deferred is not None:
            started = time.perf_counter()
            _restore_constraints(session.connection(), deferred)
            constraints_s = time.perf_counter() - started
        session.commit()
    seconds = time.perf_counter() - began
    return ParquetLoadReport(
        files=loaded,
        skipped=skipped,
        rows=rows,
        first_load=deferred is not None,
        copy_s=round(copy_s, 3),
        constraints_s=round(constraints_s, 3),
        seconds=round(seconds, 3),
        rows_per_s=round(rows / seconds, 1) if seconds > 0 else 0.0,
        agencies=sorted({p[1] for p in todo}),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _declared_agencies(files: list[Path]) -> dict[str, dict[str, Any]]:
    """Agencies named by the ``agencies.json`` files beside the Parquet files, by code."""
    declared: dict[str, dict[str, Any]] = {}
    for folder in sorted({f.parent for f in files}):
        side = folder / AGENCIES_FILE
        if side.exists():
            for agency in json.loads(side.read_text(encoding="utf-8")).get("agencies", []):
                declared[str(agency["code"])] = agency
    return declared


def _ensure_agencies(session: Session, codes: set[str], declared: dict[str, dict[str, Any]]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for code in sorted(codes):
        agency = session.scalar(select(Agency).where(Agency.code == code))
        given = declared.get(code)
        if agency is None:
            if given is None:
                raise ImportFailed(
                    f"agency {code} is not in the store and no {AGENCIES_FILE} beside the files names it"
                )
            agency = Agency(code=code, name=str(given["name"]), timezone=str(given["timezone"]), crs=str(given["crs"]))
            session.add(agency)
            session.flush()
        elif given is not None and agency.crs != given["crs"]:
            raise ImportFailed(f"agency {code} is stored with CRS {agency.crs} but {AGENCIES_FILE} says {given['crs']}")
        ids[code] = agency.id
    return ids


# ---------------------------------------------------------------- deferring constraints


@dataclass
class _Deferred:
    indexes: list[Index]
    unique: list[UniqueConstraint]
    foreign_keys: list[ForeignKeyConstraint]


def _defer_constraints(connection: Connection) -> _Deferred:
    """Drop what a first load builds at the end: secondary indexes always; on PostgreSQL also the
    unique key and the foreign keys (SQLite cannot drop constraints)."""
    table = cast(Table, Incident.__table__)
    indexes = sorted(table.indexes, key=lambda i: str(i.name))
    for index in indexes:
        index.drop(connection, checkfirst=True)
    if connection.dialect.name != "postgresql":
        return _Deferred(indexes, [], [])
    present = {row[0] for row in connection.execute(text(_CONSTRAINTS_SQL))}
    unique: list[UniqueConstraint] = []
    foreign: list[ForeignKeyConstraint] = []
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and _pg_name(constraint) in present:
            unique.append(constraint)
        elif isinstance(constraint, ForeignKeyConstraint) and _pg_name(constraint) in present:
            foreign.append(constraint)
    for name in [_pg_name(c) for c in unique] + [_pg_name(c) for c in foreign]:
        connection.execute(text(f"ALTER TABLE incidents DROP CONSTRAINT {name}"))
    return _Deferred(indexes, unique, foreign)


_CONSTRAINTS_SQL = "SELECT conname FROM pg_constraint WHERE conrelid = 'incidents'::regclass"


def _pg_name(constraint: UniqueConstraint | ForeignKeyConstraint) -> str:
    """PostgreSQL's default name of a constraint the model leaves unnamed."""
    if constraint.name:
        return str(constraint.name)
    columns = [c.name for c in constraint.columns]
    if isinstance(constraint, UniqueConstraint):
        return f"incidents_{'_'.join(columns)}_key"
    return f"incidents_{columns[0]}_fkey"


def _restore_constraints(connection: Connection, deferred: _Deferred) -> None:
    """Build the indexes, re-create the unique key and re-validate every foreign key (raises, so
    the load rolls back, when a row breaks one)."""
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    else:
        connection.exec_driver_sql("PRAGMA threads = 2")
    for index in deferred.indexes:
        index.create(connection, checkfirst=True)
    for unique in deferred.unique:
        columns = ", ".join(c.name for c in unique.columns)
        connection.execute(text(f"ALTER TABLE incidents ADD CONSTRAINT {_pg_name(unique)} UNIQUE ({columns})"))
    for foreign in deferred.foreign_keys:
        element = foreign.elements[0]
        target = element.column
        ondelete = f" ON DELETE {foreign.ondelete}" if foreign.ondelete else ""
        name = _pg_name(foreign)
        connection.execute(
            text(
                f"ALTER TABLE incidents ADD CONSTRAINT {name} FOREIGN KEY ({element.parent.name}) "
                f"REFERENCES {target.table.name} ({target.name}){ondelete} NOT VALID"
            )
        )
        connection.execute(text(f"ALTER TABLE incidents VALIDATE CONSTRAINT {name}"))
    if postgres:
        connection.execute(text("ANALYZE incidents"))
    else:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check('incidents')").fetchall()
        if broken:
            raise ImportFailed(f"{len(broken)} loaded row(s) refer to a missing agency, category or file")


# ---------------------------------------------------------------- copying


def _batches(path: Path, agency_id: int, import_file_id: int) -> Iterator[pa.Table]:
    """The file's rows as tables of :data:`_LOADED` plus the agency and file ids."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=LOAD_BATCH_ROWS, columns=_LOADED):
        table = pa.Table.from_batches([batch]).select(_LOADED)
        n = table.num_rows
        table = table.append_column("agency_id", _repeat(agency_id, n))
        yield table.append_column("import_file_id", _repeat(import_file_id, n))


def _repeat(value: int, n: int) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    return pa.array(np.full(n, value, dtype=np.int64))


def _copy_file(connection: Connection, path: Path, agency_id: int, import_file_id: int) -> None:
    columns = [*_LOADED, "agency_id", "import_file_id"]
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "pg8000":
        dbapi: Any = connection.connection.dbapi_connection
        cursor = dbapi.cursor()
        try:
            cursor.execute(
                f"COPY incidents ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
                stream=_csv_chunks(_batches(path, agency_id, import_file_id)),
            )
        finally:
            cursor.close()
        return
    writer = bulk_writer(connection)
    for table in _batches(path, agency_id, import_file_id):
        frame = table.to_pandas(timestamp_as_object=False)
        values = arrow_values(frame)
        writer.insert_columns("incidents", columns, [column.to_pylist() for column in values.columns])


def _csv_chunks(tables: Iterable[pa.Table]) -> Iterator[bytes]:
    """The tables as CSV bytes in chunks of about 4 MB, formatted by a second thread (Arrow's CSV
    writer releases the GIL, as does the socket the chunks go to)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def produce() -> None:
        try:
            for table in tables:
                if stop.is_set():
                    return
                sink = pa.BufferOutputStream()
                pacsv.write_csv(table, sink, options)
                data = sink.getvalue().to_pybytes()
                for start in range(0, len(data), _COPY_CHUNK):
                    chunks.put(data[start : start + _COPY_CHUNK])
            chunks.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            chunks.put(exc)

    worker = threading.Thread(target=produce, name="openilp-copy-csv", daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                chunks.get_nowait()
            except queue.Empty:
                worker.join(0.05)
