"""Signed requests between OpenILP instances: Ed25519 over the request, a clock window, a nonce.

Every call from one instance to another carries these headers:

``X-OpenILP-Key-Id``
    The caller's key id: the first 32 hex digits of SHA-256 over its raw public key.
``X-OpenILP-Date``
    When the caller signed, ISO 8601 UTC (``2026-12-06T03:00:00Z``).
``X-OpenILP-Nonce``
    A random value used once (URL-safe base64 of 18 random bytes).
``X-OpenILP-User``
    The end user who caused the call, as the caller names them (``jdoe (SLCPD)``).
``Content-Digest``
    ``sha-256=<base64 of SHA-256 over the exact body bytes>``.
``X-OpenILP-Signature``
    URL-safe base64 of the Ed25519 signature over :func:`signing_string`.

The signed text is one line per element, in this order: the scheme name, the method in capitals,
the path with its query string exactly as sent, the date, the body digest, the key id, the nonce
and the end user. Changing any of them (or the body) breaks the signature. The receiver refuses a
date outside its clock-skew window and a key id + nonce (or a signature) it has already accepted
within the window, so a captured request cannot be replayed.

>>> private = generate_private_key()
>>> headers = sign_request(private, "POST", "/federation/v1/search", b'{"q": 1}', user="jdoe (A)",
...                        now=dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC), nonce="n1")
>>> signed = parse_signed_headers(headers)
>>> verify_signature(public_key_text(private), "POST", "/federation/v1/search", b'{"q": 1}', signed)
>>> verify_signature(public_key_text(private), "POST", "/federation/v1/search", b'{"q": 2}', signed)
Traceback (most recent call last):
...
openilp.security.federation.SignatureRefused: the body does not match its digest
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "SCHEME",
    "KEY_FILE_NAME",
    "HEADER_KEY_ID",
    "HEADER_DATE",
    "HEADER_NONCE",
    "HEADER_USER",
    "HEADER_DIGEST",
    "HEADER_SIGNATURE",
    "SignatureRefused",
    "SignedHeaders",
    "generate_private_key",
    "write_private_key",
    "load_private_key",
    "key_file_path",
    "public_key_text",
    "load_public_key",
    "key_id_of",
    "body_digest",
    "signing_string",
    "sign_request",
    "parse_signed_headers",
    "verify_signature",
    "check_date",
]

#: The name at the head of every signed text (a new scheme gets a new name).
SCHEME = "openilp-federation-v1"
#: The private key's file in the data folder when ``federation_key_file`` is not set.
KEY_FILE_NAME = "federation_ed25519.pem"
HEADER_KEY_ID = "X-OpenILP-Key-Id"
HEADER_DATE = "X-OpenILP-Date"
HEADER_NONCE = "X-OpenILP-Nonce"
HEADER_USER = "X-OpenILP-User"
HEADER_DIGEST = "Content-Digest"
HEADER_SIGNATURE = "X-OpenILP-Signature"
#: Longest header values accepted (anything longer is refused before any work).
_MAX_HEADER = {HEADER_KEY_ID: 32, HEADER_DATE: 40, HEADER_NONCE: 64, HEADER_USER: 200, HEADER_SIGNATURE: 120}


class SignatureRefused(Exception):
    """A request whose signature, digest, date or key is missing or wrong (answered 401)."""


@dataclass(frozen=True)
class SignedHeaders:
    """The signature headers of one request, as received."""

    key_id: str
    date: str
    nonce: str
    user: str
    digest: str
    signature: str


def generate_private_key() -> Ed25519PrivateKey:
    """A new Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def write_private_key(key: Ed25519PrivateKey, path: Path, *, replace: bool = False) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM readable by the owner only (mode 0600).

    Refuses to overwrite an existing file unless ``replace``: partners know the old public key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path``; FileNotFoundError names the command that makes one."""
    if not path.is_file():
        raise FileNotFoundError(f"no federation key at {path}: run 'openilp federation keygen' first")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def key_file_path(data_dir: str | Path, configured: str = "") -> Path:
    """Where the instance's private key lives: the configured path, else ``<data_dir>/federation_ed25519.pem``."""
    return Path(configured) if configured else Path(data_dir) / KEY_FILE_NAME


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in URL-safe base64 (what a partner registers)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return _b64(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from :func:`public_key_text`'s form; ValueError when it is not one."""
    try:
        raw = _unb64(text.strip())
    except (ValueError, TypeError) as exc:
        raise ValueError("the public key is not URL-safe base64") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (43 characters of base64)")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id_of(public_key: str) -> str:
    """The key id of a public key: the first 32 hex digits of SHA-256 over its 32 raw bytes.

    >>> key_id_of("A" * 43)
    '66687aadf862bd776c8fc18b8e9f8e20'
    """
    return hashlib.sha256(_unb64(public_key.strip())).hexdigest()[:32]


def body_digest(body: bytes) -> str:
    """The ``Content-Digest`` value of ``body``: ``sha-256=`` and the standard base64 of its SHA-256."""
    return "sha-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_string(method: str, path_and_query: str, headers: SignedHeaders) -> bytes:
    """The exact text that is signed (module notes)."""
    lines = [
        SCHEME,
        method.upper(),
        path_and_query,
        headers.date,
        headers.digest,
        headers.key_id,
        headers.nonce,
        headers.user,
    ]
    if any("\n" in line for line in lines):
        raise SignatureRefused("a signed element holds a line break")
    return "\n".join(lines).encode("utf-8")


def _format_date(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_request(
    key: Ed25519PrivateKey,
    method: str,
    path_and_query: str,
    body: bytes,
    *,
    user: str,
    now: dt.datetime,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign one request (``nonce``: random unless given, for tests)."""
    signed = SignedHeaders(
        key_id=key_id_of(public_key_text(key)),
        date=_format_date(now),
        nonce=nonce if nonce is not None else secrets.token_urlsafe(18),
        user=" ".join(user.split())[:200],
        digest=body_digest(body),
        signature="",
    )
    signature = _b64(key.sign(signing_string(method, path_and_query, signed)))
    return {
        HEADER_KEY_ID: signed.key_id,
        HEADER_DATE: signed.date,
        HEADER_NONCE: signed.nonce,
        HEADER_USER: signed.user,
        HEADER_DIGEST: signed.digest,
        HEADER_SIGNATURE: signature,
    }


def parse_signed_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """The signature headers of a request (case-insensitive names); SignatureRefused when one is missing."""
    lowered = {name.lower(): value for name, value in headers.items()}
    values: dict[str, str] = {}
    for name in (HEADER_KEY_ID, HEADER_DATE, HEADER_NONCE, HEADER_USER, HEADER_DIGEST, HEADER_SIGNATURE):
        value = lowered.get(name.lower(), "")
        if not value:
            raise SignatureRefused(f"the request is not signed (no {name} header)")
        if len(value) > _MAX_HEADER.get(name, 120):
            raise SignatureRefused(f"the {name} header is too long")
        values[name] = value
    return SignedHeaders(
        key_id=values[HEADER_KEY_ID],
        date=values[HEADER_DATE],
        nonce=values[HEADER_NONCE],
        user=values[HEADER_USER],
        digest=values[HEADER_DIGEST],
        signature=values[HEADER_SIGNATURE],
    )


def verify_signature(public_key: str, method: str, path_and_query: str, body: bytes, headers: SignedHeaders) -> None:
    """Check the body digest and the Ed25519 signature; SignatureRefused says which failed."""
    if headers.digest != body_digest(body):
        raise SignatureRefused("the body does not match its digest")
    try:
        signature = _unb64(headers.signature)
    except (ValueError, TypeError) as exc:
        raise SignatureRefused("the signature is not base64") from exc
    try:
        load_public_key(public_key).verify(signature, signing_string(method, path_and_query, headers))
    except InvalidSignature as exc:
        raise SignatureRefused("the signature does not verify") from exc


def check_date(date_text: str, now: dt.datetime, skew_s: int) -> dt.datetime:
    """The request's signing moment if within ``skew_s`` seconds of ``now``; SignatureRefused otherwise.

    >>> now = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)
    >>> check_date("2026-12-06T03:04:00Z", now, 300).minute
    4
    >>> check_date("2026-12-06T02:54:00Z", now, 300)
    Traceback (most recent call last):
    ...
    openilp.security.federation.SignatureRefused: the request's date is 360 s from this instance's clock (window 300 s)
    """
    try:
        moment = dt.datetime.fromisoformat(date_text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SignatureRefused("the request's date is not ISO 8601") from exc
    if moment.tzinfo is None:
        raise SignatureRefused("the request's date has no time zone")
    gap = abs((moment - now).total_seconds())
    if gap > skew_s:
        raise SignatureRefused(f"the request's date is {gap:.0f} s from this instance's clock (window {skew_s} s)")
    return moment
