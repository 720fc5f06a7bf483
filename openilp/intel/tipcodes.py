"""Tip identifiers, tip secrets and payout codes; ISE-SAR behaviour categories.

A tip ID is 16 characters of Crockford base-32 from 80 random bits (``T-XXXX-XXXX-XXXX-XXXX``):
unguessable, and typed without confusing 0/O or 1/I. The secret is 128 random bits; the store keeps
only its argon2 hash (:mod:`openilp.security.passwords`). Payout codes are shown to the tipster once.

>>> tip_id = new_tip_id()
>>> is_tip_id(tip_id), len(tip_id)
(True, 21)
>>> is_tip_id("T-0000-0000-0000-000I")
False
>>> len(new_secret()) >= 22
True
"""

from __future__ import annotations

import re
import secrets

__all__ = [
    "SAR_CATEGORIES",
    "TIP_KINDS",
    "new_tip_id",
    "is_tip_id",
    "new_secret",
    "new_payout_code",
    "normalise_tip_id",
]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
_TIP_ID = re.compile(r"^T-[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")

#: What a public report is.
TIP_KINDS: dict[str, str] = {"tip": "Crime tip", "sar": "Suspicious activity report"}

#: Behaviour categories of a suspicious-activity report (ISE-SAR Functional Standard 1.5.5):
#: observed behaviour only, never race, religion, ethnicity or other protected characteristics.
SAR_CATEGORIES: dict[str, str] = {
    "breach_or_intrusion": "Breach or attempted intrusion",
    "misrepresentation": "Misrepresentation (false identity, documents or uniforms)",
    "theft_loss_diversion": "Theft, loss or diversion (of sensitive materials or equipment)",
    "sabotage_tampering": "Sabotage, tampering or vandalism",
    "cyberattack": "Cyberattack",
    "expressed_threat": "Expressed or implied threat",
    "aviation_activity": "Aviation activity",
    "eliciting_information": "Eliciting information beyond curiosity",
    "testing_security": "Testing or probing of security",
    "recruiting_financing": "Recruiting or financing",
    "sensitive_materials": "Acquiring sensitive materials",
    "weapons_collection": "Weapons or explosives collection",
    "observation_surveillance": "Observation or surveillance of a facility",
    "photography": "Photography of security features",
}


def new_tip_id() -> str:
    """A fresh random tip ID."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "T-" + "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalise_tip_id(value: str) -> str:
    """Upper case, spaces removed, O→0 and I/L→1 (what people mistype)."""
    cleaned = value.strip().upper().replace(" ", "")
    head, _, rest = cleaned.partition("-")
    rest = rest.replace("O", "0").replace("I", "1").replace("L", "1")
    return f"{head}-{rest}" if rest else cleaned


def is_tip_id(value: str) -> bool:
    """Whether ``value`` has the form of a tip ID."""
    return bool(_TIP_ID.match(value))


def new_secret() -> str:
    """A fresh tipster secret (128 bits, URL-safe text)."""
    return secrets.token_urlsafe(16)


def new_payout_code() -> str:
    """A fresh payout code: 12 base-32 characters in three groups."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))
