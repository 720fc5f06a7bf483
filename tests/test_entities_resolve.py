"""Resolution in the store: stable entity ids across runs, review decisions that override the model,
merges and splits audited with their lineage, the export and the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from entities_support import FEBRL_MAPPING, febrl_path
from intel_support import Cast, cast, make_core
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.entity_models import Entity, EntityEvent, EntityMention, EntityReviewPair
from openilp.db.models import AuditEntry
from openilp.entities import pairwise_scores
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.services.entities import (
    DecideRequest,
    ExportRequest,
    ImportPersonsRequest,
    ResolveRequest,
    ReviewQueueRequest,
    SearchEntitiesRequest,
    ShowEntityRequest,
    decide_pair,
    export_mentions,
    import_persons,
    resolve_entities,
    review_queue,
    search_entities,
    show_entity,
)

pytestmark = [pytest.mark.usefixtures("fast_password_hashing"), pytest.mark.realdata]


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


def _febrl1_lines(first: int | None = None) -> bytes:
    lines = febrl_path(1).read_bytes().splitlines(keepends=True)
    return b"".join(lines if first is None else lines[: first + 1])


def _import(core: OpenILP, actor, data: bytes) -> None:  # type: ignore[no-untyped-def]
    request = ImportPersonsRequest(mapping_toml=FEBRL_MAPPING.read_text(), file_name="dataset1.csv", data=data)
    import_persons(core, actor, request)


def _entity_of(engine: Engine) -> dict[str, int | None]:
    with session_scope(engine) as session:
        rows = session.execute(select(EntityMention.source_record_id, EntityMention.entity_id)).all()
    return {record: entity for record, entity in rows}


def test_ids_stay_stable_when_new_records_arrive(engine: Engine, core: OpenILP, people: Cast) -> None:
    _import(core, people.analyst, _febrl1_lines(900))
    first = resolve_entities(core, people.analyst, ResolveRequest())
    before = _entity_of(engine)
    assert first.mentions == len(before) and all(before.values())
    # The other 10 % of the file arrive; resolving again links them without renumbering anything.
    _import(core, people.analyst, _febrl1_lines())
    second = resolve_entities(core, people.analyst, ResolveRequest())
    after = _entity_of(engine)
    assert len(after) > len(before)
    assert {record: after[record] for record in before} == before
    assert second.entities_merged == 0
    with session_scope(engine) as session:
        statuses = set(session.scalars(select(Entity.status)))
    assert statuses == {"active"}
    # And the entities are right: pairwise F1 against FEBRL's truth.
    truth = [record.split("-dup")[0].replace("-org", "") for record in after]
    scores = pairwise_scores([after[r] for r in after], truth)
    assert scores.f1 >= 0.99, scores.as_dict()
    # Resolving with nothing new changes nothing.
    third = resolve_entities(core, people.analyst, ResolveRequest())
    assert (third.entities_created, third.mentions_linked) == (0, 0) and _entity_of(engine) == after


def _open_pair(engine: Engine, left: str, right: str) -> int:
    with session_scope(engine) as session:
        ids = dict(
            session.execute(
                select(EntityMention.source_record_id, EntityMention.id).where(
                    EntityMention.source_record_id.in_((left, right))
                )
            ).all()
        )
        low, high = sorted((ids[left], ids[right]))
        pair = EntityReviewPair(
            agency_id=session.scalars(select(EntityMention.agency_id)).first(),
            mention_low_id=low,
            mention_high_id=high,
            match_probability=0.7,
            match_weight=1.2,
            explanation=json.dumps({"prior_weight": -9.0, "fields": {}, "match_weight": 1.2}),
        )
        session.add(pair)
        session.flush()
        return pair.id


def test_decisions_override_the_model_and_are_audited(engine: Engine, core: OpenILP, people: Cast) -> None:
    _import(core, people.analyst, _febrl1_lines())
    resolve_entities(core, people.analyst, ResolveRequest())
    entity_of = _entity_of(engine)
    same = next(r for r in entity_of if r.endswith("-dup-0") and entity_of[r] == entity_of[r.split("-dup")[0] + "-org"])
    original = same.split("-dup")[0] + "-org"
    # "Not a match" splits the newer mention off into a new entity, and later runs keep them apart.
    split_pair = _open_pair(engine, original, same)
    with pytest.raises(InvalidRequest, match="reason"):
        decide_pair(core, people.analyst, DecideRequest(split_pair, "not_match", ""))
    outcome = decide_pair(core, people.reviewer, DecideRequest(split_pair, "not_match", "Different middle names"))
    assert outcome.effect == "split"
    split = _entity_of(engine)
    assert split[original] != split[same] and entity_of[original] in (split[original], split[same])
    # "Match" merges two entities; the older id survives.
    other = next(r for r in entity_of if r.endswith("-org") and entity_of[r] != entity_of[original])
    merge_pair = _open_pair(engine, original, other)
    merged = decide_pair(core, people.reviewer, DecideRequest(merge_pair, "match", "Same state ID on the file"))
    assert merged.effect == "merged" and merged.entity_id == min(split[original] or 0, split[other] or 0)
    resolve_entities(core, people.analyst, ResolveRequest())
    final = _entity_of(engine)
    assert final[original] == final[other] == merged.entity_id
    assert final[same] != final[original]
    with session_scope(engine) as session:
        retired = session.get(Entity, merged.other_entity_id)
        assert retired is not None and (retired.status, retired.merged_into_id) == ("merged", merged.entity_id)
        events = {e.event for e in session.scalars(select(EntityEvent))}
        audits = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "entities_review_decide")))
    assert {"created", "split", "merged"} <= events
    assert len(audits) == 2
    shown = show_entity(core, people.analyst, ShowEntityRequest(merged.entity_id))
    assert {m.source_record_id for m in shown.mentions} >= {original, other}
    assert [e["event"] for e in shown.lineage][-1] == "merged"


def test_export_search_and_permissions(engine: Engine, core: OpenILP, people: Cast) -> None:
    _import(core, people.analyst, _febrl1_lines())
    resolve_entities(core, people.analyst, ResolveRequest())
    export = export_mentions(core, people.officer, ExportRequest())
    assert export.columns[:3] == ("source", "source_record_id", "entity_id")
    assert len(export.rows) == len(_entity_of(engine)) and all(row[2] for row in export.rows)
    hits = search_entities(core, people.officer, SearchEntitiesRequest(name="lachlan bery"))
    entity = _entity_of(engine)["rec-122-org"]
    assert entity in [h["entity_id"] for h in hits.hits]
    with pytest.raises(NotPermitted):
        export_mentions(core, people.partner, ExportRequest())
    with pytest.raises(NotPermitted):
        resolve_entities(core, people.officer, ResolveRequest())
    with pytest.raises(NotFound):  # another agency's entity is not found, not forbidden
        show_entity(core, people.other_analyst, ShowEntityRequest(entity or 0))
    queue = review_queue(core, people.reviewer, ReviewQueueRequest())
    assert queue.open_pairs == len(queue.pairs) or queue.open_pairs > len(queue.pairs)


def test_too_few_mentions_are_refused(engine: Engine, core: OpenILP, people: Cast) -> None:
    _import(core, people.analyst, _febrl1_lines(10))
    with pytest.raises(InvalidRequest, match="at least 50"):
        resolve_entities(core, people.analyst, ResolveRequest())


def test_command_line_import_resolve_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["entities", "import", str(FEBRL_MAPPING), str(febrl_path(1))])
        assert result.exit_code == 0, result.output
        assert "1000 read" in result.output and "rejected dataset1.csv:" in result.output
        result = runner.invoke(app, ["entities", "resolve", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["entities"] > 400
        result = runner.invoke(app, ["entities", "export", "--format", "csv"])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert {"source", "source_record_id", "entity_id"} <= set(rows[0])
        assert all(row["entity_id"] for row in rows) and rows[0]["source"] == "febrl"
        entity = next(r["entity_id"] for r in rows if r["source_record_id"] == "rec-122-org")
        result = runner.invoke(app, ["entities", "show", entity])
        assert result.exit_code == 0 and "lachlan berry" in result.output
        result = runner.invoke(app, ["entities", "show", entity, "--json"])
        assert "rec-122-org" in {m["source_record_id"] for m in json.loads(result.output)["mentions"]}
        result = runner.invoke(app, ["entities", "review", "--json"])
        assert result.exit_code == 0, result.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()
