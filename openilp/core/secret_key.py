"""The deployment's secret key: generated on first run, never a value published in the source.

The key signs session cookies and printable deployment links, and (unless ``totp_key`` is set)
keys the encryption of TOTP secrets. A key anyone can read in the source code lets anyone forge
an administrator's session, so OpenILP has no default key: when ``secret_key`` is not configured,
a random 384-bit key is generated into ``<data_dir>/secret_key`` (readable by the owner only) on
first use and read from there afterwards. The server refuses to listen on an address other than
the loopback with a key that is published or too short.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> first = resolve_secret_key(folder)
>>> len(first) >= 64 and resolve_secret_key(folder) == first
True
>>> check_key_for_host("change-me-openilp-development-key", "127.0.0.1")
>>> check_key_for_host("change-me-openilp-development-key", "0.0.0.0")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: the secret key is a published example value: anyone could forge sessions. Unset ...
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

__all__ = [
    "AUDIT_KEY_FILE_NAME",
    "KEY_FILE_NAME",
    "MIN_KEY_LENGTH",
    "PUBLISHED_KEYS",
    "resolve_secret_key",
    "check_key_for_host",
]

#: File in the data folder holding the generated key.
KEY_FILE_NAME = "secret_key"
#: File in the data folder holding the generated audit-chain key.
AUDIT_KEY_FILE_NAME = "audit_key"
#: Shortest key accepted for a server reachable from other machines, in characters.
MIN_KEY_LENGTH = 32
#: Keys that appeared in OpenILP's source or documentation: never safe outside the loopback.
PUBLISHED_KEYS = frozenset({"change-me-openilp-development-key"})

_FIX = (
    "Unset OPENILP_SECRET_KEY to use the generated key, or set a long random one "
    '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
)


def resolve_secret_key(data_dir: str | Path, file_name: str = KEY_FILE_NAME) -> str:
    """The generated key in ``<data_dir>/<file_name>``, created (mode 0600) when missing.

    Used for the session key (``secret_key``) and the audit-chain key (``audit_key``).

    Creation is atomic (``O_EXCL``): two processes starting at once end up with the same key.
    """
    folder = Path(data_dir)
    path = folder / file_name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(key + "\n")
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"the key file {path} holds fewer than {MIN_KEY_LENGTH} characters: delete it to regenerate")
    return key


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_key_for_host(secret_key: str, host: str) -> None:
    """Raise ValueError when ``host`` is reachable from other machines and the key is unsafe."""
    if _is_loopback(host):
        return
    if secret_key in PUBLISHED_KEYS:
        raise ValueError(f"the secret key is a published example value: anyone could forge sessions. {_FIX}")
    if len(secret_key) < MIN_KEY_LENGTH:
        raise ValueError(f"the secret key has fewer than {MIN_KEY_LENGTH} characters. {_FIX}")
