"""A seeded generator of realistic person files with known truth, for tests and benchmarks.

``synthetic_persons(n_records, seed=...)`` draws people (given name and surname from a Zipf-like
frequency, a date of birth, a state ID for most, an address and often a phone), then writes each
person one or more times (a geometric number of records, mean ``records_per_person``). Every record
after a person's first is a *duplicate*, corrupted independently with the rates of
:class:`CorruptionRates`:

=========================  =====  =========================================================
corruption                 rate   what happens
=========================  =====  =========================================================
``first_name_typo``        0.10   one edit: a letter substituted, dropped, doubled or swapped
``surname_typo``           0.10   the same, in the surname
``nickname``               0.08   the given name replaced by a nickname (*William* → *Bill*)
``swapped_names``          0.02   first name and surname exchanged
``alias``                  0.03   another surname (a marriage name or an alias)
``transposed_dob``         0.03   day and month exchanged (when the day is 12 or less)
``dob_typo``               0.05   one digit of the date changed (to another real date)
``moved``                  0.15   a new address (street, number, locality, postcode)
``missing``                0.05   each of first name, date of birth, street, phone left empty
``missing_identifier``     0.20   the state ID left empty
=========================  =====  =========================================================

Surnames come from a list of common surnames for the head of the distribution and syllable
compounds for the long tail, so a million records have tens of thousands of distinct surnames, as
real name files do. The ``person_id`` column is the truth; ``record_id`` is unique.

>>> frame = synthetic_persons(1000, seed=1)
>>> len(frame), frame["record_id"].is_unique, frame["person_id"].nunique() < 1000
(1000, True, True)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from openilp.entities.nicknames import NICKNAME_GROUPS

__all__ = ["CorruptionRates", "synthetic_persons"]


def _words(text: str) -> list[str]:
    """The words of ``text`` (the name lists below are written as text, one space between words)."""
    return text.split()


_FIRST_NAMES = _words(
    "james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony "
    "mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan "
    "jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander "
    "frank patrick raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle "
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra "
    "ashley kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura "
    "cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine "
    "debra rachel carolyn janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly "
    "lauren christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa ann sara "
    "madison frances kathryn janice jean abigail alice judy sophia grace denise amber doris marilyn danielle "
    "beverly isabella theresa diana natalie brittany charlotte marie kayla alexis lori"
)
_SURNAMES = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
    "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
    "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall "
    "rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes "
    "stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard "
    "ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price "
    "alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell "
    "coleman butler henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton "
    "graham reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar "
    "stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy wells"
)
_ONSETS = _words("b br c ch cl d dr f fl g gr h j k kl l m n p pr r s sh st t tr v w wh z")
_VOWELS = _words("a e i o u ai ea ie ou oa")
_CODAS = _words("b ck d ff g l ll m n nd ng nn r rd rn rt s sh ss st t th tt v x z")
_ENDINGS = _words("son ton ley field man well wood ford by worth ham ridge stone berg ski ez ini ova")
_STREET_TYPES = _words("street avenue road lane drive court place way boulevard terrace")
_STATES = _words("al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo")


@dataclass(frozen=True)
class CorruptionRates:
    """The chance that a duplicate record carries each corruption (see the module docstring)."""

    first_name_typo: float = 0.10
    surname_typo: float = 0.10
    nickname: float = 0.08
    swapped_names: float = 0.02
    alias: float = 0.03
    transposed_dob: float = 0.03
    dob_typo: float = 0.05
    moved: float = 0.15
    missing: float = 0.05
    missing_identifier: float = 0.20


def _syllable_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct made-up names of one or two syllables and an optional ending (vectorised)."""
    names: set[str] = set()
    while len(names) < count:
        size = 2 * (count - len(names)) + 16
        onset = np.array(_ONSETS, dtype=object)[rng.integers(0, len(_ONSETS), size=(size, 2))]
        vowel = np.array(_VOWELS, dtype=object)[rng.integers(0, len(_VOWELS), size=(size, 2))]
        coda = np.array(_CODAS, dtype=object)[rng.integers(0, len(_CODAS), size=(size, 2))]
        ending = np.array(_ENDINGS, dtype=object)[rng.integers(0, len(_ENDINGS), size=size)]
        syllables = onset + vowel + coda
        two = rng.random(size) < 0.5
        with_ending = rng.random(size) < 0.6
        made = np.where(two, syllables[:, 0] + syllables[:, 1], syllables[:, 0])
        made = np.where(with_ending, made + ending, made)
        for name in made:
            if len(names) < count:
                names.add(str(name))
    return sorted(names)


def _zipf_choice(rng: np.random.Generator, values: list[str], size: int, exponent: float) -> np.ndarray:
    ranks = np.arange(1, len(values) + 1, dtype=float)
    weights = ranks ** (-exponent)
    return rng.choice(np.array(values, dtype=object), size=size, p=weights / weights.sum())


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    i = int(rng.integers(0, len(word) - 1))
    kind = int(rng.integers(0, 4))
    letters = "abcdefghijklmnopqrstuvwxyz"
    if kind == 0:
        return word[:i] + letters[int(rng.integers(0, 26))] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _dob_typo(rng: np.random.Generator, day: dt.date) -> dt.date:
    text = day.strftime("%Y%m%d")
    for _ in range(10):
        i = int(rng.choice([2, 3, 5, 7]))
        candidate = text[:i] + str(int(rng.integers(0, 10))) + text[i + 1 :]
        try:
            changed = dt.datetime.strptime(candidate, "%Y%m%d").date()
        except ValueError:
            continue
        if changed != day:
            return changed
    return day


def synthetic_persons(
    n_records: int,
    *,
    seed: int = 0,
    records_per_person: float = 2.0,
    rates: CorruptionRates | None = None,
) -> pd.DataFrame:
    """``n_records`` person records (the columns of the person frame, plus ``person_id``)."""
    rates = rates or CorruptionRates()
    rng = np.random.default_rng(seed)
    # Records per person: 1 + geometric, so that the mean is ``records_per_person``.
    extra = rng.geometric(1.0 / records_per_person, size=n_records) - 1
    counts = 1 + extra
    n_people = int(np.searchsorted(np.cumsum(counts), n_records) + 1)
    counts = counts[:n_people]
    counts[-1] -= int(counts.sum() - n_records)

    tail = _syllable_names(rng, max(2000, n_people // 20))
    surnames = _zipf_choice(rng, _SURNAMES + tail, n_people, 0.9)
    first_names = _zipf_choice(rng, _FIRST_NAMES, n_people, 0.7)
    start = dt.date(1940, 1, 1).toordinal()
    births = rng.integers(0, dt.date(2006, 1, 1).toordinal() - start, size=n_people) + start
    localities = _syllable_names(np.random.default_rng(seed + 1), 3000)
    streets = _syllable_names(np.random.default_rng(seed + 2), 20000)

    def addresses(size: int) -> dict[str, np.ndarray]:
        town = rng.integers(0, len(localities), size=size)
        street_names = np.array(streets, dtype=object)[rng.integers(0, len(streets), size=size)]
        kinds = np.array(_STREET_TYPES, dtype=object)[rng.integers(0, len(_STREET_TYPES), size=size)]
        return {
            "street_number": rng.integers(1, 400, size=size).astype(str).astype(object),
            "street": street_names + " " + kinds,
            "locality": np.array(localities, dtype=object)[town],
            "postcode": np.array([f"{10000 + t * 29 % 89999:05d}" for t in town], dtype=object),
            "state": np.array(_STATES, dtype=object)[town % len(_STATES)],
        }

    person = np.repeat(np.arange(n_people), counts)
    copy = np.arange(n_records) - np.repeat(np.cumsum(counts) - counts, counts)
    duplicate = copy > 0
    draws = rng.random((n_records, 12))
    first = first_names[person].astype(object)
    last = surnames[person].astype(object)
    born = births[person]
    has_id = rng.random(n_people) < 0.9
    ids = np.array([f"s{v:08d}" for v in rng.integers(0, 10**8, size=n_people)], dtype=object)
    ids[~has_id] = None
    identifier = ids[person]
    has_phone = rng.random(n_people) < 0.5
    phones = rng.integers(2 * 10**9, 10**10, size=n_people).astype(str).astype(object)
    phones[~has_phone] = None
    phone = phones[person]
    home = addresses(n_people)
    place = {key: values[person] for key, values in home.items()}

    def where(column: int, rate: float) -> np.ndarray:
        return np.flatnonzero(duplicate & (draws[:, column] < rate))

    for i in where(0, rates.nickname):
        if first[i] in NICKNAME_GROUPS:
            group = NICKNAME_GROUPS[first[i]]
            first[i] = group[int(rng.integers(0, len(group)))]
    for i in where(1, rates.first_name_typo):
        first[i] = _typo(rng, first[i])
    aliased = where(2, rates.alias)
    last[aliased] = surnames[rng.integers(0, n_people, size=len(aliased))]
    for i in where(3, rates.surname_typo):
        last[i] = _typo(rng, last[i])
    swapped = where(4, rates.swapped_names)
    first[swapped], last[swapped] = last[swapped], first[swapped].copy()
    dates = [dt.date.fromordinal(int(b)) for b in born]
    for i in where(5, rates.transposed_dob):
        d = dates[i]
        if d.day <= 12 and d.day != d.month:
            dates[i] = d.replace(month=d.day, day=d.month)
    for i in where(6, rates.dob_typo):
        dates[i] = _dob_typo(rng, dates[i])
    moved = where(7, rates.moved)
    new_homes = addresses(len(moved))
    for key in place:
        place[key] = place[key].copy()
        place[key][moved] = new_homes[key]
    identifier = identifier.copy()
    identifier[where(8, rates.missing_identifier)] = None
    missing_rate = np.where(duplicate, rates.missing, rates.missing / 5)
    first[draws[:, 9] < missing_rate] = None
    dob = np.array([d.isoformat() for d in dates], dtype=object)
    dob[draws[:, 10] < missing_rate] = None
    street = place["street"]
    street[draws[:, 11] < missing_rate] = None
    phone = phone.copy()
    phone[rng.random(n_records) < missing_rate] = None
    frame = pd.DataFrame(
        {
            "record_id": [f"r{i:07d}" for i in range(n_records)],
            "person_id": person,
            "first_name": first,
            "surname": last,
            "date_of_birth": dob,
            "identifier": identifier,
            "street_number": place["street_number"],
            "street": street,
            "locality": place["locality"],
            "postcode": place["postcode"],
            "state": place["state"],
            "phone": phone,
        }
    )
    # Records of one person are not next to each other in a real file.
    order = rng.permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)
