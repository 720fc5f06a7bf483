"""The default install uses permissively licensed dependencies only (no GPL, AGPL or LGPL).

Walks the runtime requirements of the installed ``openilp`` distribution (extras excluded) and
reads each package's licence metadata. Copyleft packages may only be optional extras, documented
as such (``psycopg`` is one).
"""

from __future__ import annotations

import importlib.metadata as metadata

from packaging.requirements import Requirement

COPYLEFT_MARKERS = ("GPL", "GNU General Public", "GNU Lesser", "GNU Affero")
#: Packages offered under a choice of licences, and the non-GPL one OpenILP takes them under. Each
#: choice is checked to be on offer in the package's own metadata, so a relicensing fails the test.
ELECTED_LICENCES = {
    # WeasyPrint's hyphenation dictionary reader: "GPL-2.0+ or LGPL-2.1+ or MPL-1.1", used unmodified.
    "pyphen": "Mozilla Public License 1.1 (MPL 1.1)",
}


def _licence_text(dist: metadata.Distribution) -> str:
    expression = dist.metadata.get("License-Expression") or ""
    classifiers = [c for c in (dist.metadata.get_all("Classifier") or []) if c.startswith("License")]
    first_line = (dist.metadata.get("License") or "").strip().splitlines()[:1]
    return " | ".join([expression, *classifiers, *first_line])


def runtime_distributions() -> dict[str, str]:
    """Every distribution the default install needs -> its licence summary."""
    found: dict[str, str] = {}
    pending = ["openilp"]
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        dist = metadata.distribution(name)
        found[key] = _licence_text(dist)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            pending.append(requirement.name)
    return found


def test_default_install_has_no_copyleft_dependency() -> None:
    licences = runtime_distributions()
    assert "numpy" in licences and "fastapi" in licences  # the walk reached the real tree
    copyleft = {
        name: text
        for name, text in licences.items()
        if any(m in text for m in COPYLEFT_MARKERS) and name not in ELECTED_LICENCES
    }
    assert copyleft == {}, f"copyleft packages in the default install: {copyleft}"


def test_elected_licences_are_still_offered() -> None:
    """A package taken under one of several licences still offers that one (else the choice is gone)."""
    licences = runtime_distributions()
    for name, elected in ELECTED_LICENCES.items():
        if name in licences:
            assert elected in licences[name], f"{name} no longer offers {elected}: {licences[name]}"
    assert "pyphen" in licences  # WeasyPrint's dependency: the walk reached it


def test_postgres_driver_in_default_install_is_permissive() -> None:
    licences = runtime_distributions()
    assert "pg8000" in licences
    assert "psycopg" not in licences  # LGPL: an optional extra only
