"""Encrypting small secrets at rest (TOTP shared secrets) with Fernet (AES-128-CBC + HMAC-SHA256).

The key is derived with HKDF-SHA256 from the ``totp_key`` setting, or from ``secret_key`` when
``totp_key`` is empty. A database copy alone therefore does not reveal anyone's second factor.

>>> box = SecretBox("an example key that is long enough")
>>> token = box.encrypt("JBSWY3DPEHPK3PXP")
>>> token.startswith("v1:") and "JBSWY3DPEHPK3PXP" not in token
True
>>> box.decrypt(token)
'JBSWY3DPEHPK3PXP'
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from openilp.config import Settings

__all__ = ["SecretBox", "SecretBoxError", "secret_box_for"]

_PREFIX = "v1:"


class SecretBoxError(ValueError):
    """A stored secret cannot be decrypted (wrong key, or the value was altered)."""


class SecretBox:
    """Encrypt and decrypt short text secrets with a key derived from ``key_material``."""

    def __init__(self, key_material: str, *, purpose: str = "openilp-totp-secret-v1") -> None:
        if not key_material:
            raise ValueError("an encryption key is required")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
            key_material.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return _PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        if not token.startswith(_PREFIX):
            raise SecretBoxError("unknown secret format")
        try:
            return self._fernet.decrypt(token[len(_PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise SecretBoxError(
                "cannot decrypt the stored secret: the encryption key changed (totp_key or secret_key)"
            ) from exc


def secret_box_for(settings: Settings) -> SecretBox:
    """The box for TOTP secrets: keyed by ``totp_key``, or by ``secret_key`` when that is empty."""
    return SecretBox(settings.totp_key or settings.secret_key)
