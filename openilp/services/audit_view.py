"""Reading the audit log: filter validation, agency scoping, and auditing every view of the log.

The page ``/audit``, the API ``/api/v1/audit`` and ``openilp audit list`` all call
:func:`view_audit_log`, so each view of the log is itself an audit entry (``read`` of
``audit_log``, with the filters used). Invalid filters raise ValueError before anything is
read or written.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from openilp.constants import AUDIT_MAX_PAGE_SIZE
from openilp.db.models import AuditEntry
from openilp.security.actors import UserInfo
from openilp.security.audit import AuditFilter, VerificationResult, list_entries, record_event, verify_chain

__all__ = ["MAX_PAGE_SIZE", "parse_audit_filter", "view_audit_log", "verify_audit_log"]

#: Largest number of entries one page or API call returns.
MAX_PAGE_SIZE = AUDIT_MAX_PAGE_SIZE

_WORD = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")


def _date(value: str, name: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a date as YYYY-MM-DD, got {value[:40]!r}") from None


def parse_audit_filter(
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: str = "",
    date_to: str = "",
) -> AuditFilter:
    """An :class:`AuditFilter` from form or query text; ValueError with a clear message when malformed.

    >>> parse_audit_filter(action="login_failed", date_from="2026-01-01").action
    'login_failed'
    >>> parse_audit_filter(date_from="yesterday")
    Traceback (most recent call last):
    ...
    ValueError: date_from must be a date as YYYY-MM-DD, got 'yesterday'
    """
    actor, action, object_type, object_id = (v.strip() for v in (actor, action, object_type, object_id))
    if actor and not _USERNAME.match(actor):
        raise ValueError("user must be a username (letters, digits, '.', '_', '@', '-'; at most 80 characters)")
    if action and not _WORD.match(action):
        raise ValueError("action must be a lower-case word such as login, search or read")
    if object_type and not _WORD.match(object_type):
        raise ValueError("object type must be a lower-case word such as incident or user")
    if len(object_id) > 200:
        raise ValueError("object id must be at most 200 characters")
    start, end = _date(date_from, "date_from"), _date(date_to, "date_to")
    if start and end and end < start:
        raise ValueError("date_to must not be before date_from")
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
        date_from=start,
        date_to=end,
    )


def view_audit_log(
    session: Session,
    viewer: UserInfo | None,
    filters: AuditFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    channel: str = "web",
) -> tuple[list[AuditEntry], int]:
    """Entries matching ``filters`` (newest first) and the total; records the view itself.

    A signed-in viewer sees the entries of their own agency and those tied to no agency (such as
    sign-in attempts with unknown usernames). ``viewer=None`` (the command line, run by whoever
    controls the server) sees everything.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if offset < 0:
        raise ValueError("offset must not be negative")
    scoped = filters if viewer is None else AuditFilter(**{**filters.__dict__, "agency_id": viewer.agency_id})
    entries, total = list_entries(session, scoped, limit=limit, offset=offset)
    record_event(
        session,
        action="read",
        object_type="audit_log",
        actor=viewer,
        details={
            "via": channel,
            "filters": filters.as_dict(),
            "limit": limit,
            "offset": offset,
            "returned": len(entries),
        },
    )
    return entries, total


def verify_audit_log(session: Session, viewer: UserInfo | None, *, channel: str = "web") -> VerificationResult:
    """Verify the whole chain and record that it was verified, with the result."""
    result = verify_chain(session)
    record_event(
        session,
        action="verify",
        object_type="audit_log",
        actor=viewer,
        details={"via": channel, **result.as_dict()},
    )
    return result
