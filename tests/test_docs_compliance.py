"""docs/compliance-28cfr23.md cannot drift: every rule is listed, every test and code name exists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = REPO_ROOT / "docs" / "compliance-28cfr23.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
CODE_REF = re.compile(r"`((?:intel|services|security|web|db)\.[\w.]+)`")


def _rows() -> dict[str, str]:
    """The 23.20 table: section letter -> the whole row."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| \(([a-n])\) \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_operating_principle_has_a_row() -> None:
    assert sorted(_rows()) == list("abcdefghijklmn")


def test_every_row_names_code_and_a_test_or_says_why_not() -> None:
    for letter, row in _rows().items():
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4, f"({letter}) needs four cells"
        assert cells[2], f"({letter}) must say where the rule is enforced"
        assert TEST_REF.search(cells[3]) or (cells[3] == "—" and "Not a software rule" in cells[2]), (
            f"({letter}) must name a test, or say it is not a software rule"
        )


@pytest.mark.parametrize(("file", "name"), sorted(set(TEST_REF.findall(DOC.read_text(encoding="utf-8")))))
def test_referenced_test_exists(file: str, name: str) -> None:
    path = REPO_ROOT / file
    assert path.is_file(), f"{file} does not exist"
    assert name in _test_names(path), f"{file} has no test named {name}"


@pytest.mark.parametrize("dotted", sorted(set(CODE_REF.findall(DOC.read_text(encoding="utf-8")))))
def test_referenced_code_exists(dotted: str) -> None:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module("openilp." + ".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            assert hasattr(target, attribute), f"openilp.{dotted} does not exist"
            target = getattr(target, attribute)
        return
    pytest.fail(f"openilp.{dotted} does not exist")
