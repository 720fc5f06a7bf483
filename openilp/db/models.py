"""The relational schema (SQLAlchemy 2 declarative models).

Every record belongs to an agency. Changes to this file need an Alembic migration in
``openilp/db/migrations/versions``; ``tests/test_migrations.py`` fails when they drift apart.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from openilp.db.types import UTCDateTime

__all__ = [
    "Base",
    "Agency",
    "OffenceCategory",
    "ImportFile",
    "Incident",
    "IncidentLedger",
    "User",
    "AuditEntry",
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
    """Every +1/-1 row of a source that reverses records (St. Louis ``Count``).

    The net count of a record is the sum over its ledger rows, so reversals apply whatever
    order the files arrive in, and a re-published file replaces its own rows only. Agency and
    source come from the import file. Keyed by (file, line) and stored without a rowid in
    SQLite, so bulk appends write one B-tree.
    """

    __tablename__ = "incident_ledger"
    __table_args__ = {"sqlite_with_rowid": False}

    import_file_id: Mapped[int] = mapped_column(ForeignKey("import_files.id", ondelete="CASCADE"), primary_key=True)
    source_line: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(200))
    count_delta: Mapped[int] = mapped_column(Integer)


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


class AuditEntry(Base):
    """One entry of the tamper-evident, append-only audit log.

    Entries form a hash chain: ``entry_hash`` is SHA-256 over a canonical JSON of the entry's
    fields and ``prev_hash`` (the previous entry's ``entry_hash``). ``seq`` numbers entries
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
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
