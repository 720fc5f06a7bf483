"""Reading and writing the reversal ledger (one JSON row of entries per imported file)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

__all__ = ["encode_entries", "ledger_entries", "LEDGER_COLUMNS"]

#: Columns of :func:`ledger_entries`.
LEDGER_COLUMNS = ["import_file_id", "source_line", "source_key", "count_delta"]


def encode_entries(lines: Sequence[int], keys: Sequence[str], deltas: Sequence[int]) -> str:
    """One file's ledger entries as compact JSON (aligned lists).

    >>> encode_entries([2, 3], ["15-1:67601", "15-1:67601"], [1, -1])
    '{"lines":[2,3],"keys":["15-1:67601","15-1:67601"],"deltas":[1,-1]}'
    """
    if not len(lines) == len(keys) == len(deltas):
        raise ValueError("ledger lines, keys and deltas must have the same length")
    return json.dumps(
        {"lines": [int(v) for v in lines], "keys": list(keys), "deltas": [int(v) for v in deltas]},
        separators=(",", ":"),
    )


def ledger_entries(
    connection: Connection,
    *,
    agency_id: int | None = None,
    source: str | None = None,
    file_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Every ledger entry (one row per source line) of the selected files, in file and line order."""
    where: list[str] = []
    params: dict[str, object] = {}
    if agency_id is not None:
        where.append("f.agency_id = :agency")
        params["agency"] = agency_id
    if source is not None:
        where.append("f.source = :source")
        params["source"] = source
    if file_ids is not None:
        if not file_ids:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in LEDGER_COLUMNS})
        where.append(f"l.import_file_id IN ({', '.join(str(int(i)) for i in file_ids)})")
    sql = (
        "SELECT l.import_file_id, l.entries FROM incident_ledger AS l JOIN import_files AS f ON f.id = l.import_file_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY l.import_file_id"
    files, lines, keys, deltas = [], [], [], []
    for file_id, entries in connection.execute(text(sql), params).all():
        data = json.loads(entries)
        files.append(np.full(len(data["lines"]), int(file_id), dtype=np.int64))
        lines.extend(data["lines"])
        keys.extend(data["keys"])
        deltas.extend(data["deltas"])
    return pd.DataFrame(
        {
            "import_file_id": np.concatenate(files) if files else np.array([], dtype=np.int64),
            "source_line": np.asarray(lines, dtype=np.int64),
            "source_key": pd.Series(keys, dtype=object),
            "count_delta": np.asarray(deltas, dtype=np.int64),
        }
    )
