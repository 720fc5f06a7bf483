"""Importing police exports into the store: idempotent, atomic per file, reconciled.

Workflow for one run (:func:`import_source`):

1. find and read every file, normalise its rows (:mod:`openilp.ingest`); with ``strict`` any
   rejected row stops the run before anything is written;
2. for each file, in one transaction: skip it if the same bytes were imported before; fold its
   rows per record (reversals net out, repeats collapse); create, update or remove incidents;
   record the file and its counts. A failure rolls the file back and leaves the store as it was.

Counts reconcile per file: ``rows_read = rejected + folded + created + updated + unchanged +
removed + netted_out`` (``folded``: extra rows of a record already counted in the same file;
``netted_out``: records whose +1/-1 rows cancel, with nothing stored to remove). A new version of
a file that was imported before (same name, other bytes) replaces the old version's rows; records
that only the old version had are removed and counted apart, as ``withdrawn`` (they are not rows
of the new version, so they are outside the reconciliation).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Index, Table, select, text, update
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.bulk import BulkWriter, bulk_writer
from openilp.db.ledger import ledger_entries
from openilp.db.models import Agency, ImportFile, Incident
from openilp.errors import InvalidRequest, NotPermitted, ServiceError
from openilp.ingest.messages import MESSAGE_LIMIT, excerpt
from openilp.ingest.normalize import INCIDENT_COLUMNS, NormalizedBatch, RowProblem
from openilp.ingest.reading import FileFormatError, find_source_files
from openilp.ingest.spec import SourceSpec, SpecError, load_source_spec
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event
from openilp.services.imports.parsing import Folded, ParsedFile, batch_folded, file_sha256, parsed_files
from openilp.services.imports.state import NAT_NS, ImportState, StoredRecord, imported_files, load_state, net_of

__all__ = [
    "FileReport",
    "ImportReport",
    "ImportFailed",
    "ImportRequest",
    "ProgressCallback",
    "import_source",
    "ensure_agency",
]

#: The columns that identify an incident (a unique index).
RECORD_KEY = ("agency_id", "source", "source_key")
#: Problems kept in the report per file (all are counted).
MAX_PROBLEMS_KEPT = 200
#: From this many bytes of new files into an empty store, a run is a bulk load (see
#: :func:`_defer_secondary_indexes`).
BULK_LOAD_MIN_BYTES = 8 * 1024 * 1024
#: Secondary indexes of ``incidents`` a first bulk load builds at the end instead of row by row.
DEFERRABLE_INDEXES = ("ix_incidents_agency_occurred", "ix_incidents_category_occurred")

ProgressCallback = Callable[[str, int, int], None]


class ImportFailed(ServiceError):
    """The import cannot go on; the message says which file and why, and what was kept (audited)."""


#: Where :func:`_record_counts` finds who imports (``session.info`` of the run's session).
_AUDIT_KEY = "openilp_import_audit"


@dataclass(frozen=True)
class _ImportAudit:
    actor: UserInfo | None
    clock: Callable[[], dt.datetime]


@dataclass(frozen=True)
class ImportRequest(Request):
    """Import ``paths`` (files or folders) of ``source``: a built-in source name, the path of a
    mapping ``.toml`` file, or a loaded :class:`SourceSpec`. ``strict``: any rejected row refuses the
    whole run. ``workers``: parsing processes (default: the number of CPUs)."""

    source: str | SourceSpec = ""
    paths: tuple[Path, ...] = ()
    strict: bool = False
    workers: int | None = None

    def validate(self) -> ImportRequest:
        if not self.paths:
            raise InvalidRequest("paths: give at least one export file or folder")
        if self.workers is not None and not 1 <= self.workers <= 256:
            raise InvalidRequest("workers must be between 1 and 256")
        spec = self.spec()
        return ImportRequest(spec, tuple(Path(p) for p in self.paths), self.strict, self.workers)

    def spec(self) -> SourceSpec:
        """The source description (loaded and validated when given by name or path)."""
        if isinstance(self.source, SourceSpec):
            return self.source
        if not str(self.source).strip():
            raise InvalidRequest("source: give a built-in source name (openilp sources) or a mapping .toml file")
        try:
            return load_source_spec(str(self.source))
        except SpecError as exc:
            raise InvalidRequest(str(exc)) from exc


@dataclass
class FileReport:
    """What happened to one file; the counts reconcile (see the module docstring)."""

    file_name: str
    status: str = "imported"  # imported | already imported | failed
    rows_read: int = 0
    rejected: int = 0
    folded: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    netted_out: int = 0
    #: Records removed because a new version of this file no longer has their rows.
    withdrawn: int = 0
    outside_extent: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    unknown_codes: Counter[str] = field(default_factory=Counter)
    error: str = ""

    def reconciles(self) -> bool:
        """True when every row read is accounted for."""
        if self.status != "imported":
            return True
        return self.rows_read == (
            self.rejected + self.folded + self.created + self.updated + self.unchanged + self.removed + self.netted_out
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["problems"] = [asdict(p) for p in self.problems]
        data["unknown_codes"] = dict(self.unknown_codes.most_common())
        return data


@dataclass(frozen=True)
class ImportReport(Result):
    """The reconciled counts of a run, per file (``files``) and in total (:meth:`total`)."""

    source: str
    agency: str
    files: list[FileReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.files)

    @property
    def unknown_codes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for report in self.files:
            total.update(report.unknown_codes)
        return total

    @property
    def ok(self) -> bool:
        return all(f.status != "failed" for f in self.files)

    def to_dict(self) -> dict[str, object]:
        names = [
            "rows_read",
            "rejected",
            "folded",
            "created",
            "updated",
            "unchanged",
            "removed",
            "netted_out",
            "withdrawn",
            "outside_extent",
        ]
        return {
            "source": self.source,
            "agency": self.agency,
            "ok": self.ok,
            "totals": {name: self.total(name) for name in names},
            "unknown_codes": dict(self.unknown_codes.most_common()),
            "files": [f.to_dict() for f in self.files],
        }

    def as_dict(self) -> dict[str, Any]:
        return self.to_dict()


def ensure_agency(session: Session, spec: SourceSpec) -> Agency:
    """The agency a source belongs to, created from the source description if new."""
    agency = session.scalar(select(Agency).where(Agency.code == spec.agency.code))
    if agency is None:
        agency = Agency(
            code=spec.agency.code, name=spec.agency.name, timezone=spec.agency.timezone, crs=spec.agency.crs
        )
        session.add(agency)
        session.flush()
    elif agency.crs != spec.agency.crs:
        raise ImportFailed(
            f"agency {agency.code} is stored with CRS {agency.crs} but source {spec.name!r} says "
            f"{spec.agency.crs}; analysis coordinates of one agency must share one CRS"
        )
    return agency


#: Columns of the incident rows the importer writes: :data:`INCIDENT_COLUMNS` and the net count;
#: the agency, source and import file are the same for every row of a file (see :func:`_file_constants`).
_WRITTEN = [*INCIDENT_COLUMNS, "net_count"]


def _file_constants(agency_id: int, source: str, import_file_id: int) -> dict[str, Any]:
    return {"agency_id": agency_id, "source": source, "import_file_id": import_file_id}


def _incident_values(folded: Folded, rows: np.ndarray, net: np.ndarray) -> list[Any]:
    """Columns (:data:`_WRITTEN`) of the latest rows at ``rows``."""
    return [*folded.values(rows), net[rows].tolist()]


def _write_incidents(
    writer: BulkWriter, folded: Folded, rows: np.ndarray, net: np.ndarray, constants: dict[str, Any], *, new: bool
) -> None:
    """Insert (``new``) or update the incidents of the latest rows at ``rows``."""
    values = _incident_values(folded, rows, net)
    if new:
        writer.insert_columns("incidents", _WRITTEN, values, constants=constants)
    else:
        frame = _columns_frame(_WRITTEN, values, len(rows)).assign(**constants)
        writer.update("incidents", frame, RECORD_KEY)


def _columns_frame(names: list[str], columns: list[Any], n: int) -> pd.DataFrame:
    """Value columns as a data frame (for the writers' update and delete, which take frames)."""
    return pd.DataFrame({name: list(values) for name, values in zip(names, columns, strict=True)}, index=range(n))


def _write_ledger(writer: BulkWriter, folded: Folded, import_file_id: int) -> None:
    writer.insert("incident_ledger", pd.DataFrame({"import_file_id": [import_file_id], "entries": [folded.ledger]}))


def _apply_vectorised(
    writer: BulkWriter,
    session: Session,
    agency_id: int,
    spec: SourceSpec,
    import_file: ImportFile,
    folded: Folded,
    counted: bool,
    state: ImportState,
    report: FileReport,
) -> None:
    """Decide create / update / unchanged / remove for every record of the file at once, write, commit.

    Used whenever this file name was not imported before (no earlier version to replace).
    """
    keys = folded.keys
    n = len(keys)
    records = state.records
    slots = records.lookup(keys)
    exists = slots >= 0
    stored_hash = np.zeros(n, dtype=np.int64)
    stored_ns = np.full(n, NAT_NS, dtype=np.int64)
    stored_net = np.zeros(n, dtype=np.int64)
    stored_hash[exists], stored_ns[exists], stored_net[exists] = records.columns(slots[exists])
    absent = np.flatnonzero(~exists)
    if counted:
        prior = stored_net.copy()
        if state.net and len(absent):
            absent_keys = map(keys.__getitem__, absent.tolist())
            prior[absent] = np.fromiter(map(state.net.get, absent_keys, repeat(0)), dtype=np.int64, count=len(absent))
        new_net = prior + folded.delta
    else:
        new_net = np.ones(n, dtype=np.int64)
    alive = new_net > 0
    positions = pd.Index(folded.latest_keys, dtype=object).get_indexer(pd.Index(keys, dtype=object))
    has_row = positions >= 0

    remove = ~alive & exists
    create = alive & ~exists & has_row
    candidate = alive & exists & has_row
    update = np.zeros(n, dtype=bool)
    at = positions[candidate]
    update[candidate] = (folded.incoming_ns[at] >= stored_ns[candidate]) & (
        folded.incoming_hash[at] != stored_hash[candidate]
    )
    unchanged = alive & exists & ~update
    net_only = unchanged & (new_net != stored_net)
    report.created, report.updated = int(create.sum()), int(update.sum())
    report.unchanged, report.removed = int(unchanged.sum()), int(remove.sum())
    report.netted_out = n - report.created - report.updated - report.unchanged - report.removed

    # The same decisions per latest row (rows are written in the order the worker folded them).
    n_latest = len(folded.latest_keys)
    latest_net = np.zeros(n_latest, dtype=np.int64)
    latest_net[positions[has_row]] = new_net[has_row]
    create_rows = np.zeros(n_latest, dtype=bool)
    create_rows[positions[create]] = True
    update_rows = np.zeros(n_latest, dtype=bool)
    update_rows[positions[update]] = True

    file_id = import_file.id
    constants = _file_constants(agency_id, spec.name, file_id)
    if report.created:
        _write_incidents(writer, folded, np.flatnonzero(create_rows), latest_net, constants, new=True)
    if report.updated:
        _write_incidents(writer, folded, np.flatnonzero(update_rows), latest_net, constants, new=False)
    if net_only.any():
        frame = pd.DataFrame(
            {"source_key": np.asarray(keys, dtype=object)[net_only], "net_count": new_net[net_only]}
        ).assign(agency_id=agency_id, source=spec.name)
        writer.update("incidents", frame, RECORD_KEY)
    if report.removed:
        frame = pd.DataFrame({"source_key": np.asarray(keys, dtype=object)[remove]}).assign(
            agency_id=agency_id, source=spec.name
        )
        writer.delete("incidents", frame[["agency_id", "source", "source_key"]])
    _record_counts(session, import_file, report)
    session.commit()

    # Committed: bring the in-memory state up to date.
    if net_only.any():
        records.set_net(slots[net_only], new_net[net_only])
    for index in np.flatnonzero(remove).tolist():
        records.pop(keys[index])
    written = np.flatnonzero(create_rows | update_rows)
    written_keys = folded.latest_keys if len(written) == n_latest else [folded.latest_keys[i] for i in written]
    records.put_many(
        written_keys, folded.incoming_hash[written], folded.incoming_ns[written], latest_net[written], file_id
    )
    if counted:
        held = create | (alive & exists)  # records the store holds now
        if state.net:
            for index in np.flatnonzero(held & ~exists).tolist():
                state.net.pop(keys[index], None)
        for index in np.flatnonzero(~held).tolist():
            state.net[keys[index]] = int(new_net[index])


def _record_counts(session: Session, import_file: ImportFile, report: FileReport) -> None:
    """Store the file's reconciled counts and audit the import, in the file's transaction."""
    import_file.rows_read = report.rows_read
    import_file.rows_rejected = report.rejected
    import_file.rows_folded = report.folded
    import_file.created = report.created
    import_file.updated = report.updated
    import_file.unchanged = report.unchanged
    import_file.removed = report.removed + report.withdrawn
    import_file.netted_out = report.netted_out
    audit: _ImportAudit = session.info[_AUDIT_KEY]
    session.flush()
    record_event(
        session,
        action="import",
        object_type="import_file",
        object_id=str(import_file.id),
        actor=audit.actor,
        agency_id=import_file.agency_id,
        occurred_at=audit.clock(),
        details={
            "source": import_file.source,
            "file_name": import_file.file_name,
            "sha256": import_file.sha256,
            "rows_read": report.rows_read,
            "rows_accepted": report.rows_read - report.rejected,
            "rows_rejected": report.rejected,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "removed": report.removed + report.withdrawn,
        },
    )


def _sql_ids(ids: list[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


def _apply_file(
    session: Session,
    agency_id: int,
    spec: SourceSpec,
    path: Path,
    batch: NormalizedBatch,
    sha256: str,
    header: str,
    encoding: str,
    state: ImportState,
    report: FileReport,
) -> None:
    """Write one file's records in the session's transaction; update ``state`` after the commit."""
    conn = session.connection()
    writer = bulk_writer(conn)
    import_file = ImportFile(
        agency_id=agency_id, source=spec.name, file_name=path.name, sha256=sha256, header=header, encoding=encoding
    )
    session.add(import_file)
    session.flush()

    counted = bool(spec.record.count_column)
    folded = batch_folded(batch, counted)
    report.folded = folded.folded
    latest_keys = folded.latest_keys
    incoming_hash, incoming_ns = folded.incoming_hash, folded.incoming_ns
    previous_versions = state.files_by_name.get(path.name, [])
    records = state.records
    if counted:
        _write_ledger(writer, folded, import_file.id)
    if not previous_versions:
        # The common case: no earlier version of this file to replace.
        _apply_vectorised(writer, session, agency_id, spec, import_file, folded, counted, state, report)
        state.imported_sha.add(sha256)
        state.files_by_name[path.name] = [import_file.id]
        return
    position = {key: i for i, key in enumerate(latest_keys)}
    delta_sum = dict(zip(folded.keys, folded.delta.tolist(), strict=True))

    new_net: dict[str, int] = {}
    #: Records only an earlier version of this file had rows for -> their net without those rows.
    dropped: dict[str, int] = {}
    if counted:
        old_contrib: dict[str, int] = {}
        if previous_versions:
            ids = _sql_ids(previous_versions)
            old_entries = ledger_entries(conn, file_ids=previous_versions)
            old_sums = old_entries.groupby("source_key", sort=False)["count_delta"].sum()
            old_contrib = dict(zip(old_sums.index.tolist(), old_sums.to_numpy().tolist(), strict=True))
            conn.execute(text(f"DELETE FROM incident_ledger WHERE import_file_id IN ({ids})"))
        new_net = {k: net_of(state, k) - old_contrib.get(k, 0) + d for k, d in delta_sum.items()}
        dropped = {k: net_of(state, k) - c for k, c in old_contrib.items() if k not in delta_sum}
    else:
        new_net = dict.fromkeys(delta_sum, 1)

    creates: list[int] = []  # positions in ``latest``
    updates: list[int] = []
    net_only: list[tuple[str, int]] = []  # (record key, net count)
    removed_keys: list[str] = []
    for key, net in new_net.items():
        stored = records.get(key)
        pos = position.get(key)
        if net <= 0:
            if stored is not None:
                removed_keys.append(key)
            else:
                report.netted_out += 1
        elif stored is None:
            if pos is None:
                report.netted_out += 1  # alive only through rows of other files that netted out
            else:
                creates.append(pos)
        elif pos is not None and incoming_ns[pos] >= stored.updated_ns and incoming_hash[pos] != stored.content_hash:
            updates.append(pos)
        else:
            report.unchanged += 1
            if net != stored.net_count:
                net_only.append((key, net))
    report.created, report.updated, report.removed = len(creates), len(updates), len(removed_keys)

    withdrawn_keys: list[str] = []
    for key, net in dropped.items():
        # Counted sources: the new version of this file no longer has the record's rows.
        # (A record that only the dropped rows had removed cannot be restored: its row is gone.)
        stored = records.get(key)
        if stored is None:
            continue
        if net <= 0:
            withdrawn_keys.append(key)
        elif net != stored.net_count:
            net_only.append((key, net))
    if not spec.record.id_columns and previous_versions:
        # Content-keyed sources: a new version of a file replaces the old one, so records of the
        # old version that are no longer published are removed.
        old_versions = set(previous_versions)
        for key, stored in records.items():
            if stored.import_file_id in old_versions and key not in new_net and key not in dropped:
                withdrawn_keys.append(key)
    report.withdrawn = len(withdrawn_keys)
    removed_keys += withdrawn_keys

    net_array = np.array([new_net[k] for k in latest_keys], dtype=np.int64)
    constants = _file_constants(agency_id, spec.name, import_file.id)
    if creates:
        rows = np.sort(np.array(creates, dtype=np.int64))
        _write_incidents(writer, folded, rows, net_array, constants, new=True)
    if updates:
        rows = np.sort(np.array(updates, dtype=np.int64))
        _write_incidents(writer, folded, rows, net_array, constants, new=False)
    if net_only:
        frame = pd.DataFrame(net_only, columns=["source_key", "net_count"]).assign(
            agency_id=agency_id, source=spec.name
        )
        writer.update("incidents", frame, RECORD_KEY)
    if removed_keys:
        frame = pd.DataFrame({"agency_id": agency_id, "source": spec.name, "source_key": removed_keys})
        writer.delete("incidents", frame)
    if previous_versions:
        session.execute(update(ImportFile).where(ImportFile.id.in_(previous_versions)).values(superseded=True))

    _record_counts(session, import_file, report)
    session.commit()

    # Committed: bring the in-memory state up to date.
    for key in removed_keys:
        records.pop(key)
    file_id = import_file.id
    for pos in creates + updates:
        records.set(
            latest_keys[pos], StoredRecord(int(incoming_hash[pos]), int(incoming_ns[pos]), int(net_array[pos]), file_id)
        )
    for key, net in [*new_net.items(), *dropped.items()]:
        stored = records.get(key)
        if stored is not None and stored.net_count != net:
            records.set(key, stored._replace(net_count=net))
    if counted:
        for key, net in [*new_net.items(), *dropped.items()]:
            if key in records:
                state.net.pop(key, None)
            else:
                state.net[key] = net
    state.imported_sha.add(sha256)
    state.files_by_name[path.name] = [import_file.id]


def import_source(
    core: OpenILP,
    actor: UserInfo | None,
    request: ImportRequest,
    *,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import the request's files. See the module docstring.

    Files whose exact bytes were imported before are skipped without being parsed. Others are
    parsed in worker processes while this process writes. Each imported file is audited in its
    own transaction (``import`` of ``import_file``: who, which file, rows read, accepted and
    rejected); a refused run is audited as ``import_refused`` with the reason. ``progress`` is
    called as ``progress(file name, done, total)``.

    Raises :class:`ImportFailed` when a file cannot be read at all (files before it in the run
    stay imported; the message says so), or in ``strict`` mode when any row would be rejected
    (then nothing is written). A database error while writing a file rolls that file back. When
    the run created the agency and imported nothing, the agency is removed again.
    """
    request = request.validate()
    if actor is not None:
        raise NotPermitted("imports run on the command line (openilp import)")
    spec = request.spec()
    engine = core.engine
    with Session(engine) as session:
        agency_existed = session.scalar(select(Agency.id).where(Agency.code == spec.agency.code)) is not None
    try:
        return _import_source(
            engine,
            _ImportAudit(actor, core.clock),
            spec,
            list(request.paths),
            strict=request.strict,
            progress=progress,
            workers=request.workers,
        )
    except ImportFailed as exc:
        if not agency_existed:
            _forget_new_agency(engine, spec)
        _audit_refusal(core, actor, spec, exc)
        raise


def _audit_refusal(core: OpenILP, actor: UserInfo | None, spec: SourceSpec, error: ImportFailed) -> None:
    with core.unit_of_work(actor) as uow:
        agency_id = uow.session.scalar(select(Agency.id).where(Agency.code == spec.agency.code))
        uow.audit(
            action="import_refused",
            object_type="import",
            object_id=spec.name,
            agency_id=agency_id,
            details={"source": spec.name, "agency": spec.agency.code, "reason": excerpt(str(error), 500)},
        )


def _forget_new_agency(engine: Engine, spec: SourceSpec) -> None:
    """Remove the agency a refused run created, so that a refused first import leaves the store as
    it was. It stays when a file of the run was imported, or when something else refers to it by
    now (the delete fails; an agency without incidents is harmless)."""
    with Session(engine) as session, contextlib.suppress(Exception):
        agency = session.scalar(select(Agency).where(Agency.code == spec.agency.code))
        if (
            agency is not None
            and session.scalar(select(ImportFile.id).where(ImportFile.agency_id == agency.id).limit(1)) is None
        ):
            session.delete(agency)
            session.commit()


def _import_source(
    engine: Engine,
    audit: _ImportAudit,
    spec: SourceSpec,
    paths: list[Path],
    *,
    strict: bool,
    progress: ProgressCallback | None,
    workers: int | None,
) -> ImportReport:
    """:func:`import_source` once the agency's prior existence is known."""
    try:
        files = find_source_files(paths, spec)
    except FileFormatError as exc:
        raise ImportFailed(str(exc)) from exc
    report = ImportReport(source=spec.name, agency=spec.agency.code)
    workers = workers or os.cpu_count() or 1

    with Session(engine, expire_on_commit=False) as session:
        session.info[_AUDIT_KEY] = audit
        agency = ensure_agency(session, spec)
        session.commit()
        agency_id = agency.id
        _restore_secondary_indexes(session, _deferrable_indexes())  # after an interrupted bulk load
        imported_sha, _ = imported_files(session, agency_id, spec)
        todo: list[Path] = []
        for path in files:
            if file_sha256(path) in imported_sha:
                report.files.append(FileReport(file_name=str(path), status="already imported"))
            else:
                todo.append(path)
        # What the store holds of the source's records is loaded only when there is something new.
        state = load_state(session, agency_id, spec) if todo else ImportState.empty()
        parsed = parsed_files(todo, spec, workers)
        if strict:
            parsed_list = list(_checked(parsed))
            problems = [p for _, (batch, *_) in parsed_list for p in batch.problems]
            if problems:
                raise ImportFailed(_strict_message(problems))
            parsed = iter(parsed_list)
        big = sum(path.stat().st_size for path in todo) > BULK_LOAD_MIN_BYTES
        deferred = _defer_secondary_indexes(session) if big else []
        try:
            for index, (path, (batch, sha256, header, encoding)) in enumerate(_checked(parsed, report)):
                if progress:
                    progress(path.name, index, len(todo))
                file_report = FileReport(
                    file_name=str(path),
                    rows_read=batch.rows_read,
                    rejected=len(batch.problems),
                    problems=batch.problems[:MAX_PROBLEMS_KEPT],
                    unknown_codes=batch.unknown_codes,
                    outside_extent=batch.outside_extent,
                )
                report.files.append(file_report)
                if sha256 in state.imported_sha:  # the same bytes twice in one run
                    file_report.status = "already imported"
                    continue
                try:
                    _apply_file(session, agency_id, spec, path, batch, sha256, header, encoding, state, file_report)
                except Exception as exc:
                    session.rollback()
                    file_report.status = "failed"
                    file_report.error = f"{type(exc).__name__}: {excerpt(str(exc), 400)}"
                    raise ImportFailed(
                        f"{path}: writing failed and was rolled back ({file_report.error}); {_kept(report)}"
                    ) from exc
        except BaseException:
            with contextlib.suppress(Exception):  # the next import rebuilds them if this fails too
                _restore_secondary_indexes(session, deferred)
            raise
        _restore_secondary_indexes(session, deferred)
    if progress:
        progress("done", len(todo), len(todo))
    return report


def _strict_message(problems: list[RowProblem], most: int = 20) -> str:
    """The ``--strict`` refusal: the first problems, as many as fit in one short message."""
    text = f"--strict: {len(problems):,} row(s) would be rejected; nothing was imported:"
    shown = 0
    for problem in problems[:most]:
        line = f"\n  {problem}"
        if len(text) + len(line) > MESSAGE_LIMIT - 150:
            break
        text += line
        shown += 1
    if shown < len(problems):
        text += f"\n  … and {len(problems) - shown:,} more (import without --strict, with --json, to list them)"
    return text


def _deferrable_indexes() -> list[Index]:
    table = Incident.__table__
    assert isinstance(table, Table)
    return sorted((i for i in table.indexes if i.name in DEFERRABLE_INDEXES), key=lambda i: str(i.name))


def _defer_secondary_indexes(session: Session) -> list[Index]:
    """A first bulk load into an empty ``incidents`` table: drop its secondary indexes, to be built
    once at the end (sorting once is far cheaper than updating two B-trees row by row).

    Each file is still imported in its own transaction; the indexes only serve queries, and
    :func:`_restore_secondary_indexes` rebuilds them at the end of the run, whatever happened,
    and at the start of every import (after a run that was killed).
    """
    connection = session.connection()
    if connection.execute(select(Incident.id).limit(1)).first() is not None:
        return []
    indexes = _deferrable_indexes()
    for index in indexes:
        index.drop(connection, checkfirst=True)
    session.commit()
    return indexes


def _restore_secondary_indexes(session: Session, indexes: list[Index]) -> None:
    if not indexes:
        return
    session.rollback()  # nothing is pending here: a failed file was rolled back already
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA threads = 2")  # SQLite sorts the index entries on two threads
    for index in indexes:
        index.create(connection, checkfirst=True)
    session.commit()


def _kept(report: ImportReport) -> str:
    done = sum(1 for f in report.files if f.status == "imported")
    return f"{done} earlier file(s) of this run were imported and kept" if done else "nothing was imported"


def _checked(parsed: Iterator[ParsedFile], report: ImportReport | None = None) -> Iterator[ParsedFile]:
    """Turn a file that cannot be read into :class:`ImportFailed`, saying what was kept."""
    while True:
        try:
            yield next(parsed)
        except StopIteration:
            return
        except FileFormatError as exc:
            kept = _kept(report) if report is not None else "nothing was imported"
            raise ImportFailed(f"{exc}. {kept[0].upper()}{kept[1:]}.") from exc
