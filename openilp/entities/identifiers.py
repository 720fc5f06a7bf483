"""Vehicles, phones and online handles written in an intelligence subject's free-text identifiers.

An analyst types identifiers as they come: ``"DL S530-1234; cell (314) 555-0142; plate ABC 123 MO;
IG @big_mike"``. Each phone number, e-mail address, online handle, VIN and licence plate found
there becomes a mention of its own kind, so the phone in one record and the same phone in a
camera file or another record meet in one entity. The patterns are deliberately narrow: a plate
needs a word saying so (``plate``, ``tag``, ``LP``); a handle its platform followed by ``:`` or
``@``, or an ``@`` alone; a phone 10 digits in North American form or a word (``phone``,
``cell``, ``tel``) before at least 7.

>>> found = things_in_identifiers("DL S530-1234; cell (314) 555-0142; plate ABC 123 MO; IG @big_mike")
>>> for kind, fields in found:
...     print(kind, sorted((k, v) for k, v in fields.items() if v))
phone [('phone', '(314) 555-0142')]
handle [('handle', 'ig:big_mike')]
vehicle [('plate', 'ABC123'), ('plate_state', 'MO')]
>>> for kind, fields in things_in_identifiers("VIN 1HGCM82633A004352, mike.j@example.com"):
...     print(kind, sorted((k, v) for k, v in fields.items() if v))
handle [('handle', 'mike.j@example.com')]
vehicle [('vin', '1HGCM82633A004352')]
"""

from __future__ import annotations

import re
from typing import Any

from openilp.entities.things import normalise_plate, normalise_state

__all__ = ["things_in_identifiers"]

_EMAIL = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
_PHONE_NANP = re.compile(r"(?<![\w+])(\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}\b")
_PHONE_WORD = re.compile(r"(?i)\b(?:phone|ph|tel|cell|mobile|mob)\b\.?\s*[:#]?\s*(\+?[\d][\d\s().-]{5,18}\d)")
_PLATFORMS = "instagram|ig|twitter|x|facebook|fb|snapchat|snap|tiktok|telegram|kik|discord"
_HANDLE = re.compile(rf"(?i)\b({_PLATFORMS})\b\s*(?::\s*@?|@)([\w.]{{2,30}})")
_BARE_HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z_][\w.]{1,29})\b")
_VIN = re.compile(r"(?i)\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-HJ-NPR-Z0-9]{17}\b")
_PLATE = re.compile(
    r"(?i)\b(?:plate|tag|lp|lic(?:en[cs]e)?\s+plate|reg(?:istration)?)\b\.?\s*[:#]?\s*"
    r"([A-Z0-9]{1,4}(?:[ -]?[A-Z0-9]{1,4})?)(?:\s*\(?\b([A-Z]{2})\b\)?)?"
)


def things_in_identifiers(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``(kind, fields)`` for every phone, handle and vehicle written in ``text`` (see the module docstring)."""
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    taken: list[tuple[int, int]] = []

    def add(kind: str, key: str, fields: dict[str, Any], span: tuple[int, int]) -> None:
        if any(span[0] < end and start < span[1] for start, end in taken) or (kind, key) in seen:
            return
        seen.add((kind, key))
        taken.append(span)
        found.append((kind, fields))

    for match in _EMAIL.finditer(text):
        add("handle", match.group(0).lower(), {"handle": match.group(0)}, match.span())
    for match in _PHONE_NANP.finditer(text):
        add("phone", re.sub(r"\D", "", match.group(0))[-10:], {"phone": match.group(0).strip()}, match.span())
    for match in _PHONE_WORD.finditer(text):
        add("phone", re.sub(r"\D", "", match.group(1))[-10:], {"phone": match.group(1).strip()}, match.span(1))
    for match in _HANDLE.finditer(text):
        value = f"{match.group(1).lower()}:{match.group(2)}"
        add("handle", value.lower(), {"handle": value}, match.span())
    for match in _BARE_HANDLE.finditer(text):
        add("handle", match.group(1).lower(), {"handle": "@" + match.group(1)}, match.span())
    for match in _VIN.finditer(text):
        vin = match.group(0).upper()
        add("vehicle", vin, {"vin": vin, "plate": None, "plate_state": None}, match.span())
    for match in _PLATE.finditer(text):
        plate = normalise_plate(match.group(1))
        if plate is None or not any(ch.isdigit() for ch in plate):
            continue
        state = normalise_state(match.group(2)) if match.group(2) else None
        add("vehicle", plate, {"plate": plate, "plate_state": state}, match.span())
    return sorted(found, key=lambda item: ("phone", "handle", "vehicle").index(item[0]))
