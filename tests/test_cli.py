"""The command line, driven through Typer's runner against a real SQLite store per test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import shared_file
from typer.testing import CliRunner

from openilp.cli import app, common

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the CLI at an empty data folder (its settings and engine are cached per process)."""
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    common.settings.cache_clear()
    common.engine.cache_clear()
    common.core.cache_clear()
    yield {"OPENILP_DATA_DIR": str(tmp_path / "data")}
    common.settings.cache_clear()
    common.engine.cache_clear()
    common.core.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_every_command_has_help(cli_env: dict[str, str]) -> None:
    code, output = invoke("--help")
    assert code == 0
    for command in ("import", "sources", "stats", "demo", "serve", "users", "db"):
        assert command in output
        sub_code, sub_output = invoke(command, "--help")
        assert sub_code == 0, sub_output
        assert "Usage" in sub_output


def test_sources_lists_builtin_sources_as_json(cli_env: dict[str, str]) -> None:
    code, output = invoke("sources", "--json")
    assert code == 0
    names = {row["name"] for row in json.loads(output)}
    assert "stlouis" in names


@pytest.mark.realdata
def test_import_then_reimport_and_stats(cli_env: dict[str, str]) -> None:
    month = str(shared_file("stlouis", "monthly", "2019", "january2019.csv"))
    code, output = invoke("import", "stlouis", month, "--json")
    assert code == 0, output
    first = json.loads(output)
    totals = first["totals"]
    assert totals["rows_read"] > 3000
    assert totals["rejected"] == 0
    assert totals["rows_read"] == sum(
        totals[k]
        for k in ("rejected", "folded", "created", "updated", "unchanged", "removed", "netted_out", "withdrawn")
    )
    code, output = invoke("import", "stlouis", month, "--json")
    assert code == 0
    again = json.loads(output)
    assert again["totals"]["created"] == 0
    assert again["files"][0]["status"] == "already imported"

    code, output = invoke("stats", "--json")
    assert code == 0
    (stats,) = json.loads(output)
    assert stats["agency"] == "SLMPD"
    assert stats["incidents"] == totals["created"]
    assert sum(stats["by_category"].values()) == stats["incidents"]
    assert 0.95 < stats["located_share"] <= 1.0

    code, output = invoke("stats")
    assert code == 0
    assert "SLMPD" in output and "located" in output


def test_import_reports_bad_rows_and_strict_fails(cli_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Complaint,CodedMonth,DateOccur,FlagCrime,FlagUnfounded,FlagAdministrative,Count,FlagCleanup,Crime,"
        "District,Description,ILEADSAddress,ILEADSStreet,Neighborhood,LocationName,LocationComment,CADAddress,"
        "CADStreet,XCoord,YCoord\n"
        "19-000001,2019-01,01/02/2019 10:00,Y, , ,1, ,51000,3,BURGLARY,100,MAIN ST,22, , ,100,MAIN,900000,1020000\n"
        "19-000002,2019-01,13/45/2019 10:00,Y, , ,1, ,51000,3,BURGLARY,100,MAIN ST,22, , ,100,MAIN,900000,1020000\n"
    )
    code, output = invoke("import", "stlouis", str(bad), "--strict")
    assert code == 1
    assert "line 3" in output and "DateOccur" in output and "13/45/2019 10:00" in output
    code, output = invoke("stats", "--json")
    assert json.loads(output) == [] or json.loads(output)[0]["incidents"] == 0

    code, output = invoke("import", "stlouis", str(bad), "--json")
    assert code == 0
    report = json.loads(output)
    assert report["totals"]["created"] == 1 and report["totals"]["rejected"] == 1
    problem = report["files"][0]["problems"][0]
    assert problem["line"] == 3 and problem["field"] == "DateOccur"


def test_missing_file_and_unknown_source_fail_clearly(cli_env: dict[str, str], tmp_path: Path) -> None:
    code, output = invoke("import", "stlouis", str(tmp_path / "nope.csv"))
    assert code == 1
    assert "no such file" in output
    code, output = invoke("import", "atlantis", str(tmp_path))
    assert code == 1
    assert "unknown source 'atlantis'" in output and "stlouis" in output
    code, output = invoke("stats", "--agency", "NOPE")
    assert code == 1 and "unknown agency" in output


def test_db_upgrade_is_repeatable(cli_env: dict[str, str]) -> None:
    assert invoke("db", "upgrade")[0] == 0
    common.engine.cache_clear()
    code, output = invoke("db", "upgrade")
    assert code == 0 and "database ready" in output


def test_demo_loads_bundled_sample_and_user(cli_env: dict[str, str]) -> None:
    code, output = invoke("demo", "--no-serve")
    assert code == 0, output
    assert "demo" in output and "openilp-demo-analyst" in output
    code, output = invoke("stats", "--json")
    (stats,) = json.loads(output)
    assert stats["by_year"].get("2019", 0) > 40000
    code, output = invoke("demo", "--no-serve")
    assert code == 0 and "already loaded" in output


def test_mapping_errors_keep_their_table_names(cli_env: dict[str, str], tmp_path: Path) -> None:
    from bad_input_corpus import HEADER, MAPPING, good_row

    mapping = tmp_path / "typo.toml"
    mapping.write_text(MAPPING.replace('precision = "minute"', 'precison = "minute"'), encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_text(f"{HEADER}\n{good_row('A1', 1)}\n", encoding="utf-8")
    code, output = invoke("import", str(mapping), str(export))
    assert code == 1
    assert "typo.toml: unknown key(s) precison in [occurred]" in output


def test_piped_report_keeps_long_and_bracketed_file_names_whole(
    cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bad_input_corpus import HEADER, MAPPING, good_row

    from openilp.cli import common

    # Test runners may export COLUMNS, which Rich reads once when the console is built; a plain pipe has none.
    monkeypatch.delenv("COLUMNS", raising=False)
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "_width", None)

    mapping = tmp_path / "corpus.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    name = "[bold]month[red]_" + "x" * 160 + ".csv"
    export = tmp_path / name
    export.write_text(f"{HEADER}\n{good_row('A1', 1)}\n{good_row('A2', 2, block='[red]1 MAIN ST')}\n", encoding="utf-8")
    code, output = invoke("import", str(mapping), str(export))
    assert code == 0, output
    row = next(line for line in output.splitlines() if "month" in line)
    assert name in row  # on one line, brackets and all: not cut to 80 columns, not read as markup
    assert row.split(name)[1].split()[:4] == ["│", "imported", "│", "2"]


def test_serve_keeps_idle_connections_open_longer_than_a_proxy(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's 5 s keep-alive closed connections that busy clients and proxies (60 s) were about to
    reuse: their next request got no response. ``openilp serve`` keeps them 65 s."""
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    code, output = invoke("serve", "--port", "8765")
    assert code == 0, output
    assert calls and calls[0]["timeout_keep_alive"] == 65
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 8765


def test_an_error_is_printed_on_one_line_whatever_the_terminal_width(cli_env: dict[str, str]) -> None:
    """A long error (a file name with spaces, a record number) is not broken at the terminal's width,
    so it can be read, copied and searched for as written."""
    long_name = "a folder name with spaces " * 5 + "missing.csv"
    code, output = invoke("import", "stlouis", long_name)
    assert code != 0
    assert long_name in output  # whole, on one line
