"""Handling markings of a product: the most restrictive of its items, on every page.

Each item a product holds (a trend table, a map of incidents, an intelligence record) carries a
Traffic Light Protocol level (FIRST TLP 2.0: CLEAR < GREEN < AMBER < AMBER+STRICT < RED; the levels and
their meanings are those of :mod:`openilp.intel.markings`, the one list the whole system uses), and an
intelligence record also its handling code (``P``: lawful sharing permitted; ``C``: with
conditions) and the 28 CFR Part 23 caveat. A product is marked with the most restrictive of them,
so a page never understates what it carries. Items marked ``restricted`` (sensitivity
"restricted" in the intelligence store, or TLP:RED) never enter a product: they are redacted with a
statement of which, or the product is refused (:func:`screen_items`).

>>> table = ContentItem("Trend table", "TLP:GREEN")
>>> record = ContentItem("Intelligence record #7", "TLP:AMBER", handling_code="C",
...                      handling_conditions="Not to be shared outside the task force",
...                      criminal_intelligence=True)
>>> marking = most_restrictive([table, record])
>>> marking.tlp, marking.handling_code
('TLP:AMBER', 'C')
>>> marking.header_text()
'TLP:AMBER · HANDLING CODE C · 28 CFR PART 23 CRIMINAL INTELLIGENCE'
>>> kept, withheld = screen_items([table, ContentItem("Intelligence record #9", "TLP:RED", restricted=True)])
>>> [i.label for i in kept], withheld
(['Trend table'], ('Intelligence record #9',))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openilp.intel.markings import TLP_LEVELS, TLP_MEANINGS

__all__ = [
    "CAVEAT_CRIMINAL_INTELLIGENCE",
    "CAVEAT_NO_INTELLIGENCE",
    "TLP_LEVELS",
    "TLP_MEANINGS",
    "ContentItem",
    "Marking",
    "RestrictedContent",
    "check_tlp",
    "most_restrictive",
    "screen_items",
]

#: The caveat of a product holding criminal intelligence (28 CFR 23.20(e), (f), (g)).
CAVEAT_CRIMINAL_INTELLIGENCE = (
    "Contains criminal intelligence under 28 CFR Part 23: for law-enforcement recipients with a need "
    "and a right to know; no further dissemination without the originating agency's approval."
)
#: The caveat of a product holding none (it says so, rather than staying silent).
CAVEAT_NO_INTELLIGENCE = "No criminal intelligence (28 CFR Part 23) records: crime statistics and incident data only."

_HANDLING_RANK = {"": 0, "P": 1, "C": 2}


class RestrictedContent(ValueError):
    """A product would include restricted items and the policy is to refuse; names them."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        super().__init__(
            "refused: the product would include restricted items (" + ", ".join(self.labels) + "); "
            "leave them out or ask their control official"
        )


def check_tlp(level: str) -> str:
    """``level`` when it is a TLP 2.0 level (``TLP:AMBER``), else ValueError naming the choices."""
    if level not in TLP_LEVELS:
        raise ValueError(f"unknown TLP level {level!r}; choose one of {', '.join(TLP_LEVELS)}")
    return level


@dataclass(frozen=True)
class ContentItem:
    """One thing a product shows, with its handling.

    ``handling_code`` and ``handling_conditions`` come from an intelligence record (``P`` or ``C``);
    ``criminal_intelligence`` marks a 28 CFR Part 23 record; ``restricted`` items never go out.
    """

    label: str
    tlp: str
    handling_code: str = ""
    handling_conditions: str = ""
    criminal_intelligence: bool = False
    restricted: bool = False

    def __post_init__(self) -> None:
        check_tlp(self.tlp)
        if self.handling_code not in _HANDLING_RANK:
            raise ValueError(f"unknown handling code {self.handling_code!r} (P, C or empty)")


@dataclass(frozen=True)
class Marking:
    """The marking of a whole product: the most restrictive TLP, handling code and caveats."""

    tlp: str
    handling_code: str = ""
    handling_conditions: tuple[str, ...] = ()
    criminal_intelligence: bool = False

    @property
    def caveat(self) -> str:
        """The 28 CFR Part 23 caveat (or the statement that there is no intelligence)."""
        return CAVEAT_CRIMINAL_INTELLIGENCE if self.criminal_intelligence else CAVEAT_NO_INTELLIGENCE

    @property
    def meaning(self) -> str:
        """What the TLP level allows."""
        return TLP_MEANINGS[self.tlp]

    def header_text(self) -> str:
        """The line at the top of every page."""
        parts = [self.tlp]
        if self.handling_code:
            parts.append(f"HANDLING CODE {self.handling_code}")
        parts.append("28 CFR PART 23 CRIMINAL INTELLIGENCE" if self.criminal_intelligence else "LAW ENFORCEMENT USE")
        return " · ".join(parts)

    def footer_text(self) -> str:
        """The line at the foot of every page: the level again and the caveat."""
        return f"{self.tlp} · {self.caveat}"

    def as_dict(self) -> dict[str, object]:
        return {
            "tlp": self.tlp,
            "handling_code": self.handling_code,
            "handling_conditions": list(self.handling_conditions),
            "criminal_intelligence": self.criminal_intelligence,
            "header": self.header_text(),
            "footer": self.footer_text(),
        }


def most_restrictive(items: Iterable[ContentItem]) -> Marking:
    """The marking of a product holding ``items`` (TLP:CLEAR when it holds nothing marked)."""
    chosen = list(items)
    tlp = max((i.tlp for i in chosen), key=TLP_LEVELS.index, default="TLP:CLEAR")
    code = max((i.handling_code for i in chosen), key=_HANDLING_RANK.__getitem__, default="")
    conditions = tuple(dict.fromkeys(i.handling_conditions for i in chosen if i.handling_conditions))
    return Marking(tlp, code, conditions, any(i.criminal_intelligence for i in chosen))


def screen_items(
    items: Iterable[ContentItem], *, on_restricted: str = "redact"
) -> tuple[list[ContentItem], tuple[str, ...]]:
    """Split ``items`` into those a product may carry and the labels of the restricted ones withheld.

    ``on_restricted`` is ``"redact"`` (leave them out; the product states which) or ``"refuse"``
    (raise :class:`RestrictedContent` naming them). TLP:RED items count as restricted: a product is
    sent to a list, never to individual eyes only.
    """
    if on_restricted not in ("redact", "refuse"):
        raise ValueError(f"on_restricted must be redact or refuse, got {on_restricted!r}")
    kept: list[ContentItem] = []
    withheld: list[str] = []
    for item in items:
        if item.restricted or item.tlp == "TLP:RED":
            withheld.append(item.label)
        else:
            kept.append(item)
    if withheld and on_restricted == "refuse":
        raise RestrictedContent(withheld)
    return kept, tuple(withheld)
