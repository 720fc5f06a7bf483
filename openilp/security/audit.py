"""The tamper-evident, append-only audit log (28 CFR 23.20(g): audit trails; CJIS-style accountability).

Every create, read, search, update, export, dissemination, purge, sign-in and sign-out is written
here with who, when, what and the stated purpose. Three layers protect it:

1. **No code path changes or deletes an entry**: this module only appends (:func:`record_event`).
2. **Database triggers** refuse ``UPDATE`` and ``DELETE`` on ``audit_log`` (SQLite and PostgreSQL;
   PostgreSQL also refuses ``TRUNCATE``); see migration ``0002``.
3. **A keyed hash chain**: each entry stores ``prev_hash`` (the previous entry's hash) and
   ``entry_hash = HMAC-SHA-256(audit key, canonical JSON of its fields and prev_hash)``; ``seq``
   numbers entries 1, 2, 3, … without gaps. :func:`verify_chain` recomputes everything and names
   the first entry that was edited, deleted or reordered, so someone who bypasses the triggers is
   still caught. The key lives outside the database (the ``audit_key`` setting, or a file in the
   data folder generated on first run; :mod:`openilp.core.secret_key`), so someone with write
   access to the database alone cannot append a correctly hashed entry in another user's name.
   The core object hands the key to the store's engine (:func:`attach_audit_key`). Entries written
   before keying carry a plain SHA-256 (``hash_scheme = "sha256"``); a plain entry after a keyed
   one is refused as a downgrade.
4. **Anchors outside the database** (:mod:`openilp.security.audit_anchor`): signed copies of the
   chain head, appended to a file (and syslog) on a schedule, catch the removal of the newest
   entries, which leaves a shorter but valid chain.

Writers are serialised so the chain stays linear: on PostgreSQL with a transaction-scoped
advisory lock (``pg_advisory_xact_lock``), on SQLite by taking the database write lock before the
chain head is read. Either way the lock is held until the caller's transaction ends, and the entry
commits or rolls back together with the action it records.

>>> canonical_json({"b": 1, "a": "é"})
'{"a":"é","b":1}'
>>> require_purpose("  case 2019-000123  ")
'case 2019-000123'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, func, or_, select, text
from sqlalchemy.orm import Session

from openilp.db.models import AuditEntry, utcnow
from openilp.security.actors import UserInfo

__all__ = [
    "GENESIS_HASH",
    "MAX_PURPOSE_LENGTH",
    "MAX_DETAILS_LENGTH",
    "STANDARD_ACTIONS",
    "AuditEntry",
    "AuditFilter",
    "VerificationResult",
    "canonical_json",
    "entry_hash",
    "HASH_SCHEMES",
    "KEYED_SCHEME",
    "attach_audit_key",
    "audit_key_of",
    "record_event",
    "require_purpose",
    "verify_chain",
    "list_entries",
    "chain_head",
    "entry_as_dict",
]

#: Hash of entries written with a key (HMAC-SHA-256) and of the plain entries written before keying.
KEYED_SCHEME = "hmac-sha256"
PLAIN_SCHEME = "sha256"
HASH_SCHEMES = (KEYED_SCHEME, PLAIN_SCHEME)
#: Execution option of the store's engine that carries the audit key (set by the core object).
AUDIT_KEY_OPTION = "openilp_audit_key"

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
#: Longest stated purpose, in characters.
MAX_PURPOSE_LENGTH = 500
#: Longest ``details`` JSON, in characters (bounds what one request can write to the log).
MAX_DETAILS_LENGTH = 20_000
#: Actions used across OpenILP. Others are allowed if they are lower-case words joined by ``_``.
STANDARD_ACTIONS: frozenset[str] = frozenset(
    {
        "create",
        "read",
        "search",
        "update",
        "export",
        "disseminate",
        "purge",
        "login",
        "login_failed",
        "lockout",
        "logout",
        "session_expired",
        "totp_enroll",
        "totp_failed",
        "admin",
        "verify",
    }
)
#: Key of the PostgreSQL advisory lock that serialises writers ("OILPAUDT" as an int64).
ADVISORY_LOCK_KEY = 0x4F494C5041554454

_ACTION = re.compile(r"^[a-z][a-z_]{1,31}$")
_OBJECT_TYPE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and UTF-8 text: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _iso(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, microseconds): the form hashed and shown."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(fields: Mapping[str, Any], key: bytes | None = None) -> str:
    """The hash (hex) of an entry: over the canonical JSON of its hashed fields (``prev_hash`` included).

    ``fields`` needs ``seq``, ``occurred_at`` (datetime), ``actor_user_id``, ``actor_username``,
    ``actor_role``, ``agency_id``, ``action``, ``object_type``, ``object_id``, ``purpose``,
    ``details`` (the stored JSON text), ``prev_hash`` and ``hash_scheme``. A keyed entry
    (``hmac-sha256``) is an HMAC-SHA-256 under ``key`` and hashes its scheme too, so it cannot be
    relabelled as plain; a plain entry (``sha256``, written before keying) is a SHA-256.

    >>> fields = dict(seq=1, occurred_at=dt.datetime(2019, 6, 3, tzinfo=dt.UTC), actor_user_id=None,
    ...     actor_username=None, actor_role=None, agency_id=None, action="login", object_type="session",
    ...     object_id=None, purpose=None, details="{}", prev_hash=GENESIS_HASH, hash_scheme="hmac-sha256")
    >>> entry_hash(fields, b"k1") == entry_hash(fields, b"k2")
    False
    """
    scheme = fields.get("hash_scheme") or PLAIN_SCHEME
    payload: dict[str, Any] = {
        "v": 1,
        "seq": int(fields["seq"]),
        "occurred_at": _iso(fields["occurred_at"]),
        "actor_user_id": fields["actor_user_id"],
        "actor_username": fields["actor_username"],
        "actor_role": fields["actor_role"],
        "agency_id": fields["agency_id"],
        "action": fields["action"],
        "object_type": fields["object_type"],
        "object_id": fields["object_id"],
        "purpose": fields["purpose"],
        "details": fields["details"],
        "prev_hash": fields["prev_hash"],
    }
    if scheme == PLAIN_SCHEME:
        return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
    if scheme != KEYED_SCHEME:
        raise ValueError(f"unknown audit hash scheme {scheme!r}")
    if not key:
        raise MissingAuditKey("this entry is keyed: the audit key is needed to compute its hash")
    payload.update(v=2, hash_scheme=scheme)
    return hmac.new(key, canonical_json(payload).encode("utf-8"), hashlib.sha256).hexdigest()


class MissingAuditKey(RuntimeError):
    """A keyed entry was to be hashed without the audit key (configuration error)."""


def attach_audit_key(engine: Engine, key: bytes) -> None:
    """Make every session on ``engine`` write keyed entries with ``key`` (the core object calls this)."""
    if not key:
        raise ValueError("the audit key must not be empty")
    engine.update_execution_options(**{AUDIT_KEY_OPTION: bytes(key)})


def audit_key_of(session: Session) -> bytes | None:
    """The audit key attached to the engine ``session`` writes to, or None (plain entries)."""
    bind = session.get_bind()
    key = bind.get_execution_options().get(AUDIT_KEY_OPTION)
    return bytes(key) if key else None


def require_purpose(purpose: str | None) -> str:
    """The stated purpose or case number, trimmed; ValueError when missing, blank, too long or garbled.

    Need-to-know (28 CFR 23.20(e)): every search of intelligence and every release states why.

    >>> require_purpose("")
    Traceback (most recent call last):
    ...
    ValueError: a purpose or case number is required: say why you need this information
    """
    if purpose is None or not str(purpose).strip():
        raise ValueError("a purpose or case number is required: say why you need this information")
    if not isinstance(purpose, str):
        raise ValueError("the purpose must be text")
    cleaned = purpose.strip()
    if len(cleaned) > MAX_PURPOSE_LENGTH:
        raise ValueError(f"the purpose must be at most {MAX_PURPOSE_LENGTH} characters (got {len(cleaned)})")
    if _CONTROL.search(cleaned):
        raise ValueError("the purpose must be one line of text, without control characters")
    return cleaned


def _take_write_lock(session: Session) -> None:
    """Serialise chain writers until the caller's transaction ends."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        # A write that matches no row: it starts the write transaction (waiting up to busy_timeout
        # for another writer) without touching a row, so the append-only triggers do not fire.
        session.execute(text("UPDATE audit_log SET seq = seq WHERE 0"))
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"audit log: no writer lock for database {dialect!r}")


def record_event(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: str | None = None,
    actor: UserInfo | None = None,
    purpose: str | None = None,
    details: dict[str, object] | None = None,
    agency_id: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry to the audit log inside the caller's transaction and return it.

    Parameters
    ----------
    action
        What happened: one of :data:`STANDARD_ACTIONS` (``create``, ``read``, ``search``, …) or
        another lower-case word (``[a-z_]``, at most 32 characters).
    object_type, object_id
        What it happened to, e.g. ``"incident"`` and ``"42"``, or ``"incidents"`` and None for a search.
    actor
        Who did it; None for the system or for a sign-in attempt by an unknown user.
    purpose
        The stated purpose or case number. Not required here (sign-ins have none); callers that
        need one validate it first with :func:`require_purpose`. Stored trimmed, ≤ 500 characters.
    details
        Further facts (filters, counts, outcome) as a JSON-serialisable mapping; dates become text.
    agency_id
        The agency whose data is concerned; defaults to the actor's agency.
    occurred_at
        When it happened (aware UTC); defaults to now. Services pass their unit of work's clock.

    Raises
    ------
    ValueError
        For a malformed action or object type, an oversized purpose, object id or details.
    """
    if not _ACTION.match(action or ""):
        raise ValueError(f"audit action must be lower-case letters and '_' (≤ 32 characters), got {action!r}")
    if not _OBJECT_TYPE.match(object_type or ""):
        raise ValueError(f"audit object type must be a lower-case identifier (≤ 64 characters), got {object_type!r}")
    if object_id is not None:
        object_id = str(object_id)
        if len(object_id) > 200:
            raise ValueError("audit object id must be at most 200 characters")
    if purpose is not None:
        purpose = purpose.strip() or None
        if purpose is not None and len(purpose) > MAX_PURPOSE_LENGTH:
            raise ValueError(f"the purpose must be at most {MAX_PURPOSE_LENGTH} characters (got {len(purpose)})")
    details_json = canonical_json(json.loads(json.dumps(details or {}, default=str)))
    if len(details_json) > MAX_DETAILS_LENGTH:
        raise ValueError(f"audit details must be at most {MAX_DETAILS_LENGTH} characters of JSON")

    key = audit_key_of(session)
    _take_write_lock(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).one_or_none()
    seq, prev_hash = (1, GENESIS_HASH) if head is None else (int(head[0]) + 1, str(head[1]))
    fields: dict[str, Any] = {
        "seq": seq,
        "occurred_at": occurred_at if occurred_at is not None else utcnow(),
        "actor_user_id": actor.id if actor is not None else None,
        "actor_username": actor.username if actor is not None else None,
        "actor_role": actor.role if actor is not None else None,
        "agency_id": agency_id if agency_id is not None else (actor.agency_id if actor is not None else None),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "purpose": purpose,
        "details": details_json,
        "prev_hash": prev_hash,
        "hash_scheme": KEYED_SCHEME if key else PLAIN_SCHEME,
    }
    entry = AuditEntry(**fields, entry_hash=entry_hash(fields, key))
    session.add(entry)
    session.flush()
    return entry


# --- verification -----------------------------------------------------------------------------

_HASHED_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.occurred_at,
    AuditEntry.actor_user_id,
    AuditEntry.actor_username,
    AuditEntry.actor_role,
    AuditEntry.agency_id,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.purpose,
    AuditEntry.details,
    AuditEntry.prev_hash,
    AuditEntry.hash_scheme,
    AuditEntry.entry_hash,
)


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify_chain`.

    ``problem`` is None when ``ok``, else one of ``"edited"`` (an entry's contents no longer match
    its hash), ``"deleted"`` (a gap in ``seq``: ``bad_seq`` is the first missing number),
    ``"reordered"`` (an intact entry sits at another position than the one it was written at) or
    ``"broken_link"`` (an intact entry does not point to the entry before it: that one was
    replaced), ``"downgraded"`` (a plain SHA-256 entry after a keyed one: written by someone without
    the key) or ``"no_key"`` (keyed entries, but no audit key to check them with). ``entries``
    counts the entries read; ``head_seq``/``head_hash`` identify the last one, for anchoring
    outside the database.
    """

    ok: bool
    entries: int
    bad_seq: int | None = None
    problem: str | None = None
    message: str = ""
    head_seq: int | None = None
    head_hash: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "bad_seq": self.bad_seq,
            "problem": self.problem,
            "message": self.message,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
        }


#: How far (in entries) :func:`verify_chain` looks for the original position of a moved entry.
_DISPLACEMENT_WINDOW = 1000


def _rows(session: Session) -> Iterator[dict[str, Any]]:
    result = session.execute(select(*_HASHED_COLUMNS).order_by(AuditEntry.seq).execution_options(yield_per=2000))
    for row in result:
        yield dict(row._mapping)


def _is_displaced(session: Session, row: dict[str, Any], key: bytes | None) -> bool:
    """Whether ``row`` is intact but was written at another ``seq`` (nearby, or after its predecessor)."""
    seq = int(row["seq"])
    candidates = set(range(max(1, seq - _DISPLACEMENT_WINDOW), seq + _DISPLACEMENT_WINDOW + 1))
    predecessor_seq = session.scalar(select(AuditEntry.seq).where(AuditEntry.entry_hash == row["prev_hash"]))
    if predecessor_seq is not None:
        candidates.add(int(predecessor_seq) + 1)
    candidates.discard(seq)
    return any(entry_hash({**row, "seq": s}, key) == row["entry_hash"] for s in sorted(candidates))


def verify_chain(session: Session, key: bytes | None = None) -> VerificationResult:
    """Recompute the whole chain and report the first entry that does not check out.

    Checks, in ``seq`` order: numbering starts at 1 without gaps (else *deleted*), each entry's
    hash matches its contents (else *reordered* when the intact entry belongs at another position,
    otherwise *edited*), and each ``prev_hash`` is the previous entry's hash (else *broken_link*).
    Keyed entries are checked with ``key`` (default: the key attached to the session's engine);
    once a keyed entry has been seen, a plain one is a *downgrade*. Removing entries from the
    *end* of the log leaves a valid shorter chain: compare ``head_seq`` and ``head_hash`` with an
    anchor kept elsewhere (:mod:`openilp.security.audit_anchor`, ``openilp audit verify``).
    """
    key = key if key is not None else audit_key_of(session)
    keyed_seen = False
    expected_seq = 1
    expected_prev = GENESIS_HASH
    count = 0
    last: dict[str, Any] | None = None
    for row in _rows(session):
        count += 1
        seq = int(row["seq"])
        if seq != expected_seq:
            return VerificationResult(
                False,
                count,
                expected_seq,
                "deleted",
                f"entry {expected_seq} is missing: the log jumps from {expected_seq - 1} to {seq}"
                + (f" ({seq - expected_seq} entries deleted)" if seq - expected_seq > 1 else " (entry deleted)"),
            )
        scheme = row.get("hash_scheme") or PLAIN_SCHEME
        if scheme == KEYED_SCHEME:
            keyed_seen = True
            if not key:
                return VerificationResult(
                    False, count, seq, "no_key", f"entry {seq} is keyed: give the audit key to verify the log"
                )
        elif keyed_seen:
            return VerificationResult(
                False,
                count,
                seq,
                "downgraded",
                f"entry {seq} carries a plain hash after keyed entries: it was written without the audit key",
            )
        if entry_hash(row, key) != row["entry_hash"]:
            if _is_displaced(session, row, key):
                return VerificationResult(
                    False,
                    count,
                    seq,
                    "reordered",
                    f"entry {seq} is intact but was written at another position: entries were reordered",
                )
            return VerificationResult(
                False, count, seq, "edited", f"entry {seq} was altered: its contents no longer match its hash"
            )
        if row["prev_hash"] != expected_prev:
            return VerificationResult(
                False,
                count,
                seq,
                "broken_link",
                f"entry {seq} does not follow entry {seq - 1}: the entry before it was replaced or rewritten",
            )
        expected_seq = seq + 1
        expected_prev = row["entry_hash"]
        last = row
    return VerificationResult(
        True,
        count,
        message=f"{count} entries, chain intact",
        head_seq=int(last["seq"]) if last else None,
        head_hash=str(last["entry_hash"]) if last else None,
    )


def chain_head(session: Session) -> tuple[int, str] | None:
    """``(seq, entry_hash)`` of the newest entry, or None for an empty log."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).one_or_none()
    return None if row is None else (int(row[0]), str(row[1]))


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Filters for :func:`list_entries`; every field is optional. Dates are UTC days, inclusive.

    ``agency_id`` keeps that agency's entries plus those tied to no agency (e.g. sign-in attempts
    with unknown usernames).
    """

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    agency_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items() if v is not None}


def _filtered(query: Select[Any], filters: AuditFilter) -> Select[Any]:
    if filters.actor:
        query = query.where(AuditEntry.actor_username == filters.actor.strip().lower())
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEntry.object_id == filters.object_id)
    if filters.date_from:
        query = query.where(AuditEntry.occurred_at >= dt.datetime.combine(filters.date_from, dt.time(), dt.UTC))
    if filters.date_to:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        query = query.where(AuditEntry.occurred_at < end)
    if filters.agency_id is not None:  # that agency's entries and those tied to no agency
        query = query.where(or_(AuditEntry.agency_id == filters.agency_id, AuditEntry.agency_id.is_(None)))
    return query


def list_entries(
    session: Session, filters: AuditFilter | None = None, *, limit: int = 100, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """Entries matching ``filters``, newest first, and how many match in total."""
    filters = filters or AuditFilter()
    total = int(session.scalar(_filtered(select(func.count()).select_from(AuditEntry), filters)) or 0)
    rows = session.scalars(
        _filtered(select(AuditEntry), filters).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def entry_as_dict(entry: AuditEntry) -> dict[str, object]:
    """JSON-ready view of one entry (details parsed back into an object)."""
    try:
        details: object = json.loads(entry.details)
    except ValueError:  # pragma: no cover - only a tampered entry has unparsable details
        details = entry.details
    return {
        "seq": entry.seq,
        "occurred_at": _iso(entry.occurred_at),
        "actor_user_id": entry.actor_user_id,
        "actor_username": entry.actor_username,
        "actor_role": entry.actor_role,
        "agency_id": entry.agency_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "purpose": entry.purpose,
        "details": details,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }
