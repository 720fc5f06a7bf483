"""Grading schemes for intelligence: how reliable the source is, how valid the information is.

28 CFR 23.20(g) requires every record to carry a *level of confidence* but fixes no vocabulary,
so each agency chooses a scheme (``intel_agency_settings.grading_scheme``). Source evaluation,
information evaluation and handling code are stored as separate fields and never collapsed into
one score (College of Policing APP, *Intelligence management*).

- ``admiralty``: the NATO Admiralty code (AJP-2.1): source reliability A–F, information
  credibility 1–6.
- ``uk_3x5x2``: the UK College of Policing 3×5×2 (replaced 5×5×5 in 2016): source evaluation
  1–3, intelligence assessment A–E, handling code P or C.

Handling codes are the same for both schemes: **P** lawful sharing permitted, **C** lawful
sharing permitted with conditions (a conditions text is then mandatory and travels with every
dissemination).

>>> check_grading("admiralty", "B", "2")
>>> check_grading("uk_3x5x2", "1", "A")
>>> check_grading("admiralty", "1", "A")
Traceback (most recent call last):
...
ValueError: source reliability '1' is not in the admiralty scheme (choose A, B, C, D, E, F)
>>> describe_grading("admiralty", "B", "2")
'B2 (Usually reliable / Probably true)'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GradingScheme",
    "SCHEMES",
    "DEFAULT_SCHEME",
    "HANDLING_CODES",
    "check_grading",
    "grading_errors",
    "check_handling",
    "describe_grading",
]


@dataclass(frozen=True)
class GradingScheme:
    """A vocabulary for source evaluation and information evaluation."""

    name: str
    label: str
    #: Code -> meaning, in the order shown on forms.
    source_grades: dict[str, str]
    information_grades: dict[str, str]


ADMIRALTY = GradingScheme(
    name="admiralty",
    label="Admiralty (NATO) A–F / 1–6",
    source_grades={
        "A": "Completely reliable",
        "B": "Usually reliable",
        "C": "Fairly reliable",
        "D": "Not usually reliable",
        "E": "Unreliable",
        "F": "Reliability cannot be judged",
    },
    information_grades={
        "1": "Confirmed by other sources",
        "2": "Probably true",
        "3": "Possibly true",
        "4": "Doubtful",
        "5": "Improbable",
        "6": "Truth cannot be judged",
    },
)

UK_3X5X2 = GradingScheme(
    name="uk_3x5x2",
    label="UK 3×5×2 (College of Policing)",
    source_grades={"1": "Reliable", "2": "Untested", "3": "Not reliable"},
    information_grades={
        "A": "Known directly to the source",
        "B": "Known indirectly to the source but corroborated",
        "C": "Known indirectly to the source",
        "D": "Not known",
        "E": "Suspected to be false",
    },
)

#: Scheme name -> scheme.
SCHEMES: dict[str, GradingScheme] = {ADMIRALTY.name: ADMIRALTY, UK_3X5X2.name: UK_3X5X2}
#: The scheme of an agency that has not chosen one.
DEFAULT_SCHEME = ADMIRALTY.name

#: Handling code -> meaning (both schemes).
HANDLING_CODES: dict[str, str] = {
    "P": "Lawful sharing permitted",
    "C": "Lawful sharing permitted with conditions (conditions text required)",
}


def _scheme(name: str) -> GradingScheme:
    if name not in SCHEMES:
        raise ValueError(f"unknown grading scheme {name!r} (choose {', '.join(SCHEMES)})")
    return SCHEMES[name]


def check_grading(scheme: str, source_grade: str, information_grade: str) -> None:
    """Raise ValueError unless both grades belong to ``scheme`` (the first of :func:`grading_errors`)."""
    for message in grading_errors(scheme, source_grade, information_grade).values():
        raise ValueError(message)


def grading_errors(scheme: str, source_grade: str, information_grade: str) -> dict[str, str]:
    """What is wrong with each grade (``source_grade``, ``information_grade``); empty when both fit ``scheme``.

    >>> grading_errors("admiralty", "B", "9")  # doctest: +ELLIPSIS
    {'information_grade': "information validity '9' is not in the admiralty scheme (choose 1, ...)"}
    """
    try:
        chosen = _scheme(scheme)
    except ValueError as exc:
        return {"source_grade": str(exc)}
    errors: dict[str, str] = {}
    if source_grade not in chosen.source_grades:
        errors["source_grade"] = (
            f"source reliability {source_grade!r} is not in the {scheme} scheme "
            f"(choose {', '.join(chosen.source_grades)})"
        )
    if information_grade not in chosen.information_grades:
        errors["information_grade"] = (
            f"information validity {information_grade!r} is not in the {scheme} scheme "
            f"(choose {', '.join(chosen.information_grades)})"
        )
    return errors


def check_handling(handling_code: str, conditions: str) -> None:
    """Raise ValueError for an unknown handling code, or code C without a conditions text.

    >>> check_handling("C", "")
    Traceback (most recent call last):
    ...
    ValueError: handling code C needs the conditions that apply to sharing
    """
    if handling_code not in HANDLING_CODES:
        raise ValueError(f"handling code {handling_code!r} is unknown (choose {', '.join(HANDLING_CODES)})")
    if handling_code == "C" and not conditions.strip():
        raise ValueError("handling code C needs the conditions that apply to sharing")


def describe_grading(scheme: str, source_grade: str, information_grade: str) -> str:
    """A human label such as ``'B2 (Usually reliable / Probably true)'``."""
    chosen = _scheme(scheme)
    source = chosen.source_grades.get(source_grade, "?")
    information = chosen.information_grades.get(information_grade, "?")
    return f"{source_grade}{information_grade} ({source} / {information})"
