"""The relational schema (SQLAlchemy 2 declarative models).

Every record belongs to an agency. Changes to this file need an Alembic migration in
``openilp/db/migrations/versions``; ``tests/test_migrations.py`` fails when they drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from openilp.db.types import UTCDateTime
from openilp.ingest.categories import category_attention

__all__ = [
    "Base",
    "Agency",
    "OffenceCategory",
    "ImportFile",
    "Incident",
    "IncidentLedger",
    "User",
    "AuditEntry",
    "IntelAgencySettings",
    "IntelPartnerAgreement",
    "IntelRecord",
    "IntelSubject",
    "IntelReviewDecision",
    "IntelReviewTask",
    "IntelDissemination",
    "Notification",
    "Tip",
    "TipMessage",
    "TipAttachment",
    "TipReward",
    "Problem",
    "ProblemHistory",
    "ProblemWorksheet",
    "ProblemAttachment",
    "ProblemNote",
    "ProblemIntervention",
    "ProblemComparisonArea",
    "ProblemEvaluation",
    "CrimeSeries",
    "CrimeSeriesMember",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current moment, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Agency(Base):
    """A police agency or partner organisation; the owner of every record."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    #: Projected CRS in metres used for analysis (x_m/y_m of incidents), e.g. "EPSG:26996".
    crs: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OffenceCategory(Base):
    """A common offence category (UCR/NIBRS-style group) shared by all sources."""

    __tablename__ = "offence_categories"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    #: "violent", "property", "society" or "other".
    crime_group: Mapped[str] = mapped_column(String(20))
    #: 1 for UCR Part I offences, 2 for Part II, None for non-crime events.
    ucr_part: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The broader category this one refines (theft_from_vehicle -> larceny), or None.
    parent_code: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ImportFile(Base):
    """One import of one source file: its fingerprint and reconciled counts."""

    __tablename__ = "import_files"
    __table_args__ = (UniqueConstraint("agency_id", "source", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    source: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    header: Mapped[str] = mapped_column(Text, default="")
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_folded: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    netted_out: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)

    agency: Mapped[Agency] = relationship()


def _category_attention(context: Any) -> str:
    """An incident written without saying how it came to attention gets its category's default."""
    code = context.get_current_parameters().get("category_code")
    return category_attention().get(code, ("unknown", ""))[0] if code else "unknown"


class Incident(Base):
    """A reported crime or call, normalised for analysis and exchange.

    ``occurred_from``/``occurred_to`` is the window in which the event happened (UTC):
    equal for an exact time, otherwise ``occurred_to`` is exclusive (a date-only record
    spans midnight to midnight local time). ``x_m``/``y_m`` are metres in the agency's
    projected CRS; ``lon``/``lat`` are WGS84. ``raw`` is the source line exactly as
    published; its header is on the import file.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("agency_id", "source", "source_key"),
        Index("ix_incidents_agency_occurred", "agency_id", "occurred_from"),
        Index("ix_incidents_category_occurred", "category_code", "occurred_from"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    source: Mapped[str] = mapped_column(String(64))
    #: Unique key of the record within (agency, source): the record id, or a content key.
    source_key: Mapped[str] = mapped_column(String(200))
    #: The record identifier as published (complaint or case number), if the source has one.
    source_record_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    offence_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    offence_description: Mapped[str | None] = mapped_column(String(300), nullable=True)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("offence_categories.code"), nullable=True)
    occurred_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    occurred_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: "minute", "hour", "day", "month" or "window".
    time_precision: Mapped[str] = mapped_column(String(10))
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    x_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    y_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: "located", "missing" (none given), "withheld" (the source suppressed it for privacy) or
    #: "outside" (given, but outside the agency's extent: kept, not used for analysis).
    location_status: Mapped[str] = mapped_column(String(12))
    block_address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    district: Mapped[str | None] = mapped_column(String(60), nullable=True)
    beat: Mapped[str | None] = mapped_column(String(60), nullable=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(120), nullable=True)
    flag_unfounded: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_administrative: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When the source last changed the record (e.g. coded month, updated_on); newer wins.
    source_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: How it came to police attention: "reported" (by the public), "discovered" (by police:
    #: officer-initiated) or "unknown"; the source's mapping decides, else the category's default.
    attention: Mapped[str] = mapped_column(String(10), default=_category_attention, server_default="unknown")
    #: Logged probability (0-1] that patrol was where a discovered incident was found, if known.
    patrol_propensity: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Net count after reversals (sources with Count = +1/-1 rows); 1 otherwise.
    net_count: Mapped[int] = mapped_column(Integer, default=1)
    import_file_id: Mapped[int] = mapped_column(ForeignKey("import_files.id"))
    source_line: Mapped[int] = mapped_column(Integer)
    #: 64-bit hash of the normalised fields, to tell updated from unchanged on re-import.
    content_hash: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[str] = mapped_column(Text)

    agency: Mapped[Agency] = relationship()
    category: Mapped[OffenceCategory | None] = relationship()
    import_file: Mapped[ImportFile] = relationship()


class IncidentLedger(Base):
    """The +1/-1 rows of one imported file of a source that reverses records (St. Louis ``Count``).

    The net count of a record is the sum of its deltas over all files, so reversals apply whatever
    order the files arrive in, and a re-published file replaces its own entries only. One row per
    file holds that file's entries (source lines, record keys, deltas) as compact JSON: the
    importer always reads and replaces them a file at a time, and one row per file keeps bulk
    imports from writing a quarter of a million extra rows. Read them with
    :func:`openilp.db.ledger.ledger_entries`.
    """

    __tablename__ = "incident_ledger"

    import_file_id: Mapped[int] = mapped_column(ForeignKey("import_files.id", ondelete="CASCADE"), primary_key=True)
    #: JSON ``{"lines": [...], "keys": [...], "deltas": [...]}``, aligned lists.
    entries: Mapped[str] = mapped_column(Text)


class User(Base):
    """A person who signs in. Passwords are stored only as argon2 hashes."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    #: analyst, officer, supervisor, reviewer, auditor, administrator or partner.
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the password was last set (creation or change).
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The TOTP shared secret, encrypted (``openilp.security.secretbox``); never shown after enrolment.
    totp_secret: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: True once the user has proved the authenticator works (a code was accepted).
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The last TOTP time step accepted (replay protection: a code is accepted once).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Intelligence reviewers: last day (inclusive) their 28 CFR Part 23 training is valid.
    training_valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    agency: Mapped[Agency] = relationship()


class UserSession(Base):
    """A signed-in session, kept on the server so that it can be ended (migration 0008).

    The browser's cookie holds a random token; only its SHA-256 is stored, so a copy of the
    database gives no usable session. A session ends at sign-out, when revoked (sign-out
    everywhere, an administrator, a role change, a deactivation), or when it expires (idle or
    absolute lifetime); ``ended_at`` and ``end_reason`` record which.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_open", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: True when the sign-in included a TOTP code.
    second_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: logout, logout_everywhere, revoked, account_changed, idle, absolute, inactive.
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AuditEntry(Base):
    """One entry of the tamper-evident, append-only audit log.

    Entries form a hash chain: ``entry_hash`` is HMAC-SHA-256, under a key kept outside the
    database, over a canonical JSON of the entry's fields and ``prev_hash`` (the previous entry's
    ``entry_hash``); entries older than migration 0006 carry a plain SHA-256 (``hash_scheme``). ``seq`` numbers entries
    1, 2, 3, … without gaps. Database triggers refuse UPDATE and DELETE. Written only through
    :func:`openilp.security.audit.record_event`.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_occurred_at", "occurred_at"),
        Index("ix_audit_log_actor_user_id", "actor_user_id"),
        Index("ix_audit_log_action", "action"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: Not a foreign key: the log must outlive and never block changes to accounts.
    actor_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_username: Mapped[str | None] = mapped_column(String(80), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    agency_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: create, read, search, update, export, disseminate, purge, login, login_failed, logout, …
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The stated purpose or case number (need-to-know), when the action requires one.
    purpose: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: JSON object with further facts (query filters, counts, outcome); canonical form.
    details: Mapped[str] = mapped_column(Text, default="{}")
    #: ``hmac-sha256`` (keyed, since migration 0006) or ``sha256`` (the plain chain of older entries).
    hash_scheme: Mapped[str] = mapped_column(String(16), server_default="sha256", default="sha256")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- Intelligence (28 CFR Part 23): records, review, dissemination, tips -------------------------


class IntelAgencySettings(Base):
    """Per-agency intelligence settings: which grading scheme its records use."""

    __tablename__ = "intel_agency_settings"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    #: "admiralty" or "uk_3x5x2" (:mod:`openilp.intel.grading`).
    grading_scheme: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntelPartnerAgreement(Base):
    """A signed sharing agreement on file: the partner agreed to handle intelligence per 23.20(f)(1)."""

    __tablename__ = "intel_partner_agreements"
    __table_args__ = (UniqueConstraint("agency_id", "partner_agency_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The agency that owns the records and keeps the agreement.
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    partner_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    document_reference: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: What the agreement covers: "releases_and_search" or "releases" (:mod:`openilp.services.intel.agreements`).
    scope: Mapped[str] = mapped_column(String(24), default="releases_and_search", server_default="releases_and_search")
    #: When an administrator revoked it (no release or full search hit after that moment), by whom and why.
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    revocation_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")


class IntelRecord(Base):
    """A criminal intelligence record (or temporary working file) with its predicate and labels.

    ``status`` is "pending" until a trained reviewer approves it, then "approved"; "rejected" or
    "purged" end its life. A purged record keeps only content-free facts (ids, dates, status).
    """

    __tablename__ = "intel_records"
    __table_args__ = (
        Index("ix_intel_records_agency_status", "agency_id", "status"),
        Index("ix_intel_records_status_expires", "status", "retention_expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The submitting (owning) agency.
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    #: "pending", "approved", "rejected" or "purged".
    status: Mapped[str] = mapped_column(String(12))
    #: "permanent" (criminal intelligence) or "temporary" (working file, at most one year).
    file_type: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    # The criminal predicate (23.20(a), (c), (d), (n)).
    offence_category: Mapped[str | None] = mapped_column(ForeignKey("offence_categories.code"), nullable=True)
    factual_basis: Mapped[str] = mapped_column(Text)
    #: The structured facts of the predicate (empty on records submitted before migration 0013).
    predicate_who: Mapped[str] = mapped_column(String(200), default="", server_default="")
    predicate_what: Mapped[str] = mapped_column(String(200), default="", server_default="")
    predicate_when: Mapped[str] = mapped_column(String(200), default="", server_default="")
    predicate_where: Mapped[str] = mapped_column(String(200), default="", server_default="")
    source_reference: Mapped[str] = mapped_column(String(200))
    collection_method: Mapped[str] = mapped_column(String(40))
    lawful_collection_attested: Mapped[bool] = mapped_column(Boolean)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Labels (23.20(g)).
    grading_scheme: Mapped[str] = mapped_column(String(16))
    source_grade: Mapped[str] = mapped_column(String(2))
    information_grade: Mapped[str] = mapped_column(String(2))
    handling_code: Mapped[str] = mapped_column(String(2))
    handling_conditions: Mapped[str] = mapped_column(Text, default="")
    #: "open", "agency_name_only" or "restricted".
    sensitivity: Mapped[str] = mapped_column(String(20))
    control_official_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Protected activity (23.20(b)): comma-separated categories, the nexus and its second approval.
    protected_categories: Mapped[str] = mapped_column(String(200), default="")
    nexus_justification: Mapped[str] = mapped_column(Text, default="")
    nexus_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    nexus_approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Review and retention (23.20(h)).
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_validated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retention_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The tip or suspicious-activity report this record came from, if any.
    source_tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"), nullable=True)
    #: TLP 2.0 marking ("TLP:CLEAR" … "TLP:RED", :mod:`openilp.intel.markings`) beside the handling code.
    tlp: Mapped[str] = mapped_column(String(20), default="TLP:AMBER", server_default="TLP:AMBER")
    #: For an item received from a partner (an imported bundle, a federated copy): who sent it, and the
    #: marking, handling code and audience (JSON list of agency codes, None = any the marking allows) it
    #: arrived with. Every further hop may only narrow them (:func:`openilp.intel.markings.check_narrowing`).
    received_from: Mapped[str] = mapped_column(String(200), default="", server_default="")
    received_tlp: Mapped[str | None] = mapped_column(String(20), nullable=True)
    received_handling_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    received_audience: Mapped[str | None] = mapped_column(Text, nullable=True)

    agency: Mapped[Agency] = relationship()
    subjects: Mapped[list[IntelSubject]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="IntelSubject.id"
    )


class IntelSubject(Base):
    """A person, organisation, vehicle or location named in a record, with its role.

    ``role`` "criminal_subject" is reasonably suspected; "non_criminal_identifier" is identifying
    information only (1998 clarification): never shown or returned as a subject, never searched.
    """

    __tablename__ = "intel_subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("intel_records.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(30))
    display_name: Mapped[str] = mapped_column(String(200))
    identifiers: Mapped[str] = mapped_column(String(200), default="")

    record: Mapped[IntelRecord] = relationship(back_populates="subjects")


class IntelReviewDecision(Base):
    """A reviewer's decision on a record: approved, rejected, validated or nexus_approved.

    Retained records show who reviewed them, when and why (23.20(h)).
    """

    __tablename__ = "intel_review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("intel_records.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    #: Whether the reviewer re-checked that the criminal predicate still holds.
    predicate_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IntelReviewTask(Base):
    """A review that comes due before a record's retention ends ("open" until done or purged)."""

    __tablename__ = "intel_review_tasks"
    __table_args__ = (UniqueConstraint("record_id", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("intel_records.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: "open", "validated" or "purged".
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IntelDissemination(Base):
    """One release of intelligence outside the owning agency (23.20(g)): who, why, when, what."""

    __tablename__ = "intel_disseminations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("intel_records.id"), index=True)
    #: "release" (sent by the owner), "search_hit" (an open record shown to another agency) or
    #: "emergency" (an assessment released to avoid imminent danger, 23.20(f)(2)).
    kind: Mapped[str] = mapped_column(String(12))
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: None for an emergency release to someone outside every agency in the store.
    recipient_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    need_to_know: Mapped[str] = mapped_column(Text)
    #: JSON list of the items released, e.g. ``["summary", "subjects"]``.
    items: Mapped[str] = mapped_column(Text)
    handling_conditions: Mapped[str] = mapped_column(Text, default="")
    released_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: True for an imminent-danger release under 28 CFR 23.20(f)(2) (``kind`` "emergency").
    imminent_danger: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The assessment released in an emergency (never the raw file); empty for other releases.
    assessment: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The TLP 2.0 marking the release went out under (never wider than the record's).
    tlp: Mapped[str] = mapped_column(String(20), default="TLP:AMBER", server_default="TLP:AMBER")
    #: The sharing group the release was addressed to (one row per recipient), if any.
    sharing_group_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_groups.id"), nullable=True)


class Notification(Base):
    """An in-app notice to a user, or to every user of an agency when ``user_id`` is None."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_agency_user", "agency_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: "correction", "purge", "restricted_hit", "dissemination_received", "tip_message", …
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(1000))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("intel_records.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Tip(Base):
    """An anonymous community tip or suspicious-activity report (kind "tip" or "sar").

    Nothing about the tipster is stored: no IP address, user agent, name or contact. The tipster
    holds ``public_id`` and a secret (stored only as an argon2 hash) to read replies and add to it.
    Tips stay apart from intelligence records until an analyst turns one into a submission.
    """

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(String(8))
    #: ISE-SAR behaviour category (SARs only).
    behaviour_category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    narrative: Mapped[str] = mapped_column(Text)
    #: "new", "triaged", "linked", "converted" or "closed".
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    linked_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    closed_reason: Mapped[str] = mapped_column(String(500), default="")
    triaged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class TipMessage(Base):
    """One message of the anonymous two-way dialogue on a tip (author "tipster" or "agency")."""

    __tablename__ = "tip_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), index=True)
    author: Mapped[str] = mapped_column(String(8))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TipAttachment(Base):
    """An image sent with a tip, re-encoded without metadata (EXIF, GPS, camera serials)."""

    __tablename__ = "tip_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TipReward(Base):
    """A reward keyed by tip: approved amount and a payout code known only to the tipster."""

    __tablename__ = "tip_rewards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), unique=True)
    #: "approved", "code_issued", "paid", "declined" or "locked" (too many wrong payout codes).
    status: Mapped[str] = mapped_column(String(12))
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: argon2 hash of the payout code the tipster collected; the code itself is never stored.
    payout_code_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    code_issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: Wrong payout codes presented so far; at :data:`openilp.services.intel.tips.MAX_PAYOUT_ATTEMPTS`
    #: the reward is locked (status "locked") until an administrator unlocks it.
    failed_payout_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- Problem-oriented policing (SARA): problems, worksheet, products, responses, assessment -------


class Problem(Base):
    """A problem worked through the SARA cycle, with a goal that can be measured.

    The goal: reduce the incidents of ``categories`` inside ``area_geojson`` by
    ``target_reduction_pct`` percent in the evaluation period relative to the baseline period
    (both local calendar days, inclusive; the baseline ends the day before the evaluation starts,
    so the two are the windows of the assessment). The area is GeoJSON in WGS84; its projected
    geometry (metres) is derived with the agency's CRS when needed.
    """

    __tablename__ = "problems"
    __table_args__ = (Index("ix_problems_agency_stage", "agency_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    #: The goal in words, e.g. "reduce residential burglary in Dutchtown by 20% over 6 months".
    goal: Mapped[str] = mapped_column(Text, default="")
    #: JSON list of category codes or crime groups.
    categories: Mapped[str] = mapped_column(Text, default="[]")
    target_reduction_pct: Mapped[float] = mapped_column(Float)
    baseline_start: Mapped[dt.date] = mapped_column(Date)
    baseline_end: Mapped[dt.date] = mapped_column(Date)
    evaluation_start: Mapped[dt.date] = mapped_column(Date)
    evaluation_end: Mapped[dt.date] = mapped_column(Date)
    area_name: Mapped[str] = mapped_column(String(200), default="")
    area_geojson: Mapped[str] = mapped_column(Text)
    #: "scanning", "analysis", "response", "assessment" or "closed".
    stage: Mapped[str] = mapped_column(String(12))
    #: Where the problem came from: "analyst" or a scanning source ("hotspot", "trend").
    origin: Mapped[str] = mapped_column(String(20), default="analyst")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProblemHistory(Base):
    """One change to a problem: who, when, what (JSON details)."""

    __tablename__ = "problem_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(80), default="")
    #: "open", "update", "stage", "worksheet", "note", "attachment", "intervention", "areas", "power", "assessment".
    action: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text, default="{}")


class ProblemWorksheet(Base):
    """The problem analysis triangle: offender, target/victim, place and their controllers."""

    __tablename__ = "problem_worksheets"

    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), primary_key=True)
    offender: Mapped[str] = mapped_column(Text, default="")
    target_victim: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(Text, default="")
    handlers: Mapped[str] = mapped_column(Text, default="")
    guardians: Mapped[str] = mapped_column(Text, default="")
    managers: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ProblemAttachment(Base):
    """An analysis product attached to a problem: Knox table, trend chart, hot-spot map, incident list."""

    __tablename__ = "problem_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    #: JSON of the parameters it was generated with.
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    #: "application/json", "application/geo+json" or "image/svg+xml".
    content_type: Mapped[str] = mapped_column(String(40))
    #: The product inline (JSON or SVG text), or None when it is a file.
    content: Mapped[str | None] = mapped_column(Text, nullable=True)
    file_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProblemNote(Base):
    """A free-text note on a problem."""

    __tablename__ = "problem_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProblemIntervention(Base):
    """A response: where (GeoJSON, WGS84; None = the problem's area), when, what and how much."""

    __tablename__ = "problem_interventions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    area_geojson: Mapped[str | None] = mapped_column(Text, nullable=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    #: Dosage, e.g. 45 "patrol minutes per day".
    dosage_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    dosage_unit: Mapped[str] = mapped_column(String(60), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProblemComparisonArea(Base):
    """A comparison area of a problem: "buffer" (displacement catchment), "control" or "control_buffer"."""

    __tablename__ = "problem_comparison_areas"
    __table_args__ = (UniqueConstraint("problem_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"))
    role: Mapped[str] = mapped_column(String(20))
    geojson: Mapped[str] = mapped_column(Text)
    #: "proposed" (by the platform) or "edited" (drawn or replaced by an analyst).
    origin: Mapped[str] = mapped_column(String(10))
    #: JSON: how it was proposed (candidate id, baseline, ranking) or who edited it.
    details: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ProblemEvaluation(Base):
    """A stored power check ("power", before launch) or assessment ("assessment") with its chart."""

    __tablename__ = "problem_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    #: JSON report (every method for an assessment; the MDE and warnings for a power check).
    report: Mapped[str] = mapped_column(Text)
    chart_svg: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrimeSeries(Base):
    """A crime series saved by an analyst: incidents believed to be one offender's, under review.

    ``status`` is "possible" (saved, not yet reviewed), "confirmed" or "rejected" (by a reviewer
    of the agency). A series may be kept as an analysis product of a problem or of an
    intelligence record of the same agency.
    """

    __tablename__ = "crime_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="possible")
    #: JSON: how the members were found (seed incident, scoring method, parameters).
    method: Mapped[str] = mapped_column(Text, default="{}")
    notes: Mapped[str] = mapped_column(Text, default="")
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id"), nullable=True)
    intel_record_id: Mapped[int | None] = mapped_column(ForeignKey("intel_records.id"), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_note: Mapped[str] = mapped_column(Text, default="")


class CrimeSeriesMember(Base):
    """An incident of a saved series, with the linkage score that brought it in (if any)."""

    __tablename__ = "crime_series_members"
    __table_args__ = (UniqueConstraint("series_id", "incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("crime_series.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)


class Designation(Base):
    """A person designated a member of a gang or criminal enterprise, on documented criteria.

    Made only with at least two criteria (:class:`DesignationCriterion`), each with its source and
    date (:mod:`openilp.intel.designations`); never from network association. ``review_due_at`` is
    the next review; ``expires_at`` the purge date (five years after the latest criterion). A purge
    deletes the criteria and blanks the person's name, keeping a tombstone for the audit trail.
    """

    __tablename__ = "designations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    person_name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    #: "proposed" (awaiting a second person), "active", "rejected" or "purged".
    status: Mapped[str] = mapped_column(String(12), default="active")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Who proposed it, and when.
    designated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    designated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The second person who approved it (never the proposer), and when.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The existing person entity the proposer picked (migration 0023): on approval the designation's
    #: person mention joins it instead of becoming an entity of its own.
    person_entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("entities.id", ondelete="SET NULL"), nullable=True, index=True
    )
    review_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DesignationCriterion(Base):
    """One documented criterion of a designation: its code, its source and the day it was observed."""

    __tablename__ = "designation_criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    designation_id: Mapped[int] = mapped_column(ForeignKey("designations.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(500))
    observed_on: Mapped[dt.date] = mapped_column(Date)
