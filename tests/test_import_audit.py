"""Imports are audited: who imported which file, rows read, accepted and rejected; a refused run too,
and a refused first import still forgets the agency it created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from store_support import core_for

from openilp.db import session_scope
from openilp.db.models import Agency, AuditEntry
from openilp.ingest.spec import load_source_spec
from openilp.services.imports.run import ImportFailed, ImportRequest, import_source


def _entries(engine: Engine, action: str) -> list[AuditEntry]:
    with session_scope(engine) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()
        session.expunge_all()
        return list(rows)


def test_each_imported_file_is_audited_with_its_counts(engine: Engine, tmp_path: Path) -> None:
    spec = load_source_spec("stlouis")
    sample = sorted(
        (Path(__file__).resolve().parent.parent / "openilp" / "demo_data" / "stlouis" / "monthly").rglob("*.csv*")
    )[0]
    report = import_source(core_for(engine, tmp_path), None, ImportRequest(source=spec, paths=(sample,), workers=1))
    (entry,) = _entries(engine, "import")
    details = json.loads(entry.details)
    (file_report,) = report.files
    assert entry.object_type == "import_file" and details["file_name"] == sample.name
    assert details["rows_read"] == file_report.rows_read > 0
    assert details["rows_accepted"] + details["rows_rejected"] == file_report.rows_read
    assert details["rows_rejected"] == file_report.rejected
    assert details["created"] == file_report.created
    import_source(core_for(engine, tmp_path), None, ImportRequest(source=spec, paths=(sample,), workers=1))
    assert len(_entries(engine, "import")) == 1  # a file already imported is not imported (nor audited) again


def test_a_refused_first_import_is_audited_and_forgets_its_agency(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01binary\x00" * 50)
    with pytest.raises(ImportFailed):
        import_source(core_for(engine, tmp_path), None, ImportRequest(source="stlouis", paths=(bad,), workers=1))
    (refusal,) = _entries(engine, "import_refused")
    assert json.loads(refusal.details)["agency"] == "SLMPD" and refusal.agency_id is None
    with session_scope(engine) as session:
        assert session.scalars(select(Agency)).all() == []
