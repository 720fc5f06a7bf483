"""Vehicles, phones, handles, addresses and organisations in one written form each.

People need a probabilistic model; the other kinds of entity mostly do not. A plate, a phone
number or a VIN is an identifier: once written one way it either is the same or it is not. What
goes wrong is how it was written (spaces, dashes, country codes, lower case) and how it was read
(a licence-plate reader or a tired officer confuses ``O`` and ``0``, ``B`` and ``8``). So each
value is first **normalised** into one written form, the *match key*, and resolution joins equal
keys (:mod:`openilp.entities.thing_matching`); values that differ only in characters a reader
confuses are sent to review, never joined on their own.

* Plates: upper-case letters and digits (``"abc-123 "`` → ``"ABC123"``); the state as its postal
  code (``"Missouri"`` → ``"MO"``). The *OCR key* folds the characters automatic number-plate
  readers confuse (0/O/D/Q, 1/I/L, 2/Z, 5/S, 6/G, 8/B) so ``"8OB 1ZS"`` and ``"BOB12S"`` share it.
* VINs: 17 characters, upper case; VINs never contain I, O or Q (ISO 3779), so those letters are
  read as 1, 0 and 0. :func:`vin_check_digit_ok` checks the North American check digit
  (49 CFR 565.15).
* Phones: digits only; a North American number (10 digits, or 11 starting with 1) becomes
  ``+1NPANXXXXXX`` (E.164); an extension is dropped; fewer than 7 digits is no phone.
* Handles: an e-mail address lower-cased; an online handle lower-cased without its ``@``, with
  its platform when given (``"Instagram: @Big_Mike"`` → ``"instagram:big_mike"``).
* Addresses: upper case, USPS street suffixes and directions abbreviated (Publication 28:
  ``"North Grand Boulevard"`` → ``"N GRAND BLVD"``), units dropped from the key, and the hundred
  block kept for placing the address on the map (:func:`hundred_block`).
* Organisations: lower case, punctuation and "the"/"inc"/"llc" dropped.

>>> normalise_plate(" abc-123 "), plate_ocr_key("8OB1ZS") == plate_ocr_key("BOB12S")
('ABC123', True)
>>> normalise_state("missouri"), normalise_phone("(314) 555-0142 x12"), normalise_phone("555-01")
('MO', '+13145550142', None)
>>> normalise_vin("1hgcm82633a00435i"), vin_check_digit_ok("1HGCM82633A004352")
('1HGCM82633A004351', True)
>>> normalise_handle("Instagram: @Big_Mike"), normalise_handle(" John.Doe@Example.COM ")
('instagram:big_mike', 'john.doe@example.com')
>>> normalise_address("1234", "north grand boulevard", "St. Louis", "63106", "MO")
'1234 N GRAND BLVD, ST LOUIS, MO 63106'
>>> normalise_organisation("The Hillside Crew, Inc.")
'hillside crew'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "THING_KINDS",
    "normalise_plate",
    "normalise_state",
    "plate_ocr_key",
    "normalise_vin",
    "vin_check_digit_ok",
    "normalise_phone",
    "normalise_handle",
    "normalise_address",
    "normalise_street",
    "hundred_block",
    "normalise_organisation",
    "match_key",
    "block_key",
]

#: The entity kinds resolved by match keys rather than a trained model.
THING_KINDS = ("vehicle", "phone", "handle", "address", "organisation")

_NOT_ALNUM_UPPER = re.compile(r"[^0-9A-Z]+")
_OCR_FOLD = str.maketrans({"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"})
_VIN_FOLD = str.maketrans({"I": "1", "O": "0", "Q": "0"})
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

_STATES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM",
    "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK",
    "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR",
}  # fmt: skip

#: USPS Publication 28, Appendix C1: the common street suffixes and their abbreviations.
_SUFFIXES = {
    "ALLEY": "ALY", "AVENUE": "AVE", "AV": "AVE", "BOULEVARD": "BLVD", "BOUL": "BLVD", "CIRCLE": "CIR",
    "COURT": "CT", "CRESCENT": "CRES", "DRIVE": "DR", "EXPRESSWAY": "EXPY", "FREEWAY": "FWY",
    "HIGHWAY": "HWY", "LANE": "LN", "PARKWAY": "PKWY", "PLACE": "PL", "PLAZA": "PLZ", "ROAD": "RD",
    "SQUARE": "SQ", "STREET": "ST", "STR": "ST", "TERRACE": "TER", "TRAIL": "TRL", "WAY": "WAY",
}  # fmt: skip
_DIRECTIONS = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}  # fmt: skip
_UNIT = re.compile(r"\b(APT|APARTMENT|UNIT|STE|SUITE|FL|FLOOR|RM|ROOM|#)\s*[0-9A-Z-]*$")
_ORG_DROP = frozenset({"the", "inc", "llc", "ltd", "co", "corp", "corporation", "company"})


def _ascii_upper(text: object) -> str:
    return unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").upper()


def normalise_plate(text: object) -> str | None:
    """A licence plate as upper-case letters and digits; None when nothing is left."""
    if text is None:
        return None
    plate = _NOT_ALNUM_UPPER.sub("", _ascii_upper(text))
    return plate or None


def normalise_state(text: object) -> str | None:
    """A US state or territory as its two-letter postal code; other text upper-cased as given."""
    if text is None:
        return None
    words = " ".join(re.sub(r"[^A-Z ]+", " ", _ascii_upper(text)).split())
    if not words:
        return None
    return _STATES.get(words, words.replace(" ", "")[:10])


def plate_ocr_key(plate: str | None) -> str | None:
    """The plate with the characters plate readers confuse folded together (0/O/D/Q, 1/I/L, …)."""
    if not plate:
        return None
    return plate.translate(_OCR_FOLD)


def normalise_vin(text: object) -> str | None:
    """A VIN upper-cased with I, O and Q read as 1, 0 and 0 (no VIN contains them); None if empty."""
    if text is None:
        return None
    vin = _NOT_ALNUM_UPPER.sub("", _ascii_upper(text)).translate(_VIN_FOLD)
    return vin or None


def vin_check_digit_ok(vin: str | None) -> bool:
    """Whether a 17-character VIN's ninth character is its check digit (49 CFR 565.15)."""
    if not vin or len(vin) != 17 or any(ch not in _VIN_VALUES for ch in vin):
        return False
    remainder = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True)) % 11
    return vin[8] == ("X" if remainder == 10 else str(remainder))


def normalise_phone(text: object) -> str | None:
    """A phone number in E.164 form for North American numbers, else ``+digits``; None if < 7 digits."""
    if text is None:
        return None
    raw = str(text).strip()
    raw = re.split(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+$", raw)[0]
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) < 7 or len(digits) > 15:
        return None
    if raw.startswith("+"):
        return "+" + digits
    if digits.startswith("011"):
        return "+" + digits[3:]
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    return digits


def normalise_handle(text: object) -> str | None:
    """An e-mail address or an online handle (with its platform) in lower case; None when empty."""
    if text is None:
        return None
    value = " ".join(str(text).split()).lower()
    if value.startswith("mailto:"):
        value = value[7:]
    if "@" in value and not value.startswith("@") and " " not in value and ":" not in value:
        return value
    platform, _, name = value.rpartition(":")
    name = name.strip().lstrip("@").replace(" ", "")
    platform = re.sub(r"[^a-z0-9]+", "", platform)
    if not name:
        return None
    return f"{platform}:{name}" if platform else name


def normalise_street(text: object) -> str | None:
    """A street name in upper case with USPS suffixes and directions abbreviated, its unit dropped."""
    if text is None:
        return None
    words = re.sub(r"[^0-9A-Z# ]+", " ", _ascii_upper(text).replace(".", ""))
    words = _UNIT.sub("", " ".join(words.split())).strip()
    out = words.split()
    if not out:
        return None
    # Directions at either end; the street type last (or before a trailing direction), so a
    # name such as "Lithuanian Plaza Court" keeps its "Plaza".
    for position in (0, -1):
        out[position] = _DIRECTIONS.get(out[position], out[position])
    suffix = -2 if len(out) > 2 and out[-1] in _DIRECTIONS.values() else -1
    if len(out) > 1:
        out[suffix] = _SUFFIXES.get(out[suffix], out[suffix])
    return " ".join(out)


def normalise_address(
    street_number: object, street: object, locality: object = None, postcode: object = None, state: object = None
) -> str | None:
    """One written form of an address, ``"NUMBER STREET, LOCALITY, STATE POSTCODE"``; None without a street."""
    name = normalise_street(street)
    if name is None:
        return None
    number = _NOT_ALNUM_UPPER.sub("", _ascii_upper(street_number)) if street_number is not None else ""
    line = f"{number} {name}".strip()
    place = " ".join(re.sub(r"[^A-Z ]+", " ", _ascii_upper(locality)).split()) if locality is not None else ""
    region = " ".join(x for x in (normalise_state(state), str(postcode or "").strip()[:5]) if x)
    return ", ".join(x for x in (line, place, region) if x)


def hundred_block(street_number: object) -> int | None:
    """The hundred block of a house number (``1234`` → ``1200``), as police block addresses give it."""
    if street_number is None:
        return None
    digits = re.match(r"\s*(\d+)", str(street_number))
    return None if digits is None else int(digits.group(1)) // 100 * 100


def normalise_organisation(text: object) -> str | None:
    """An organisation's name in lower case without punctuation or legal suffixes; None if empty."""
    if text is None:
        return None
    words = re.sub(r"[^a-z0-9 ]+", " ", _ascii_upper(text).lower()).split()
    kept = [w for w in words if w not in _ORG_DROP]
    return " ".join(kept or words) or None


def match_key(kind: str, fields: dict[str, object]) -> str | None:
    """The match key of a mention of ``kind`` from its fields: equal keys are the same thing.

    A vehicle's key is its VIN when it has a 17-character one, else ``plate@state`` (the plate
    alone when no state is known).

    >>> match_key("vehicle", {"plate": "abc 123", "plate_state": "Missouri"})
    'plate:ABC123@MO'
    >>> match_key("phone", {"phone": "314.555.0142"})
    'phone:+13145550142'
    """
    if kind == "vehicle":
        vin = normalise_vin(fields.get("vin"))
        if vin and len(vin) == 17:
            return f"vin:{vin}"
        plate = normalise_plate(fields.get("plate"))
        if not plate:
            return f"vin:{vin}" if vin else None
        state = normalise_state(fields.get("plate_state"))
        return f"plate:{plate}@{state}" if state else f"plate:{plate}"
    if kind == "phone":
        phone = normalise_phone(fields.get("phone"))
        return f"phone:{phone}" if phone else None
    if kind == "handle":
        handle = normalise_handle(fields.get("handle"))
        return f"handle:{handle}" if handle else None
    if kind == "address":
        address = normalise_address(
            fields.get("street_number"), fields.get("street"), fields.get("locality"), fields.get("postcode"),
            fields.get("state"),
        )  # fmt: skip
        return f"address:{address}" if address else None
    if kind == "organisation":
        name = normalise_organisation(fields.get("organisation"))
        return f"organisation:{name}" if name else None
    raise ValueError(f"unknown kind {kind!r}: one of {', '.join(THING_KINDS)}")


def block_key(block_address: object) -> tuple[int, str] | None:
    """The hundred block and street of a police block address, for placing addresses on the map.

    Police exports give ``"7928 CHURCH RD"``, ``"024XX W LITHUANIAN PLAZA CT"`` or ``"4XX BLOCK OF
    MAIN ST"``; each becomes ``(hundred block, normalised street)``.

    >>> block_key("024XX W Lithuanian Plaza Court"), block_key("7928 CHURCH RD"), block_key("Main St")
    ((2400, 'W LITHUANIAN PLAZA CT'), (7900, 'CHURCH RD'), None)
    """
    if block_address is None:
        return None
    text = _ascii_upper(block_address).strip()
    found = re.match(r"(\d+)(X*)\s+(?:BLOCK\s+OF\s+)?(.+)$", text)
    if found is None:
        return None
    number = int(found.group(1) + "0" * len(found.group(2)))
    street = normalise_street(found.group(3))
    return None if street is None else (number // 100 * 100, street)
