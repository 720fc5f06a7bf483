"""Person records in one shape: cleaned name parts, phonetic keys, dates of birth and their variants.

Every source of person records (an arrest file, field-interview cards, a master name index, the
FEBRL test files) is first turned into the *person frame*: one row per record with the columns of
:data:`PERSON_COLUMNS`. Matching and blocking then read only derived columns, computed here once:

* names lower-cased, accents removed, punctuation and titles dropped (``"O'Brien-Smith"`` →
  ``"obriensmith"``);
* the canonical given name (nicknames folded, :mod:`openilp.entities.nicknames`);
* phonetic keys: Metaphone (Philips 1990) and NYSIIS (Taft 1970) via ``jellyfish``, so
  *Smyth*/*Smith* share a block;
* the date of birth as ISO text, its day and month transposed (``1984-07-02`` → ``1984-02-07``,
  a common clerical error) and the year.

>>> clean_name(" O'Brien-Smith ")
'obriensmith'
>>> parse_date_of_birth("19371233", ("%Y%m%d",))
(None, 'not a real date: 19371233')
>>> parse_date_of_birth("1984-07-02", ("%Y-%m-%d",))
(datetime.date(1984, 7, 2), None)
>>> transposed_date(dt.date(1984, 7, 2))
datetime.date(1984, 2, 7)
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import jellyfish
import numpy as np
import pandas as pd

from openilp.entities.nicknames import canonical_given_name

__all__ = [
    "PERSON_COLUMNS",
    "DERIVED_COLUMNS",
    "PROTECTED_COLUMNS",
    "clean_name",
    "clean_identifier",
    "phonetic_key",
    "parse_date_of_birth",
    "transposed_date",
    "normalise_persons",
]

#: The person frame a source is mapped onto (every column text or missing).
PERSON_COLUMNS = (
    "record_id",
    "first_name",
    "middle_name",
    "surname",
    "date_of_birth",
    "identifier",
    "street_number",
    "street",
    "locality",
    "postcode",
    "state",
    "phone",
)

#: Columns :func:`normalise_persons` adds, the only ones the model and blocking read.
DERIVED_COLUMNS = (
    "first_name_canonical",
    "first_name_metaphone",
    "surname_metaphone",
    "first_name_nysiis",
    "surname_nysiis",
    "dob",
    "dob_transposed",
    "dob_text",
    "birth_year",
    "rare_names",
    "names_swapped",
)

#: A phonetic full name shared by at most this many records is a blocking key on its own
#: (column ``rare_names``); commoner names need a second field to keep the pairs few.
RARE_NAME_RECORDS = 10

#: Protected attributes (race, ethnicity, national origin, religion) never enter a model or a block.
PROTECTED_COLUMNS = frozenset({"race", "ethnicity", "ethnic_origin", "national_origin", "nationality", "religion"})

_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "rev", "sir", "jr", "sr", "ii", "iii", "iv"})
_NOT_LETTER = re.compile(r"[^a-z ]+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _joined(first: pd.Series, last: pd.Series) -> pd.Series:
    """``"first last"`` where both are given, else None."""
    both = first.notna() & last.notna()
    key = pd.Series(None, index=first.index, dtype=object)
    key[both] = first[both].astype(str) + " " + last[both].astype(str)
    return key


def _rare_names(first: pd.Series, last: pd.Series) -> pd.Series:
    """The phonetic full name where at most :data:`RARE_NAME_RECORDS` records of the frame share it.

    >>> _rare_names(pd.Series(["JN"] * 11 + ["XR"]), pd.Series(["SM0"] * 11 + ["KLM"])).tolist()[-2:]
    [None, 'XR KLM']
    """
    key = _joined(first, last)
    counts = key.map(key.value_counts())
    return key.where(counts <= RARE_NAME_RECORDS, None)


def clean_name(text: object) -> str | None:
    """A name part lower-cased, without accents, punctuation, spaces or titles; None when empty.

    >>> clean_name("José  de la Cruz"), clean_name("Mr"), clean_name(None)
    ('josedelacruz', None, None)
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    words = [w for w in _NOT_LETTER.sub("", folded.replace("-", " ")).split() if w not in _TITLES]
    joined = "".join(words)
    return joined or None


def clean_identifier(text: object) -> str | None:
    """An identifier (state ID, licence, phone) as lower-case letters and digits; None when empty.

    >>> clean_identifier(" AB-123 456 ")
    'ab123456'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    cleaned = _NOT_ALNUM.sub("", str(text).lower())
    return cleaned or None


def phonetic_key(name: str | None, algorithm: str = "metaphone") -> str | None:
    """Metaphone or NYSIIS code of a cleaned name (None for None).

    >>> phonetic_key("smyth"), phonetic_key("smith"), phonetic_key("katherine", "nysiis")
    ('SM0', 'SM0', 'CATARAN')
    """
    if not name:
        return None
    if algorithm == "metaphone":
        return jellyfish.metaphone(name) or None
    if algorithm == "nysiis":
        return jellyfish.nysiis(name) or None
    raise ValueError(f"unknown phonetic algorithm {algorithm!r}: use 'metaphone' or 'nysiis'")


def parse_date_of_birth(text: object, formats: Iterable[str]) -> tuple[dt.date | None, str | None]:
    """``(date, None)`` for the first format that reads ``text``; ``(None, reason)`` otherwise.

    A string that has the shape of a date but names no real day (``1900-02-30``) is "not a real
    date"; an empty cell is ``(None, None)``.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None, None
    raw = str(text).strip()
    if not raw:
        return None, None
    for fmt in formats:
        try:
            return dt.datetime.strptime(raw, fmt).date(), None
        except ValueError:
            continue
    return None, f"not a real date: {raw}"


def transposed_date(day: dt.date | None) -> dt.date | None:
    """The date with day and month swapped, when that is another real date (else None)."""
    if day is None or day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


def _map_unique(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``function`` applied once per distinct value (names repeat; 1M rows have ~50k names)."""
    uniques = values.dropna().unique()
    lookup = {value: function(value) for value in uniques}
    return values.map(lookup)


def normalise_persons(frame: pd.DataFrame, *, date_formats: Iterable[str] = ("%Y-%m-%d",)) -> pd.DataFrame:
    """The person frame with cleaned parts and the derived matching columns.

    ``frame`` has the columns of :data:`PERSON_COLUMNS` (missing ones are added empty; others are
    kept but never read by the model). ``date_of_birth`` is text read with ``date_formats``; a
    value that is no real date keeps its digits in ``dob_text`` (for typo-tolerant comparison)
    and leaves ``dob`` empty. Protected attributes are refused, whatever their case.

    >>> people = pd.DataFrame({"record_id": ["a", "b"], "first_name": ["Bill", "William"],
    ...                        "surname": ["Smyth", "Smith"], "date_of_birth": ["1984-07-02", None]})
    >>> out = normalise_persons(people)
    >>> out[["first_name_canonical", "surname_metaphone", "dob", "dob_transposed"]].values.tolist()
    [['william', 'SM0', '1984-07-02', '1984-02-07'], ['william', 'SM0', None, None]]
    """
    protected = sorted(c for c in frame.columns if str(c).lower() in PROTECTED_COLUMNS)
    if protected:
        raise ValueError(
            f"protected attributes may not enter entity resolution: {', '.join(protected)}; drop these columns"
        )
    out = pd.DataFrame(index=frame.index)
    for column in PERSON_COLUMNS:
        out[column] = frame[column].astype("object") if column in frame.columns else None
    out = out.where(out.notna(), None)
    out["record_id"] = out["record_id"].astype(str)
    for column in ("first_name", "middle_name", "surname", "locality"):
        out[column] = _map_unique(out[column], clean_name)
    for column in ("identifier", "street_number", "postcode", "phone"):
        out[column] = _map_unique(out[column], clean_identifier)
    out["street"] = _map_unique(out["street"], lambda s: " ".join(str(s).lower().split()) or None)
    out["state"] = _map_unique(out["state"], clean_identifier)

    out["first_name_canonical"] = _map_unique(out["first_name"], canonical_given_name)
    out["first_name_metaphone"] = _map_unique(out["first_name"], phonetic_key)
    out["surname_metaphone"] = _map_unique(out["surname"], phonetic_key)
    out["first_name_nysiis"] = _map_unique(out["first_name"], lambda n: phonetic_key(n, "nysiis"))
    out["surname_nysiis"] = _map_unique(out["surname"], lambda n: phonetic_key(n, "nysiis"))

    formats = tuple(date_formats)
    parsed = _map_unique(out["date_of_birth"], lambda t: parse_date_of_birth(t, formats)[0])
    dob: list[str | None] = []
    dob_transposed: list[str | None] = []
    dob_text: list[str | None] = []
    for raw, day in zip(out["date_of_birth"].tolist(), parsed.tolist(), strict=True):
        if isinstance(day, dt.date):
            swapped = transposed_date(day)
            dob.append(day.isoformat())
            dob_transposed.append(swapped.isoformat() if swapped else None)
            dob_text.append(day.strftime("%Y%m%d"))
        else:
            digits = re.sub(r"\D", "", str(raw)) if isinstance(raw, str) else ""
            dob.append(None)
            dob_transposed.append(None)
            dob_text.append(digits or None)
    out["dob"] = dob
    out["dob_transposed"] = dob_transposed
    out["dob_text"] = dob_text
    out["birth_year"] = [t[:4] if t and len(t) >= 4 else None for t in dob_text]
    out["rare_names"] = _rare_names(out["first_name_metaphone"], out["surname_metaphone"])
    out["names_swapped"] = _joined(out["surname_metaphone"], out["first_name_metaphone"])
    out = out.astype(object)
    return out.where(out.notna(), None)
