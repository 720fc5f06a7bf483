"""Reading entities: one entity with the mentions the viewer may see, the CSV export, the search.

28 CFR Part 23 applies to every mention, so a viewer never learns of a record through an entity:

* a mention from a person file is seen by staff of the owning agency holding ``entities:read``;
* a person or thing named in a tip is seen only by staff who may triage tips (``tips:triage``);
* a mention from an intelligence record is seen only by a holder of ``intel:search`` while the
  record is approved and within its retention period (a pending, rejected, expired or purged
  record is invisible), and only when it names a criminal subject: non-criminal identifying
  information is never shown, never searched, never exported;
* a person or organisation named by a gang or enterprise designation is seen only by holders of
  ``designations:read`` while the designation is active (approved, not purged, rejected or
  expired), like the designation list; its membership (:mod:`.memberships`) likewise;
* an entity none of whose mentions the viewer may see does not exist for them (the same "not
  found" as a wrong id).

The command line (no signed-in actor) is the operator of the store and sees every searchable
mention; it still never sees non-criminal identifying information.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jellyfish
from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result, require
from openilp.db.entity_models import Entity, EntityEvent, EntityMention
from openilp.db.models import Designation, IntelRecord
from openilp.entities.normalize import clean_name, parse_date_of_birth
from openilp.entities.things import (
    normalise_address,
    normalise_handle,
    normalise_phone,
    normalise_plate,
    normalise_vin,
    plate_ocr_key,
)
from openilp.errors import NotFound
from openilp.security.actors import UserInfo
from openilp.services.entities.common import MentionSummary, agency_for, mention_summary
from openilp.services.entities.common import require as require_permission
from openilp.services.entities.memberships import may_see_memberships, memberships_of
from openilp.services.entities.timeline import timeline_of

__all__ = [
    "visible_mentions",
    "ShowEntityRequest",
    "EntityDetail",
    "show_entity",
    "ExportRequest",
    "MentionExport",
    "export_mentions",
    "EXPORT_COLUMNS",
    "SearchEntitiesRequest",
    "EntitySearchResult",
    "search_entities",
]

#: Columns of ``openilp entities export --format csv``: one row per mention.
EXPORT_COLUMNS = (
    "source",
    "source_record_id",
    "entity_id",
    "mention_id",
    "kind",
    "display_name",
    "date_of_birth",
    "file_name",
    "line_number",
)


def visible_mentions(
    session: Session, actor: UserInfo | None, mentions: Sequence[EntityMention], now: dt.datetime
) -> list[EntityMention]:
    """The mentions ``actor`` may see (see the module docstring), in the given order."""
    shown = [m for m in mentions if m.searchable]
    if actor is None:
        return shown
    if not actor.can("entities:read"):
        return []
    shown = [m for m in shown if m.agency_id == actor.agency_id]
    record_ids = {m.intel_record_id for m in shown if m.intel_record_id is not None}
    readable: set[int] = set()
    if record_ids and actor.can("intel:search"):
        readable = set(
            session.scalars(
                select(IntelRecord.id).where(
                    IntelRecord.id.in_(record_ids),
                    IntelRecord.status == "approved",
                    IntelRecord.retention_expires_at > now,
                )
            )
        )
    tips_ok = actor.can("tips:triage")
    designation_ids = {m.designation_id for m in shown if m.designation_id is not None}
    designated: set[int] = set()
    if designation_ids and may_see_memberships(actor):
        designated = set(
            session.scalars(
                select(Designation.id).where(Designation.id.in_(designation_ids), Designation.status == "active")
            )
        )
    return [
        m
        for m in shown
        if (m.intel_record_id is None or m.intel_record_id in readable)
        and (m.tip_id is None or tips_ok)
        and (m.designation_id is None or m.designation_id in designated)
    ]


def _lineage_shown(session: Session, events: Sequence[EntityEvent], shown_ids: set[int]) -> list[EntityEvent]:
    """The lineage without the events of designation mentions the viewer may not see (or that were
    purged): the lineage must not tell that a designation exists or existed."""
    event_mentions = {e.mention_id for e in events if e.mention_id is not None} - shown_ids
    hidden: set[int] = set()
    if event_mentions:
        hidden = set(
            session.scalars(
                select(EntityMention.id).where(
                    EntityMention.id.in_(event_mentions), EntityMention.designation_id.is_not(None)
                )
            )
        )
    return [e for e in events if e.mention_id not in hidden]


@dataclass(frozen=True)
class ShowEntityRequest(Request):
    entity_id: int

    def validate(self) -> ShowEntityRequest:
        require(self.entity_id > 0, "entity_id: give a positive entity id")
        return self


@dataclass(frozen=True)
class EntityDetail(Result):
    entity_id: int
    kind: str
    display_name: str
    status: str
    merged_into_id: int | None
    mentions: tuple[MentionSummary, ...]
    lineage: tuple[dict[str, Any], ...]
    #: One entry per visible mention, oldest first: date, what, link, record.
    timeline: tuple[dict[str, Any], ...] = ()
    #: Where the entity was: placed addresses and its incidents' map points.
    places: tuple[dict[str, Any], ...] = ()
    #: How many incidents, intelligence records, tips and files the visible mentions link to.
    linked: dict[str, int] | None = None
    #: An organisation's designated members (active designations only; ``designations:read``).
    members: tuple[dict[str, Any], ...] = ()
    #: The organisations a person is a designated member of, with the designation, review date and link.
    member_of: tuple[dict[str, Any], ...] = ()


def show_entity(core: OpenILP, actor: UserInfo | None, request: ShowEntityRequest) -> EntityDetail:
    """One entity with the mentions the viewer may see and its lineage; audited."""
    request = request.validate()
    require_permission(actor, "entities:read", "read entities")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        entity = session.get(Entity, request.entity_id)
        if entity is None or (actor is not None and entity.agency_id != actor.agency_id):
            raise NotFound(f"no entity {request.entity_id}")
        mentions = list(
            session.scalars(
                select(EntityMention).where(EntityMention.entity_id == entity.id).order_by(EntityMention.id)
            )
        )
        shown = visible_mentions(session, actor, mentions, uow.now)
        if not shown and entity.status == "active":
            raise NotFound(f"no entity {request.entity_id}")
        events = session.scalars(
            select(EntityEvent).where(EntityEvent.entity_id == entity.id).order_by(EntityEvent.id)
        ).all()
        events = _lineage_shown(session, events, {m.id for m in shown})
        timeline, places, linked = timeline_of(session, shown)
        members, member_of = memberships_of(session, actor, entity, uow.now)
        uow.audit(
            action="entities_read",
            object_type="entity",
            object_id=entity.id,
            agency_id=entity.agency_id,
            details={
                "mentions_shown": len(shown),
                "memberships_shown": sorted({m["designation_id"] for m in (*members, *member_of)}),
            },
        )
        return EntityDetail(
            entity_id=entity.id,
            kind=entity.kind,
            display_name=shown[0].display_name if shown else entity.display_name,
            status=entity.status,
            merged_into_id=entity.merged_into_id,
            mentions=tuple(mention_summary(m) for m in shown),
            lineage=tuple(
                {
                    "event": e.event,
                    "other_entity_id": e.other_entity_id,
                    "mention_id": e.mention_id,
                    "reason": e.reason,
                    "occurred_at": e.occurred_at,
                }
                for e in events
            ),
            timeline=tuple(timeline),
            places=tuple(places),
            linked=linked,
            members=tuple(members),
            member_of=tuple(member_of),
        )


@dataclass(frozen=True)
class ExportRequest(Request):
    agency: str = ""
    format: str = "csv"

    def validate(self) -> ExportRequest:
        require(self.format == "csv", "format: csv is the export format")
        return self


@dataclass(frozen=True)
class MentionExport(Result):
    agency: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def export_mentions(core: OpenILP, actor: UserInfo | None, request: ExportRequest) -> MentionExport:
    """One row per mention the viewer may see: source, source record id, entity id, …; audited."""
    request = request.validate()
    require_permission(actor, "entities:read", "export entities")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = agency_for(session, actor, request.agency)
        mentions = list(
            session.scalars(
                select(EntityMention)
                .where(EntityMention.agency_id == agency.id)
                .order_by(EntityMention.source, EntityMention.id)
            )
        )
        shown = visible_mentions(session, actor, mentions, uow.now)
        rows = tuple(
            (
                m.source,
                m.source_record_id,
                m.entity_id,
                m.id,
                m.kind,
                m.display_name,
                m.date_of_birth.isoformat() if m.date_of_birth else None,
                m.file_name,
                m.line_number,
            )
            for m in shown
        )
        uow.audit(
            action="entities_export",
            object_type="entities",
            object_id=agency.code,
            agency_id=agency.id,
            details={"rows": len(rows), "format": request.format},
        )
        return MentionExport(agency.code, EXPORT_COLUMNS, rows)


@dataclass(frozen=True)
class SearchEntitiesRequest(Request):
    """A fuzzy search: a name (misspellings and nicknames tolerated), and/or a date of birth, an
    identifier; or a plate or VIN (characters plate readers confuse tolerated), a phone number (the
    last 7 digits tolerated), an e-mail address or handle, an address."""

    name: str = ""
    date_of_birth: str = ""
    identifier: str = ""
    agency: str = ""
    limit: int = 50
    plate: str = ""
    phone: str = ""
    handle: str = ""
    address: str = ""

    @property
    def thing_query(self) -> bool:
        return bool(self.plate.strip() or self.phone.strip() or self.handle.strip() or self.address.strip())

    def validate(self) -> SearchEntitiesRequest:
        require(
            bool(self.name.strip() or self.date_of_birth.strip() or self.identifier.strip() or self.thing_query),
            "name, date_of_birth, identifier, plate, phone, handle or address: give at least one",
        )
        require(len(self.name) <= 200 and len(self.identifier) <= 100, "name/identifier: too long")
        require(
            max(len(self.plate), len(self.phone), len(self.handle), len(self.address)) <= 200,
            "plate/phone/handle/address: too long",
        )
        require(
            not (self.thing_query and (self.name.strip() or self.date_of_birth.strip() or self.identifier.strip())),
            "search for a person (name, date_of_birth, identifier) or a thing (plate, phone, handle, address), "
            "not both at once",
        )
        if self.date_of_birth.strip():
            day, why = parse_date_of_birth(self.date_of_birth.strip(), ("%Y-%m-%d",))
            require(day is not None, f"date_of_birth: {why or 'give YYYY-MM-DD'}")
        require(1 <= self.limit <= 200, "limit: give 1 to 200")
        return self


@dataclass(frozen=True)
class EntitySearchResult(Result):
    hits: tuple[dict[str, Any], ...]


def _name_score(query: list[str], mention: EntityMention) -> float:
    parts = [clean_name(p) for p in (mention.first_name, mention.middle_name, mention.surname)]
    names = [p for p in parts if p]
    if not names:
        names = [w for w in (clean_name(x) for x in mention.display_name.split()) if w]
    if not query or not names:
        return 0.0
    total = 0.0
    for word in query:
        best = 0.0
        for name in names:
            score = jellyfish.jaro_winkler_similarity(word, name)
            if jellyfish.metaphone(word) == jellyfish.metaphone(name):
                score = max(score, 0.9)
            best = max(best, score)
        total += best
    return total / len(query)


def _thing_score(request: SearchEntitiesRequest, mention: EntityMention) -> float:
    """How well a vehicle, phone, handle or address mention answers the query (0: not at all)."""
    scores: list[float] = []
    if request.plate.strip():
        wanted = normalise_plate(request.plate) or ""
        vin = normalise_vin(request.plate) or ""
        plate = normalise_plate(mention.plate) or ""
        if mention.kind != "vehicle":
            return 0.0
        if plate and plate == wanted or (mention.vin and normalise_vin(mention.vin) == vin):
            scores.append(1.0)
        elif plate and plate_ocr_key(plate) == plate_ocr_key(wanted):
            scores.append(0.9)
        else:
            return 0.0
    if request.phone.strip():
        wanted = normalise_phone(request.phone) or "".join(ch for ch in request.phone if ch.isdigit())
        phone = normalise_phone(mention.phone) or ""
        if mention.kind != "phone" or not phone or len(wanted) < 7:
            return 0.0
        if phone == wanted:
            scores.append(1.0)
        elif phone[-7:] == wanted[-7:]:
            scores.append(0.8)
        else:
            return 0.0
    if request.handle.strip():
        wanted = normalise_handle(request.handle) or ""
        handle = normalise_handle(mention.handle) or ""
        if mention.kind != "handle" or not handle or not wanted:
            return 0.0
        if handle == wanted:
            scores.append(1.0)
        elif wanted in handle:
            scores.append(0.8)
        else:
            return 0.0
    if request.address.strip():
        wanted = normalise_address(None, request.address) or ""
        key = mention.match_key or ""
        if mention.kind != "address" or not wanted:
            return 0.0
        if key == f"address:{wanted}":
            scores.append(1.0)
        elif wanted in key:
            scores.append(0.9)
        else:
            return 0.0
    return min(scores) if scores else 0.0


def _thing_kinds(request: SearchEntitiesRequest) -> list[str]:
    wanted = {"plate": "vehicle", "phone": "phone", "handle": "handle", "address": "address"}
    return [kind for field, kind in wanted.items() if getattr(request, field).strip()]


def search_entities(core: OpenILP, actor: UserInfo | None, request: SearchEntitiesRequest) -> EntitySearchResult:
    """Entities whose visible mentions match the name (fuzzy), date of birth or identifier, or the
    plate, phone, handle or address; audited."""
    request = request.validate()
    require_permission(actor, "entities:read", "search entities")
    if request.thing_query:
        return _search_things(core, actor, request)
    query_words = [w for w in (clean_name(x) for x in request.name.split()) if w]
    born = parse_date_of_birth(request.date_of_birth.strip(), ("%Y-%m-%d",))[0] if request.date_of_birth else None
    identifier = "".join(ch for ch in request.identifier.lower() if ch.isalnum())
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = agency_for(session, actor, request.agency)
        query = select(EntityMention).where(
            EntityMention.agency_id == agency.id,
            EntityMention.searchable.is_(True),
            EntityMention.entity_id.is_not(None),
        )
        if born is not None:
            query = query.where(EntityMention.date_of_birth == born)
        candidates = list(session.scalars(query.order_by(EntityMention.id)))
        shown = visible_mentions(session, actor, candidates, uow.now)
        best: dict[int, tuple[float, EntityMention]] = {}
        for mention in shown:
            score = 1.0
            if query_words:
                score = _name_score(query_words, mention)
                if score < 0.85:
                    continue
            if identifier:
                value = "".join(
                    ch for ch in (mention.identifier or "") + mention.raw_identifiers.lower() if ch.isalnum()
                )
                if identifier not in value.lower():
                    continue
            assert mention.entity_id is not None
            if mention.entity_id not in best or score > best[mention.entity_id][0]:
                best[mention.entity_id] = (score, mention)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[: request.limit]
        uow.audit(
            action="entities_search",
            object_type="entities",
            object_id=agency.code,
            agency_id=agency.id,
            purpose=f"name={request.name[:60]} dob={request.date_of_birth} id={request.identifier[:30]}",
            details={"hits": len(ranked)},
        )
        return EntitySearchResult(
            tuple(
                {
                    "entity_id": entity_id,
                    "score": round(score, 3),
                    "display_name": m.display_name,
                    "best_mention": m.id,
                    "kind": m.kind,
                }
                for entity_id, (score, m) in ranked
            )
        )


def _search_things(core: OpenILP, actor: UserInfo | None, request: SearchEntitiesRequest) -> EntitySearchResult:
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = agency_for(session, actor, request.agency)
        candidates = list(
            session.scalars(
                select(EntityMention)
                .where(
                    EntityMention.agency_id == agency.id,
                    EntityMention.searchable.is_(True),
                    EntityMention.entity_id.is_not(None),
                    EntityMention.kind.in_(_thing_kinds(request)),
                )
                .order_by(EntityMention.id)
            )
        )
        shown = visible_mentions(session, actor, candidates, uow.now)
        best: dict[int, tuple[float, EntityMention]] = {}
        for mention in shown:
            score = _thing_score(request, mention)
            if score <= 0:
                continue
            assert mention.entity_id is not None
            if mention.entity_id not in best or score > best[mention.entity_id][0]:
                best[mention.entity_id] = (score, mention)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[: request.limit]
        asked = " ".join(
            f"{field}={getattr(request, field)[:60]}"
            for field in ("plate", "phone", "handle", "address")
            if getattr(request, field).strip()
        )
        uow.audit(
            action="entities_search",
            object_type="entities",
            object_id=agency.code,
            agency_id=agency.id,
            purpose=asked,
            details={"hits": len(ranked)},
        )
        return EntitySearchResult(
            tuple(
                {
                    "entity_id": entity_id,
                    "score": round(score, 3),
                    "display_name": m.display_name,
                    "best_mention": m.id,
                    "kind": m.kind,
                }
                for entity_id, (score, m) in ranked
            )
        )
