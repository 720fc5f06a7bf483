"""Designating a person as a member of a gang or criminal enterprise: the documented criteria, as pure rules.

The California State Auditor's review of CalGang (report 2015-130, August 2016) found people
entered without the two criteria the system's own rules asked for, criteria with no source,
records kept past their purge date, and people added for being seen with others. The rules here
follow its recommendations:

* a designation needs **at least two different documented criteria** from the agency's list
  (:data:`CRITERIA`), **each with its source** (the report, record or interview it rests on) and
  **the date** it was observed, neither in the future nor older than :data:`CRITERIA_LOOKBACK_YEARS`;
* **association is never a criterion**: being linked to members in a network, seen with them, or
  living or staying in an area (:data:`NOT_CRITERIA`) is refused, so network association alone
  can never designate anyone, however many links a person has;
* **a protected attribute is never a criterion** (race, ethnicity, national origin, religion): it
  is refused when offered, and nothing about the person but the documented criteria is read;
* every designation has a **review date**, at most :data:`MAX_REVIEW_DAYS` days ahead;
* it is **purged** :data:`RETENTION_YEARS` years after the latest criterion (28 CFR 23.20(h)'s
  five-year limit; CalGang's purge rule) unless new criteria are documented.

>>> import datetime as dt
>>> day = dt.date(2024, 3, 1)
>>> good = [CriterionInput("self_admission", "FI card 24-118, Officer Diaz", dt.date(2024, 2, 2)),
...         CriterionInput("tattoos", "Booking photo 24-0931", dt.date(2023, 11, 5))]
>>> check_designation(good, designated_on=day, review_due_on=dt.date(2025, 3, 1))
[]
>>> check_designation(good[:1] + [CriterionInput("network_association", "link chart", day)],
...                   designated_on=day, review_due_on=dt.date(2025, 3, 1))[0]
'network_association is never a criterion: association with members, in a network or in person, designates no one'
>>> retention_end(good)
datetime.date(2029, 2, 2)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CRITERIA",
    "CRITERIA_LOOKBACK_YEARS",
    "MAX_REVIEW_DAYS",
    "MIN_CRITERIA",
    "MIN_SOURCE_CHARS",
    "NOT_CRITERIA",
    "RETENTION_YEARS",
    "CriterionInput",
    "DesignationError",
    "check_designation",
    "retention_end",
]

#: The agency's documented criteria (after the CalGang regulations, Cal. Code Regs. tit. 11 § 752).
CRITERIA: dict[str, str] = {
    "self_admission": "Admitted membership to a peace officer (not during a custodial classification interview)",
    "tattoos": "Tattoos, marks or brands specific to the organisation",
    "written_material": "Written or electronic material by the person showing membership (writings, posts, rosters)",
    "photographs": "Photographs or video of the person taking part in the organisation's activity",
    "arrest_with_members": "Arrested with members for an offence consistent with the organisation's activity",
    "informant": "Identified as a member by a source graded reliable (source grade A or B)",
    "insignia": "Displays the organisation's symbols or hand signs in a way specific to it (not colours alone)",
}
#: Things that are never criteria, with the reason given when one is offered.
NOT_CRITERIA: dict[str, str] = {
    "network_association": "association with members, in a network or in person, designates no one",
    "association": "association with members, in a network or in person, designates no one",
    "seen_with_members": "association with members, in a network or in person, designates no one",
    "family_member": "being related to a member designates no one",
    "frequents_area": "living in or visiting an area designates no one",
    "clothing": "colours or clothing alone designate no one",
    **{
        code: "a protected attribute (race, ethnicity, national origin, religion) designates no one"
        for code in ("race", "ethnicity", "national_origin", "religion")
    },
}
MIN_CRITERIA = 2
MIN_SOURCE_CHARS = 5
CRITERIA_LOOKBACK_YEARS = 5
MAX_REVIEW_DAYS = 365
RETENTION_YEARS = 5


class DesignationError(ValueError):
    """A designation that does not meet the documented criteria; the message lists every problem."""


@dataclass(frozen=True)
class CriterionInput:
    """One documented criterion: its code (:data:`CRITERIA`), its source and the day it was observed."""

    code: str
    source: str
    observed_on: dt.date | None


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def check_designation(
    criteria: Sequence[CriterionInput], *, designated_on: dt.date, review_due_on: dt.date | None
) -> list[str]:
    """Every reason the designation may not be made (an empty list when it may)."""
    problems: list[str] = []
    oldest = _years_before(designated_on, CRITERIA_LOOKBACK_YEARS)
    for position, criterion in enumerate(criteria, start=1):
        code = criterion.code.strip()
        if code in NOT_CRITERIA:
            problems.append(f"{code} is never a criterion: {NOT_CRITERIA[code]}")
            continue
        if code not in CRITERIA:
            problems.append(
                f"criterion {position}: unknown code {code!r}; the agency's criteria are {', '.join(CRITERIA)}"
            )
            continue
        if len(criterion.source.strip()) < MIN_SOURCE_CHARS:
            problems.append(f"criterion {position} ({code}): name its source (the report, record or interview)")
        if criterion.observed_on is None:
            problems.append(f"criterion {position} ({code}): give the date it was observed")
        elif criterion.observed_on > designated_on:
            problems.append(f"criterion {position} ({code}): the date {criterion.observed_on} is in the future")
        elif criterion.observed_on < oldest:
            problems.append(
                f"criterion {position} ({code}): observed {criterion.observed_on}, more than "
                f"{CRITERIA_LOOKBACK_YEARS} years ago"
            )
    valid = {
        c.code.strip()
        for c in criteria
        if c.code.strip() in CRITERIA
        and len(c.source.strip()) >= MIN_SOURCE_CHARS
        and c.observed_on is not None
        and oldest <= c.observed_on <= designated_on
    }
    if len(valid) < MIN_CRITERIA:
        problems.append(
            f"a designation needs at least {MIN_CRITERIA} different documented criteria, each with its source and "
            f"date (this has {len(valid)})"
        )
    if review_due_on is None:
        problems.append("give a review date")
    elif not designated_on < review_due_on <= designated_on + dt.timedelta(days=MAX_REVIEW_DAYS):
        problems.append(f"the review date must fall within {MAX_REVIEW_DAYS} days after the designation")
    return problems


def retention_end(criteria: Sequence[CriterionInput]) -> dt.date:
    """The day the designation is purged: :data:`RETENTION_YEARS` after its latest criterion."""
    latest = max(c.observed_on for c in criteria if c.observed_on is not None)
    try:
        return latest.replace(year=latest.year + RETENTION_YEARS)
    except ValueError:
        return latest.replace(year=latest.year + RETENTION_YEARS, day=28)
