"""The documentation cannot drift from the code.

- every setting is documented in docs/configuration.md;
- docs/cli.md is exactly what scripts/gen_cli_docs.py generates, and names every command;
- the worked example of docs/import.md imports with the counts the guide states;
- every built-in source is described in docs/import.md;
- every relative link in the docs points to a file that exists.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from store_support import import_source

from openilp.config import SETTING_DOCS
from openilp.db.models import Incident
from openilp.ingest.spec import builtin_source_names, load_source_spec

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = REPO_ROOT / "docs"
EXAMPLES = DOCS / "examples"


def _load_generator() -> ModuleType:
    path = REPO_ROOT / "scripts" / "gen_cli_docs.py"
    spec = importlib.util.spec_from_file_location("gen_cli_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SETTING_DOCS))
def test_every_setting_is_documented(name: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"`{name}`" in text, f"document the setting {name} in docs/configuration.md"
    assert f"`OPENILP_{name.upper()}`" in text, f"document OPENILP_{name.upper()} in docs/configuration.md"


def test_configuration_names_the_config_file_and_test_variables() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    variables = [
        "OPENILP_CONFIG",
        "OPENILP_TEST_DATABASE_URL",
        "OPENILP_SHARED_DATA",
        "OPENILP_SHARED_REFERENCE",
        "OPENILP_BENCH_POSTGRES_URL",
    ]
    for variable in variables:
        assert f"`{variable}`" in text, f"document {variable} in docs/configuration.md"


# --- CLI reference ------------------------------------------------------------------------------


def test_cli_reference_is_up_to_date() -> None:
    generator = _load_generator()
    current = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert current == generator.render(), "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"


def test_every_cli_command_is_in_the_reference() -> None:
    import typer

    from openilp.cli import app

    generator = _load_generator()
    root = typer.main.get_command(app)
    paths = [path for path, _ in generator.iter_commands(root, root.context_class(root, info_name="openilp"))]
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    expected = {"openilp import", "openilp sources", "openilp stats", "openilp demo", "openilp serve"}
    expected |= {"openilp db upgrade", "openilp users create", "openilp users list"}
    assert expected <= set(paths)
    missing = [path for path in paths if f"## `{path}`" not in text]
    assert not missing, f"docs/cli.md lacks: {missing}"


# --- the worked example of the import guide -----------------------------------------------------


def test_worked_example_imports_with_the_documented_counts(sqlite_engine: Engine) -> None:
    spec = load_source_spec(EXAMPLES / "springfield.toml")
    report = import_source(sqlite_engine, spec, [EXAMPLES / "springfield.csv"], workers=1)

    # The counts printed in docs/import.md ("Worked example: Springfield PD").
    totals = {name: report.total(name) for name in ("rows_read", "rejected", "folded", "created")}
    assert totals == {"rows_read": 9, "rejected": 1, "folded": 1, "created": 7}
    for name in ("updated", "unchanged", "removed", "netted_out"):
        assert report.total(name) == 0
    assert report.total("outside_extent") == 1
    assert dict(report.unknown_codes) == {"TRESPASS": 1}
    assert [(p.line, p.field) for f in report.files for p in f.problems] == [(7, "occurred")]
    assert all(f.reconciles() for f in report.files)

    with Session(sqlite_engine) as session:
        statuses = dict(
            session.execute(select(Incident.location_status, func.count()).group_by(Incident.location_status)).all()
        )
        assert statuses == {"located": 5, "missing": 1, "outside": 1}
        burglary = session.scalars(select(Incident).where(Incident.source_key == "24-001234")).one()
        assert burglary.offence_description == "Burglary - residence (forced rear door)"
        assert burglary.occurred_from is not None
        assert burglary.occurred_from.strftime("%Y-%m-%d %H:%M") == "2024-03-01 14:15"  # 08:15 CST in UTC
        stolen = session.scalars(select(Incident).where(Incident.source_key == "24-001270")).one()
        assert stolen.occurred_from is not None
        assert stolen.occurred_from.strftime("%Y-%m-%d %H:%M") == "2024-03-10 08:00"  # 02:30 does not exist

    again = import_source(sqlite_engine, spec, [EXAMPLES / "springfield.csv"], workers=1)
    assert [f.status for f in again.files] == ["already imported"]


def test_worked_example_in_the_guide_matches_the_example_files() -> None:
    text = (DOCS / "import.md").read_text(encoding="utf-8")
    for name in ("springfield.csv", "springfield.toml"):
        content = (EXAMPLES / name).read_text(encoding="utf-8").strip()
        assert content in text, f"docs/import.md must show docs/examples/{name} exactly"


# --- built-in sources ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", builtin_source_names())
def test_every_builtin_source_is_described(name: str) -> None:
    text = (DOCS / "import.md").read_text(encoding="utf-8")
    assert f"### `{name}`" in text, f"describe the built-in source {name} in docs/import.md"


# --- links --------------------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _documents() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _strip_code(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("document", _documents(), ids=lambda p: p.name)
def test_relative_links_point_to_existing_files(document: Path) -> None:
    broken = []
    for target in LINK.findall(_strip_code(document.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # absolute URLs and links within the page
        path = target.split("#", 1)[0]
        if not (document.parent / path).exists():
            broken.append(target)
    assert not broken, f"{document.name}: links to missing files: {broken}"
