"""A federated name search answers only from what the sharing rules let the partner see.

The county (B, over the test's store, SQLite or PostgreSQL) holds an open record about "Marky Vale"
and a restricted record about "Ghost Vale", both resolved into one person entity, and an approved
gang designation of "Marcus Delano Vale" whose person mention joined that entity. The name
"Marcus Delano" is known to the county only through the designation, and "Ghost" only through the
restricted record: a search by either from the city (A) must not bring the open record through the
entity, so the city learns neither the designation nor the person through it. A search by the
open record's own subject still finds it, and each answer is audited as before.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from federation_support import Instance, approved_record, instance, link
from intel_support import make_user
from sqlalchemy import Engine, select

from openilp.db import session_scope
from openilp.db.entity_models import Entity, EntityMention
from openilp.db.models import AuditEntry, Notification
from openilp.intel.designations import CriterionInput
from openilp.intel.rules import SubjectInput
from openilp.services.federation import FederatedSearchRequest, federated_search
from openilp.services.networks import (
    DecideDesignationRequest,
    DesignationRequest,
    decide_designation,
    designate_member,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _one_person_entity(owner: Instance, names: list[str]) -> int:
    """A person entity holding the intelligence mentions of ``names`` (as person resolution makes)."""
    with session_scope(owner.core.engine) as session:
        entity = Entity(agency_id=owner.analyst.agency_id, kind="person", display_name=names[0], status="active")
        session.add(entity)
        session.flush()
        mentions = session.scalars(
            select(EntityMention).where(EntityMention.source == "intel", EntityMention.display_name.in_(names))
        ).all()
        assert sorted(m.display_name for m in mentions) == sorted(names)
        for mention in mentions:
            mention.entity_id = entity.id
        return entity.id


def _designate(owner: Instance, person: str, entity_id: int) -> int:
    today = dt.datetime.now(dt.UTC).date()
    criteria = (
        CriterionInput("self_admission", "Field interview card 26-118 (Officer Diaz)", today - dt.timedelta(days=20)),
        CriterionInput("tattoos", "Booking photograph 26-0931", today - dt.timedelta(days=60)),
    )
    review_due_on = today + dt.timedelta(days=180)
    request = DesignationRequest(person, "North Side Crew", criteria, review_due_on, person_entity_id=entity_id)
    made = designate_member(owner.core, owner.reviewer, request)
    with session_scope(owner.core.engine) as session:
        supervisor = make_user(session, "county-sup", "supervisor", agency=owner.agency)
    decision = DecideDesignationRequest(made.designation_id, "approve", "Both criteria checked.")
    decide_designation(owner.core, supervisor, decision)
    return made.designation_id


def _hits(searcher: Instance, query: str) -> list[tuple[str, int]]:
    result = federated_search(searcher.core, searcher.analyst, FederatedSearchRequest("person", query, "case CT-9"))
    assert not result.partial
    return [(hit.kind, hit.record_id) for hit in result.hits]


def test_a_name_known_only_from_a_designation_or_a_restricted_record_finds_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    with instance("city", "CITY", tmp_path / "a") as a, instance("county", "COUNTY", tmp_path / "b", engine) as b:
        link(a, b)
        marky = [SubjectInput("person", "criminal_subject", "Marky Vale", "")]
        ghost = [SubjectInput("person", "criminal_subject", "Ghost Vale", "")]
        open_id = approved_record(b, sensitivity="open", title="Garage cocaine supply", subjects=marky)
        secret = approved_record(b, sensitivity="restricted", title="Undercover operation Lantern", subjects=ghost)
        person = _one_person_entity(b, ["Marky Vale", "Ghost Vale"])
        designation = _designate(b, "Marcus Delano Vale", person)
        with session_scope(b.core.engine) as session:
            designated = session.scalar(
                select(EntityMention).where(EntityMention.designation_id == designation, EntityMention.kind == "person")
            )
            assert designated is not None  # the designation's person mention is searchable and on the entity
            assert (designated.kind, designated.display_name, designated.searchable) == (
                "person",
                "Marcus Delano Vale",
                True,
            )
            assert designated.entity_id == person

        # the open record's own subject finds it, as before
        assert _hits(a, "marky vale") == [("summary", open_id)]
        # a name only the designation gives: no hit, so no hint of the designation or of the person
        assert _hits(a, "marcus delano") == []
        # a name only the restricted record gives: no hit through the entity; the official is told
        assert _hits(a, "ghost vale") == []
        with session_scope(b.core.engine) as session:
            notes = session.scalars(select(Notification.message).where(Notification.kind == "restricted_hit")).all()
            answered = [
                json.loads(entry.details)
                for entry in session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "federation_search").order_by(AuditEntry.id)
                )
            ]
        # the open record's search reaches the restricted one through the entity, the restricted name its own
        assert len(notes) == 2 and all(f"#{secret}" in note and "case CT-9" in note for note in notes)
        assert [(d["query"], d["summaries"], d["pointers"], d["restricted_withheld"]) for d in answered] == [
            ("marky vale", 1, 0, 1),
            ("marcus delano", 0, 0, 0),
            ("ghost vale", 0, 0, 1),
        ]
