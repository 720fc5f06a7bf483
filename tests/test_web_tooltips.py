"""Map tooltips show free text as text: Leaflet inserts a string tooltip as HTML.

A problem's boundary names, neighbourhood names and the reasons of a deployment come from data
files and users; bound as strings they were markup (an HTML injection the CSP only happened to
stop). Every ``bindTooltip`` call of the app's scripts must pass ``textTip(...)``, a text node.
"""

from __future__ import annotations

import re

from openilp.web.context import STATIC_DIR

SCRIPTS = sorted((STATIC_DIR / "js").glob("*.js"))


def test_every_tooltip_is_a_text_node() -> None:
    assert SCRIPTS
    unsafe = [
        f"{script.name}:{text[: match.start()].count(chr(10)) + 1}"
        for script in SCRIPTS
        for text in [script.read_text(encoding="utf-8")]
        for match in re.finditer(r"bindTooltip\((?!textTip\()", text)
    ]
    assert unsafe == [], f"bindTooltip with a string (use textTip): {unsafe}"


def test_text_tip_sets_text_content_only() -> None:
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        if "bindTooltip(" in text:
            helper = re.search(r"function textTip\(text\) \{(.*?)\n  \}", text, re.S)
            assert helper, script.name
            assert "textContent = String(text)" in helper.group(1) and "innerHTML" not in helper.group(1)
