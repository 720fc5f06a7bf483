"""Where the links of a network come from, behind one small interface (:class:`LinkSource`).

A source turns records into two tables: nodes (``id``, ``kind``, ``label``) and links (``source``,
``target``, ``link_type``, ``date``, ``record``, ``via``), already limited to what the viewer may
see. The service joins the tables of its sources and hands them to :mod:`openilp.analysis.networks`.

* :class:`IntelRecordLinks`: the criminal subjects of the intelligence records the viewer may read
  (28 CFR Part 23, :func:`visible_record_ids`). Subjects named in one record are linked
  (``association``, the record and its approval date on the link); people tied to the same vehicle
  or location in different records are linked by ``shared_vehicle`` / ``shared_address``; so are
  people whose identifiers give phones or plates that thing resolution made one entity
  (``shared_phone`` / ``shared_vehicle``, :func:`identifier_holdings`).
  Non-criminal identifying information (role ``non_criminal_identifier``) never becomes a node or
  a link: it is not a subject.
* :class:`OffenderLinks`: co-offending from a table of people and the incidents they offended on
  (``person``, ``incident``, ``date``), such as ``crimelinkage``'s offender file.
* :class:`IncidentPartyLinks`: co-offending from the store: resolved people whom person files
  name as offenders, suspects or arrestees on the same incident (``co_offending``, the incident as
  the link's record and its date as the link's date). Victims and witnesses never make a link.

A subject's node is its resolved entity (``entity:<id>``, :func:`resolved_entities`) once entity
resolution has put it in one, and its kind and normalised name (:func:`subject_key`) until then.
Other sources of links plug in as further :class:`LinkSource` implementations.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from openilp.analysis.networks.edges import association_links, co_offending_links, shared_links

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.security.actors import UserInfo

__all__ = [
    "IncidentPartyLinks",
    "IntelRecordLinks",
    "OFFENDING_ROLES",
    "LinkSource",
    "LinkTables",
    "OffenderLinks",
    "current_entities",
    "identifier_holdings",
    "resolved_entities",
    "subject_key",
    "visible_record_ids",
]

_SHARED_KINDS = {"vehicle": "shared_vehicle", "location": "shared_address"}
#: Identifiers typed into a subject that tie two people when resolution makes them one thing.
_IDENTIFIER_KINDS = {"phone": "shared_phone", "vehicle": "shared_vehicle"}
#: Party roles that make co-offending links; a victim or witness is never an offender's associate.
OFFENDING_ROLES = ("offender", "suspect", "arrestee")


def subject_key(kind: str, name: str) -> str:
    """A subject's node identifier: its kind and its name, case-folded with spaces collapsed.

    >>> subject_key("person", "  Johnny   SUSPECT ")
    'person:johnny suspect'
    """
    return kind + ":" + re.sub(r"\s+", " ", name).strip().casefold()


@dataclass(frozen=True)
class LinkTables:
    """Nodes and links from one source (columns as :func:`openilp.analysis.networks.build_network`)."""

    nodes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["id", "kind", "label"]))
    links: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["source", "target", "link_type", "date", "record", "via"])
    )

    @staticmethod
    def join(parts: list[LinkTables]) -> LinkTables:
        empty = LinkTables()
        nodes = [p.nodes for p in parts if not p.nodes.empty]
        links = [p.links for p in parts if not p.links.empty]
        return LinkTables(
            nodes=pd.concat(nodes, ignore_index=True).drop_duplicates("id").reset_index(drop=True)
            if nodes
            else empty.nodes,
            links=pd.concat(links, ignore_index=True) if links else empty.links,
        )


class LinkSource(Protocol):
    """Anything that gives the nodes and links a viewer may see at ``now``."""

    def tables(self, session: Session | None, viewer: UserInfo | None, now: dt.datetime) -> LinkTables: ...


def visible_record_ids(session: Session, viewer: UserInfo, now: dt.datetime) -> list[int]:
    """The intelligence records whose subjects ``viewer`` may see (28 CFR Part 23).

    Approved, not purged, retention not ended; and either of the viewer's agency (for roles that
    may search intelligence, ``intel:search``), or of another agency that released the record's
    subjects to the viewer by name (need-to-know per recipient, 23.20(e)). Pending, rejected,
    expired and purged records never give a node or a link, nor does a record of another agency
    that was not released to the viewer.
    """
    from sqlalchemy import select

    from openilp.db.models import IntelDissemination, IntelRecord

    if not viewer.can("intel:read"):
        return []
    current = select(IntelRecord.id).where(
        IntelRecord.status == "approved",
        IntelRecord.purged_at.is_(None),
        IntelRecord.retention_expires_at > now,
    )
    ids: set[int] = set()
    if viewer.can("intel:search"):
        ids |= set(session.scalars(current.where(IntelRecord.agency_id == viewer.agency_id)))
    released = session.execute(
        select(IntelDissemination.record_id, IntelDissemination.items)
        .join(IntelRecord, IntelRecord.id == IntelDissemination.record_id)
        .where(
            IntelDissemination.recipient_user_id == viewer.id,
            IntelDissemination.recipient_agency_id == viewer.agency_id,
            IntelRecord.agency_id != viewer.agency_id,
            IntelRecord.id.in_(current),
        )
    ).all()
    ids |= {record_id for record_id, items in released if "subjects" in json.loads(items or "[]")}
    return sorted(ids)


def resolved_entities(session: Session, subject_ids: list[int]) -> dict[int, int]:
    """The resolved entity of each intelligence subject that has one (following merges).

    Entity resolution (:mod:`openilp.services.entities`) keeps every subject as a mention; once a
    resolution run or a reviewer's decision has put the mention in an entity, the subject's node is
    that entity (``entity:<id>``), so two spellings of one person are one node. The node's label
    stays the subject's name as the visible record gives it: the entity's own name may come from a
    record the viewer may not read.
    """
    from sqlalchemy import select

    from openilp.db.entity_models import EntityMention

    if not subject_ids:
        return {}
    found = dict(
        session.execute(
            select(EntityMention.intel_subject_id, EntityMention.entity_id).where(
                EntityMention.intel_subject_id.in_(subject_ids), EntityMention.entity_id.is_not(None)
            )
        ).all()
    )
    current = current_entities(session)
    return {
        int(subject_id): current(int(entity_id))
        for subject_id, entity_id in found.items()
        if subject_id is not None and entity_id is not None
    }


def current_entities(session: Session) -> Callable[[int], int]:
    """A function giving the entity an entity was merged into (itself when it was not merged)."""
    from sqlalchemy import select

    from openilp.db.entity_models import Entity

    merged: dict[int, int] = {
        int(entity): int(into)
        for entity, into in session.execute(
            select(Entity.id, Entity.merged_into_id).where(Entity.merged_into_id.is_not(None))
        ).all()
        if into is not None
    }

    def current(entity_id: int) -> int:
        for _ in range(20):  # a merge chain is short; the bound only guards against a cycle
            if entity_id not in merged:
                break
            entity_id = merged[entity_id]
        return entity_id

    return current


_DERIVED_KEY = re.compile(r"^subject-(\d+)-")


def identifier_holdings(session: Session, record_ids: list[int]) -> pd.DataFrame:
    """The resolved phones and vehicles typed into the identifiers of subjects of ``record_ids``.

    A subject's identifiers (``cell (314) 555-0142``, ``plate XYZ987``) become mentions of their
    own kind (:mod:`openilp.services.entities.mentions`, ``source_record_id``
    ``subject-<id>-<kind>-<n>``); once thing resolution has put such a mention in an entity, the
    subject holds that entity. Columns ``subject`` (the subject's id), ``kind`` (``phone`` or
    ``vehicle``), ``thing`` (``entity:<id>``, following merges), ``label`` (the phone or plate as
    the record writes it). Mentions that are not searchable (a non-criminal identifier's) are left out.
    """
    from sqlalchemy import select

    from openilp.db.entity_models import EntityMention

    columns = ["subject", "kind", "thing", "label"]
    if not record_ids:
        return pd.DataFrame(columns=columns)
    rows = session.execute(
        select(EntityMention.source_record_id, EntityMention.kind, EntityMention.entity_id, EntityMention.display_name)
        .where(
            EntityMention.intel_record_id.in_(record_ids),
            EntityMention.intel_subject_id.is_(None),
            EntityMention.kind.in_(tuple(_IDENTIFIER_KINDS)),
            EntityMention.entity_id.is_not(None),
            EntityMention.searchable.is_(True),
        )
        .order_by(EntityMention.id)
    ).all()
    current = current_entities(session) if rows else (lambda e: e)
    found = []
    for key, kind, entity_id, label in rows:
        match = _DERIVED_KEY.match(key)
        if match is None or entity_id is None:
            continue
        found.append((int(match.group(1)), kind, f"entity:{current(int(entity_id))}", " ".join(label.split())))
    return pd.DataFrame(found, columns=columns)


@dataclass(frozen=True)
class IntelRecordLinks:
    """Links among the criminal subjects of the intelligence records a viewer may read."""

    def tables(self, session: Session | None, viewer: UserInfo | None, now: dt.datetime) -> LinkTables:
        from sqlalchemy import select

        from openilp.db.models import IntelRecord, IntelSubject

        if session is None or viewer is None:
            return LinkTables()
        record_ids = visible_record_ids(session, viewer, now)
        if not record_ids:
            return LinkTables()
        rows = session.execute(
            select(
                IntelSubject.id,
                IntelSubject.record_id,
                IntelSubject.kind,
                IntelSubject.display_name,
                IntelRecord.approved_at,
                IntelRecord.submitted_at,
            )
            .join(IntelRecord, IntelRecord.id == IntelSubject.record_id)
            .where(IntelSubject.record_id.in_(record_ids), IntelSubject.role == "criminal_subject")
            .order_by(IntelSubject.record_id, IntelSubject.id)
        ).all()
        resolved = resolved_entities(session, [row[0] for row in rows])
        subjects = pd.DataFrame(
            [
                (
                    subject_id,
                    f"entity:{resolved[subject_id]}" if subject_id in resolved else subject_key(kind, name),
                    kind,
                    " ".join(name.split()),
                    f"intel:{record_id}",
                    approved or submitted,
                )
                for subject_id, record_id, kind, name, approved, submitted in rows
            ],
            columns=["subject", "person", "kind", "label", "record", "date"],
        )
        subjects["date"] = pd.to_datetime(subjects["date"], utc=True).dt.tz_convert(None)
        if subjects.empty:
            return LinkTables()
        nodes = subjects.drop_duplicates("person")[["person", "kind", "label"]].rename(columns={"person": "id"})
        parts = [association_links(subjects)]
        people = subjects.loc[subjects["kind"] == "person"]
        # phones and plates typed into a person's identifiers, once resolved into one entity
        typed = identifier_holdings(session, record_ids)
        typed = typed.loc[typed["subject"].isin(people["subject"])]
        typed = typed.merge(people[["subject", "person", "record", "date"]], on="subject")
        thing_labels = dict(zip(typed["thing"], typed["label"], strict=True))
        for kind, link_type in {**_SHARED_KINDS, "phone": _IDENTIFIER_KINDS["phone"]}.items():
            things = subjects.loc[subjects["kind"] == kind, ["record", "person"]].rename(columns={"person": "thing"})
            held = pd.concat(
                [
                    people.merge(things, on="record")[["person", "thing", "record", "date"]],
                    typed.loc[typed["kind"] == kind, ["person", "thing", "record", "date"]],
                ],
                ignore_index=True,
            )
            if held.empty:
                continue
            # the same thing named with people in different records: the shared tie
            different = held.groupby("thing")["record"].transform("nunique") > 1
            parts.append(
                shared_links(
                    held.loc[different, ["person", "thing", "record", "date"]], thing="thing", link_type=link_type
                )
            )
        found = [p for p in parts if not p.empty]
        links = pd.concat(found, ignore_index=True) if found else LinkTables().links
        if "via" in links.columns:
            labels = {**thing_labels, **dict(zip(nodes["id"], nodes["label"], strict=True))}
            links["via"] = links["via"].map(lambda v: labels.get(v, v) if isinstance(v, str) else v)
        return LinkTables(nodes=nodes.reset_index(drop=True), links=links)


@dataclass(frozen=True)
class OffenderLinks:
    """Co-offending links from ``person``, ``incident`` (and ``date``) rows, e.g. an offender file."""

    arrests: pd.DataFrame

    def tables(self, session: Session | None, viewer: UserInfo | None, now: dt.datetime) -> LinkTables:
        links = co_offending_links(self.arrests)
        people = pd.unique(self.arrests["person"].astype(str))
        nodes = pd.DataFrame({"id": people, "kind": "person", "label": people})
        return LinkTables(nodes=nodes, links=links)


@dataclass(frozen=True)
class IncidentPartyLinks:
    """Co-offending from the store: resolved people named as offenders on the same incident.

    Person files may name the incident each row is a party to and the party's role
    (``docs/entities.md``); resolved people so named as ``offender``, ``suspect`` or ``arrestee``
    on one incident are linked, with ``incident:<id>`` as the link's record and the incident's
    start as its date. The viewer needs ``entities:read`` and sees their own agency's parties only.
    """

    def tables(self, session: Session | None, viewer: UserInfo | None, now: dt.datetime) -> LinkTables:
        from sqlalchemy import select

        from openilp.db.entity_models import EntityMention
        from openilp.db.models import Incident

        if session is None or viewer is None or not viewer.can("entities:read"):
            return LinkTables()
        rows = session.execute(
            select(
                EntityMention.entity_id, EntityMention.display_name, EntityMention.incident_id, Incident.occurred_from
            )
            .join(Incident, Incident.id == EntityMention.incident_id)
            .where(
                EntityMention.agency_id == viewer.agency_id,
                EntityMention.kind == "person",
                EntityMention.searchable.is_(True),
                EntityMention.entity_id.is_not(None),
                EntityMention.role.in_(OFFENDING_ROLES),
            )
            .order_by(EntityMention.entity_id, EntityMention.id)
        ).all()
        if not rows:
            return LinkTables()
        parties = pd.DataFrame(
            [
                (f"entity:{entity}", " ".join(name.split()), f"incident:{incident}", when)
                for entity, name, incident, when in rows
            ],
            columns=["person", "label", "incident", "date"],
        )
        parties["date"] = pd.to_datetime(parties["date"], utc=True).dt.tz_convert(None)
        links = co_offending_links(parties)
        involved = set(links["source"]) | set(links["target"])
        nodes = parties.loc[parties["person"].isin(involved)].drop_duplicates("person")
        nodes = pd.DataFrame({"id": nodes["person"], "kind": "person", "label": nodes["label"]})
        return LinkTables(nodes=nodes.reset_index(drop=True), links=links)
