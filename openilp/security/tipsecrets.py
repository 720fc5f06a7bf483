"""Keyed hashes of tip secrets and payout codes: HMAC-SHA-256 with a constant-time compare.

A tip secret is 128 random bits and a payout code 60: nobody can guess them, so a slow password
hash (argon2id: 64 MiB and a few hundred milliseconds per check) buys nothing against guessing and
hands anyone who posts wrong secrets a cheap way to exhaust the server's memory and CPU. What a
copy of the database must not give is a way to test candidates offline; a keyed hash does that as
well, as long as the key is not in the database. So the store keeps
``hmac-sha256$<hex of HMAC-SHA-256(key, secret)>`` and a check costs microseconds
(:func:`hmac.compare_digest`, so its time does not depend on where the digests differ).

The key is derived from the audit key (:mod:`openilp.core.secret_key`: a setting or a file in the
data folder, kept off the database server and the same on every server of a deployment) with the
label :data:`KEY_LABEL`, so the two never coincide. Passwords stay on argon2id
(:mod:`openilp.security.passwords`).

Tips stored before this scheme carry an argon2id hash: :meth:`TipSecretHasher.verify` still
accepts them (at argon2's cost) and says so, and the services replace the hash with the keyed one
after the first successful check (a lazy migration).

>>> hasher = TipSecretHasher.from_audit_key(b"k" * 32)
>>> stored = hasher.hash("s3cret-of-128-bits")
>>> stored.startswith("hmac-sha256$"), len(stored)
(True, 76)
>>> hasher.verify(stored, "s3cret-of-128-bits"), hasher.verify(stored, "wrong")
(Check(ok=True, upgrade=False), Check(ok=False, upgrade=False))
>>> TipSecretHasher.from_audit_key(b"another key" * 3).verify(stored, "s3cret-of-128-bits").ok
False
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

from openilp.security.passwords import verify_password

__all__ = ["KEY_LABEL", "SCHEME", "Check", "TipSecretHasher"]

#: Prefix of a keyed hash in the store.
SCHEME = "hmac-sha256"
#: Label of the key derivation from the audit key.
KEY_LABEL = b"openilp tip secrets and payout codes v1"
#: Longest secret or code looked at (anything longer is wrong anyway).
_MAX_INPUT_CHARS = 200


class Check(NamedTuple):
    """The outcome of a check: ``ok``, and ``upgrade`` when the stored hash is of the old scheme."""

    ok: bool
    upgrade: bool


class TipSecretHasher:
    """HMAC-SHA-256 under one key; see the module docstring."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the tip-secret key must be at least 32 bytes")
        self._key = key

    @classmethod
    def from_audit_key(cls, audit_key: bytes) -> TipSecretHasher:
        """The hasher whose key is HMAC-SHA-256(audit key, :data:`KEY_LABEL`)."""
        return cls(hmac.new(audit_key, KEY_LABEL, hashlib.sha256).digest())

    def _digest(self, secret: str) -> str:
        data = secret[:_MAX_INPUT_CHARS].encode("utf-8", errors="replace")
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def hash(self, secret: str) -> str:
        """``hmac-sha256$<64 hex digits>`` of ``secret``."""
        return f"{SCHEME}${self._digest(secret)}"

    def verify(self, stored: str | None, secret: str) -> Check:
        """Whether ``secret`` matches ``stored`` (keyed, or an argon2id hash of before: ``upgrade``)."""
        if not stored:
            self._digest(secret)  # the same work as a real check
            return Check(False, False)
        scheme, _, digest = stored.partition("$")
        if scheme == SCHEME:
            return Check(hmac.compare_digest(digest, self._digest(secret)), False)
        if stored.startswith("$argon2"):
            ok = verify_password(stored, secret[:_MAX_INPUT_CHARS])
            return Check(ok, ok)
        return Check(False, False)

    def dummy_check(self, secret: str) -> None:
        """The work of one check, for an unknown tip ID (the answer must not tell the two apart)."""
        self._digest(secret)
