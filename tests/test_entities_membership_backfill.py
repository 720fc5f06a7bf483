"""Designations approved before migration 0022 get their organisation membership from
``openilp entities backfill-memberships``: by the same rules as an approval, audited, and only once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from intel_support import Cast
from network_support import approve_record_as, person, seed_network, submit_record_as
from sqlalchemy import Engine, func, select, text
from test_designations import ADMITS, REVIEW, TATTOO, _second
from typer.testing import CliRunner

from openilp.cli import common
from openilp.cli.main import app as cli_app
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.engine import alembic_config, migrate
from openilp.db.entity_models import Entity, EntityEvent, EntityMembership, EntityMention
from openilp.db.models import AuditEntry
from openilp.errors import NotPermitted
from openilp.intel.rules import SubjectInput
from openilp.services.entities import (
    BackfillMembershipsRequest,
    ResolveThingsRequest,
    ShowEntityRequest,
    backfill_memberships,
    resolve_things,
    show_entity,
)
from openilp.services.networks import (
    DecideDesignationRequest,
    DesignationRequest,
    ReviewDesignationRequest,
    decide_designation,
    designate_member,
    list_designations,
    review_designation,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

#: The day the designations below were approved, before the store knew memberships.
APPROVED_AT = dt.datetime(2024, 2, 20, 15, 30)


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The ``openilp`` command on the test store."""
    monkeypatch.setenv("OPENILP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COLUMNS", raising=False)  # lines whole, as when piped
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    yield CliRunner()
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()


def _propose(core: OpenILP, people: Cast, name: str, organisation: str) -> int:
    return designate_member(
        core, people.reviewer, DesignationRequest(name, organisation, (ADMITS, TATTOO), REVIEW)
    ).designation_id


def _counts(engine: Engine) -> tuple[int, int, int, int]:
    """(memberships, designation mentions, entities, entity events)."""
    with session_scope(engine) as session:
        return (
            int(session.scalar(select(func.count()).select_from(EntityMembership)) or 0),
            int(session.scalar(select(func.count()).where(EntityMention.source == "designation")) or 0),
            int(session.scalar(select(func.count()).select_from(Entity)) or 0),
            int(session.scalar(select(func.count()).select_from(EntityEvent)) or 0),
        )


def _pre_0022_store(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, dict[str, int]]:
    """A store whose designations were approved while it stood at migration 0021 (no memberships).

    Carl Courier (North Side Crew) and Dave Distant (Southside Holdings LLC) are approved, Pam
    Pending stays a proposal and Johnny Suspect is rejected; the crew is also named in an approved
    intelligence record and resolved into an organisation entity first.
    """
    core, people, records = seed_network(engine, tmp_path)
    crew = SubjectInput("organisation", "criminal_subject", "The North Side Crew, Inc.", "")
    records["E"] = submit_record_as(core, people.analyst, [crew, person("Bob Broker")])
    approve_record_as(core, people.reviewer, records["E"])
    resolve_things(core, people.analyst, ResolveThingsRequest(kinds=("organisation",)))
    ids = {
        "carl": _propose(core, people, "Carl Courier", "North Side Crew"),
        "dave": _propose(core, people, "Dave Distant", "Southside Holdings LLC"),
        "pam": _propose(core, people, "Pam Pending", "North Side Crew"),
        "johnny": _propose(core, people, "Johnny Suspect", "North Side Crew"),
    }
    second = _second(engine)
    decide_designation(core, second, DecideDesignationRequest(ids["johnny"], "reject", "Only one criterion holds."))
    command.downgrade(alembic_config(engine), "0021")
    with engine.begin() as connection:  # approved the way 0021's code approved: no entity store writes
        connection.execute(
            text(
                "UPDATE designations SET status = 'active', approved_by_id = :by, approved_at = :at "
                "WHERE id IN (:a, :b)"
            ),
            {"by": second.id, "at": APPROVED_AT, "a": ids["carl"], "b": ids["dave"]},
        )
    migrate(engine)
    return core, people, ids


def test_the_backfill_links_designations_approved_before_0022_once(
    engine: Engine, tmp_path: Path, cli: CliRunner
) -> None:
    core, people, ids = _pre_0022_store(engine, tmp_path)
    assert _counts(engine)[:2] == (0, 0)
    assert {d["id"]: d["person_entity_id"] for d in list_designations(core, people.officer).designations} == {
        ids["carl"]: None,
        ids["dave"]: None,
    }

    upgraded = cli.invoke(cli_app, ["db", "upgrade"])  # the upgrade tells the operator what is left to do
    assert upgraded.exit_code == 0, upgraded.output
    assert "2 approved designations have no organisation membership yet" in upgraded.output
    assert "run openilp entities backfill-memberships" in upgraded.output

    result = cli.invoke(cli_app, ["entities", "backfill-memberships", "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.output)
    assert first["added"] == [ids["carl"], ids["dave"]] and first["unchanged"] == []
    assert first["agencies"] == ["OTHER", "SLMPD"]
    after_first = _counts(engine)
    assert after_first[:2] == (2, 4)

    # the same rules as an approval: the crew joins the record's organisation entity by its name
    listed = {d["id"]: d for d in list_designations(core, people.officer).designations}
    with session_scope(engine) as session:
        crew = session.scalar(
            select(EntityMention.entity_id).where(EntityMention.source == "intel", EntityMention.kind == "organisation")
        )
        seen = set(session.scalars(select(EntityMention.seen_on).where(EntityMention.source == "designation")))
    assert listed[ids["carl"]]["organisation_entity_id"] == crew
    carl = listed[ids["carl"]]["person_entity_id"]
    assert carl is not None and carl != crew
    organisation = show_entity(core, people.officer, ShowEntityRequest(int(crew)))
    assert [(m["designation_id"], m["person"], m["person_entity_id"]) for m in organisation.members] == [
        (ids["carl"], "Carl Courier", carl)
    ]
    assert seen == {APPROVED_AT.date()}  # seen on the approval day, not on the backfill's
    lineage = show_entity(core, people.officer, ShowEntityRequest(carl)).lineage
    assert any(
        f"designation {ids['carl']} approved on 2024-02-20 (membership backfilled)" in e["reason"] for e in lineage
    )
    dave = listed[ids["dave"]]
    assert dave["organisation_entity_id"] not in (None, crew)  # a new organisation entity

    # a second run (and a designation approved since, the ordinary way) adds nothing
    later = _propose(core, people, "Bob Broker", "North Side Crew")
    decide_designation(core, _second(engine), DecideDesignationRequest(later, "approve", "Both criteria checked."))
    before_second = _counts(engine)
    assert before_second[:2] == (3, 6)
    again = backfill_memberships(core, None, BackfillMembershipsRequest(agency="SLMPD"))
    assert again.added == () and again.unchanged == (ids["carl"], ids["dave"], later)
    assert _counts(engine) == before_second

    # ended memberships are not brought back: their designation is purged, its mentions blanked
    review_designation(core, people.reviewer, ReviewDesignationRequest(ids["dave"], "end", "Criteria withdrawn."))
    ended = _counts(engine)
    assert ended[0] == 2
    result = cli.invoke(cli_app, ["entities", "backfill-memberships"])
    assert result.exit_code == 0, result.output
    assert "0 designations given their membership (none), 2 already had one" in result.output
    assert _counts(engine) == ended
    upgraded = cli.invoke(cli_app, ["db", "upgrade"])
    assert upgraded.exit_code == 0 and "database ready" in upgraded.output
    assert "backfill-memberships" not in upgraded.output

    with session_scope(engine) as session:
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "entities_backfill_memberships").order_by(AuditEntry.id)
        ).all()
        details = [(a.object_id, json.loads(a.details)) for a in audits]
    assert [(object_id, d["designations"]) for object_id, d in details] == [
        ("OTHER", []),
        ("SLMPD", [ids["carl"], ids["dave"]]),
        ("SLMPD", []),
        ("OTHER", []),
        ("SLMPD", []),
    ]


def test_the_backfill_needs_designation_rights_and_stays_in_the_actors_agency(
    engine: Engine, tmp_path: Path, cli: CliRunner
) -> None:
    core, people, ids = _pre_0022_store(engine, tmp_path)
    with pytest.raises(NotPermitted):
        backfill_memberships(core, people.analyst, BackfillMembershipsRequest())
    with pytest.raises(NotPermitted):
        backfill_memberships(core, people.reviewer, BackfillMembershipsRequest(agency="OTHER"))
    refused = cli.invoke(cli_app, ["entities", "backfill-memberships", "--as", people.officer.username])
    assert refused.exit_code == 1
    assert _counts(engine)[:2] == (0, 0)
    done = backfill_memberships(core, people.reviewer, BackfillMembershipsRequest())
    assert done.agencies == ("SLMPD",) and done.added == (ids["carl"], ids["dave"])
