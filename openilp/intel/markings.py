"""TLP 2.0 markings beside the 28 CFR handling codes, and the rule that each hop may only narrow.

The Traffic Light Protocol (FIRST, TLP 2.0, 2022) says how far a recipient may pass information
on: ``TLP:CLEAR`` (no limit), ``TLP:GREEN`` (the community, not published), ``TLP:AMBER`` (the
recipient's organisation and its clients, need to know), ``TLP:AMBER+STRICT`` (the recipient's
organisation only) and ``TLP:RED`` (the named recipients only). The handling code of 28 CFR 23.20(g)
says whether lawful sharing is permitted outright (``P``) or with conditions (``C``).

MISP's rule for sharing along a chain is that every hop may keep or **narrow** what it received,
never widen it: a later release may carry a stricter TLP level, add conditions, or reach fewer
agencies, but never the reverse. :func:`check_narrowing` applies it and names what would widen.

>>> narrower_or_equal("TLP:RED", "TLP:AMBER")
True
>>> check_narrowing(Marking("TLP:AMBER", "P"), Marking("TLP:GREEN", "P"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
openilp.intel.markings.MarkingWidened: refused: TLP:GREEN is wider than the TLP:AMBER it was received under...
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from openilp.errors import InvalidRequest

__all__ = [
    "TLP_LEVELS",
    "TLP_MEANINGS",
    "TLP_ONWARD",
    "TLP_COLOURS",
    "HANDLING_RANK",
    "DEFAULT_TLP",
    "MarkingWidened",
    "Marking",
    "parse_tlp",
    "default_tlp",
    "narrower_or_equal",
    "check_narrowing",
    "onward_allowed",
]

#: TLP 2.0 levels, widest first.
TLP_LEVELS: tuple[str, ...] = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED")
#: What each level allows its recipients (FIRST, TLP 2.0).
TLP_MEANINGS: dict[str, str] = {
    "TLP:CLEAR": "Disclosure is not limited.",
    "TLP:GREEN": "Limited disclosure: may be shared within the community, not published.",
    "TLP:AMBER": "Limited disclosure: recipients' organisations and their clients, on a need-to-know basis.",
    "TLP:AMBER+STRICT": "Limited disclosure: the recipient's organisation only, on a need-to-know basis.",
    "TLP:RED": "For the eyes and ears of individual recipients only, no further disclosure.",
}
#: Who may see an item beyond its named recipient, by level (what the preview says).
TLP_ONWARD: dict[str, str] = {
    "TLP:CLEAR": "anyone: disclosure is not limited",
    "TLP:GREEN": "the community: law-enforcement users of the receiving agencies and their partners, never the public",
    "TLP:AMBER": "the receiving agency's law-enforcement users with a need to know, and its clients",
    "TLP:AMBER+STRICT": "the receiving agency's law-enforcement users with a need to know, no one outside it",
    "TLP:RED": "nobody else: the named recipient only",
}
#: How each level is shown (FIRST, TLP 2.0, "TLP colours"): the label's text colour on a black
#: background, as hex RGB. AMBER+STRICT is shown in amber; the label always spells the level out,
#: so it never rests on colour alone.
TLP_COLOURS: dict[str, str] = {
    "TLP:CLEAR": "#FFFFFF",
    "TLP:GREEN": "#33FF00",
    "TLP:AMBER": "#FFC000",
    "TLP:AMBER+STRICT": "#FFC000",
    "TLP:RED": "#FF2B2B",
}
#: 28 CFR handling codes, widest first: P (lawful sharing permitted), C (with conditions).
HANDLING_RANK: dict[str, int] = {"P": 0, "C": 1}
#: The marking of a record that states none: its organisation's eyes only, need to know.
DEFAULT_TLP = "TLP:AMBER"


class MarkingWidened(InvalidRequest):
    """A hop would widen the marking, handling code or audience it received; the message says which."""


def parse_tlp(value: object) -> str:
    """A TLP 2.0 level in its canonical form (``amber+strict`` → ``TLP:AMBER+STRICT``).

    >>> parse_tlp("amber+strict"), parse_tlp("TLP:RED"), parse_tlp("white")
    ('TLP:AMBER+STRICT', 'TLP:RED', 'TLP:CLEAR')
    """
    text = str(value or "").strip().upper().replace(" ", "")
    if not text.startswith("TLP:"):
        text = "TLP:" + text
    if text == "TLP:WHITE":  # TLP 1.0's name for CLEAR
        text = "TLP:CLEAR"
    if text not in TLP_LEVELS:
        raise InvalidRequest(f"tlp: {str(value)[:40]!r} is not a TLP 2.0 level (choose {', '.join(TLP_LEVELS)})")
    return text


def default_tlp(sensitivity: str) -> str:
    """The marking a record gets when none is chosen: ``TLP:RED`` when restricted, else ``TLP:AMBER``."""
    return "TLP:RED" if sensitivity == "restricted" else DEFAULT_TLP


def narrower_or_equal(proposed: str, received: str) -> bool:
    """Whether TLP level ``proposed`` is as strict as ``received`` or stricter."""
    return TLP_LEVELS.index(parse_tlp(proposed)) >= TLP_LEVELS.index(parse_tlp(received))


@dataclass(frozen=True)
class Marking:
    """What travels with an item: TLP level, handling code and, when known, the audience (agency codes)."""

    tlp: str
    handling_code: str = "P"
    audience: frozenset[str] | None = None


def check_narrowing(received: Marking, proposed: Marking, *, item: str = "this item") -> None:
    """Refuse (:class:`MarkingWidened`) a hop that would widen what ``item`` was received under.

    The TLP level may stay or get stricter; handling code ``C`` may not become ``P``; the audience
    may only lose agencies (an unknown received audience limits nothing beyond the marking).
    """
    if not narrower_or_equal(proposed.tlp, received.tlp):
        raise MarkingWidened(
            f"refused: {proposed.tlp} is wider than the {received.tlp} it was received under; each hop may "
            f"only keep or narrow the marking of {item} (choose {', '.join(_at_least(received.tlp))})"
        )
    if HANDLING_RANK.get(proposed.handling_code, 0) < HANDLING_RANK.get(received.handling_code, 0):
        raise MarkingWidened(
            f"refused: handling code {proposed.handling_code} would drop the conditions (code "
            f"{received.handling_code}) {item} was received with"
        )
    if received.audience is not None and proposed.audience is not None:
        outside = sorted(set(proposed.audience) - set(received.audience))
        if outside:
            raise MarkingWidened(
                f"refused: {', '.join(outside)} {'is' if len(outside) == 1 else 'are'} outside the audience "
                f"{item} was received for ({', '.join(sorted(received.audience)) or 'nobody'}); each hop may "
                "only narrow the audience"
            )


def _at_least(level: str) -> list[str]:
    return list(TLP_LEVELS[TLP_LEVELS.index(level) :])


def onward_allowed(received_tlp: str, recipient_agencies: Collection[str], own_agency: str) -> str | None:
    """Why a received item may not be passed to ``recipient_agencies`` at all by its TLP level, or None.

    ``TLP:RED`` goes no further than its named recipients; ``TLP:AMBER+STRICT`` not outside the
    receiving organisation.
    """
    level = parse_tlp(received_tlp)
    others = sorted(set(recipient_agencies) - {own_agency})
    if level == "TLP:RED" and recipient_agencies:
        return "refused: it was received as TLP:RED (named recipients only): no further disclosure"
    if level == "TLP:AMBER+STRICT" and others:
        return (
            f"refused: it was received as TLP:AMBER+STRICT (the receiving organisation only): "
            f"{', '.join(others)} {'is' if len(others) == 1 else 'are'} outside {own_agency}"
        )
    return None
