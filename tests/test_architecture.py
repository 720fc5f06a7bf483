"""The floors of docs/architecture.md hold: no layer imports a layer above it, no import cycles.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and list no exception; this test
runs them, and checks that a deliberately upward import would be caught.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run([command, "--no-cache", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept_with_no_exceptions() -> None:
    config = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "ignore_imports" not in config, "the layers contract must list no exceptions"
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """Copy the package, make the pure library import a service, and watch the contract fail."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "openilp", copy / "openilp", ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    offender = copy / "openilp" / "analysis" / "upward.py"
    offender.write_text(
        textwrap.dedent('"""An upward import."""\nimport openilp.services.analysis.events  # noqa: F401\n')
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, '.'); "
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "openilp.analysis is not allowed to import openilp.services" in result.stdout


@pytest.mark.parametrize("module", ["openilp.core", "openilp.errors", "openilp.security.actors"])
def test_core_floors_import_no_shell_or_service(module: str) -> None:
    code = (
        f"import sys, {module}; bad = [m for m in sys.modules if m.startswith(('openilp.services', "
        "'openilp.web', 'openilp.cli'))]; print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_routes_open_no_database_session_and_write_no_audit_entry() -> None:
    """Routes are thin: the services own sessions, commits and audit entries (through the core object)."""
    import ast

    forbidden_modules = ("sqlalchemy", "openilp.db")
    forbidden_names = {"db_session", "record_event", "session_scope"}
    offenders = []
    for path in sorted((REPO / "openilp" / "web" / "routes").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith(forbidden_modules) or forbidden_names & {a.name for a in node.names}:
                    offenders.append(f"{path.relative_to(REPO)}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                offenders += [
                    f"{path.relative_to(REPO)}: import {a.name}"
                    for a in node.names
                    if a.name.startswith(forbidden_modules)
                ]
            elif isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback"):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: .{node.attr}()")
    assert offenders == []


#: Public service functions that may return ``dict[str, Any]``: each returns a document written out
#: as it is, whose members RFC 7946 (GeoJSON) and the caller's metadata fix, or the federation
#: protocol's answer that a partner instance reads (docs/sharing.md). Nothing else may: a result is
#: a frozen dataclass, or a precise TypedDict where the value is a document (docs/architecture.md,
#: "Typed results").
DOCUMENT_RETURNS = {
    "openilp/services/analysis/forecasting.py:forecast_facts": "the `forecast` member of the forecast GeoJSON",
    "openilp/services/analysis/forecasting.py:forecast_geojson": "the forecast as a GeoJSON FeatureCollection",
    "openilp/services/analysis/incident_cells.py:incident_cells": "cell counts as a GeoJSON FeatureCollection",
    "openilp/services/analysis/incidents.py:incident_features": "incidents as a GeoJSON FeatureCollection",
    "openilp/services/federation/hello.py:answer_hello": "the federation protocol's answer to a partner's hello",
    "openilp/services/federation/search.py:answer_search": "the federation protocol's answer to a partner's search",
    "openilp/services/federation/propagation.py:answer_notice": "the federation protocol's answer to a notice",
    "openilp/services/deconfliction/partner_answer.py:answer_partner_check": (
        "the federation protocol's answer to a partner's deconfliction check"
    ),
    "openilp/services/deconfliction/partner_notices.py:answer_partner_closure": (
        "the federation protocol's answer to a partner's notice that its events closed"
    ),
}
_UNTYPED_RETURNS = {"dict[str, Any]", "Dict[str, Any]", "dict[str, object]", "dict"}


def untyped_service_returns(root: Path) -> list[str]:
    """``path:function`` of every public module-level function under ``root/openilp/services``
    whose return annotation is an untyped dict (:data:`_UNTYPED_RETURNS`)."""
    import ast

    found = []
    for path in sorted((root / "openilp" / "services").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_"):
                continue
            if node.returns is not None and ast.unparse(node.returns) in _UNTYPED_RETURNS:
                found.append(f"{path.relative_to(root).as_posix()}:{node.name}")
    return found


def test_service_functions_return_typed_results() -> None:
    """The service contract: no public service function hands a shell an untyped ``dict[str, Any]``."""
    offenders = [name for name in untyped_service_returns(REPO) if name not in DOCUMENT_RETURNS]
    assert offenders == []
    stale = sorted(set(DOCUMENT_RETURNS) - set(untyped_service_returns(REPO)))
    assert stale == [], "an exception that no longer applies must leave DOCUMENT_RETURNS"


def test_an_untyped_service_result_is_caught(tmp_path: Path) -> None:
    services = tmp_path / "openilp" / "services" / "example"
    services.mkdir(parents=True)
    (services / "things.py").write_text(
        textwrap.dedent(
            """
            from typing import Any

            def thing_summary(thing: object) -> dict[str, Any]:
                return {"thing": thing}

            def _private(thing: object) -> dict[str, Any]:
                return {}
            """
        ),
        encoding="utf-8",
    )
    assert untyped_service_returns(tmp_path) == ["openilp/services/example/things.py:thing_summary"]


def test_no_shell_opens_a_database_session() -> None:
    """Neither the web app nor the command line opens a session: the services' units of work do."""
    import ast

    offenders = []
    for path in sorted([*(REPO / "openilp" / "web").rglob("*.py"), *(REPO / "openilp" / "cli").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {a.name for a in node.names}
                if node.module.startswith("sqlalchemy.orm") or "session_scope" in names or "Session" in names:
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: from {node.module} import ...")
    assert offenders == []
