"""The bad-input corpus (tests/bad_input_corpus.py): one outcome per file, the same on every backend.

For each file: refused whole (the store unchanged), accepted, or partly accepted with every rejected
row named by file, line and field; every message under 2,000 characters whatever the input holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_corpus import HEADER, BadInput, bad_inputs, good_row, write_mapping
from sqlalchemy import Engine, text
from store_support import import_source

from openilp.db.models import Base
from openilp.ingest.messages import MESSAGE_LIMIT
from openilp.ingest.spec import load_source_spec
from openilp.services.imports.parsing import incident_text_limits
from openilp.services.imports.run import ImportFailed

CORPUS = bad_inputs()


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows of every table of the store but the audit log (a refused import is audited there)."""
    with engine.connect() as conn:
        return {
            t.name: conn.execute(text(f"SELECT COUNT(*) FROM {t.name}")).scalar_one()
            for t in Base.metadata.sorted_tables
            if t.name != "audit_log"
        }


def refusals(engine: Engine) -> int:
    """Audited refusals of imports."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'import_refused'")).scalar_one())


def stored_texts(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT offence_description, block_address FROM incidents")).all()
    return {value for row in rows for value in row if value is not None}


def test_the_corpus_has_the_cases_the_issue_lists() -> None:
    names = {case.name for case in CORPUS}
    assert len(CORPUS) >= 13
    for needed in (
        "zip_saved_as_csv",
        "empty",
        "nul_byte",
        "utf16_bom",
        "wrong_columns",
        "header_only",
        "duplicated_rows",
        "injection",
        "five_mb_field",
    ):
        assert needed in names
    assert max(len(case.content) for case in CORPUS) > 5 * 1024 * 1024


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_bad_input_outcome(engine: Engine, tmp_path: Path, case: BadInput) -> None:
    spec = load_source_spec(write_mapping(tmp_path))
    baseline = tmp_path / "baseline.csv"
    baseline.write_text("\n".join([HEADER, good_row("B1", 1), good_row("B2", 2)]) + "\n", encoding="utf-8")
    import_source(engine, spec, [baseline], workers=1)
    before = table_counts(engine)
    path = tmp_path / case.file_name
    path.write_bytes(case.content)

    if case.outcome == "refused":
        with pytest.raises(ImportFailed) as info:
            import_source(engine, spec, [path], workers=1)
        message = str(info.value)
        assert len(message) < MESSAGE_LIMIT, message[:3000]
        assert case.file_name in message
        assert case.refusal in message
        assert "Nothing was imported" in message
        assert table_counts(engine) == before
        assert refusals(engine) == 1
        return

    report = import_source(engine, spec, [path], workers=1)
    (file_report,) = report.files
    assert file_report.status == "imported"
    assert file_report.reconciles()
    counts = (file_report.rows_read, file_report.rejected, file_report.folded, file_report.created)
    assert counts == case.counts
    assert (case.outcome == "partial") == (file_report.rejected > 0)
    assert len(file_report.problems) == len(case.problems)
    for problem, (line, field_name, expected) in zip(file_report.problems, case.problems, strict=True):
        message = str(problem)
        assert len(message) < MESSAGE_LIMIT, message[:3000]
        assert message.startswith(f"{case.file_name}, line {line}: field {field_name} = ")
        assert (problem.line, problem.field) == (line, field_name)
        assert expected in message
    after = table_counts(engine)
    assert after["incidents"] == before["incidents"] + case.counts[3]
    assert after["import_files"] == before["import_files"] + 1
    assert set(case.stored) <= stored_texts(engine)


def test_strict_refusal_stays_short_with_many_long_values(engine: Engine, tmp_path: Path) -> None:
    spec = load_source_spec(write_mapping(tmp_path))
    path = tmp_path / "long_ids.csv"
    rows = [good_row(f"{i:03d}" + "Z" * 300, i % 60) for i in range(50)]
    path.write_text("\n".join([HEADER, good_row("A1", 1), *rows]) + "\n", encoding="utf-8")
    before = table_counts(engine)
    with pytest.raises(ImportFailed) as info:
        import_source(engine, spec, [path], strict=True, workers=1)
    message = str(info.value)
    assert len(message) < MESSAGE_LIMIT
    assert message.startswith("--strict: 50 row(s) would be rejected; nothing was imported:")
    assert "long_ids.csv, line 3: field case = '000ZZZ" in message
    assert "… and " in message and "more" in message
    assert table_counts(engine) == before


def test_a_declared_utf16_encoding_is_read(engine: Engine, tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path)
    mapping.write_text(mapping.read_text().replace('files = "*.csv"', 'files = "*.csv"\nencoding = "utf-16"'))
    path = tmp_path / "utf16.csv"
    path.write_bytes(("\n".join([HEADER, good_row("U1", 1, "vol à l'étalage")]) + "\n").encode("utf-16"))
    report = import_source(engine, load_source_spec(mapping), [path], workers=1)
    assert (report.total("rows_read"), report.total("created")) == (1, 1)
    assert stored_texts(engine) == {"vol à l'étalage", "100 MAIN ST"}


def test_a_refused_first_import_does_not_leave_its_agency_behind(engine: Engine, tmp_path: Path) -> None:
    (utf16,) = [case for case in CORPUS if case.name == "utf16_bom"]
    path = tmp_path / utf16.file_name
    path.write_bytes(utf16.content)
    before = table_counts(engine)
    with pytest.raises(ImportFailed, match="UTF-16 encoded"):
        import_source(engine, load_source_spec(write_mapping(tmp_path)), [path], workers=1)
    assert table_counts(engine) == before


def test_the_guide_states_the_stores_text_limits() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text(encoding="utf-8")
    limits = incident_text_limits()
    rows = {
        "record key (`[record] id`, joined with `:`)": ["source_key"],
        "record id (`[record] record_id`), offence code": ["source_record_id", "offence_code"],
        "offence description": ["offence_description"],
        "block address": ["block_address"],
        "district, beat": ["district", "beat"],
        "neighbourhood": ["neighbourhood"],
    }
    for label, columns in rows.items():
        (limit,) = {limits[column] for column in columns}
        assert f"| {label} | {limit} |" in guide, label


def test_files_normalised_together_name_their_own_over_long_rows(engine: Engine, tmp_path: Path) -> None:
    spec = load_source_spec(write_mapping(tmp_path))
    first, second = tmp_path / "a_month.csv", tmp_path / "b_month.csv"
    first.write_text("\n".join([HEADER, good_row("A1", 1), good_row("A2", 2)]) + "\n", encoding="utf-8")
    long_block = "9" * 201
    second.write_text(
        "\n".join([HEADER, good_row("B1", 1), good_row("B2", 2, block=long_block), good_row("B3", 3)]) + "\n",
        encoding="utf-8",
    )
    report = import_source(engine, spec, [first, second], workers=1)
    assert [(f.rows_read, f.rejected, f.created) for f in report.files] == [(2, 0, 2), (3, 1, 2)]
    (problem,) = report.files[1].problems
    assert (problem.file_name, problem.line, problem.field) == ("b_month.csv", 3, "block")
    assert problem.value == long_block[:200] + "…"
    assert "at most 200 characters, the store's limit for block_address (this value has 201)" in str(problem)
