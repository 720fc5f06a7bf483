"""The entity tables: mentions (what one source said about someone or something) and entities
(the resolved cluster), with the review queue, the lineage of merges and splits, person-file
imports and resolution runs.

A *mention* keeps its provenance (source, the source's own record id, file and line, or the
intelligence record and subject it came from) and the agency that owns it. Intelligence subjects
are mentions too (``intel_subject_id``); a ``non_criminal_identifier`` subject is a mention with
``searchable`` false, never returned by search or shown on an entity page, as before.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openilp.db.models import Base, utcnow
from openilp.db.types import UTCDateTime

__all__ = [
    "ENTITY_KINDS",
    "Entity",
    "EntityMention",
    "EntityReviewPair",
    "EntityEvent",
    "EntityImport",
    "EntityResolutionRun",
    "EntityMembership",
]

#: What an entity or a mention can be.
ENTITY_KINDS = ("person", "vehicle", "phone", "handle", "address", "organisation")


class Entity(Base):
    """A resolved person, vehicle, phone, handle, address or organisation of one agency.

    Its ``id`` is stable: later resolutions attach new mentions to it and never renumber it. A
    merge keeps the surviving id and marks the other ``merged`` (``merged_into_id``); a split
    gives the split-off part a new entity with an ``entity_events`` row naming where it came from.
    """

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(200))
    #: "active" or "merged" (into ``merged_into_id``).
    status: Mapped[str] = mapped_column(String(12), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityMention(Base):
    """What one source said: a row of a person file, an intelligence subject, a tip's named person."""

    __tablename__ = "entity_mentions"
    __table_args__ = (UniqueConstraint("agency_id", "source", "source_record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The source's name (a mapping's ``[source] name``, or "intel" for intelligence subjects).
    source: Mapped[str] = mapped_column(String(64))
    #: The source's own identifier of the record.
    source_record_id: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    line_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    intel_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("intel_records.id", ondelete="CASCADE"), nullable=True, index=True
    )
    intel_subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("intel_subjects.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    #: For intelligence subjects: "criminal_subject" or "non_criminal_identifier".
    role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    #: False for non-criminal identifying information: never searched, never shown as a subject.
    searchable: Mapped[bool] = mapped_column(Boolean, default=True)
    display_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    middle_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    surname: Mapped[str | None] = mapped_column(String(100), nullable=True)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    identifier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    street_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    street: Mapped[str | None] = mapped_column(String(200), nullable=True)
    locality: Mapped[str | None] = mapped_column(String(100), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    plate: Mapped[str | None] = mapped_column(String(20), nullable=True)
    plate_state: Mapped[str | None] = mapped_column(String(10), nullable=True)
    vin: Mapped[str | None] = mapped_column(String(32), nullable=True)
    make: Mapped[str | None] = mapped_column(String(40), nullable=True)
    model: Mapped[str | None] = mapped_column(String(40), nullable=True)
    colour: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: An e-mail address or online handle.
    handle: Mapped[str | None] = mapped_column(String(200), nullable=True)
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Free-text identifiers as the source gave them (an intelligence subject's ``identifiers``).
    raw_identifiers: Mapped[str] = mapped_column(String(200), default="")
    #: SHA-256 of the mention's fields: an unchanged row re-imported changes nothing.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: A vehicle's, phone's, handle's, address's or organisation's value in one written form
    #: (``openilp.entities.things.match_key``): equal keys are the same thing.
    match_key: Mapped[str | None] = mapped_column(String(240), nullable=True, index=True)
    #: Where an address lies, metres in the agency's CRS, when the store could place it.
    x_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    y_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The incident this mention is a party to (``role`` says as what: offender, victim, ...).
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("incidents.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    )
    #: The tip that named this person or thing (staff recorded it while triaging).
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), nullable=True, index=True)
    #: The day the source recorded the mention (an arrest, a stop, a camera read), when it says.
    seen_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    #: The approved gang or enterprise designation that named this person or organisation
    #: (``source`` "designation"); shown only to holders of ``designations:read`` while it is active.
    designation_id: Mapped[int | None] = mapped_column(
        ForeignKey("designations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityReviewPair(Base):
    """A pair of mentions in the uncertain band, and the human decision that overrides the model.

    ``decision`` is "match", "not_match" or "unsure" (None while open). Decisions are kept and
    applied on every later resolution: a match joins, a not-a-match keeps apart.
    """

    __tablename__ = "entity_review_pairs"
    __table_args__ = (UniqueConstraint("mention_low_id", "mention_high_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    mention_low_id: Mapped[int] = mapped_column(ForeignKey("entity_mentions.id", ondelete="CASCADE"))
    mention_high_id: Mapped[int] = mapped_column(ForeignKey("entity_mentions.id", ondelete="CASCADE"))
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    #: JSON: each field's agreement level and match weight (bits).
    explanation: Mapped[str] = mapped_column(Text, default="{}")
    decision: Mapped[str | None] = mapped_column(String(12), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityEvent(Base):
    """The lineage of an entity: created, merged, split, a mention moved; who, when and why."""

    __tablename__ = "entity_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    #: "created", "merged", "split" or "mention_moved".
    event: Mapped[str] = mapped_column(String(20))
    other_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), nullable=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("entity_mentions.id", ondelete="SET NULL"), nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityImport(Base):
    """One person file read into mentions, with its reconciliation (read = accepted + rejected)."""

    __tablename__ = "entity_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    source: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_accepted: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    mentions_added: Mapped[int] = mapped_column(Integer)
    mentions_updated: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityResolutionRun(Base):
    """One resolution: the trained model, its check, the thresholds and what changed."""

    __tablename__ = "entity_resolution_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    mentions: Mapped[int] = mapped_column(Integer)
    pairs_scored: Mapped[int] = mapped_column(Integer)
    match_threshold: Mapped[float] = mapped_column(Float)
    review_threshold: Mapped[float] = mapped_column(Float)
    entities_created: Mapped[int] = mapped_column(Integer)
    mentions_linked: Mapped[int] = mapped_column(Integer)
    review_pairs_opened: Mapped[int] = mapped_column(Integer)
    #: JSON: the Splink model (m and u of every level, the prior), for explanations.
    model: Mapped[str] = mapped_column(Text)


class EntityMembership(Base):
    """A person mention that is a designated member of an organisation mention.

    Written only when a designation (:class:`openilp.db.models.Designation`) is approved, and
    deleted when it is purged, rejected or expires: membership comes from documented criteria and a
    second person's approval, never from association. It links mentions, not entities, so merges
    and splits carry it to whichever entities the two mentions belong to.
    """

    __tablename__ = "entity_memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    designation_id: Mapped[int] = mapped_column(ForeignKey("designations.id", ondelete="CASCADE"), unique=True)
    person_mention_id: Mapped[int] = mapped_column(ForeignKey("entity_mentions.id", ondelete="CASCADE"), index=True)
    organisation_mention_id: Mapped[int] = mapped_column(
        ForeignKey("entity_mentions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
