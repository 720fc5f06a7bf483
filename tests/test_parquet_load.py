"""Bulk loading of normalised incidents from Parquet, on SQLite and PostgreSQL: the same rows as the
normal import of the same real files, keys and indexes built and checked at the end of a first
load, everything rolled back when a row breaks a key, and files loaded before skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import shared_file
from sqlalchemy import Engine, inspect, select, text
from store_support import core_for, import_source

from openilp.db.models import AuditEntry, ImportFile, Incident
from openilp.ingest.normalize import normalize
from openilp.ingest.reading import read_source_file
from openilp.ingest.spec import load_source_spec
from openilp.services.imports.parquet import ParquetLoadRequest, load_parquet
from openilp.services.imports.parsing import incident_text_limits
from openilp.services.imports.run import ImportFailed
from openilp.services.imports.synthetic import SyntheticRequest, parquet_schema, write_synthetic_incidents

#: Columns compared between the two paths (not the ids, which differ by construction).
COMPARED = [c.name for c in Incident.__table__.columns if c.name not in ("id", "agency_id", "import_file_id")]


def normalized_parquet(source: str, path: Path, out: Path, agency_code: str) -> pd.DataFrame:
    """What the normal import of ``path`` alone creates, as a bulk-load Parquet file (the latest
    positive row of each record, its net count, records that net to zero left out)."""
    spec = load_source_spec(source)
    batch = normalize(read_source_file(path, spec), spec, incident_text_limits())
    frame = batch.frame.assign(_delta=batch.count_delta)
    net = frame.groupby("source_key", sort=False)["_delta"].sum()
    positive = frame[frame["_delta"] > 0].sort_values(
        ["source_updated_at", "source_line"], na_position="first", kind="stable"
    )
    latest = positive.drop_duplicates("source_key", keep="last")
    latest = latest[latest["source_key"].map(net) > 0].copy()
    latest["net_count"] = latest["source_key"].map(net).astype("int32")
    latest["agency"] = agency_code
    latest["source"] = spec.name
    schema = parquet_schema()
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pandas(latest[schema.names], schema=schema, preserve_index=False), out / "part-00000.parquet"
    )
    agency = {
        "code": agency_code,
        "name": f"{spec.agency.name} (bulk)",
        "timezone": spec.agency.timezone,
        "crs": spec.agency.crs,
    }
    (out / "agencies.json").write_text(json.dumps({"agencies": [agency]}))
    return latest


def _incidents(engine: Engine, agency_code: str) -> pd.DataFrame:
    sql = (
        f"SELECT {', '.join('i.' + c for c in COMPARED)} FROM incidents i JOIN agencies a ON a.id = i.agency_id "
        "WHERE a.code = :code ORDER BY i.source_key"
    )
    with engine.connect() as connection:
        return pd.read_sql(text(sql), connection, params={"code": agency_code})


def _constraints_intact(engine: Engine) -> None:
    inspector = inspect(engine)
    indexes = {i["name"] for i in inspector.get_indexes("incidents")}
    assert {"ix_incidents_agency_occurred", "ix_incidents_category_occurred"} <= indexes
    assert len(inspector.get_foreign_keys("incidents")) == 3
    assert inspector.get_unique_constraints("incidents") or any(i["unique"] for i in inspector.get_indexes("incidents"))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'incidents'::regclass")
            )
            validated = {str(row[0]): bool(row[1]) for row in rows}
        assert len(validated) == 5 and all(validated.values())


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("source", "parts"),
    [
        ("chicago", ("chicago_sample", "chicago_crimes_sample_25k.csv.gz")),
        ("stlouis", ("stlouis", "monthly", "2019", "january2019.csv")),  # reversals within the file
    ],
)
def test_bulk_load_gives_the_rows_of_the_normal_import(
    engine: Engine, tmp_path: Path, source: str, parts: tuple[str, ...]
) -> None:
    path = shared_file(*parts)
    expected = normalized_parquet(source, path, tmp_path / "bulk", "BULK")
    report = load_parquet(core_for(engine), None, ParquetLoadRequest((tmp_path / "bulk",)))
    assert report.first_load and report.rows == len(expected) and report.files == 1
    normal = import_source(engine, source, [path])
    spec = load_source_spec(source)
    assert normal.total("created") == report.rows  # the normal path created the same records
    bulk_rows = _incidents(engine, "BULK")
    normal_rows = _incidents(engine, spec.agency.code)
    assert len(bulk_rows) == len(normal_rows) > 1000
    pd.testing.assert_frame_equal(bulk_rows, normal_rows)
    _constraints_intact(engine)
    with engine.connect() as connection:
        files = connection.execute(select(ImportFile.source, ImportFile.rows_read, ImportFile.created)).all()
        audited = (
            connection.execute(select(AuditEntry.action).where(AuditEntry.object_type == "import_file")).scalars().all()
        )
    assert (spec.name, report.rows, report.rows) in files
    assert audited.count("import") == 2


def _synthetic(tmp_path: Path, name: str, rows: int = 6_000, agencies: int = 3) -> Path:
    out = tmp_path / name
    write_synthetic_incidents(SyntheticRequest(output=out, rows=rows, agencies=agencies, seed=2, chunk_rows=1_500))
    return out


def test_synthetic_load_counts_per_agency_and_skips_what_it_loaded(engine: Engine, tmp_path: Path) -> None:
    folder = _synthetic(tmp_path, "synth")
    core = core_for(engine)
    report = load_parquet(core, None, ParquetLoadRequest((folder,)))
    meta = json.loads((folder / "agencies.json").read_text())
    with engine.connect() as connection:
        grouped = connection.execute(
            text("SELECT a.code, count(*) FROM incidents i JOIN agencies a ON a.id = i.agency_id GROUP BY a.code")
        )
        counts = {str(row[0]): int(row[1]) for row in grouped}
        crs = set(connection.execute(text("SELECT crs FROM agencies")).scalars())
    assert counts == {a["code"]: a["rows"] for a in meta["agencies"]}
    assert report.rows == sum(counts.values()) == 6_000 and crs == {"EPSG:5070"}
    _constraints_intact(engine)
    again = load_parquet(core, None, ParquetLoadRequest((folder,)))
    assert (again.files, again.skipped, again.rows) == (0, report.files, 0)
    # another file of a source the store holds is refused: updates go through the normal import
    other = _synthetic(tmp_path, "other", rows=3_000, agencies=1)
    with pytest.raises(ImportFailed, match="already holds incidents of agency SYN01"):
        load_parquet(core, None, ParquetLoadRequest((other,)))


@pytest.mark.parametrize("broken", ["repeated key", "unknown category"])
def test_a_first_load_that_breaks_a_key_leaves_the_store_as_it_was(engine: Engine, tmp_path: Path, broken: str) -> None:
    folder = _synthetic(tmp_path, "synth")
    part = sorted(folder.glob("*.parquet"))[-1]
    table = pq.read_table(part)
    if broken == "repeated key":
        keys = table.column("source_key").to_pylist()
        keys[-1] = keys[0]
        table = table.set_column(table.schema.get_field_index("source_key"), "source_key", pa.array(keys))
    else:
        codes = table.column("category_code").to_pylist()
        codes[-1] = "no_such_category"
        table = table.set_column(table.schema.get_field_index("category_code"), "category_code", pa.array(codes))
    pq.write_table(table, part)
    with pytest.raises(ImportFailed, match="rolled back|refer to a missing"):
        load_parquet(core_for(engine), None, ParquetLoadRequest((folder,)))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0
        assert connection.execute(text("SELECT count(*) FROM import_files")).scalar_one() == 0
        refused = connection.execute(select(AuditEntry.action).where(AuditEntry.action == "import_refused")).all()
    assert len(refused) == 1
    _constraints_intact(engine)


def test_refuses_files_of_another_layout(engine: Engine, tmp_path: Path) -> None:
    pq.write_table(pa.table({"agency": ["X"], "source_key": ["1"]}), tmp_path / "odd.parquet")
    with pytest.raises(ImportFailed, match="columns differ"):
        load_parquet(core_for(engine), None, ParquetLoadRequest((tmp_path / "odd.parquet",)))
