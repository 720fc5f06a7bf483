"""Password hashing with argon2id (RFC 9106) through argon2-cffi.

Only the encoded hash (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) is ever stored; it carries
its own salt and cost parameters, so the parameters can be raised later and old hashes upgraded
on the next successful sign-in (:func:`needs_rehash`).

>>> encoded = hash_password("correct horse battery staple")
>>> encoded.startswith("$argon2id$")
True
>>> verify_password(encoded, "correct horse battery staple")
True
>>> verify_password(encoded, "wrong password")
False
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "verify_password", "needs_rehash", "dummy_verify"]


@cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults follow RFC 9106's second recommended option
    # (argon2id, 64 MiB memory, 3 passes, 4 lanes).
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, with a fresh random salt."""
    return _hasher().hash(password)


def verify_password(encoded_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``encoded_hash``; False for a mismatch or a malformed hash."""
    try:
        return _hasher().verify(encoded_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded_hash: str) -> bool:
    """Whether ``encoded_hash`` was made with weaker parameters than the current ones."""
    try:
        return _hasher().check_needs_rehash(encoded_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return hash_password("openilp-dummy-password-for-timing")


def dummy_verify(password: str) -> None:
    """Spend the same time as one real verification (used for unknown users and locked accounts).

    Without it, an attacker could tell existing usernames from unknown ones by response time.
    """
    verify_password(_dummy_hash(), password)
