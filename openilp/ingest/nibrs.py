"""Offence codes of the FBI's National Incident-Based Reporting System (NIBRS 2019) and the mapping to them.

Pure data, no database. NIBRS classifies every offence with one code (``13A`` aggravated assault,
``23F`` theft from motor vehicle, ``90D`` driving under the influence …). Group A offences are
reported as incidents; Group B offences (the ``90`` codes) are reported only when someone is
arrested for them (FBI, *NIBRS User Manual*, 2019, section 2).

OpenILP maps an incident to a NIBRS offence in two steps, and never guesses:

1. the **source** may name the NIBRS offence of its own codes (``[nibrs]`` in its TOML description:
   SLMPD's 64xxx codes are all thefts from motor vehicles, ``23F``);
2. otherwise the **common category** decides, but only when it holds exactly one NIBRS offence
   (``nibrs`` in ``categories.toml``: robbery is always ``120``, while larceny spans ``23A``–``23H``).

Anything else is a gap, reported with its reason (:data:`GAP_REASONS`).

>>> resolve_offence("robbery", "31111", None)
NibrsOffenceMatch(offence='120', reason='')
>>> resolve_offence("larceny", "60000", None).reason
'ambiguous_category'
>>> NIBRS_OFFENCES["23F"].group
'A'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from openilp.ingest.categories import load_category_definitions

__all__ = [
    "GAP_REASONS",
    "INCIDENT_GAP_REASONS",
    "NIBRS_OFFENCES",
    "NibrsOffence",
    "NibrsOffenceMatch",
    "NibrsSourceMapping",
    "category_nibrs_offences",
    "resolve_offence",
]


@dataclass(frozen=True)
class NibrsOffence:
    """One NIBRS offence: its code, its name, group ``A`` or ``B``, and what it is a crime against."""

    code: str
    label: str
    group: str
    against: str


def _table(rows: tuple[tuple[str, str, str, str], ...]) -> dict[str, NibrsOffence]:
    return {code: NibrsOffence(code, label, group, against) for code, label, group, against in rows}


#: The NIBRS 2019 offence codes (``nibrs-codes.xsd``, ``NIBRSOffenseCodeSimpleType``; FBI, *NIBRS User
#: Manual*, 2019): code -> offence. ``against`` is ``person``, ``property`` or ``society``.
NIBRS_OFFENCES: dict[str, NibrsOffence] = _table(
    (
        ("09A", "Murder and nonnegligent manslaughter", "A", "person"),
        ("09B", "Negligent manslaughter", "A", "person"),
        ("09C", "Justifiable homicide", "A", "person"),
        ("100", "Kidnapping/abduction", "A", "person"),
        ("11A", "Rape", "A", "person"),
        ("11B", "Sodomy", "A", "person"),
        ("11C", "Sexual assault with an object", "A", "person"),
        ("11D", "Fondling", "A", "person"),
        ("120", "Robbery", "A", "property"),
        ("13A", "Aggravated assault", "A", "person"),
        ("13B", "Simple assault", "A", "person"),
        ("13C", "Intimidation", "A", "person"),
        ("200", "Arson", "A", "property"),
        ("210", "Extortion/blackmail", "A", "property"),
        ("220", "Burglary/breaking and entering", "A", "property"),
        ("23A", "Pocket-picking", "A", "property"),
        ("23B", "Purse-snatching", "A", "property"),
        ("23C", "Shoplifting", "A", "property"),
        ("23D", "Theft from building", "A", "property"),
        ("23E", "Theft from coin-operated machine or device", "A", "property"),
        ("23F", "Theft from motor vehicle", "A", "property"),
        ("23G", "Theft of motor vehicle parts or accessories", "A", "property"),
        ("23H", "All other larceny", "A", "property"),
        ("240", "Motor vehicle theft", "A", "property"),
        ("250", "Counterfeiting/forgery", "A", "property"),
        ("26A", "False pretenses/swindle/confidence game", "A", "property"),
        ("26B", "Credit card/automated teller machine fraud", "A", "property"),
        ("26C", "Impersonation", "A", "property"),
        ("26D", "Welfare fraud", "A", "property"),
        ("26E", "Wire fraud", "A", "property"),
        ("26F", "Identity theft", "A", "property"),
        ("26G", "Hacking/computer invasion", "A", "property"),
        ("270", "Embezzlement", "A", "property"),
        ("280", "Stolen property offenses", "A", "property"),
        ("290", "Destruction/damage/vandalism of property", "A", "property"),
        ("35A", "Drug/narcotic violations", "A", "society"),
        ("35B", "Drug equipment violations", "A", "society"),
        ("36A", "Incest", "A", "person"),
        ("36B", "Statutory rape", "A", "person"),
        ("370", "Pornography/obscene material", "A", "society"),
        ("39A", "Betting/wagering", "A", "society"),
        ("39B", "Operating/promoting/assisting gambling", "A", "society"),
        ("39C", "Gambling equipment violations", "A", "society"),
        ("39D", "Sports tampering", "A", "society"),
        ("40A", "Prostitution", "A", "society"),
        ("40B", "Assisting or promoting prostitution", "A", "society"),
        ("40C", "Purchasing prostitution", "A", "society"),
        ("510", "Bribery", "A", "property"),
        ("520", "Weapon law violations", "A", "society"),
        ("64A", "Human trafficking, commercial sex acts", "A", "person"),
        ("64B", "Human trafficking, involuntary servitude", "A", "person"),
        ("720", "Animal cruelty", "A", "society"),
        ("90A", "Bad checks", "B", "property"),
        ("90B", "Curfew/loitering/vagrancy violations", "B", "society"),
        ("90C", "Disorderly conduct", "B", "society"),
        ("90D", "Driving under the influence", "B", "society"),
        ("90E", "Drunkenness", "B", "society"),
        ("90F", "Family offenses, nonviolent", "B", "society"),
        ("90G", "Liquor law violations", "B", "society"),
        ("90H", "Peeping tom", "B", "society"),
        ("90I", "Runaway", "B", "society"),
        ("90J", "Trespass of real property", "B", "society"),
        ("90Z", "All other offenses", "B", "society"),
    )
)

#: Why an offence is not in a NIBRS export: reason -> what it means.
GAP_REASONS: dict[str, str] = {
    "no_category": "the source code maps to no common category",
    "not_nibrs": "no NIBRS offence: the category holds none (calls for service) or the source says so (traffic)",
    "ambiguous_category": "the category spans several NIBRS offences and the source code does not say which",
    "group_b_without_arrest": (
        "a Group B offence, reported to NIBRS only with an arrest, and the source holds no arrests"
    ),
}

#: Why a whole incident is not in a NIBRS export although an offence of it maps.
INCIDENT_GAP_REASONS: dict[str, str] = {
    "incident_number_too_long": "the record number is longer than the 12 characters of NIBRS element 2",
    "no_incident_date": "neither the day it occurred nor the day it was reported is known",
}


@dataclass(frozen=True)
class NibrsSourceMapping:
    """A source's own codes -> NIBRS offence (``[nibrs]`` of its TOML description).

    ``codes`` maps exact codes; ``ranges`` maps numeric codes ``low <= code <= high``; ``outside``
    lists codes that are no NIBRS offence at all (a traffic offence such as leaving the scene of an
    accident).

    >>> NibrsSourceMapping(ranges=((64000, 64999, "23F"),)).offence_of("64701")
    '23F'
    """

    codes: dict[str, str] = field(default_factory=dict)
    ranges: tuple[tuple[int, int, str], ...] = ()
    outside: frozenset[str] = frozenset()

    def is_outside(self, code: str | None) -> bool:
        """Whether the source says ``code`` is no NIBRS offence."""
        return code is not None and code.strip() in self.outside

    def offence_of(self, code: str | None) -> str | None:
        """The NIBRS offence the source gives ``code``, or None when it does not say."""
        if code is None:
            return None
        text = code.strip()
        if text in self.codes:
            return self.codes[text]
        if self.ranges and text.lstrip("-").isdigit():
            number = int(text)
            for low, high, offence in self.ranges:
                if low <= number <= high:
                    return offence
        return None


@cache
def category_nibrs_offences() -> dict[str, tuple[str, ...]]:
    """Each common category's NIBRS offences (``nibrs`` in ``categories.toml``); one means a mapping.

    >>> category_nibrs_offences()["burglary"], category_nibrs_offences()["traffic"]
    (('220',), ())
    """
    out: dict[str, tuple[str, ...]] = {}
    for code, spec in load_category_definitions().items():
        offences = tuple(str(value) for value in spec.get("nibrs", []))  # type: ignore[attr-defined]
        unknown = [value for value in offences if value not in NIBRS_OFFENCES]
        if unknown:
            raise ValueError(f"category {code}: {', '.join(unknown)} is not a NIBRS 2019 offence code")
        out[code] = offences
    return out


@dataclass(frozen=True)
class NibrsOffenceMatch:
    """The NIBRS offence of one incident, or the reason there is none (a key of :data:`GAP_REASONS`)."""

    offence: str | None
    reason: str = ""


def resolve_offence(
    category: str | None, source_code: str | None, source_mapping: NibrsSourceMapping | None
) -> NibrsOffenceMatch:
    """The NIBRS offence of an incident of ``category`` with the source's ``source_code``.

    The source's own mapping wins; else a category with exactly one NIBRS offence. Group B
    offences come back with the offence *and* the reason ``group_b_without_arrest``: they are known,
    but cannot be reported without an arrest.

    >>> resolve_offence("dui", "211000", None)
    NibrsOffenceMatch(offence='90D', reason='group_b_without_arrest')
    >>> resolve_offence("traffic", "X", None)
    NibrsOffenceMatch(offence=None, reason='not_nibrs')
    """
    if source_mapping is not None and source_mapping.is_outside(source_code):
        return NibrsOffenceMatch(None, "not_nibrs")
    offence = source_mapping.offence_of(source_code) if source_mapping is not None else None
    if offence is None:
        if category is None:
            return NibrsOffenceMatch(None, "no_category")
        candidates = category_nibrs_offences().get(category, ())
        if not candidates:
            return NibrsOffenceMatch(None, "not_nibrs")
        if len(candidates) > 1:
            return NibrsOffenceMatch(None, "ambiguous_category")
        offence = candidates[0]
    if NIBRS_OFFENCES[offence].group == "B":
        return NibrsOffenceMatch(offence, "group_b_without_arrest")
    return NibrsOffenceMatch(offence)
