"""Anchors of the audit chain outside the database: signed copies of its head, kept elsewhere.

A hash chain cannot show that its newest entries were removed: what is left is a shorter chain
that verifies. An *anchor* is the head (``seq`` and ``entry_hash``) at a moment, signed with the
audit key (HMAC-SHA-256) and appended to a file outside the database (one JSON object a line;
point it at write-once storage or a log host) and, optionally, to syslog. Verification then
checks that every anchored entry is still in the log with the same hash: a removed tail, or a
chain rewritten from an earlier point, is caught at the first anchor it passed.

``openilp audit anchor`` appends one (run it from cron, e.g. every 15 minutes); the web app
appends one every ``audit_anchor_interval_s`` seconds; ``openilp audit verify`` checks them all.

>>> import datetime as dt
>>> anchor = make_anchor(b"key", 41, "ab" * 32, dt.datetime(2019, 6, 3, 12, 0, tzinfo=dt.UTC))
>>> anchor.signature_valid(b"key"), anchor.signature_valid(b"other")
(True, False)
>>> AuditAnchor.from_line(anchor.to_line()) == anchor
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.models import AuditEntry

__all__ = ["AuditAnchor", "AnchorCheck", "make_anchor", "append_anchor", "read_anchors", "check_anchors"]

#: Syslog identity of anchor lines.
SYSLOG_IDENT = "openilp-audit-anchor"


def _signature(key: bytes, seq: int, head_hash: str, anchored_at: str) -> str:
    message = f"openilp-audit-anchor|{seq}|{head_hash}|{anchored_at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditAnchor:
    """The chain head at ``anchored_at`` (ISO 8601 UTC), signed with the audit key."""

    seq: int
    entry_hash: str
    anchored_at: str
    signature: str

    def signature_valid(self, key: bytes) -> bool:
        """Whether the anchor was signed with ``key`` (constant-time comparison)."""
        return hmac.compare_digest(self.signature, _signature(key, self.seq, self.entry_hash, self.anchored_at))

    def to_line(self) -> str:
        """One JSON line (sorted keys)."""
        return json.dumps(
            {
                "seq": self.seq,
                "entry_hash": self.entry_hash,
                "anchored_at": self.anchored_at,
                "signature": self.signature,
            },
            sort_keys=True,
        )

    @classmethod
    def from_line(cls, line: str) -> AuditAnchor:
        """Parse a line written by :meth:`to_line`; ValueError names what is wrong."""
        try:
            data = json.loads(line)
            return cls(int(data["seq"]), str(data["entry_hash"]), str(data["anchored_at"]), str(data["signature"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not an audit anchor line: {line[:200]!r} ({exc})") from exc


def make_anchor(key: bytes, seq: int, head_hash: str, anchored_at: dt.datetime) -> AuditAnchor:
    """Sign the head ``(seq, head_hash)`` as of ``anchored_at`` (aware UTC)."""
    when = anchored_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return AuditAnchor(seq, head_hash, when, _signature(key, seq, head_hash, when))


def append_anchor(anchor: AuditAnchor, path: Path | None, *, syslog_address: str | None = None) -> None:
    """Append ``anchor`` to the file ``path`` (flushed to disk) and/or send it to syslog.

    ``syslog_address`` is a Unix socket path such as ``/dev/log`` or ``host:port`` (UDP).
    """
    line = anchor.to_line()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    if syslog_address:
        host, _, port = syslog_address.rpartition(":")
        address: str | tuple[str, int] = (host, int(port)) if host and port.isdigit() else syslog_address
        handler = logging.handlers.SysLogHandler(address=address)
        try:
            handler.ident = f"{SYSLOG_IDENT}: "
            handler.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO, "levelname": "INFO"}))
        finally:
            handler.close()


def read_anchors(path: Path) -> list[AuditAnchor]:
    """Every anchor in the file ``path`` (empty when it does not exist); ValueError names a bad line."""
    if not path.exists():
        return []
    anchors = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                anchors.append(AuditAnchor.from_line(line))
            except ValueError as exc:
                raise ValueError(f"{path}, line {number}: {exc}") from exc
    return anchors


@dataclass(frozen=True)
class AnchorCheck:
    """The outcome of :func:`check_anchors`: ``problems`` lists each anchor that failed, with why."""

    anchors: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "anchors": self.anchors, "problems": list(self.problems)}


def check_anchors(session: Session, anchors: Sequence[AuditAnchor] | Iterable[AuditAnchor], key: bytes) -> AnchorCheck:
    """Check that every anchored entry is still in the log with the hash it had when anchored.

    An anchor whose signature does not verify is reported too (someone edited the anchor file).
    """
    anchors = list(anchors)
    problems: list[str] = []
    wanted = sorted({a.seq for a in anchors})
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stored.update(
            (int(seq), str(h))
            for seq, h in session.execute(
                select(AuditEntry.seq, AuditEntry.entry_hash).where(AuditEntry.seq.in_(chunk))
            )
        )
    for anchor in anchors:
        if not anchor.signature_valid(key):
            problems.append(f"anchor of entry {anchor.seq} ({anchor.anchored_at}) is not signed with the audit key")
        elif anchor.seq not in stored:
            problems.append(
                f"entry {anchor.seq}, anchored at {anchor.anchored_at}, is gone: the newest entries were removed"
            )
        elif stored[anchor.seq] != anchor.entry_hash:
            problems.append(
                f"entry {anchor.seq} no longer has the hash anchored at {anchor.anchored_at}: the chain was rewritten"
            )
    return AnchorCheck(len(anchors), tuple(problems))
