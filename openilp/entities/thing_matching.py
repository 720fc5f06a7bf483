"""Candidate pairs of vehicles, phones, handles, addresses and organisations, each with its rule.

Resolution of these kinds is deterministic where it can be and cautious where it cannot
(:mod:`openilp.entities.things` writes every value in one form first):

========================  =====================================================  ===========
rule                      when                                                   probability
========================  =====================================================  ===========
``same_key``              equal match keys (same VIN; same plate and state;       1.0
                          same phone, handle, address or organisation)
``plate_no_state``        the same plate, the state missing on one side          0.9
``plate_ocr``             plates equal once reader-confused characters are       0.8
                          folded (``8OB12S`` / ``BOB12S``), states compatible
``vin_one_off``           17-character VINs one character apart; 0.9 when        0.9 / 0.6
                          exactly one passes the check digit
``phone_local``           a 7-digit local number equal to the last 7 digits      0.7
                          of a full one
``address_partial``       the same number and street, locality or postcode       0.9
                          missing on one side
``email_dots``            Gmail addresses equal without dots and ``+tags``       0.95
``organisation_similar``  names with Jaro–Winkler similarity ≥ 0.93               0.7
========================  =====================================================  ===========

Only ``same_key`` reaches the match threshold (0.999): every other rule sends the pair to the
review queue, where a person decides; a decision overrides the rules on every later run. A
vehicle mention that gives both a plate and a VIN ties the two (the same vehicle), so a plate read
by a camera joins the VIN from a stop. Fuzzy rules compare distinct keys, one representative
mention each, so a plate seen a thousand times costs one comparison.

>>> frame = pd.DataFrame({"record_id": ["1", "2", "3", "4"], "kind": ["vehicle"] * 4,
...     "plate": ["ABC123", "abc 123", "A8C123", None], "plate_state": ["MO", "mo", "MO", None],
...     "vin": [None, "1HGCM82633A004352", None, "1HGCM82633A004352"]})
>>> candidate_pairs(frame)[["record_id_l", "record_id_r", "rule", "match_probability"]].values.tolist()
[['1', '2', 'same_key', 1.0], ['2', '4', 'same_key', 1.0], ['1', '3', 'plate_ocr', 0.8]]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import jellyfish
import pandas as pd

from openilp.entities.normalize import PROTECTED_COLUMNS
from openilp.entities.things import (
    normalise_address,
    normalise_handle,
    normalise_organisation,
    normalise_phone,
    normalise_plate,
    normalise_state,
    normalise_street,
    normalise_vin,
    plate_ocr_key,
    vin_check_digit_ok,
)

__all__ = ["THING_COLUMNS", "RULE_PROBABILITY", "candidate_pairs", "explain_rule"]

#: The columns a thing frame may carry (``record_id`` and ``kind`` required).
THING_COLUMNS = (
    "record_id",
    "kind",
    "plate",
    "plate_state",
    "vin",
    "make",
    "model",
    "colour",
    "phone",
    "handle",
    "street_number",
    "street",
    "locality",
    "postcode",
    "state",
    "organisation",
)

RULE_PROBABILITY = {
    "same_key": 1.0,
    "email_dots": 0.95,
    "plate_no_state": 0.9,
    "address_partial": 0.9,
    "plate_ocr": 0.8,
    "phone_local": 0.7,
    "organisation_similar": 0.7,
}

_EXPLANATIONS = {
    "same_key": "the same identifier once written in one form",
    "email_dots": "the same Gmail address without dots and +tags",
    "plate_no_state": "the same plate; one side gives no state",
    "address_partial": "the same number and street; one side lacks the locality or postcode",
    "plate_ocr": "plates equal once characters plate readers confuse (0/O/D/Q, 1/I/L, 2/Z, 5/S, 6/G, 8/B) are folded",
    "phone_local": "a local 7-digit number equal to the last 7 digits of a full one",
    "organisation_similar": "names nearly the same (Jaro-Winkler similarity at least 0.93)",
    "vin_one_off": "VINs one character apart",
}

#: Fuzzy blocks larger than this (distinct keys) are skipped: a key that common says nothing.
_MAX_BLOCK = 50


def explain_rule(rule: str) -> str:
    """The plain-language reason a rule gives for a pair."""
    return _EXPLANATIONS.get(rule, rule)


def _value(row: Mapping[Any, Any], column: str) -> object:
    value = row.get(column)
    return None if value is None or (isinstance(value, float) and value != value) else value


class _Pairs:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[str, float]] = {}

    def add(self, left: str, right: str, rule: str, probability: float) -> None:
        if left == right:
            return
        key = (left, right) if _order(left) <= _order(right) else (right, left)
        if key not in self.rows or self.rows[key][1] < probability:
            self.rows[key] = (rule, probability)

    def chain(self, members: Iterable[str], rule: str) -> None:
        ordered = sorted(set(members), key=_order)
        for other in ordered[1:]:
            self.add(ordered[0], other, rule, RULE_PROBABILITY[rule])


def _order(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (1 << 62, record_id)


def _fuzzy_blocks(keys: dict[str, str], block_of: dict[str, str | None]) -> list[list[str]]:
    blocks: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        block = block_of.get(key)
        if block:
            blocks[block].append(key)
    return [sorted(group) for group in blocks.values() if 1 < len(group) <= _MAX_BLOCK]


def candidate_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Candidate pairs of the mentions in ``frame`` (see the module docstring).

    Returns ``record_id_l``, ``record_id_r`` (``record_id_l`` the smaller), ``kind``, ``rule``
    and ``match_probability``, exact pairs first. Protected attributes are refused.
    """
    protected = sorted(c for c in frame.columns if str(c).lower() in PROTECTED_COLUMNS)
    if protected:
        raise ValueError(f"protected attributes may not enter entity resolution: {', '.join(protected)}")
    pairs = _Pairs()
    kinds: dict[str, str] = {}
    by_key: dict[str, list[str]] = defaultdict(list)
    plates: dict[str, tuple[str, str | None]] = {}  # plate key -> (plate, state)
    vins: set[str] = set()
    phones: set[str] = set()
    addresses: dict[str, tuple[str, bool]] = {}  # address key -> (line, complete)
    emails: set[str] = set()
    organisations: set[str] = set()
    for row in frame.to_dict("records"):
        record = str(row["record_id"])
        kind = str(row["kind"])
        kinds[record] = kind
        keys: list[str] = []
        if kind == "vehicle":
            vin = normalise_vin(_value(row, "vin"))
            if vin:
                keys.append(f"vin:{vin}")
                if len(vin) == 17:
                    vins.add(vin)
            plate = normalise_plate(_value(row, "plate"))
            if plate:
                state = normalise_state(_value(row, "plate_state"))
                key = f"plate:{plate}@{state}" if state else f"plate:{plate}"
                keys.append(key)
                plates[key] = (plate, state)
        elif kind == "phone":
            phone = normalise_phone(_value(row, "phone"))
            if phone:
                keys.append(f"phone:{phone}")
                phones.add(phone)
        elif kind == "handle":
            handle = normalise_handle(_value(row, "handle"))
            if handle:
                keys.append(f"handle:{handle}")
                if "@" in handle:
                    emails.add(handle)
        elif kind == "address":
            fields = [_value(row, c) for c in ("street_number", "street", "locality", "postcode", "state")]
            address = normalise_address(*fields)
            if address:
                keys.append(f"address:{address}")
                number = str(fields[0] or "").strip().upper()
                line = f"{number} {normalise_street(fields[1])}"
                addresses[f"address:{address}"] = (line, bool(fields[2]) and bool(fields[3]))
        elif kind == "organisation":
            name = normalise_organisation(_value(row, "organisation"))
            if name:
                keys.append(f"organisation:{name}")
                organisations.add(name)
        for key in keys:
            by_key[key].append(record)
    for members in by_key.values():
        pairs.chain(members, "same_key")
    # A vehicle mention with a plate and a VIN ties them: chaining by key above already joins
    # each key's members; the mention itself sits in both groups, which links them.
    first = {key: min(members, key=_order) for key, members in by_key.items()}
    fuzzy = _Pairs()

    def link(key_a: str, key_b: str, rule: str, probability: float | None = None) -> None:
        fuzzy.add(first[key_a], first[key_b], rule, RULE_PROBABILITY[rule] if probability is None else probability)

    plate_keys = {key: key for key in plates}
    for block in _fuzzy_blocks(plate_keys, {k: plate_ocr_key(plates[k][0]) for k in plates}):
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                (plate_a, state_a), (plate_b, state_b) = plates[a], plates[b]
                if state_a and state_b and state_a != state_b:
                    continue
                if plate_a == plate_b:
                    link(a, b, "plate_no_state")
                else:
                    link(a, b, "plate_ocr")
    vin_list = sorted(vins)
    deletions: dict[str, list[str]] = defaultdict(list)
    for vin in vin_list:
        for position in range(17):
            deletions[f"{position}:{vin[:position]}{vin[position + 1 :]}"].append(vin)
    for group in deletions.values():
        if 1 < len(group) <= _MAX_BLOCK:
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    one_valid = vin_check_digit_ok(a) != vin_check_digit_ok(b)
                    link(f"vin:{a}", f"vin:{b}", "vin_one_off", 0.9 if one_valid else 0.6)
    phone_keys = {f"phone:{p}": p for p in phones}
    for block in _fuzzy_blocks(phone_keys, {k: p[-7:] for k, p in phone_keys.items()}):
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                if min(len(phone_keys[a]), len(phone_keys[b])) == 7:
                    link(a, b, "phone_local")
    for block in _fuzzy_blocks({k: k for k in addresses}, {k: v[0] for k, v in addresses.items()}):
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                if not (addresses[a][1] and addresses[b][1]):
                    link(a, b, "address_partial")
    gmail = {e: e.split("@")[0].split("+")[0].replace(".", "") for e in emails if e.endswith("@gmail.com")}
    for block in _fuzzy_blocks({f"handle:{e}": e for e in gmail}, {f"handle:{e}": g for e, g in gmail.items()}):
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                link(a, b, "email_dots")
    org_list = sorted(organisations)
    org_keys = {f"organisation:{o}": o for o in org_list}
    for block in _fuzzy_blocks(org_keys, {key: name[:3] for key, name in org_keys.items()}):
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                if jellyfish.jaro_winkler_similarity(a.split(":", 1)[1], b.split(":", 1)[1]) >= 0.93:
                    link(a, b, "organisation_similar")
    rows = [
        {"record_id_l": left, "record_id_r": right, "kind": kinds[left], "rule": rule, "match_probability": p}
        for source in (pairs, fuzzy)
        for (left, right), (rule, p) in source.rows.items()
        if not (source is fuzzy and (left, right) in pairs.rows)
    ]
    return pd.DataFrame(rows, columns=["record_id_l", "record_id_r", "kind", "rule", "match_probability"])
