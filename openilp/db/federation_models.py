"""The federation tables: partner instances, seen request signatures, shares and the outbox.

A **partner** is another OpenILP instance this one talks to: its base URL, its Ed25519 public key
(its key id is the key's fingerprint), the agencies it speaks for and the sharing groups it belongs
to. A **nonce** row remembers a signed request seen within the clock-skew window, so a replay is
refused. A **share** records that a partner instance received an intelligence record (an open
summary from a federated search), so a later correction or purge reaches it. A **delivery** is one
signed notice waiting in the outbox (a correction, a purge), retried with backoff until the
partner acknowledges it. A **received** row is the copy of a partner's open summary an analyst of
this instance was shown, erased when the owner's purge notice arrives.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openilp.db.models import Base, utcnow
from openilp.db.types import UTCDateTime

__all__ = ["FederationPartner", "FederationNonce", "FederationShare", "FederationDelivery", "FederationReceived"]


class FederationPartner(Base):
    """A partner instance: where it answers, the key it signs with, whom it speaks for."""

    __tablename__ = "federation_partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Short name used on the command line and in the audit log (unique).
    name: Mapped[str] = mapped_column(String(80), unique=True)
    #: Base URL, e.g. https://openilp.county.example (no trailing slash).
    base_url: Mapped[str] = mapped_column(String(300))
    #: The partner's Ed25519 public key, raw 32 bytes in URL-safe base64.
    public_key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 fingerprint of the public key (first 32 hex digits): the key id its requests carry.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: Agency codes the partner instance holds, comma-separated.
    agency_codes: Mapped[str] = mapped_column(String(500), default="")
    #: Sharing groups the partner belongs to, comma-separated.
    sharing_groups: Mapped[str] = mapped_column(String(500), default="")
    #: The signed agreement on file that allows the exchange (document reference).
    agreement_reference: Mapped[str] = mapped_column(String(200), default="")
    #: Whether the partner is asked in federated searches and checks (False: removed, kept for the log).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FederationNonce(Base):
    """A signed request already accepted: its key id and nonce, kept until the window closes."""

    __tablename__ = "federation_nonces"
    __table_args__ = (UniqueConstraint("key_id", "nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the signature (a second key: the same signature is never accepted twice).
    signature_hash: Mapped[str] = mapped_column(String(64), unique=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: When the row may be deleted: the request's date plus the clock-skew window.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class FederationShare(Base):
    """A record of this instance that a partner instance received (for corrections and purges)."""

    __tablename__ = "federation_shares"
    __table_args__ = (UniqueConstraint("record_id", "partner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("intel_records.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("federation_partners.id"))
    #: The end user at the partner who caused the share, as the partner named them.
    end_user: Mapped[str] = mapped_column(String(200))
    shared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class FederationDelivery(Base):
    """One signed notice in the outbox, retried with backoff until the partner acknowledges it."""

    __tablename__ = "federation_deliveries"
    __table_args__ = (Index("ix_federation_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("federation_partners.id"))
    #: "correction" or "purge".
    kind: Mapped[str] = mapped_column(String(20))
    #: The owner's record id the notice is about.
    record_id: Mapped[int] = mapped_column(Integer)
    #: JSON body sent to ``/federation/v1/notices``.
    payload: Mapped[str] = mapped_column(Text)
    #: "pending", "delivered" or "failed" (gave up after the last attempt).
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FederationReceived(Base):
    """A partner's open summary shown to a user of this instance (erased on the owner's purge)."""

    __tablename__ = "federation_received"
    __table_args__ = (UniqueConstraint("partner_id", "remote_record_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("federation_partners.id"))
    remote_record_id: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: JSON of what was shown (title, summary, subjects, labels); emptied on a purge.
    content: Mapped[str] = mapped_column(Text)
    #: "current", "corrected" (re-search for the new version) or "purged".
    status: Mapped[str] = mapped_column(String(12), default="current")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
