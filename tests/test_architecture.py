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
