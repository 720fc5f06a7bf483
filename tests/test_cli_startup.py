"""The command line starts without its heavy dependencies (laziness, not timing: see bench/cli_startup.py).

``openilp --help``, ``--version`` and every ``openilp <command> --help`` must not import numpy,
pandas, SQLAlchemy, SciPy, scikit-learn, FastAPI or the services: those load inside the commands.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import openilp.cli
from openilp import constants
from openilp.services.accounts import audit_log
from openilp.services.analysis import forecasting
from openilp.services.analysis import nearrepeat as nearrepeat_service
from openilp.services.analysis import trends as trend_service
from openilp.services.intel import agreements as intel_agreements

HEAVY = ("numpy", "pandas", "sqlalchemy", "scipy", "sklearn", "fastapi", "uvicorn", "pyproj", "openilp.services")
CLI_DIR = Path(openilp.cli.__file__).parent

_PROBE = """
import json, sys
from typer.testing import CliRunner
from openilp.cli.main import app

runner = CliRunner()
invocations = [["--help"], ["--version"]] + [[name, "--help"] for name in json.loads(sys.argv[1])]
codes = {" ".join(args): runner.invoke(app, args).exit_code for args in invocations}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {h.split(".")[0] for h in json.loads(sys.argv[2])})
print(json.dumps({"codes": codes, "loaded": loaded}))
"""


def _top_level_names() -> list[str]:
    import typer

    from openilp.cli.main import app

    group = typer.main.get_command(app)
    return list(group.list_commands(None))  # type: ignore[attr-defined]


def test_help_and_version_import_nothing_heavy() -> None:
    names = _top_level_names()
    assert {"import", "knox", "forecast", "intel", "users", "serve"} <= set(names)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(names), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["codes"] and set(report["codes"].values()) == {0}, report["codes"]
    heavy = [m for m in report["loaded"] if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == [], f"--help/--version imported {heavy[:10]}"


def test_no_command_module_imports_main() -> None:
    """Command modules build their own Typer apps; only main.py assembles them (no import cycle)."""
    offenders = []
    for path in sorted(CLI_DIR.glob("*.py")):
        if path.name in {"main.py", "__init__.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            from_main = node.module == "openilp.cli.main"
            from_package = node.module == "openilp.cli" and any(a.name in {"main", "app"} for a in node.names)
            if from_main or from_package:
                offenders.append(path.name)
    assert offenders == []


def test_services_use_the_light_constants() -> None:
    """The CLI builds its defaults from openilp.constants; the services must use the same values."""
    assert nearrepeat_service.DEFAULT_SPACE_BANDS_M == constants.DEFAULT_SPACE_BANDS_M == (100, 200, 300, 400, 500)
    assert nearrepeat_service.DEFAULT_TIME_BANDS_DAYS == constants.DEFAULT_TIME_BANDS_DAYS
    assert trend_service.AREA_LEVELS == constants.AREA_LEVELS
    assert audit_log.MAX_PAGE_SIZE == constants.AUDIT_MAX_PAGE_SIZE
    assert intel_agreements.AGREEMENT_SCOPES == constants.AGREEMENT_SCOPES
    assert forecasting.CATEGORY_SETS == constants.CATEGORY_SETS
