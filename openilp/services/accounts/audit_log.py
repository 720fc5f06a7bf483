"""The audit log as people use it: reading it, verifying it, and anchoring its head outside the store.

* :func:`view_audit_log`: the page ``/audit``, the API ``/api/v1/audit`` and ``openilp audit list``;
  every view is itself an audit entry (``read`` of ``audit_log``, with the filters used). A
  signed-in viewer sees their own agency's entries and those tied to no agency; the command line
  (``actor=None``, whoever controls the server) sees everything.
* :func:`verify_audit_log`: recomputes the keyed hash chain and checks it against the signed anchors
  kept outside the store (:mod:`openilp.security.audit_anchor`), and optionally against a head
  recorded elsewhere (``expect_head``). A removed tail leaves a shorter chain that verifies on
  its own; the anchors catch it. The command line's verification **writes nothing** (it must not
  move the head it checks); a signed-in auditor's is recorded (``verify`` of ``audit_log``).
* :func:`anchor_audit_log`: signs the current head with the audit key and appends it to the
  anchor file (``audit_anchor_file``, default ``<data_dir>/audit_anchors.jsonl``) and, when
  configured, to syslog (``audit_anchor_syslog``). ``openilp audit anchor`` runs it (from cron);
  the web app runs it every ``audit_anchor_interval_s`` seconds while the head moves.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.constants import AUDIT_MAX_PAGE_SIZE
from openilp.core import OpenILP, Request, Result
from openilp.core.dates import parse_day
from openilp.db.models import AuditEntry
from openilp.errors import InvalidRequest, NotPermitted
from openilp.security.actors import UserInfo
from openilp.security.audit import (
    AuditFilter,
    VerificationResult,
    audit_key_of,
    chain_head,
    entry_as_dict,
    list_entries,
    verify_chain,
)
from openilp.security.audit_anchor import (
    AnchorCheck,
    AuditAnchor,
    append_anchor,
    check_anchors,
    make_anchor,
    read_anchors,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "ANCHOR_FILE_NAME",
    "AnchorRequest",
    "AnchorResult",
    "AuditLogRequest",
    "AuditPage",
    "AuditVerification",
    "VerifyAuditRequest",
    "anchor_audit_log",
    "anchor_file",
    "parse_audit_filter",
    "verify_audit_log",
    "view_audit_log",
]

#: Largest number of entries one page or API call returns.
MAX_PAGE_SIZE = AUDIT_MAX_PAGE_SIZE
#: Default anchor file, in the data folder (point ``audit_anchor_file`` at write-once storage).
ANCHOR_FILE_NAME = "audit_anchors.jsonl"

_WORD = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")
_CHANNELS = ("web", "api", "cli")


def _date(value: str, name: str) -> dt.date | None:
    return parse_day(value, name)


def parse_audit_filter(
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: str = "",
    date_to: str = "",
) -> AuditFilter:
    """An :class:`AuditFilter` from form or query text; :class:`InvalidRequest` when malformed.

    >>> parse_audit_filter(action="login_failed", date_from="2026-01-01").action
    'login_failed'
    >>> parse_audit_filter(date_from="yesterday")
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: date_from must be a date written YYYY-MM-DD (like 2019-07-01), got 'yesterday'
    """
    actor, action, object_type, object_id = (v.strip() for v in (actor, action, object_type, object_id))
    if actor and not _USERNAME.match(actor):
        raise InvalidRequest("user must be a username (letters, digits, '.', '_', '@', '-'; at most 80 characters)")
    if action and not _WORD.match(action):
        raise InvalidRequest("action must be a lower-case word such as login, search or read")
    if object_type and not _WORD.match(object_type):
        raise InvalidRequest("object type must be a lower-case word such as incident or user")
    if len(object_id) > 200:
        raise InvalidRequest("object id must be at most 200 characters")
    start, end = _date(date_from, "date_from"), _date(date_to, "date_to")
    if start and end and end < start:
        raise InvalidRequest("date_to must not be before date_from")
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
        date_from=start,
        date_to=end,
    )


def _require_reader(actor: UserInfo | None) -> None:
    if actor is not None and not actor.can("audit:read"):
        raise NotPermitted(f"your role ({actor.role}) may not read the audit log")


@dataclass(frozen=True)
class AuditLogRequest(Request):
    """Filters (as typed in a form or on the command line), a page, and the channel asking."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: str = ""
    date_to: str = ""
    limit: int = 100
    offset: int = 0
    channel: str = "web"

    def validate(self) -> AuditLogRequest:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if self.offset < 0:
            raise InvalidRequest("offset must not be negative")
        if self.channel not in _CHANNELS:
            raise InvalidRequest(f"channel must be one of {', '.join(_CHANNELS)}")
        self.filters()
        return self

    def filters(self) -> AuditFilter:
        return parse_audit_filter(
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            date_from=self.date_from,
            date_to=self.date_to,
        )


@dataclass(frozen=True)
class AuditPage(Result):
    """Entries (as JSON-ready dicts, newest first), how many match, and the filters applied."""

    entries: tuple[dict[str, Any], ...]
    total: int
    limit: int
    offset: int
    filters: AuditFilter

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "filters": self.filters.as_dict(),
            "entries": list(self.entries),
        }


def view_audit_log(core: OpenILP, actor: UserInfo | None, request: AuditLogRequest) -> AuditPage:
    """Entries matching the request (newest first) and the total; records the view itself."""
    request = request.validate()
    _require_reader(actor)
    filters = request.filters()
    scoped = filters if actor is None else AuditFilter(**{**filters.__dict__, "agency_id": actor.agency_id})
    with core.unit_of_work(actor) as uow:
        entries, total = list_entries(uow.session, scoped, limit=request.limit, offset=request.offset)
        views = tuple(entry_as_dict(entry) for entry in entries)
        uow.audit(
            action="read",
            object_type="audit_log",
            details={
                "via": request.channel,
                "filters": filters.as_dict(),
                "limit": request.limit,
                "offset": request.offset,
                "returned": len(views),
            },
        )
    return AuditPage(views, total, request.limit, request.offset, filters)


def anchor_file(core: OpenILP) -> Path:
    """Where anchors are appended: ``audit_anchor_file``, else ``<data_dir>/audit_anchors.jsonl``."""
    configured = core.settings.audit_anchor_file
    return Path(configured) if configured else Path(core.settings.data_dir) / ANCHOR_FILE_NAME


@dataclass(frozen=True)
class VerifyAuditRequest(Request):
    """``expect_head``: ``SEQ:HASH`` of an entry recorded earlier outside the store (optional)."""

    channel: str = "web"
    expect_head: str = ""

    def validate(self) -> VerifyAuditRequest:
        if self.channel not in _CHANNELS:
            raise InvalidRequest(f"channel must be one of {', '.join(_CHANNELS)}")
        if self.expect_head:
            seq_text, _, hash_text = self.expect_head.partition(":")
            if not seq_text.isdigit() or len(hash_text) != 64:
                raise InvalidRequest("--expect-head must be SEQ:HASH, e.g. 1234:9f86d081…(64 hex digits)")
        return self


@dataclass(frozen=True)
class AuditVerification(Result):
    """The chain's verification, the anchors' check and the expected head's; ``ok`` when all pass."""

    chain: VerificationResult
    anchors: AnchorCheck
    anchor_file: str
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.anchors.ok and not self.problems

    @property
    def message(self) -> str:
        """The first thing wrong, or the chain's summary."""
        if not self.chain.ok:
            return self.chain.message
        if not self.anchors.ok:
            return self.anchors.problems[0]
        if self.problems:
            return self.problems[0]
        return self.chain.message

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.chain.as_dict(),
            "ok": self.ok,
            "message": self.message,
            "anchors": self.anchors.as_dict(),
            "anchor_file": self.anchor_file,
        }


def verify_audit_log(core: OpenILP, actor: UserInfo | None, request: VerifyAuditRequest) -> AuditVerification:
    """Verify the whole chain and every anchor; a signed-in actor's verification is recorded.

    The command line's (``actor=None``) writes nothing, so verifying never moves the head it checks.
    """
    request = request.validate()
    _require_reader(actor)
    path = anchor_file(core)
    try:
        anchors = read_anchors(path)
    except ValueError as exc:
        anchors, unreadable = [], str(exc)
    else:
        unreadable = ""
    with core.unit_of_work(actor) as uow:
        chain = verify_chain(uow.session)
        key = audit_key_of(uow.session) or b""
        anchor_check = check_anchors(uow.session, anchors, key)
        problems: list[str] = [unreadable] if unreadable else []
        if request.expect_head:
            seq_text, _, hash_text = request.expect_head.partition(":")
            stored = entry_hash_at(uow.session, int(seq_text))
            if stored != hash_text:
                problems.append(
                    f"entry {seq_text} no longer has the expected hash: the end of the log was cut or rewritten"
                )
        result = AuditVerification(chain, anchor_check, str(path), tuple(problems))
        if actor is not None:
            uow.audit(action="verify", object_type="audit_log", details={"via": request.channel, **result.as_dict()})
    return result


def entry_hash_at(session: Session, seq: int) -> str | None:
    """The stored hash of entry ``seq``, or None."""
    found = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == seq))
    return None if found is None else str(found)


@dataclass(frozen=True)
class AnchorRequest(Request):
    """``only_if_moved``: skip when the newest anchor already holds the current head (scheduled runs)."""

    only_if_moved: bool = False


@dataclass(frozen=True)
class AnchorResult(Result):
    """The anchor written (None when the log is empty or the head has not moved) and where."""

    anchor: AuditAnchor | None
    anchor_file: str
    syslog: str = ""

    def as_dict(self) -> dict[str, Any]:
        anchor = self.anchor
        return {
            "anchored": anchor is not None,
            "seq": anchor.seq if anchor else None,
            "entry_hash": anchor.entry_hash if anchor else None,
            "anchored_at": anchor.anchored_at if anchor else None,
            "anchor_file": self.anchor_file,
            "syslog": self.syslog or None,
        }


def anchor_audit_log(core: OpenILP, actor: UserInfo | None, request: AnchorRequest | None = None) -> AnchorResult:
    """Sign the current head with the audit key and append it outside the store (file, syslog).

    Writes no audit entry (an anchor that moved the head would never be current). Only the
    command line and the web app's schedule call it (``actor=None``).
    """
    request = (request or AnchorRequest()).validate()
    if actor is not None:
        raise NotPermitted("anchors are written by the command line and the server's schedule")
    path = anchor_file(core)
    syslog = core.settings.audit_anchor_syslog
    with core.unit_of_work(None) as uow:
        head = chain_head(uow.session)
        key = audit_key_of(uow.session)
        now = uow.now
    if head is None or key is None:
        return AnchorResult(None, str(path), syslog)
    if request.only_if_moved:
        previous = read_anchors(path)
        if previous and (previous[-1].seq, previous[-1].entry_hash) == head:
            return AnchorResult(None, str(path), syslog)
    anchor = make_anchor(key, head[0], head[1], now)
    append_anchor(anchor, path, syslog_address=syslog or None)
    return AnchorResult(anchor, str(path), syslog)
