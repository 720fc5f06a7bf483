"""What the store holds for one (agency, source) during an import, kept in memory.

The importer decides create / update / unchanged / remove for hundreds of thousands of records;
it loads what it needs of them once per run (:func:`load_state`) and keeps it up to date after
each committed file, instead of asking the database record by record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from openilp.db.ledger import ledger_entries
from openilp.db.models import ImportFile
from openilp.ingest.spec import SourceSpec

__all__ = ["NAT_NS", "ImportState", "RecordTable", "StoredRecord", "imported_files", "load_state", "net_of", "to_ns"]


class StoredRecord(NamedTuple):
    """What the store holds for one record (enough to decide create/update/remove)."""

    content_hash: int
    updated_ns: int  # source_updated_at as ns since the epoch; NaT as the minimum
    net_count: int
    import_file_id: int


class RecordTable:
    """What the store holds per record of one (agency, source): a key -> slot dictionary over
    parallel numpy arrays, so that a file's hundred thousand records are looked up and recorded
    with vectorised operations instead of one Python object each.

    Slots are only appended; a record written again gets a new slot and its old one is garbage.
    """

    def __init__(self) -> None:
        self.slot: dict[str, int] = {}
        self._size = 0
        self._hash = np.empty(0, dtype=np.int64)
        self._ns = np.empty(0, dtype=np.int64)
        self._net = np.empty(0, dtype=np.int64)
        self._file = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.slot)

    def __contains__(self, key: object) -> bool:
        return key in self.slot

    def _append(
        self, keys: list[str], content_hash: np.ndarray, updated_ns: np.ndarray, net: np.ndarray, file_id: np.ndarray
    ) -> None:
        n, start = len(keys), self._size
        if start + n > len(self._hash):
            capacity = max(1024, 2 * (start + n))
            for name in ("_hash", "_ns", "_net", "_file"):
                grown = np.empty(capacity, dtype=np.int64)
                grown[:start] = getattr(self, name)[:start]
                setattr(self, name, grown)
        stop = start + n
        self._hash[start:stop], self._ns[start:stop] = content_hash, updated_ns
        self._net[start:stop], self._file[start:stop] = net, file_id
        self._size = stop
        self.slot.update(zip(keys, range(start, stop), strict=True))

    def put_many(
        self,
        keys: list[str],
        content_hash: np.ndarray,
        updated_ns: np.ndarray,
        net: np.ndarray,
        file_id: int | np.ndarray,
    ) -> None:
        """Record (or overwrite) many records at once."""
        if keys:
            self._append(keys, content_hash, updated_ns, net, np.broadcast_to(np.asarray(file_id), (len(keys),)))

    def lookup(self, keys: list[str]) -> np.ndarray:
        """The slot of each key, -1 where the store has no such record."""
        return np.fromiter(map(self.slot.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))

    def columns(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Content hash, update time (ns) and net count at ``slots`` (all must be >= 0)."""
        return self._hash[slots], self._ns[slots], self._net[slots]

    def set_net(self, slots: np.ndarray, net: np.ndarray) -> None:
        self._net[slots] = net

    def get(self, key: str) -> StoredRecord | None:
        at = self.slot.get(key)
        if at is None:
            return None
        return StoredRecord(int(self._hash[at]), int(self._ns[at]), int(self._net[at]), int(self._file[at]))

    def set(self, key: str, stored: StoredRecord) -> None:
        self._append([key], *(np.array([v], dtype=np.int64) for v in stored))

    def pop(self, key: str) -> None:
        self.slot.pop(key, None)

    def items(self) -> Iterator[tuple[str, StoredRecord]]:
        for key in list(self.slot):
            stored = self.get(key)
            assert stored is not None
            yield key, stored


@dataclass
class ImportState:
    """What the store holds for one (agency, source), kept in memory during a run."""

    records: RecordTable
    #: Ledger sums (sources with reversals) of records the store does not hold (netted out,
    #: removed, or reversed before their row arrived); a stored record's sum is its net count.
    net: dict[str, int]
    imported_sha: set[str]
    files_by_name: dict[str, list[int]]

    @classmethod
    def empty(cls) -> ImportState:
        """The state of a run with nothing new to import (nothing is looked up)."""
        return cls(records=RecordTable(), net={}, imported_sha=set(), files_by_name={})


NAT_NS = np.iinfo(np.int64).min


def to_ns(values: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds, NaT as the smallest int64 (older than anything)."""
    return pd.to_datetime(values, errors="coerce", format="ISO8601").to_numpy(dtype="datetime64[ns]").view(np.int64)


def load_state(session: Session, agency_id: int, spec: SourceSpec) -> ImportState:
    """Everything the importer needs to know of the source's records in the store."""
    conn = session.connection()
    rows = conn.execute(
        text(
            "SELECT source_key, content_hash, source_updated_at, net_count, import_file_id FROM incidents "
            "WHERE agency_id = :a AND source = :s"
        ),
        {"a": agency_id, "s": spec.name},
    ).all()
    records = RecordTable()
    if rows:
        keys, hashes, updated, nets, file_ids = zip(*rows, strict=True)
        records.put_many(
            list(keys),
            np.array(hashes, dtype=np.int64),
            to_ns(pd.Series(updated, dtype=object)),
            np.array(nets, dtype=np.int64),
            np.array(file_ids, dtype=np.int64),
        )
    net: dict[str, int] = {}
    if spec.record.count_column:
        entries = ledger_entries(conn, agency_id=agency_id, source=spec.name)
        if len(entries):
            sums = entries.groupby("source_key", sort=False)["count_delta"].sum()
            sum_keys, sum_values = sums.index.tolist(), sums.to_numpy(dtype=np.int64)
            slots = records.lookup(sum_keys)
            stored = slots >= 0
            records.set_net(slots[stored], sum_values[stored])  # the ledger is authoritative
            net = {sum_keys[i]: int(sum_values[i]) for i in np.flatnonzero(~stored)}
    imported_sha, by_name = imported_files(session, agency_id, spec)
    return ImportState(records=records, net=net, imported_sha=imported_sha, files_by_name=by_name)


def imported_files(session: Session, agency_id: int, spec: SourceSpec) -> tuple[set[str], dict[str, list[int]]]:
    """The SHA-256 of every file of the source in the store, and the ids of the files by name
    (superseded versions left out). Enough to tell which files of a run are new."""
    files = session.execute(
        select(ImportFile.id, ImportFile.file_name, ImportFile.sha256).where(
            ImportFile.agency_id == agency_id, ImportFile.source == spec.name, ImportFile.superseded.is_(False)
        )
    ).all()
    by_name: dict[str, list[int]] = {}
    for file_id, name, _sha in files:
        by_name.setdefault(name, []).append(file_id)
    return {sha for _, _, sha in files}, by_name


def net_of(state: ImportState, key: str) -> int:
    """The ledger sum of a record (sources with reversals)."""
    stored = state.records.get(key)
    return stored.net_count if stored is not None else state.net.get(key, 0)
